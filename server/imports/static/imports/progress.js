// Import job page: poll the job's progress (JSON) and update the <progress> bar; reload the page
// once the job has finished so the summary and the report appear. No inline script (CSP).
(function () {
  "use strict";
  var box = document.getElementById("job-status");
  if (!box || box.dataset.finished === "true") return;
  var bar = document.getElementById("job-progress");
  var label = document.getElementById("job-status-label");
  var text = document.getElementById("job-progress-text");
  var url = box.dataset.progressUrl;
  var delay = 1000;

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (resp) {
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.json();
      })
      .then(function (job) {
        bar.value = job.progress;
        bar.textContent = job.progress + "%";
        label.textContent = job.status_label;
        text.textContent = job.processed_rows + " / " + (job.total_rows || "…");
        if (job.finished) {
          window.location.reload();
          return;
        }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        delay = Math.min(delay * 2, 15000); // back off on errors, with a cap
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
