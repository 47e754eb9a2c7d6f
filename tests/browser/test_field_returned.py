"""A section returned by its department's reviewer goes back to the inspector's phone (issue 8 §2):
the phone shows "审核退回" with the reviewer's comment, the inspector reopens the section, corrects it
and finishes again, and the new version reaches the server based on the returned one. A section
consolidated and waiting for review is read-only on the phone. The review rows are written directly
in the test database (the review area writes them in production), with ``changed_at`` bumped."""

from __future__ import annotations

import pytest

from server.review.models import ResultStatus
from tests.browser.field_helpers import (
    ask_sync,
    fill_section,
    finish,
    login,
    open_app,
    review_section,
    saved,
    server_records,
    sign,
    wait_outbox_empty,
)

pytestmark = pytest.mark.browser

COMMENT = "检查记录中从业人员数与营业执照不符，请核实后更正并重新签字。"


def _finish_and_sync(phone, team):
    phone.click(f"a.visit[data-visit-id='{team.visit.id}']")
    phone.click("#open-form")
    phone.wait_for_selector("#onsite-form")
    fill_section(phone, inspector_ids=[team.i_a.id, team.i_b.id])
    finish(phone)
    ask_sync(phone)
    wait_outbox_empty(phone)
    records = server_records(team.visit.id)
    assert [(r.version, r.finished) for r in records] == [(1, True)]
    return records[0]


def test_a_returned_section_is_corrected_on_the_phone_and_the_new_version_arrives(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    first = _finish_and_sync(phone, team)
    review_section(team, first, ResultStatus.RETURNED, COMMENT)

    phone.goto(server.url + "/app/#/")
    ask_sync(phone)
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='returned']", timeout=20_000)
    assert COMMENT in phone.inner_text(f"a.visit[data-visit-id='{team.visit.id}']")
    assert phone.inner_text(f"a.visit[data-visit-id='{team.visit.id}'] .badge") == "审核退回"

    phone.click(f"a.visit[data-visit-id='{team.visit.id}']")
    box = phone.locator(f"div.section[data-department-id='{team.a.id}'] .review-returned")
    assert "审核退回" in box.inner_text() and COMMENT in box.inner_text()
    assert "结果录入截止 2026-12-31" in phone.inner_text("#visit-schedule")

    phone.click("#open-form")
    phone.wait_for_selector("#record-locked")
    assert COMMENT in phone.inner_text("#review-banner")
    assert phone.inner_text("#new-version") == "按审核意见修改"
    phone.click("#new-version")
    phone.wait_for_selector("#onsite-form")
    assert COMMENT in phone.inner_text("#review-banner")  # the comment stays in sight while correcting
    phone.locator(".question input[type=number]").first.fill("15")
    phone.fill("#findings", "许可证未悬挂于显著位置；从业人员数已核实为15人")
    saved(phone)
    sign(phone, 'canvas[data-sig="business"]')
    for iid in (team.i_a.id, team.i_b.id):
        sign(phone, f'canvas[data-sig="inspector-{iid}"]')
    saved(phone)
    finish(phone)
    ask_sync(phone)
    wait_outbox_empty(phone)

    records = server_records(team.visit.id)
    assert [(r.version, r.base_version) for r in records] == [(1, 0), (2, 1)]
    assert records[1].finished and records[1].content["findings"].endswith("15人")
    assert records[0].content["findings"] == "许可证未悬挂于显著位置"  # the returned version is kept as it was
    phone.goto(server.url + "/app/#/")
    ask_sync(phone)
    # corrected: no longer "审核退回" on the list; the visit page says the leader consolidates again
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='synced']", timeout=20_000)
    phone.click(f"a.visit[data-visit-id='{team.visit.id}']")
    phone.wait_for_selector(f"div.section[data-department-id='{team.a.id}'] .review-returned[data-open='0']")


def test_a_consolidated_section_is_read_only_on_the_phone(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    first = _finish_and_sync(phone, team)
    review_section(team, first, ResultStatus.PENDING)
    phone.goto(server.url + "/app/#/")
    ask_sync(phone)
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}']")
    phone.click(f"a.visit[data-visit-id='{team.visit.id}']")
    phone.wait_for_selector(f"div.section[data-department-id='{team.a.id}'][data-review='pending_review']",
                            timeout=20_000)
    assert "已汇总，待审核" in phone.inner_text(f"div.section[data-department-id='{team.a.id}'] .review-status")
    phone.click("#open-form")
    phone.wait_for_selector("#record-locked")
    assert phone.inner_text("#review-banner") == "已汇总，待审核"
    assert phone.locator("#read-only").count() == 1
    assert phone.locator("#new-version").count() == 0  # no new version of a consolidated section


def test_a_version_sent_after_consolidation_is_refused_and_kept_with_the_message(phone, server, team):
    """The phone did not know yet: its new version gets 409 section_locked, stays on the phone as
    需处理 with the server's message, and the section is read-only once the pull brings the review."""
    open_app(phone, server)
    login(phone, "zhang")
    first = _finish_and_sync(phone, team)
    phone.click("#new-version")  # still "已同步" here: the consolidation has not reached the phone
    phone.wait_for_selector("#onsite-form")
    review_section(team, first, ResultStatus.PENDING)
    phone.fill("#notes", "补充说明")
    saved(phone)
    sign(phone, 'canvas[data-sig="business"]')
    for iid in (team.i_a.id, team.i_b.id):
        sign(phone, f'canvas[data-sig="inspector-{iid}"]')
    saved(phone)
    finish(phone)
    ask_sync(phone)
    phone.wait_for_selector("#record-locked[data-status='attention']", timeout=20_000)
    phone.wait_for_selector("#review-banner[data-status='pending_review']", timeout=20_000)
    assert phone.inner_text("#record-error").strip()  # the server's message, as it said it
    assert phone.locator("#new-version").count() == 0 and phone.locator("#read-only").count() == 1
    assert [r.version for r in server_records(team.visit.id)] == [1]  # nothing stored
    kept = [r for r in phone.evaluate("""async () => {
      const req = indexedDB.open('spotcheck-field');
      const idb = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
      const all = await new Promise((ok) => { const r = idb.transaction('records').objectStore('records').getAll();
        r.onsuccess = () => ok(r.result); });
      idb.close();
      return all.map((x) => ({ status: x.status, code: x.error_code, notes: x.content.notes }));
    }""") if r["status"] == "attention"]
    assert kept == [{"status": "attention", "code": "section_locked", "notes": "补充说明"}]
