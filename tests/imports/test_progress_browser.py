"""In a real browser: upload a file, watch the job page poll its progress (script under CSP
``script-src 'self'``) and show the result once the background job has finished."""

from __future__ import annotations

import pytest

from .conftest import csv_bytes, object_row

pytestmark = pytest.mark.browser


def test_upload_runs_in_background_and_page_follows_progress(app, departments, browser_login, live_server,  # noqa: F811
                                                              tmp_path):
    app.config["IMPORT_RUN_INLINE"] = False
    path = tmp_path / "名录.csv"
    path.write_bytes(csv_bytes([object_row(i) for i in range(1, 20_001)]))
    pg = browser_login("admin")
    errors: list[str] = []
    polls: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("request", lambda req: polls.append(req.url) if req.url.endswith("/progress") else None)
    pg.goto(live_server.url + "/imports/objects/new")
    pg.set_input_files("#file", str(path))
    pg.click("text=上传并校验")
    pg.wait_for_selector("text=导入完成", timeout=60_000)
    assert pg.locator("progress").get_attribute("value") == "100"
    assert "20000" in pg.locator("section.card").nth(1).inner_text()
    assert polls, "the job page should have polled /progress while the job ran"
    assert not [e for e in errors if "Content Security Policy" in e]
    pg.screenshot(path="/tmp/spotcheck-import-job.png", full_page=True)
