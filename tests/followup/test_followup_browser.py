"""The follow-up screens on a phone-sized page (360 px): from the 待移送 reminder to a registered transfer,
with the error next to the field and the typed text kept."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import PASSWORD


@pytest.mark.browser
def test_register_a_transfer_from_the_reminder_on_a_phone(fw, make_result, set_today, page, live_server,
                                                           tmp_path):
    set_today(date(2026, 12, 10))
    sr = make_result(fw.v_z, fw.a, entered_on=date(2026, 12, 2))  # due 12-11: within 3 working days
    page.goto(live_server.url + "/login")
    page.fill("#username", fw.reviewer_a.username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert page.locator("[data-followups-due]").inner_text() == "1"
    page.goto(live_server.url + "/followups")
    page.screenshot(path=str(tmp_path / "followup_index_360.png"), full_page=True)
    reminder = page.locator(f'[data-pending-result="{sr.id}"]')
    assert fw.obj_z.name in reminder.inner_text()
    reminder.get_by_role("link", name="登记后续处置").click()
    page.get_by_label("转办（其他部门）").check()
    page.fill("#matter", "计量器具未检定，转办市场监管部门处理")
    page.get_by_role("button", name="登记").click()
    page.screenshot(path=str(tmp_path / "followup_new_360.png"), full_page=True)
    error = page.locator(".field-error")
    assert "必须指定接收部门" in error.inner_text()
    assert page.input_value("#matter") == "计量器具未检定，转办市场监管部门处理"
    assert page.locator('input[name=kind][value=transfer]').is_checked()
    page.select_option("#target_department_id", str(fw.c.id))
    page.get_by_role("button", name="登记").click()
    page.wait_for_url("**/follow-ups/*")
    assert "接收局" in page.inner_text("main") and "2026-12-11" in page.inner_text("main")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    page.screenshot(path=str(tmp_path / "followup_show_360.png"), full_page=True)
