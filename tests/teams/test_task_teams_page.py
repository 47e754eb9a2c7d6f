"""The task's teams page: who sees which team, and every view is logged."""

from __future__ import annotations

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.extensions import db
from server.planning.models import TaskStatus


def _views() -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "task.view_confidential")).scalar_one()


def test_initiator_sees_every_team_with_members_and_visits(drawn, login):
    client = login(drawn.initiator)
    resp = client.get(f"/tasks/{drawn.task.id}/teams")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for text in ("第 1 组", "第 2 组", "insp_a1", "insp_b2", "甲公司", "丙公司", "武陟县三路3号",
                 drawn.obj1.code, drawn.i_b1.certificate_no, "协作局"):
        assert text in html


def test_member_of_team_1_does_not_see_team_2(drawn, login):
    client = login(drawn.u_b1)
    html = client.get(f"/tasks/{drawn.task.id}/teams").get_data(as_text=True)
    assert "甲公司" in html and "insp_a1" in html
    assert "丙公司" not in html
    assert "insp_b2" not in html
    assert "第 2 组" not in html


def test_outsider_gets_403_before_visits_over_and_nothing_is_logged(drawn, login):
    client = login(drawn.outsider)
    before = _views()
    resp = client.get(f"/tasks/{drawn.task.id}/teams")
    assert resp.status_code == 403
    assert "检查结束前" in resp.get_data(as_text=True)
    assert _views() == before


def test_system_admin_gets_403_before_visits_over(drawn, login):
    client = login(drawn.sysadmin)
    assert client.get(f"/tasks/{drawn.task.id}/teams").status_code == 403


def test_each_view_is_logged_with_what_was_seen(drawn, login):
    client = login(drawn.u_b1)
    before = _views()
    client.get(f"/tasks/{drawn.task.id}/teams")
    client.get(f"/tasks/{drawn.task.id}/teams")
    assert _views() == before + 2
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "task.view_confidential")
                               .order_by(AuditEntry.seq.desc())).scalars().first()
    assert entry.entity_id == str(drawn.task.id)
    assert entry.after["what"] == "teams:1"
    assert entry.actor_id == drawn.u_b1.id


def test_after_visits_over_an_outsider_sees_the_lists(drawn, login):
    drawn.task.status = TaskStatus.VISITS_OVER
    db.session.commit()
    client = login(drawn.outsider)
    html = client.get(f"/tasks/{drawn.task.id}/teams").get_data(as_text=True)
    assert "丙公司" in html and "甲公司" in html


def test_conflict_flag_is_shown(drawn, login):
    drawn.m_b1.conflict_flag = True
    drawn.m_b1.conflict_note = "与检查对象存在利益关系：亲属"
    db.session.commit()
    html = login(drawn.head_a).get(f"/tasks/{drawn.task.id}/teams").get_data(as_text=True)
    assert "需回避" in html and "亲属" in html


def test_unknown_task_is_404(drawn, login):
    assert login(drawn.initiator).get("/tasks/99999/teams").status_code == 404


def test_my_assignments_lists_own_team_visits_only(drawn, login):
    html = login(drawn.u_a2).get("/me/assignments").get_data(as_text=True)
    assert "丙公司" in html
    assert "甲公司" not in html and "乙公司" not in html


def test_my_assignments_for_a_user_without_inspector(drawn, login):
    html = login(drawn.initiator).get("/me/assignments").get_data(as_text=True)
    assert "未关联执法检查人员" in html
