"""A returned section corrected on a phone that never had the record (issue 8 §2): another member of
the same department logs in on another phone, opens the returned section, sees the reviewer's comment
and the returned content prefilled (from the pull's ``review.returned_record``), changes one answer,
signs again, finishes and syncs. The server then holds version 2 based on version 1, with the rest of
the content equal to version 1 — nothing the team entered had to be typed again — and the photo of
version 1, which this phone never had, referenced without being uploaded again. The review rows are
written directly in the test database (the review area writes them in production)."""

from __future__ import annotations

import copy

import pytest

from server.review.models import ResultStatus
from tests.browser.field_helpers import (
    PHONE,
    ask_sync,
    build_field_team,
    fill_section,
    finish,
    idb_records,
    jpeg_bytes,
    local_photo_hashes,
    login,
    open_app,
    require_build,
    review_section,
    saved,
    server_records,
    sign,
    wait_outbox_empty,
)

pytestmark = pytest.mark.browser

COMMENT = "从业人员数与营业执照不符，请核实后更正并重新签字。"


def _new_phone(browser, server, username):
    ctx = browser.new_context(**PHONE)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    open_app(page, server)
    login(page, username)
    return ctx, page


def _without_signatures_and(content, answer_key):
    """The content minus what a correction changes here: one answer and the signatures given again."""
    c = copy.deepcopy(content)
    c["answers"].pop(answer_key)
    c["business"].pop("signature")
    c["business"].pop("signed_at")
    c.pop("inspectors")
    return c


def test_another_member_corrects_a_returned_section_from_the_servers_copy(browser, server, make_department, make_user,
                                                                         make_inspector, make_object, make_task,
                                                                         tmp_path):
    require_build()
    team = build_field_team(make_department, make_user, make_inspector, make_object, make_task, same_dept_pair=True)
    inspectors = [team.i_a.id, team.i_b.id, team.i_a2.id]
    photo = tmp_path / "shop.jpg"
    photo.write_bytes(jpeg_bytes(1200, 800, seed=3))
    contexts = []
    try:
        # zhang's phone: the section is filled (with a photo), finished and synced
        ctx, first = _new_phone(browser, server, "zhang")
        contexts.append(ctx)
        first.click(f"a.visit[data-visit-id='{team.visit.id}']")
        first.click("#open-form")
        first.wait_for_selector("#onsite-form")
        fill_section(first, photos=[photo], inspector_ids=inspectors)
        finish(first)
        ask_sync(first)
        wait_outbox_empty(first)
        (v1,) = server_records(team.visit.id)
        assert v1.version == 1 and v1.finished and len(v1.photos) == 1
        review_section(team, v1, ResultStatus.RETURNED, COMMENT)

        # wang, the same department's other member, on a phone that never had the record
        ctx, phone = _new_phone(browser, server, "wang")
        contexts.append(ctx)
        assert local_photo_hashes(phone) == [] and idb_records(phone) == []
        entry = f"a.visit[data-visit-id='{team.visit.id}'][data-state='returned']"
        phone.wait_for_selector(entry, timeout=20_000)
        assert COMMENT in phone.inner_text(entry)
        # offline from here until the form shows: the photo, which this phone never had, cannot be shown
        server.offline()
        phone.click(entry)
        box = phone.locator(f"div.section[data-department-id='{team.a.id}'] .review-returned")
        assert COMMENT in box.inner_text()
        assert box.inner_text().count(COMMENT) == 1
        assert phone.inner_text(f"div.section[data-department-id='{team.a.id}']").count(COMMENT) == 1  # said once
        assert phone.inner_text("#open-form") == "按审核意见修改"
        phone.click("#open-form")
        phone.wait_for_selector("#record-locked")
        assert COMMENT in phone.inner_text("#review-banner")
        assert "第 1 版" in phone.inner_text("#server-copy")
        assert phone.inner_text("#new-version") == "按审核意见修改"
        phone.click("#new-version")
        phone.wait_for_selector("#onsite-form")
        assert COMMENT in phone.inner_text("#review-banner")

        # the returned content is prefilled: nothing to type again
        number = phone.locator(".question input[type=number]").first
        assert number.input_value() == "12"
        assert phone.locator(".question input[type=radio][value=yes]").first.is_checked()
        assert phone.input_value("#findings") == "许可证未悬挂于显著位置"
        assert phone.input_value("textarea[id^=problems-]") == "许可证未在经营场所显著位置悬挂"
        assert phone.input_value("select[id^=result-]") == "rectified"
        assert phone.input_value("#party-opinion") == "无异议，已当场整改"
        assert phone.input_value("#biz-name") == "赵六"
        assert phone.get_attribute("#photo-count", "data-count") == "1"
        thumb = f"#photos-card li[data-sha256='{v1.photos[0]}']"
        phone.wait_for_selector(f"{thumb} .photo-on-server")  # not a broken image: it is on the server
        assert phone.inner_text(f"{thumb} .photo-on-server") == "照片在服务器上，联网后显示；无需重新拍摄"
        server.online()
        phone.evaluate("window.dispatchEvent(new HashChangeEvent('hashchange'))")  # drawn again, online
        phone.wait_for_selector(f"{thumb} img")
        assert phone.locator(f"#photos-card li[data-sha256='{v1.photos[0]}'] img").count() == 1
        # the signatures attest the content they were given on: everyone signs the correction again
        assert phone.locator('div.sig[data-sig="business"][data-signed="1"]').count() == 0

        number.fill("15")
        saved(phone)
        sign(phone, 'canvas[data-sig="business"]')
        for iid in inspectors:
            sign(phone, f'canvas[data-sig="inspector-{iid}"]')
        saved(phone)
        finish(phone)
        ask_sync(phone)
        wait_outbox_empty(phone)

        records = server_records(team.visit.id)
        assert [(r.version, r.base_version) for r in records] == [(1, 0), (2, 1)]
        v1, v2 = records
        assert v2.finished and v2.created_by_id == team.u_a2.id
        key = next(k for k, v in v1.content["answers"].items() if str(v) == "12")
        assert str(v2.content["answers"][key]) == "15"
        assert _without_signatures_and(v2.content, key) == _without_signatures_and(v1.content, key)
        assert v2.content["business"]["signature"] and set(v2.content["inspectors"]) == {str(i) for i in inspectors}
        assert v2.photos == v1.photos  # referenced, not uploaded again: this phone never had the bytes
        assert local_photo_hashes(phone) == []
        mine = next(r for r in idb_records(phone) if r["status"] == "synced")
        assert mine["receipt"]["complete"] is True
        assert mine["receipt"]["photos"] == [{"sha256": v1.photos[0], "stored": True}]
        assert records[0].content == v1.content  # the returned version is kept as it was

        # corrected: no longer "审核退回" on wang's list
        phone.goto(server.url + "/app/#/")
        ask_sync(phone)
        phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='synced']", timeout=20_000)
    finally:
        for ctx in contexts:
            ctx.close()


