"""/visits/<id>: the back office and the team see records as they arrive; confidentiality holds."""

from __future__ import annotations

import base64
import io

from PIL import Image
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.auth.roles import Role
from server.extensions import db
from tests.sync.conftest import jpeg_bytes, new_uuid, put_record, record_body, sha, upload


def _png_data_url() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (4, 2), (0, 0, 0)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_leader_sees_versions_conflicts_photos_and_signatures(field, login):
    client = login(field.u_a1)
    photo = jpeg_bytes(21)
    upload(client, photo)
    signed = {"signatures": [{"name": "张三", "role": "法定代表人", "image": _png_data_url()}], "notes": "无问题"}
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id, content=signed, photos=[sha(photo)]))
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id, 0, content={"late": "另一手机"}))
    html = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    assert "张三" in html and "data:image/png;base64," in html
    assert 'data-record-status="conflict"' in html and "冲突" in html
    assert sha(photo) in html and f"/api/photos/{sha(photo)}/thumb" in html
    assert 'data-complete="1"' in html


def test_refusal_statement_is_rendered(field, login):
    client = login(field.u_a1)
    refusal = {"refusal": {"reason": "负责人拒绝签字", "place": "店内", "witness": "李四",
                           "statement": "当事人拒绝签字，特此说明。", "signature": _png_data_url()}}
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id, content=refusal, finished=True))
    html = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    assert "拒绝签字情况说明" in html and "当事人拒绝签字，特此说明。" in html and "李四" in html


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
