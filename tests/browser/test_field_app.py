"""The field app in a real (Debian) Chromium on a phone-sized screen, served by the real app.

"Offline" is real: the live server is stopped (connections refused), which covers the service
worker's own fetches too; Playwright's offline switch would not."""

from __future__ import annotations

import shutil
import time

import pytest

from server.extensions import db
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.browser.field_helpers import (
    PHONE,
    ask_sync,
    build_field_team,
    fill_section,
    finish,
    jpeg_bytes,
    local_photo_hashes,
    login,
    open_app,
    require_build,
    server_records,
    sign,
    wait_js,
    wait_outbox_empty,
    wait_sw_ready,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "shop.jpg"
    path.write_bytes(jpeg_bytes(3000, 2000, seed=7))
    return str(path)


def _inspectors(team):
    return [team.i_a.id, team.i_b.id] + ([team.i_a2.id] if hasattr(team, "i_a2") else [])


def _open_form(page, visit_id):
    page.click(f"a.visit[data-visit-id='{visit_id}']")
    page.click("#open-form")
    page.wait_for_selector("#onsite-form")


def _sync_now(page):
    page.wait_for_selector("#sync-now")
    ask_sync(page)


def _photos_on_server():
    from server.fieldwork.models import Photo

    db.session.expire_all()
    return db.session.execute(db.select(Photo)).scalars().all()


def test_a_whole_visit_offline_survives_a_reload_and_syncs_exactly_once(phone, server, team, photo):
    open_app(phone, server)
    wait_sw_ready(phone)
    login(phone, "zhang")
    server.offline()

    _open_form(phone, team.visit.id)
    fill_section(phone, photos=[photo], inspector_ids=_inspectors(team))
    phone.reload()  # offline: the shell comes from the service worker, the draft from IndexedDB
    phone.wait_for_selector("#onsite-form")
    assert phone.input_value(".question input[type=number]") == "12"
    assert phone.get_attribute("#photo-count", "data-count") == "1"
    assert phone.input_value("#findings") == "许可证未悬挂于显著位置"

    finish(phone)
    phone.goto(server.url + "/app/#/")
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='to_sync']")
    assert server_records(team.visit.id) == []

    server.online()
    _sync_now(phone)
    wait_outbox_empty(phone)
    _sync_now(phone)  # a second run sends nothing again
    wait_outbox_empty(phone)
    records = server_records(team.visit.id)
    assert len(records) == 1
    assert records[0].department_id == team.a.id and records[0].finished
    hashes = local_photo_hashes(phone)
    assert records[0].photos == hashes
    assert {p.sha256 for p in _photos_on_server()} == set(hashes)
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='synced']")


def test_b_an_upload_aborted_mid_way_resumes_without_duplicates(phone, server, team, photo):
    open_app(phone, server)
    wait_sw_ready(phone)
    login(phone, "zhang")
    server.offline()
    _open_form(phone, team.visit.id)
    fill_section(phone, photos=[photo], inspector_ids=_inspectors(team))
    finish(phone)

    patches = []

    def cut_after_first_chunk(route):
        if route.request.method == "PATCH":
            patches.append(route.request.headers.get("upload-offset"))
            if len(patches) == 2:
                route.abort("connectionreset")
                return
        route.continue_()

    phone.context.route("**/api/photos/**", cut_after_first_chunk)
    server.online()
    _sync_now(phone)
    wait_js(phone, "!!document.querySelector('#sync-now') && !document.querySelector('#sync-now').disabled"
                   " && document.querySelector('#outbox-count').dataset.count === '1'", timeout=40)  # slow under load
    deadline = time.time() + 10
    while len(patches) < 2 and time.time() < deadline:
        phone.wait_for_timeout(100)
    assert len(patches) == 2, "the second chunk was never tried"
    sha = local_photo_hashes(phone)[0]
    head = phone.evaluate(f"""fetch('/api/photos/{sha}', {{method: 'HEAD', cache: 'no-store'}})
        .then(r => [r.status, r.headers.get('Upload-Offset'), r.headers.get('Upload-Complete')])""")
    assert head == [200, patches[1], "0"]  # the server kept the first chunk, and only it
    assert server_records(team.visit.id) == []

    _sync_now(phone)  # the route now lets every request through
    wait_outbox_empty(phone)
    assert patches[2] == patches[1] != "0"  # resumed where the server stopped, not from zero
    records = server_records(team.visit.id)
    assert len(records) == 1
    assert records[0].photos == local_photo_hashes(phone)
    assert len(_photos_on_server()) == 1