def test_a_phone_with_only_an_older_version_corrects_the_returned_one(browser, server, app, make_department,
                                                                      make_user, make_inspector, make_object,
                                                                      make_task):
    """zhang's phone holds version 1; wang stored version 2 from another phone and version 2 was returned:
    zhang's correction starts from version 2 (the server's copy), not from the older local version 1."""
    from tests.conftest import PASSWORD

    require_build()
    team = build_field_team(make_department, make_user, make_inspector, make_object, make_task, same_dept_pair=True)
    inspectors = [team.i_a.id, team.i_b.id, team.i_a2.id]
    contexts = []
    try:
        ctx, phone = _new_phone(browser, server, "zhang")
        contexts.append(ctx)
        phone.click(f"a.visit[data-visit-id='{team.visit.id}']")
        phone.click("#open-form")
        phone.wait_for_selector("#onsite-form")
        fill_section(phone, inspector_ids=inspectors)
        finish(phone)
        ask_sync(phone)
        wait_outbox_empty(phone)
        (v1,) = server_records(team.visit.id)

        # version 2 from wang's phone (sent through the API as the app sends it)
        other = app.test_client()
        session = other.post("/api/session", json={"username": "wang", "password": PASSWORD}).get_json()
        content = copy.deepcopy(v1.content)
        content["findings"] = "许可证未悬挂于显著位置（王检查补充）"
        resp = other.put(f"/api/visits/{team.visit.id}/records/6f0f6c1e-7a57-4c1e-9d1b-2f4c8a1e0b01",
                         json={"department_id": team.a.id, "base_version": 1, "content": content, "photos": [],
                               "finished": True, "device_id": "wang-phone"},
                         headers={"X-CSRFToken": session["csrf_token"]})
        assert resp.status_code == 201, resp.get_json()
        v2 = server_records(team.visit.id)[1]
        assert v2.version == 2
        review_section(team, v2, ResultStatus.RETURNED, COMMENT)

        phone.goto(server.url + "/app/#/")
        ask_sync(phone)
        entry = f"a.visit[data-visit-id='{team.visit.id}'][data-state='returned']"
        phone.wait_for_selector(entry, timeout=20_000)
        phone.click(entry)
        phone.click("#open-form")
        phone.wait_for_selector("#server-copy")
        assert "第 2 版" in phone.inner_text("#server-copy")
        phone.click("#new-version")
        phone.wait_for_selector("#onsite-form")
        assert phone.input_value("#findings") == "许可证未悬挂于显著位置（王检查补充）"
        phone.fill("#notes", "已按审核意见核实从业人员数")
        saved(phone)
        sign(phone, 'canvas[data-sig="business"]')
        for iid in inspectors:
            sign(phone, f'canvas[data-sig="inspector-{iid}"]')
        saved(phone)
        finish(phone)
        ask_sync(phone)
        wait_outbox_empty(phone)

        records = server_records(team.visit.id)
        assert [(r.version, r.base_version) for r in records] == [(1, 0), (2, 1), (3, 2)]
        v3 = records[2]
        assert v3.content["findings"] == "许可证未悬挂于显著位置（王检查补充）"
        assert v3.content["notes"] == "已按审核意见核实从业人员数"
    finally:
        for ctx in contexts:
            ctx.close()
