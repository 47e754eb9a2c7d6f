"""/visits/<id>: the back office and the team see records as they arrive; confidentiality holds."""

from __future__ import annotations

from sqlalchemy import select

from server.audit.models import AuditEntry
from server.auth.roles import Role
from server.extensions import db
from tests.sync.conftest import (
    app_record,
    jpeg_bytes,
    new_uuid,
    png_data_url,
    put_record,
    record_body,
    sha,
    upload,
)


def _box(html: str, name: str) -> str:
    """Return the HTML of the first ``data-box="name"`` element (up to the next box)."""
    start = html.index(f'data-box="{name}"')
    nxt = html.find("data-box=", start + 10)
    return html[start:nxt if nxt != -1 else None]


def _push_finished(client, field, content, photos=()) -> str:
    uid = new_uuid()
    resp = put_record(client, field.v_z.id, uid, record_body(field.a.id, content=content, photos=photos, finished=True))
    assert resp.status_code == 201, resp.get_json()
    return uid


def test_leader_sees_versions_conflicts_photos_and_signatures(field, login):
    client = login(field.u_a1)
    photo = jpeg_bytes(21)
    upload(client, photo)
    content = app_record(field.v_z, field.a.id, photos=[
        {"sha256": sha(photo), "purpose": "evidence", "captured_at": "2026-12-02T02:10:00.000Z", "gps": None}])
    uid = _push_finished(client, field, content, photos=[sha(photo)])
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id, 0, content={"schema": 2, "notes": "另一手机"}))
    page = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    html = page[page.index(f'data-record-uuid="{uid}"'):]  # the finished version (the conflict is listed first)
    business = _box(html, "business-signature")
    assert "张三" in business and "法定代表人" in business and 'src="data:image/png;base64,' in business
    assert 'data-record-status="conflict"' in page and "冲突" in page
    assert f"/api/photos/{sha(photo)}/thumb" in _box(html, "photos")
    assert 'data-complete="1"' in html


def test_every_box_the_app_fills_is_shown(field, login):
    client = login(field.u_a1)
    item = str(field.item_a.id)
    content = app_record(field.v_z, field.a.id, result="rectified", findings="未在醒目位置亮照",
                         measures={"order_rectify": {"on": True, "form": "written"}, "order_stop": {"on": False}},
                         evidence_notes="拍摄店招和证照", notes="店主配合")
    content["results"][item].update(method="documents", problems="营业执照未悬挂", handling="当场责令悬挂",
                                    legal_basis="《市场主体登记管理条例》第三十六条", follow_up="order_rectify")
    _push_finished(client, field, content)
    html = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    assert "2026-12-02T02:00:00.000Z" in _box(html, "check-in") and "35.08" in _box(html, "check-in")
    assert "未事先告知" in _box(html, "notice")
    box = _box(html, "item")
    for shown in ("食品经营许可", "发现问题已责令改正", "书面检查", "营业执照未悬挂", "当场责令悬挂",
                  "《市场主体登记管理条例》第三十六条", "责令改正"):
        assert shown in box, shown
    answers = html[html.index(f'data-check-item-id="{item}"'):]
    assert "是否亮照经营" in answers and "从业人员数" in answers  # the question texts, not keys
    findings = _box(html, "findings")
    assert "未在醒目位置亮照" in findings and "责令改正（书面）" in findings and "拍摄店招和证照" in findings
    assert "店主配合" in findings
    party = _box(html, "party")
    assert "王五" in party and "0391-1234567" in party and "无异议" in party
    start = html.index('data-box="inspectors"')
    signatures = html[start:html.index("</section>", start)]
    assert signatures.count('data-box="inspector-signature"') == 2
    assert "insp_a1姓名" in signatures and "insp_b1姓名" in signatures
    assert signatures.count('class="signature"') == 2


def test_refusal_statement_is_rendered(field, login):
    client = login(field.u_a1)
    content = app_record(field.v_z, field.a.id)
    content["business"].update(mode="refusal", signature=None)
    content["business"]["refusal"].update(reason="负责人拒绝签字", at="2026-12-02T02:40:00.000Z", witness_name="李四",
                                          statement="当事人拒绝签字，特此说明。", inspector_signature=png_data_url(),
                                          inspector_id=field.i_a1.id)
    _push_finished(client, field, content)
    html = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    refusal = _box(html, "refusal")
    assert "拒绝签字情况说明" in refusal and "当事人拒绝签字，特此说明。" in refusal and "李四" in refusal
    assert "负责人拒绝签字" in refusal
    assert 'src="data:image/png;base64,' in _box(html, "refusal-inspector-signature")
    assert 'data-box="business-signature"' not in html


def test_stamp_photo_is_rendered(field, login):
    client = login(field.u_a1)
    photo = jpeg_bytes(5)
    upload(client, photo)
    content = app_record(field.v_z, field.a.id)
    content["business"].update(mode="stamp", signature=None, stamp_photo=sha(photo))
    _push_finished(client, field, content, photos=[sha(photo)])
    html = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    assert f"/api/photos/{sha(photo)}/thumb" in _box(html, "business-stamp")


def test_nobody_present_is_rendered_with_its_evidence(field, login):
    client = login(field.u_a1)
    content = app_record(field.v_z, field.a.id, result="unreachable", answers={},
                         evidence_notes="大门紧闭，无人应答")
    content["results"][str(field.item_a.id)]["method"] = ""
    content["business"].update(mode="absent", name="", role="", signature=None)
    _push_finished(client, field, content)
    html = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    absent = _box(html, "absent")
    assert "无法联系（无人在场）" in absent and "大门紧闭，无人应答" in absent
    assert "通过登记的住所（经营场所）无法联系" in _box(html, "item")
    assert 'data-box="refusal"' not in html and 'data-box="business-signature"' not in html


def test_missing_photo_shows_incomplete(field, login):
    client = login(field.u_a1)
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id, photos=["a" * 64]))
    html = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    assert 'data-complete="0"' in html and "尚未上传" in html


def test_member_of_another_team_is_refused_and_nothing_is_logged(field, login):
    resp = login(field.u_a2).get(f"/visits/{field.v_z.id}")
    assert resp.status_code == 403
    assert "检查结束前" in resp.get_data(as_text=True)
    views = db.session.execute(select(AuditEntry).where(AuditEntry.action == "task.view_confidential")).scalars().all()
    assert not [e for e in views if (e.after or {}).get("what", "").startswith("visit:")]


def test_back_office_auditor_may_view_and_the_view_is_logged(field, login, make_user):
    auditor = make_user("auditor1", roles=(Role.AUDITOR,), department=field.a)
    assert login(auditor).get(f"/visits/{field.v_z.id}").status_code == 200
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "task.view_confidential")
                               .order_by(AuditEntry.seq.desc())).scalars().first()
    assert entry.after["what"] == f"visit:{field.v_z.id}"


def test_page_shows_the_history_of_stores(field, login):
    client = login(field.u_a1)
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id))
    html = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    assert 'id="history"' in html and "data-audit-seq" in html
