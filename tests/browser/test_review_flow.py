"""The full flow from a synced visit to a reviewed result (issue 8): two phones fill and sync both
departments' sections, the leader consolidates in the back office, reviewer A accepts, reviewer B
returns with a comment, a corrected version arrives, the leader consolidates again, B accepts and
the visit page shows the stage "reviewed". Real Chromium, the real app as the server (SQLite)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from server.auth.roles import Role
from server.extensions import db
from tests.browser.field_helpers import PHONE, fill_section, finish, login, open_app

pytestmark = pytest.mark.browser


def _phone_section(browser, server, username, team):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        open_app(page, server)
        login(page, username)
        page.click(f"a.visit[data-visit-id='{team.visit.id}']")
        page.click("#open-form")
        page.wait_for_selector("#onsite-form")
        fill_section(page, inspector_ids=[team.i_a.id, team.i_b.id])
        finish(page)
        page.wait_for_selector("#record-locked[data-status='synced']", timeout=30_000)
    finally:
        context.close()


def _office(browser, server, username):
    """A desktop browser logged in to the back office as ``username``."""
    from tests.conftest import PASSWORD

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    return context, page


def _stage(page) -> str:
    return page.get_attribute("[data-stage]", "data-stage")


def test_the_full_flow_from_a_synced_visit_to_a_reviewed_result(browser, server, team, make_user):
    from server.review.models import SectionResult

    make_user("rev_a", roles=(Role.REVIEWER,), department=team.a)
    make_user("rev_b", roles=(Role.REVIEWER,), department=team.b)
    visit_url = f"{server.url}/visits/{team.visit.id}"

    _phone_section(browser, server, "zhang", team)
    _phone_section(browser, server, "lisi", team)

    # the leader consolidates in the back office
    ctx, leader = _office(browser, server, "zhang")
    leader.goto(visit_url)
    assert _stage(leader) == "visited"
    assert leader.get_attribute("[data-result-due]", "data-result-due")
    leader.fill("#summary", "两部门检查完毕，许可证问题已当场整改")
    leader.click("#consolidate-submit")
    leader.wait_for_selector("[data-stage='consolidated']")

    # reviewer A accepts its department's section; reviewer B returns its own with a comment
    ctx_a, rev_a = _office(browser, server, "rev_a")
    rev_a.goto(visit_url)
    assert rev_a.locator(f"#dept-{team.b.id}").count() == 0  # only their own department's section
    rev_a.click(f"#dept-{team.a.id} button.accept")
    rev_a.wait_for_selector(f"#dept-{team.a.id} [data-result-status='accepted']")
    assert rev_a.locator(f"#dept-{team.a.id} [data-referral-due]").count() == 1  # a problem: referral due shown

    ctx_b, rev_b = _office(browser, server, "rev_b")
    rev_b.goto(visit_url)
    rev_b.click(f"#dept-{team.b.id} button.return")  # without a comment: refused next to the field
    rev_b.wait_for_selector("[data-error='comment_required']")
    rev_b.fill(f"#dept-{team.b.id} textarea[name=comment]", "成品油经营许可证照片不清晰，请补拍后重新提交")
    rev_b.click(f"#dept-{team.b.id} button.return")
    rev_b.wait_for_selector(f"#dept-{team.b.id} [data-result-status='returned']")
    assert "请补拍后重新提交" in rev_b.inner_text(f"#dept-{team.b.id} .review-comment")

    # the corrected version of the returned section arrives (as the phone sends it, through the API)
    db.session.expire_all()
    sr_b = db.session.execute(select(SectionResult).where(SectionResult.visit_id == team.visit.id,
                                                          SectionResult.department_id == team.b.id)).scalar_one()
    from server.fieldwork.models import VisitRecord

    returned = db.session.get(VisitRecord, sr_b.record_id)
    content = dict(returned.content, evidence_notes="已补拍成品油经营许可证照片")
    api = server.app.test_client()
    from tests.conftest import PASSWORD

    assert api.post("/login", data={"username": "lisi", "password": PASSWORD}).status_code in (302, 303)
    resp = api.put(f"/api/visits/{team.visit.id}/records/{uuid.uuid4()}", json={
        "department_id": team.b.id, "base_version": returned.version, "content": content, "photos": [],
        "finished": True, "device_id": "phone-lisi", "saved_at": "2026-12-03T10:00:00+08:00"})
    assert resp.status_code == 201, resp.get_json()

    leader.goto(visit_url)
    assert _stage(leader) == "visited"
    leader.click("#consolidate-submit")
    leader.wait_for_selector("[data-stage='consolidated']")
    assert leader.locator("[data-round]").count() == 2

    rev_b.goto(visit_url)
    rev_b.click(f"#dept-{team.b.id} button.accept")
    rev_b.wait_for_selector(f"#dept-{team.b.id} [data-result-status='accepted']")

    leader.goto(visit_url)
    assert _stage(leader) == "reviewed"
    assert leader.locator("[data-result-status='accepted']").count() == 2
    for c in (ctx, ctx_a, ctx_b):
        c.close()
