"""The field app writes content schema 2 (docs/field-record.md) and survives a server that refuses,
hangs or is away: real Chromium on a phone-sized screen, the real app as the server (SQLite)."""

from __future__ import annotations

import json
import time

import pytest

from server.extensions import db
from tests.browser.field_helpers import (
    ask_sync,
    fill_section,
    finish,
    idb_put_record,
    idb_records,
    jpeg_bytes,
    login,
    open_app,
    saved,
    server_records,
    sign,
    wait_outbox_empty,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "shop.jpg"
    path.write_bytes(jpeg_bytes(1200, 900, seed=3))
    return str(path)


def _inspectors(team):
    return [team.i_a.id, team.i_b.id]


def _open_form(page, visit_id):
    page.click(f"a.visit[data-visit-id='{visit_id}']")
    page.click("#open-form")
    page.wait_for_selector("#onsite-form")


def _sync_idle(page):
    page.wait_for_selector("#sync-now:not([disabled])", timeout=30_000)


def _sign_all(page, team, business=True):
    if business:
        sign(page, 'canvas[data-sig="business"]')
    for iid in _inspectors(team):
        sign(page, f'canvas[data-sig="inspector-{iid}"]')


def test_the_onsite_flow_writes_schema_2_with_method_problems_handling_and_the_partys_opinion(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    _open_form(phone, team.visit.id)
    item = team.item_a.id
    methods = phone.locator(f"#method-{item} input[type=radio]").evaluate_all("els => els.map(e => e.value)")
    assert methods == ["onsite", "documents", "online", "sampling"]  # the pulled list (built-in one offline)
    assert all(phone.locator(f"#method-{item} label.choice").all_inner_texts())
    fill_section(phone, inspector_ids=_inspectors(team))
    finish(phone)
    phone.wait_for_selector("#record-locked[data-status='synced']", timeout=20_000)

    (record,) = server_records(team.visit.id)
    content = record.content
    assert content["schema"] == 2 and content["notice"] == "served"
    assert content["results"][str(item)] == {
        "code": "rectified", "method": "onsite", "problems": "许可证未在经营场所显著位置悬挂",
        "handling": "当场责令改正，已重新悬挂", "legal_basis": "《食品安全法》第三十五条", "follow_up": "order_rectify"}
    assert content["party"] == {"liaison_name": "赵六", "liaison_phone": "0391-7221234", "opinion": "无异议，已当场整改"}
    assert content["business"]["mode"] == "signature" and content["business"]["signature"].startswith("data:image/png")


def test_a_problem_result_asks_for_method_problems_handling_and_follow_up(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    _open_form(phone, team.visit.id)
    item = team.item_a.id
    phone.select_option(f"#result-{item}", "no_problem")
    assert phone.locator(f"#problems-{item}").count() == 0  # only a problem asks for problems and handling
    phone.select_option(f"#result-{item}", "pending_followup")
    phone.click("#finish")
    for field in (f"method-{item}", f"problems-{item}", f"handling-{item}", f"basis-{item}", f"followup-{item}"):
        assert phone.locator(f".field-error[data-for='{field}']").count() == 1, field
    assert phone.locator("#record-locked").count() == 0
    assert "none" not in phone.locator(f"#followup-{item} option").evaluate_all("els => els.map(e => e.value)")
    phone.fill(f"#problems-{item}", "未公示许可信息")
    phone.wait_for_selector(f".field-error[data-for='problems-{item}']", state="detached")


def test_an_unannounced_visit_offers_no_notice_choice(phone, server, team):
    team.task.unannounced = True
    db.session.commit()
    open_app(phone, server)
    login(phone, "zhang")
    _open_form(phone, team.visit.id)
    assert phone.locator("input[name=notice]").count() == 0
    assert phone.inner_text("#notice-unannounced") == "不事先告知"
    fill_section(phone, inspector_ids=_inspectors(team), notice=None)
    finish(phone)
    phone.wait_for_selector("#record-locked[data-status='synced']", timeout=20_000)
    (record,) = server_records(team.visit.id)
    assert record.content["notice"] == "unannounced"


def test_nobody_present_needs_evidence_and_no_signature_or_refusal_and_syncs(phone, server, team, photo):
    open_app(phone, server)
    login(phone, "zhang")
    _open_form(phone, team.visit.id)
    phone.click("#checkin")
    phone.wait_for_selector("#checkin-info")
    phone.check("#notice-not_served")
    phone.select_option(f"#result-{team.item_a.id}", "unreachable")
    # the only choice is "无法联系/无人在场": no business signature, no refusal statement [000#21]
    assert phone.is_checked("#biz-mode-absent")
    assert phone.locator("#biz-mode-refusal, #biz-mode-signature, #biz-mode-stamp").count() == 0
    assert phone.locator('canvas[data-sig="business"], canvas[data-sig="refusal"], #refusal-statement').count() == 0
    assert phone.locator(f"#method-{team.item_a.id}").count() == 0  # nothing was checked: no method
    _sign_all(phone, team, business=False)
    phone.click("#finish")
    phone.wait_for_selector(".field-error[data-for='evidence_notes']")  # evidence is still required
    assert phone.locator("#record-locked").count() == 0

    phone.set_input_files("#photo-input", photo)
    phone.wait_for_selector("#photo-count[data-count='1']", timeout=20_000)
    saved(phone)
    finish(phone)
    phone.wait_for_selector("#record-locked[data-status='synced']", timeout=30_000)
    (record,) = server_records(team.visit.id)
    business = record.content["business"]
    assert business["mode"] == "absent" and not business["signature"]
    assert not business["refusal"]["inspector_signature"]
    assert record.content["results"][str(team.item_a.id)]["code"] == "unreachable"
    assert len(record.photos) == 1 and record.finished


def test_a_finished_record_refused_with_422_stays_as_needs_attention_and_syncs_after_the_fix(phone, server, team):
    item = team.item_a.id
    open_app(phone, server)
    login(phone, "zhang")
    server.offline()
    _open_form(phone, team.visit.id)
    fill_section(phone, inspector_ids=_inspectors(team))
    finish(phone)
    # the queued record lacks the legal basis of its problem result (written by an app that did not
    # know the server's rule): only the server can refuse it
    (rec,) = [r for r in idb_records(phone) if r["status"] == "queued"]
    rec["content"]["results"][str(item)]["legal_basis"] = ""
    idb_put_record(phone, rec)

    server.online()
    phone.goto(server.url + "/app/#/")
    _sync_idle(phone)
    ask_sync(phone)
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='attention']", timeout=20_000)
    assert phone.inner_text(f"a.visit[data-visit-id='{team.visit.id}'] .badge") == "需处理"
    assert server_records(team.visit.id) == []
    assert phone.get_attribute("#outbox-count", "data-count") == "1"  # kept on the phone, never deleted

    phone.click(f"a.visit[data-visit-id='{team.visit.id}']")
    assert phone.locator("p.error.conflict").inner_text().startswith("需处理")
    phone.click("#open-form")
    phone.wait_for_selector("#record-locked[data-status='attention']")
    assert phone.inner_text("#record-error")  # the server's summary
    assert phone.locator("#record-error-fields li").count() >= 1

    phone.click("#new-version")
    phone.wait_for_selector("#onsite-form")
    message = phone.locator(f".field-error[data-for='basis-{item}']")
    assert message.count() == 1 and message.inner_text()  # the server's field message, next to the field
    phone.fill(f"#basis-{item}", "《食品安全法》第三十五条")
    phone.wait_for_selector(f".field-error[data-for='basis-{item}']", state="detached")
    saved(phone)
    _sign_all(phone, team)
    finish(phone)
    phone.wait_for_selector("#record-locked[data-status='synced']", timeout=20_000)
    wait_outbox_empty(phone)

    (record,) = server_records(team.visit.id)
    assert record.content["results"][str(item)]["legal_basis"] == "《食品安全法》第三十五条"
    statuses = sorted(r["status"] for r in idb_records(phone))
    assert statuses == ["superseded", "synced"]  # the refused version is still on the phone


@pytest.mark.parametrize("status,code", [(403, "recused"), (403, "not_results_entrant"), (413, "payload_too_large")])
def test_no_refusal_of_a_finished_record_loses_it(phone, server, team, status, code):
    def refuse(route):
        if route.request.method == "PUT":
            route.fulfill(status=status, content_type="application/json",
                          body=json.dumps({"error": {"code": code, "message": f"服务器拒绝：{code}", "details": {}}}))
        else:
            route.continue_()

    phone.context.route(f"**/api/visits/{team.visit.id}/records/**", refuse)
    open_app(phone, server)
    login(phone, "zhang")
    _open_form(phone, team.visit.id)
    fill_section(phone, inspector_ids=_inspectors(team))
    finish(phone)
    phone.wait_for_selector("#record-locked[data-status='attention']", timeout=20_000)
    assert phone.inner_text("#record-error") == f"服务器拒绝：{code}"
    assert phone.get_attribute("#outbox-count", "data-count") == "1"
    (rec,) = idb_records(phone)
    assert rec["status"] == "attention" and rec["error_code"] == code and rec["content"]["findings"]


def test_a_response_that_never_comes_times_out_and_the_bar_leaves_syncing(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    wait_outbox_empty(phone)
    _sync_idle(phone)
    hung = []
    phone.context.route("**/api/sync/pull**", lambda route: hung.append(route))  # accepted, never answered
    started = time.time()
    phone.click("#sync-now")
    phone.wait_for_selector("#sync-now[disabled]")
    assert phone.inner_text("#sync-now") == "同步中…"
    phone.wait_for_selector("#last-sync[data-ok='0']", timeout=40_000)
    assert hung, "the pull never reached the hanging route"
    assert time.time() - started >= 15  # it waited for the time limit (20 s), not for ever
    assert phone.inner_text("#sync-now") == "立即同步" and not phone.is_disabled("#sync-now")
    text = phone.inner_text("#last-sync")
    assert "上次同步失败" in text and "超时" in text
    assert phone.locator("#offline").count() == 1


def test_the_form_says_saved_after_a_photo_was_saved(phone, server, team, photo):
    open_app(phone, server)
    login(phone, "zhang")
    _open_form(phone, team.visit.id)
    assert phone.inner_text("#save-state") == "尚未保存"
    phone.set_input_files("#photo-input", photo)  # the first change of a new draft is a photo
    phone.wait_for_selector("#photo-count[data-count='1']", timeout=20_000)
    assert phone.get_attribute("#save-state", "data-state") == "saved"
    assert phone.inner_text("#save-state").startswith("已保存")
    (rec,) = idb_records(phone)
    assert len(rec["content"]["photos"]) == 1


def test_offline_is_shown_when_the_network_or_the_server_is_away(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    wait_outbox_empty(phone)
    _sync_idle(phone)
    assert phone.locator("#offline").count() == 0
    phone.context.set_offline(True)
    phone.wait_for_selector("#offline[data-why='network']")
    assert phone.inner_text("#offline").startswith("离线")
    phone.context.set_offline(False)
    phone.wait_for_selector("#offline", state="detached")

    _sync_idle(phone)
    server.offline()
    phone.click("#sync-now")
    phone.wait_for_selector("#offline[data-why='server']", timeout=30_000)
    assert "上次同步失败" in phone.inner_text("#last-sync")
    server.online()
    _sync_idle(phone)
    ask_sync(phone)
    phone.wait_for_selector("#last-sync[data-ok='1']", timeout=30_000)
    assert phone.locator("#offline").count() == 0


def test_a_schema_1_draft_left_on_the_phone_opens_upgraded_losing_nothing(phone, server, team):
    item = team.item_a.id
    open_app(phone, server)
    login(phone, "zhang")
    old = {
        "uuid": "5b0e7a52-3f5e-4c3a-9d43-0a1b2c3d4e5f", "visit_id": team.visit.id, "department_id": team.a.id,
        "parent_uuid": None, "server_parent_uuid": None, "base_version": 0, "photos": [], "finished": False,
        "status": "draft", "created_at": "2026-11-30T01:00:00.000Z", "saved_at": "2026-11-30T01:05:00.000Z",
        "content": {
            "schema": 1, "check_in": {"at": "2026-11-30T01:00:00.000Z", "gps": None, "gps_error": "timeout"},
            "notice": "unannounced", "answers": {}, "findings": "旧版记录的发现", "measures": {}, "evidence_notes": "",
            "notes": "旧版备注", "photos": [], "inspectors": {},
            "results": {str(item): {"code": "rectified", "legal_basis": "旧版依据", "follow_up": "order_rectify"}},
            "business": {"mode": "signature", "name": "赵六", "role": "店长", "signature": None, "signed_at": None,
                         "stamp_photo": None, "refusal": {"reason": "", "at": "", "place": "", "witness_name": "",
                                                          "witness_photo": None, "statement": "",
                                                          "inspector_signature": None, "inspector_signed_at": None}},
        },
    }
    idb_put_record(phone, old)
    _open_form(phone, team.visit.id)
    assert phone.get_attribute("#onsite-form", "data-uuid") == old["uuid"]
    assert phone.input_value("#findings") == "旧版记录的发现"
    assert phone.input_value("#notes") == "旧版备注"
    assert phone.input_value(f"#basis-{item}") == "旧版依据"
    assert phone.input_value(f"#result-{item}") == "rectified"
    assert phone.is_checked("#notice-not_served")  # schema 1's "未事先告知" on an announced task
    assert phone.input_value("#biz-name") == "赵六"
    assert phone.locator(f"#problems-{item}").count() == 1

    (rec,) = idb_records(phone)
    content = rec["content"]
    assert content["schema"] == 2 and content["notice"] == "not_served"
    assert content["findings"] == "旧版记录的发现" and content["business"]["role"] == "店长"
    assert content["results"][str(item)]["legal_basis"] == "旧版依据"
    assert content["results"][str(item)]["follow_up"] == "order_rectify"
    assert content["party"] == {"liaison_name": "", "liaison_phone": "", "opinion": ""}


def test_a_schema_1_record_finished_before_the_update_is_refused_kept_and_resent_as_schema_2(phone, server, team):
    item = team.item_a.id
    open_app(phone, server)
    login(phone, "zhang")
    wait_outbox_empty(phone)
    uuid = "7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    sig = "data:image/png;base64,iVBORw0KGgo="
    by_position = {q.position: q.id for q in team.tpl_a.questions}
    answers = {f"{item}-{by_position[1]}": "yes", f"{item}-{by_position[3]}": "5"}
    old = {
        "uuid": uuid, "visit_id": team.visit.id, "department_id": team.a.id, "parent_uuid": None,
        "server_parent_uuid": None, "base_version": 0, "photos": [], "finished": True, "status": "queued",
        "created_at": "2026-11-30T01:00:00.000Z", "saved_at": "2026-11-30T01:30:00.000Z",
        "locked_at": "2026-11-30T01:30:00.000Z",
        "content": {
            "schema": 1, "check_in": {"at": "2026-11-30T01:00:00.000Z", "gps": None, "gps_error": "timeout"},
            "notice": "served", "answers": answers, "findings": "旧版完成的记录", "measures": {}, "evidence_notes": "",
            "notes": "", "photos": [],
            "inspectors": {str(i): {"name": "x", "signature": sig} for i in _inspectors(team)},
            "results": {str(item): {"code": "no_problem"}},
            "business": {"mode": "signature", "name": "赵六", "role": "店长", "signature": sig, "signed_at": None,
                         "stamp_photo": None, "refusal": {"reason": "", "at": "", "place": "", "witness_name": "",
                                                          "witness_photo": None, "statement": "",
                                                          "inspector_signature": None, "inspector_signed_at": None}},
        },
    }
    idb_put_record(phone, old)
    phone.evaluate("""async (rec) => {
      const req = indexedDB.open('spotcheck-field');
      const idb = await new Promise((ok, no) => { req.onsuccess = () => ok(req.result); req.onerror = no; });
      await new Promise((ok, no) => { const tx = idb.transaction('outbox', 'readwrite');
        tx.objectStore('outbox').add({ kind: 'record', uuid: rec.uuid, visit_id: rec.visit_id, state: 'pending',
          attempts: 0, created_at: rec.locked_at });
        tx.oncomplete = ok; tx.onerror = no; });
      idb.close();
    }""", old)
    phone.goto(server.url + "/app/#/")
    _sync_idle(phone)
    ask_sync(phone)
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='attention']", timeout=20_000)
    assert server_records(team.visit.id) == []
    assert phone.get_attribute("#outbox-count", "data-count") == "1"

    phone.click(f"a.visit[data-visit-id='{team.visit.id}']")
    phone.click("#open-form")
    phone.wait_for_selector("#record-locked[data-status='attention']")
    phone.click("#new-version")
    phone.wait_for_selector("#onsite-form")
    assert phone.input_value("#findings") == "旧版完成的记录"  # upgraded, nothing lost
    phone.check(f"#method-{item}-documents")
    _sign_all(phone, team)
    finish(phone)
    phone.wait_for_selector("#record-locked[data-status='synced']", timeout=20_000)
    (record,) = server_records(team.visit.id)
    assert record.content["schema"] == 2 and record.content["findings"] == "旧版完成的记录"
    assert record.content["results"][str(item)]["method"] == "documents"
    wait_outbox_empty(phone)
