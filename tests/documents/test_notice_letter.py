"""The notice letter (联合检查告知书): for announced tasks only [000#20(二), 001#14(二)]."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.extensions import db
from tests.documents.conftest import pdf_text


def test_announced_visit_gets_the_letter(field, login):
    field.task.unannounced = False
    field.v_z.scheduled_on = date(2026, 12, 8)
    field.v_z.window_start, field.v_z.window_end = time(9, 30), time(11, 0)
    db.session.commit()
    client = login(field.u_a1)
    resp = client.get(f"/visits/{field.v_z.id}/notice.pdf")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf" and resp.headers["Cache-Control"] == "no-store"
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    text, reader = pdf_text(resp.data)
    for shown in ("联合检查告知书", field.obj_z.name, field.obj_z.code, field.a.name, field.b.name,
                  "食品经营许可", "计量器具", "insp_a1姓名", "insp_b1姓名", field.i_a1.certificate_no,
                  field.i_b1.certificate_no, "2026年12月8日 09:30 至 11:00", "回避", field.task.code, "第 1 页"):
        assert shown in text, shown
    assert len(reader.pages) <= 3
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "task.view_confidential")
                               .order_by(AuditEntry.seq.desc())).scalars().first()
    assert entry.after["what"] == f"notice_letter:{field.v_z.id}"


def test_unannounced_task_gets_no_letter(field, login):
    assert field.task.unannounced
    client = login(field.u_a1)
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    resp = client.get(f"/visits/{field.v_z.id}/notice.pdf")
    assert resp.status_code == 409
    assert resp.mimetype != "application/pdf" and not resp.data.startswith(b"%PDF")
    assert "不发放联合检查告知书" in resp.get_data(as_text=True)
    resp = client.get(f"/visits/{field.v_z.id}/notice.pdf", headers={"Accept": "application/json"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "unannounced_task"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_the_link_is_offered_for_announced_tasks_only(field, app):
    from server.documents.notice_letter import available

    assert available(field.task) is False
    field.task.unannounced = False
    assert available(field.task) is True
