"""Who may write a visit's record: recusal for a declared conflict of interest [003#14] and the
deployment's rule on who enters results (谁检查谁录入 [000#20] or 谁主导谁填报 [003#5])."""

from __future__ import annotations

from sqlalchemy import func, select

from server.auth.roles import Role
from server.core.models import utcnow
from server.extensions import db
from server.fieldwork.models import VisitRecord
from server.rules.services import RESULTS_BY_LEAD_DEPARTMENT, set_rule
from server.teams.models import ConflictDeclaration, TeamMember
from tests.sync.conftest import new_uuid, put_record, record_body


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(VisitRecord)).scalar_one()


def _declare(inspector, obj, *, withdrawn=False) -> None:
    db.session.add(ConflictDeclaration(inspector_id=inspector.id, object_id=obj.id, relation="配偶任该公司股东",
                                       withdrawn_at=utcnow() if withdrawn else None))
    db.session.commit()


def test_member_with_a_declared_conflict_is_403_recused(field, login):
    _declare(field.i_b1, field.obj_z)
    resp = put_record(login(field.u_b1), field.v_z.id, new_uuid(), record_body(field.b.id))
    assert resp.status_code == 403
    err = resp.get_json()["error"]
    assert err["code"] == "recused" and "回避" in err["message"] and "替换" in err["message"]
    assert _count() == 0


def test_recusal_concerns_only_that_object(field, login):
    _declare(field.i_b1, field.obj_z)
    resp = put_record(login(field.u_b1), field.v_a.id, new_uuid(), record_body(field.b.id))
    assert resp.status_code == 201


def test_withdrawn_declaration_does_not_recuse(field, login):
    _declare(field.i_b1, field.obj_z, withdrawn=True)
    assert put_record(login(field.u_b1), field.v_z.id, new_uuid(), record_body(field.b.id)).status_code == 201


def test_replacement_of_the_recused_member_may_write(field, login, make_user, make_inspector):
    _declare(field.i_b1, field.obj_z)
    member = db.session.execute(select(TeamMember).where(TeamMember.inspector_id == field.i_b1.id)).scalar_one()
    member.active = False
    user = make_user("insp_b2", roles=(Role.INSPECTOR,), department=field.b)
    substitute = make_inspector(field.b, name="替换人员", user_id=user.id)
    db.session.add(TeamMember(team_id=member.team_id, task_id=member.task_id, inspector_id=substitute.id,
                              department_id=field.b.id))
    db.session.commit()
    assert put_record(login(user), field.v_z.id, new_uuid(), record_body(field.b.id)).status_code == 201


def test_lead_department_rule_refuses_a_cooperating_departments_member(field, login):
    set_rule("results_entry", RESULTS_BY_LEAD_DEPARTMENT)
    db.session.commit()
    resp = put_record(login(field.u_b1), field.v_z.id, new_uuid(), record_body(field.b.id))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "not_results_entrant"
    assert "谁主导、谁填报" in resp.get_json()["error"]["message"]
    assert _count() == 0


def test_lead_department_rule_lets_the_leading_departments_member_write_every_section(field, login):
    set_rule("results_entry", RESULTS_BY_LEAD_DEPARTMENT)
    db.session.commit()
    resp = put_record(login(field.u_a1), field.v_z.id, new_uuid(), record_body(field.b.id))
    assert resp.status_code == 201
    assert resp.get_json()["department_id"] == field.b.id
