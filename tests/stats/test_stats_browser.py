"""The statistics page on a 360 px phone (Debian Chromium): the figures and charts fit the screen,
and an invalid date range typed into the form is refused next to the field with the input kept."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_stats_page_on_a_phone(page, live_server, world):
    page.goto(live_server.url + "/login")
    page.fill("#username", "joint")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/stats?year=2026")
    assert page.locator('[data-figure="visits_total"]').inner_text() == "7"
    assert page.locator('[data-figure="on_time_rate"]').inner_text() == "42.9%"
    charts = page.locator("svg.stats-chart")
    assert charts.count() == 3
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
        assert charts.nth(i).get_attribute("role") == "img"
    # the figures' tables stay within the screen (cards, not a wide table)
    for table in ("#table-categories", "#table-departments", "#table-risk"):
        box = page.locator(table).bounding_box()
        assert box["x"] + box["width"] <= 360, (table, box)

    page.fill("#from", "2026-06-01")
    page.fill("#to", "2026-05-01")
    page.click(".stats-filters button[type=submit]")
    page.wait_for_load_state()
    error = page.locator("#to ~ .field-error")
    assert "结束日期 2026-05-01 早于开始日期 2026-06-01" in error.inner_text()
    assert error.is_visible()
    assert page.input_value("#from") == "2026-06-01" and page.input_value("#to") == "2026-05-01"
    assert page.locator("[data-figure]").count() == 0
