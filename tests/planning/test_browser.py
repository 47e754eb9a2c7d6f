"""The task form in a real browser on a phone: create a task, see the error kept by the field."""

from __future__ import annotations

import pytest

from server.extensions import db
from server.planning.models import Task
from tests.conftest import PASSWORD


@pytest.fixture
def phone(page, live_server, users):  # noqa: F811
    page.goto(live_server.url + "/login")
    page.fill("#username", "scj_init")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    return page


def test_create_task_on_a_phone(phone, live_server, depts, edition, tmp_path):  # noqa: F811
    phone.goto(live_server.url + "/tasks/new")
    phone.fill("#name", "成品油市场联合检查")
    phone.fill("#adhoc_reason", "群众举报")
    phone.fill("#period_start", "2026-05-01")
    phone.fill("#period_end", "2026-04-01")
    phone.check(f"input[name=participant_ids][value='{depts['swj'].id}']")
    phone.check(f"input[name=check_item_ids][value='{edition['oil'].id}']")
    phone.click("button[name=action][value=refresh]")
    assert phone.locator(f"#members_{depts['swj'].id}").is_visible()
    phone.click("#save-task")
    assert phone.locator(".field-error", has_text="不能早于开始日期").is_visible()
    assert phone.input_value("#name") == "成品油市场联合检查"
    phone.screenshot(path=str(tmp_path / "task_form_error.png"), full_page=True)
    phone.fill("#period_end", "2026-05-31")
    phone.click("#save-task")
    phone.wait_for_selector("h1:has-text('成品油市场联合检查')")
    phone.screenshot(path=str(tmp_path / "task_detail.png"), full_page=True)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360 + 1, "the detail page must not scroll sideways on a phone"
    task = db.session.execute(db.select(Task)).scalar_one()
    assert task.period_end.isoformat() == "2026-05-31"