def test_c_browser_closed_during_sync_completes_after_reopening(browser, server, team, photo, tmp_path):
    profile = str(tmp_path / "profile")
    options = dict(PHONE, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    ctx = browser.browser_type.launch_persistent_context(profile, **options)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.set_default_timeout(15_000)
    open_app(page, server)
    wait_sw_ready(page)
    login(page, "zhang")
    server.offline()
    _open_form(page, team.visit.id)
    fill_section(page, photos=[photo], inspector_ids=_inspectors(team))
    finish(page)

    held = []
    ctx.route("**/api/photos/**", lambda route: held.append(route) if route.request.method == "PATCH" and len(held) < 1
              else route.continue_())
    server.online()
    _sync_now(page)
    deadline = time.time() + 10
    while not held and time.time() < deadline:
        page.wait_for_timeout(100)
    assert held, "sync never reached the photo upload"
    ctx.close()  # the phone is switched off mid-upload
    assert server_records(team.visit.id) == []

    ctx = browser.browser_type.launch_persistent_context(profile, **options)
    try:
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.set_default_timeout(15_000)
        open_app(page, server)  # app start runs a sync
        wait_outbox_empty(page)
        records = server_records(team.visit.id)
        assert len(records) == 1
        assert records[0].photos == local_photo_hashes(page)
        assert len(_photos_on_server()) == 1
    finally:
        ctx.close()


def test_d_session_expired_while_offline_syncs_after_a_new_login(phone, server, team, photo, app):
    from server.auth.sessions import revoke_all

    open_app(phone, server)
    wait_sw_ready(phone)
    login(phone, "zhang")
    server.offline()
    _open_form(phone, team.visit.id)
    fill_section(phone, photos=[photo], inspector_ids=_inspectors(team))
    finish(phone)
    revoke_all(team.u_a.id, "expired")
    db.session.commit()

    server.online()
    phone.goto(server.url + "/app/#/")
    phone.wait_for_selector("#relogin")
    assert "请重新登录以同步" in phone.inner_text("#relogin")
    assert phone.get_attribute("#outbox-count", "data-count") == "1"
    assert server_records(team.visit.id) == []

    login(phone, "zhang")
    wait_outbox_empty(phone)
    assert len(server_records(team.visit.id)) == 1
    assert phone.locator("#relogin").count() == 0


def test_e_two_phones_editing_one_section_keep_both_versions_and_show_the_conflict(browser, server, make_department,
                                                                                   make_user, make_inspector,
                                                                                   make_object, make_task, photo):
    require_build()
    team = build_field_team(make_department, make_user, make_inspector, make_object, make_task, same_dept_pair=True)
    phones = []
    try:
        for username in ("zhang", "wang"):
            ctx = browser.new_context(**PHONE)
            page = ctx.new_page()
            page.set_default_timeout(15_000)
            open_app(page, server)
            login(page, username)
            _open_form(page, team.visit.id)
            phones.append(page)
        first, second = phones
        second.fill("#notes", "第二台手机的记录")  # a draft based on the version both phones saw
        second.wait_for_selector("#save-state[data-state='saved']")

        fill_section(first, inspector_ids=_inspectors(team))
        finish(first)
        first.goto(server.url + "/app/#/")
        wait_outbox_empty(first)

        fill_section(second, inspector_ids=_inspectors(team))
        finish(second)
        second.wait_for_selector("#record-locked[data-status='conflict']", timeout=20_000)
        assert second.locator("#record-error").inner_text()  # the server's message is shown
        second.goto(server.url + "/app/#/")
        second.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='attention']")

        records = server_records(team.visit.id)
        assert len(records) == 2
        assert sorted(r.status.value for r in records) == ["conflict", "stored"]
        first.goto(f"{server.url}/app/#/visit/{team.visit.id}")
        _sync_now(first)  # the team leader's phone pulls: the conflicting version is shown to them
        first.wait_for_selector(f"div.section[data-department-id='{team.a.id}'] li[data-status='conflict']")
        assert {r.content["notes"] for r in records} == {"", "第二台手机的记录"}
    finally:
        for page in phones:
            page.context.close()


