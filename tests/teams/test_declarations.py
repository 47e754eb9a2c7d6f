"""Conflict-of-interest declarations: declare, list, withdraw, department view, and the flag on a
drawn member whose team visits the object."""

from __future__ import annotations

from sqlalchemy import func, select

from server.audit.services import history
from server.extensions import db
from server.teams.models import ConflictDeclaration


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(ConflictDeclaration)).scalar_one()


def test_search_finds_objects_by_name_and_code(drawn, login):
    client = login(drawn.u_idle)
    assert "甲公司" in client.get("/me/declarations?q=甲公").get_data(as_text=True)
    assert "乙公司" in client.get(f"/me/declarations?q={drawn.obj2.code[:10]}").get_data(as_text=True)


def test_declare_and_list(drawn, login):
    client = login(drawn.u_idle)
    resp = client.post("/me/declarations", data={"object_id": drawn.obj3.id, "relation": "配偶任该公司财务"})
    assert resp.status_code == 302
    decl = db.session.execute(select(ConflictDeclaration)).scalar_one()
    assert decl.inspector_id == drawn.i_idle.id and decl.declared_by_id == drawn.u_idle.id
    assert "配偶任该公司财务" in client.get("/me/declarations").get_data(as_text=True)
    assert history("inspector", drawn.i_idle.id)[0].action == "conflict.declare"


def test_declaration_without_relation_is_refused_and_input_kept(drawn, login):
    client = login(drawn.u_idle)
    resp = client.post("/me/declarations", data={"q": "甲公", "object_id": drawn.obj1.id, "relation": " "})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "请说明与该检查对象的关系" in html
    assert f'value="{drawn.obj1.id}" checked' in html
    assert _count() == 0


def test_declaration_without_object_is_refused(drawn, login):
    resp = login(drawn.u_idle).post("/me/declarations", data={"object_id": "", "relation": "亲属"})
    assert resp.status_code == 400
    assert "请先搜索并选择检查对象" in resp.get_data(as_text=True)
    assert _count() == 0


def test_user_without_inspector_cannot_declare(drawn, login):
    resp = login(drawn.initiator).post("/me/declarations", data={"object_id": drawn.obj1.id, "relation": "亲属"})
    assert resp.status_code == 403
    assert _count() == 0


def test_duplicate_declaration_is_refused(drawn, login):
    client = login(drawn.u_idle)
    client.post("/me/declarations", data={"object_id": drawn.obj1.id, "relation": "亲属"})
    resp = client.post("/me/declarations", data={"object_id": drawn.obj1.id, "relation": "又一次"})
    assert resp.status_code == 409
    assert _count() == 1


def test_withdraw_own_declaration(drawn, login):
    client = login(drawn.u_idle)
    client.post("/me/declarations", data={"object_id": drawn.obj1.id, "relation": "亲属"})
    decl = db.session.execute(select(ConflictDeclaration)).scalar_one()
    assert client.post(f"/me/declarations/{decl.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert decl.withdrawn_at is not None


def test_cannot_withdraw_someone_elses_declaration(drawn, login):
    login(drawn.u_idle).post("/me/declarations", data={"object_id": drawn.obj1.id, "relation": "亲属"})
    decl = db.session.execute(select(ConflictDeclaration)).scalar_one()
    assert login(drawn.u_b1).post(f"/me/declarations/{decl.id}/withdraw").status_code == 404
    db.session.expire_all()
    assert decl.withdrawn_at is None


def test_declaration_after_the_draw_flags_the_member(drawn, login):
    login(drawn.u_b1).post("/me/declarations", data={"object_id": drawn.obj2.id, "relation": "曾在该公司任职"})
    db.session.expire_all()
    assert drawn.m_b1.conflict_flag is True
    assert "曾在该公司任职" in drawn.m_b1.conflict_note and drawn.obj2.code in drawn.m_b1.conflict_note
    assert any(e.action == "team.conflict_flag" for e in history("task", drawn.task.id))


def test_declaration_for_another_teams_object_does_not_flag(drawn, login):
    login(drawn.u_b1).post("/me/declarations", data={"object_id": drawn.obj3.id, "relation": "亲属"})
    db.session.expire_all()
    assert drawn.m_b1.conflict_flag is False


def test_withdrawal_clears_the_flag(drawn, login):
    client = login(drawn.u_b1)
    client.post("/me/declarations", data={"object_id": drawn.obj2.id, "relation": "亲属"})
    decl = db.session.execute(select(ConflictDeclaration)).scalar_one()
    client.post(f"/me/declarations/{decl.id}/withdraw")
    db.session.expire_all()
    assert drawn.m_b1.conflict_flag is False and drawn.m_b1.conflict_note is None


def test_refresh_flags_for_a_task_flags_prior_declarations(drawn, as_user):
    from server.teams.services import refresh_conflict_flags

    db.session.add(ConflictDeclaration(inspector_id=drawn.i_a2.id, object_id=drawn.obj3.id, relation="亲属"))
    db.session.commit()
    with as_user(drawn.initiator):
        assert refresh_conflict_flags(task=drawn.task) == 1
    assert drawn.m_a2.conflict_flag is True


def test_department_users_see_their_inspectors_declarations(drawn, login):
    login(drawn.u_b1).post("/me/declarations", data={"object_id": drawn.obj3.id, "relation": "表兄弟"})
    assert "表兄弟" in login(drawn.head_b).get("/declarations").get_data(as_text=True)
    assert "表兄弟" not in login(drawn.head_a).get("/declarations").get_data(as_text=True)


def test_declaration_without_csrf_token_is_refused_when_csrf_is_on(app, drawn, login):
    client = login(drawn.u_idle)
    app.config["WTF_CSRF_ENABLED"] = True
    resp = client.post("/me/declarations", data={"object_id": drawn.obj1.id, "relation": "亲属"})
    assert resp.status_code == 400
    assert _count() == 0
