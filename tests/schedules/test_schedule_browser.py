"""The leader's schedule page on a phone (360 px): open a visit's form, set the date and window,
save; the visit moves from 待安排 to its day, and an invalid window is explained next to the field."""

from __future__ import annotations

import pytest

from server.extensions import db
from server.visits.models import Visit, VisitStage
from tests.conftest import PASSWORD


@pytest.mark.browser
def test_leader_schedules_a_visit_on_a_phone(sched, page, live_server, tmp_path):
    url = f"{live_server.url}/tasks/{sched.task.id}/schedule"
    page.goto(live_server.url + "/login")
    page.fill("#username", sched.u_a1.username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.goto(url)
    item = f"#visit-{sched.v_z.id}"
    page.click(f"{item} summary")
    page.fill(f"#d-{sched.v_z.id}", "2026-12-07")
    page.fill(f"#ws-{sched.v_z.id}", "11:00")
    page.fill(f"#we-{sched.v_z.id}", "10:00")
    page.click(f"{item} button[type=submit]:not([name=clear])")
    page.wait_for_selector(f"{item} .field-error")
    assert "结束时间须晚于开始时间" in page.inner_text(f"{item} .sched-edit")
    assert page.input_value(f"#d-{sched.v_z.id}") == "2026-12-07"  # the input is kept
    page.fill(f"#we-{sched.v_z.id}", "12:00")
    page.click(f"{item} button[type=submit]:not([name=clear])")
    page.wait_for_selector(f"#day-2026-12-07 {item}")
    # nothing wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.goto(url + "?view=month&month=2026-12")
    page.wait_for_selector("td[data-day='2026-12-07'][data-count='1']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(tmp_path / "schedule_month.png"), full_page=True)
    db.session.expire_all()
    v = db.session.get(Visit, sched.v_z.id)
    assert v.stage is VisitStage.SCHEDULED and v.window_start.hour == 11