def test_f_refusal_to_sign_puts_the_statement_on_the_server_record(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    _open_form(phone, team.visit.id)
    fill_section(phone, refusal=True, inspector_ids=_inspectors(team))
    finish(phone)
    phone.goto(server.url + "/app/#/")
    wait_outbox_empty(phone)
    (record,) = server_records(team.visit.id)
    business = record.content["business"]
    assert business["mode"] == "refusal"
    refusal = business["refusal"]
    assert refusal["reason"] == "负责人称需请示总公司，拒绝签字"
    assert refusal["witness_name"] == "隔壁商户 陈七"
    assert "拒绝" in refusal["statement"]
    assert refusal["inspector_signature"].startswith("data:image/png;base64,")
    assert refusal["inspector_id"] == team.i_a.id
    assert refusal["place"] == "武陟县木城镇建设路18号" and refusal["at"]


def test_g_an_app_update_while_a_form_is_open_does_not_reload_it(phone, server, team, app, tmp_path):
    dist = tmp_path / "dist"
    shutil.copytree(app.config["FIELDAPP_DIST"], dist)
    app.config["FIELDAPP_DIST"] = str(dist)
    open_app(phone, server)
    wait_sw_ready(phone)
    login(phone, "zhang")
    _open_form(phone, team.visit.id)
    phone.fill("#findings", "正在填写，尚未完成")
    phone.evaluate("window.__sameDocument = true")

    sw = dist / "sw.js"
    sw.write_text(sw.read_text() + "\n// 2.0: a new version\n")
    phone.evaluate("window.spotcheckCheckUpdate()")
    phone.wait_for_selector("#update-banner", timeout=20_000)
    assert not phone.is_visible("#update-accept")
    assert phone.is_disabled("#update-accept")
    phone.wait_for_timeout(1500)
    assert phone.evaluate("window.__sameDocument") is True
    assert phone.input_value("#findings") == "正在填写，尚未完成"
    assert phone.evaluate("navigator.serviceWorker.getRegistration('/app/').then(r => !!r.waiting)")

    phone.click("a.back")  # the form is closed: now the user may accept
    phone.wait_for_selector("#update-accept:not([disabled])")
    with phone.expect_navigation():
        phone.click("#update-accept")
    phone.wait_for_selector("body[data-ready='1']")
    assert phone.evaluate("window.__sameDocument") is None
    assert phone.evaluate("navigator.serviceWorker.getRegistration('/app/').then(r => !r.waiting)")


def test_a_refused_record_needs_attention_and_does_not_block_the_next(phone, server, team):
    refused = {"n": 0}

    def refuse_first_visit(route):
        if route.request.method == "PUT":
            refused["n"] += 1
            route.fulfill(status=422, content_type="application/json",
                          body='{"error": {"code": "invalid_record", "message": "记录内容不完整：缺少检查结果。", "details": {}}}')
        else:
            route.continue_()

    phone.context.route(f"**/api/visits/{team.visit.id}/records/**", refuse_first_visit)
    open_app(phone, server)
    login(phone, "zhang")
    server.offline()
    for visit in (team.visit, team.visit2):
        phone.goto(server.url + "/app/#/")
        _open_form(phone, visit.id)
        fill_section(phone, inspector_ids=_inspectors(team))
        finish(phone)
    server.online()
    phone.goto(server.url + "/app/#/")
    _sync_now(phone)
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit2.id}'][data-state='synced']")
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='attention']")
    assert refused["n"] == 1
    assert len(server_records(team.visit2.id)) == 1 and server_records(team.visit.id) == []
    phone.click(f"a.visit[data-visit-id='{team.visit.id}']")
    phone.click("#open-form")
    assert phone.inner_text("#record-error") == "记录内容不完整：缺少检查结果。"
    assert phone.get_attribute("#outbox-count", "data-count") == "1"  # kept, not dropped


def test_logout_is_refused_while_the_outbox_holds_records(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    server.offline()
    _open_form(phone, team.visit.id)
    fill_section(phone, inspector_ids=_inspectors(team))
    finish(phone)
    phone.goto(server.url + "/app/#/settings")
    phone.click("#logout")
    phone.wait_for_selector("#logout-error:not([hidden])")
    assert phone.inner_text("#logout-error") == "还有未同步的记录，不能退出登录。请先联网同步。"
    phone.goto(server.url + "/app/#/")
    phone.wait_for_selector(f"a.visit[data-visit-id='{team.visit.id}'][data-state='to_sync']")


def test_logout_with_everything_synced_wipes_the_device(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    phone.goto(server.url + "/app/#/settings")
    phone.click("#logout")
    phone.wait_for_selector("#login-submit")
    assert phone.evaluate("""new Promise((ok) => { const r = indexedDB.open('spotcheck-field');
        r.onsuccess = () => { const q = r.result.transaction('visits').objectStore('visits').count();
          q.onsuccess = () => { ok(q.result); r.result.close(); }; }; })""") == 0


def test_the_app_speaks_english_on_request(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    phone.goto(server.url + "/app/#/settings")
    phone.click("#lang-toggle")
    phone.wait_for_selector("header.top h1:text-is('Settings')")
    phone.goto(server.url + "/app/#/")
    phone.wait_for_selector("a.visit")
    assert phone.inner_text("header.top h1") == "Visits"
    assert phone.inner_text(f"a.visit[data-visit-id='{team.visit.id}'] .badge") == "To do"


def test_a_change_after_finish_is_a_new_version_that_edits_the_synced_one(phone, server, team):
    open_app(phone, server)
    login(phone, "zhang")
    _open_form(phone, team.visit.id)
    fill_section(phone, inspector_ids=_inspectors(team))
    finish(phone)
    phone.wait_for_selector("#record-locked[data-status='synced']", timeout=20_000)
    first_uuid = phone.get_attribute("#record-locked", "data-uuid")

    phone.click("#new-version")
    phone.wait_for_selector("#onsite-form")
    assert phone.get_attribute("#onsite-form", "data-uuid") != first_uuid
    assert phone.input_value("#findings") == "许可证未悬挂于显著位置"  # the content carries over
    phone.fill("#notes", "补充：负责人已当场整改")
    phone.wait_for_selector("#save-state[data-state='saved']")
    sign(phone, 'canvas[data-sig="business"]')  # signatures are given again for the new version
    for iid in _inspectors(team):
        sign(phone, f'canvas[data-sig="inspector-{iid}"]')
    finish(phone)
    phone.wait_for_selector("#record-locked[data-status='synced']", timeout=20_000)

    first, second = server_records(team.visit.id)
    assert str(first.uuid) == first_uuid and first.content["notes"] == ""
    assert second.base_version == 1 and second.content["notes"] == "补充：负责人已当场整改"
    assert [first.status.value, second.status.value] == ["stored", "stored"]


def test_a_refused_location_is_recorded_and_does_not_block_check_in(browser, server, team):
    options = {k: v for k, v in PHONE.items() if k not in ("permissions", "geolocation")}
    context = browser.new_context(**options)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        open_app(page, server)
        login(page, "zhang")
        _open_form(page, team.visit.id)
        page.click("#checkin")
        page.wait_for_selector("#checkin-info")
        assert "已记录" in page.inner_text("#checkin-info")
        fill_section(page, inspector_ids=_inspectors(team))
        finish(page)
        page.wait_for_selector("#record-locked[data-status='synced']")
        (record,) = server_records(team.visit.id)
        assert record.content["check_in"]["gps"] is None
        assert record.content["check_in"]["gps_error"] in ("permission_denied", "timeout", "unavailable")
        assert record.content["check_in"]["at"]
    finally:
        context.close()
