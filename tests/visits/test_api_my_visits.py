"""GET /api/me/visits: an inspector's own team's visits only, never the risk class."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.extensions import db
from server.teams.models import TeamMember


def test_member_gets_own_team_visits_ordered_by_object_name(assigned, login):
    body = login(assigned.u_b1).get("/api/me/visits").get_json()
    names = [v["object"]["name"] for v in body["visits"]]
    assert names == sorted(["张三食品有限公司", "阿里食品有限公司"])
    assert {v["id"] for v in body["visits"]} == {assigned.v_z.id, assigned.v_a.id}


def test_another_teams_visit_is_absent(assigned, login):
    body = login(assigned.u_a1).get("/api/me/visits").get_json()
    assert assigned.v_other.id not in {v["id"] for v in body["visits"]}
    assert "别组公司" not in str(body)


def test_user_who_is_no_member_gets_an_empty_list(assigned, login):
    resp = login(assigned.u_none).get("/api/me/visits")
    assert resp.status_code == 200
    assert resp.get_json() == {"visits": []}


def test_replaced_member_no_longer_gets_visits(assigned, login):
    m = db.session.execute(select(TeamMember).where(TeamMember.inspector_id == assigned.i_b1.id)).scalar_one()
    m.active = False
    db.session.commit()
    assert login(assigned.u_b1).get("/api/me/visits").get_json() == {"visits": []}


def test_visit_carries_task_team_members_object_and_items(assigned, login):
    body = login(assigned.u_b1).get("/api/me/visits").get_json()
    v = next(v for v in body["visits"] if v["id"] == assigned.v_z.id)
    assert v["task"] == {"id": assigned.task.id, "code": assigned.task.code, "name": "食品联合抽查",
                         "period_start": "2026-12-01", "period_end": "2026-12-31", "unannounced": True}
    assert v["team_number"] == 1
    assert v["leader"]["name"] == "insp_a1姓名" and v["leader"]["department"] == "发起局"
    assert {(m["name"], m["department"]) for m in v["members"]} == {("insp_a1姓名", "发起局"),
                                                                    ("insp_b1姓名", "协作局")}
    assert v["object"] == {"code": assigned.obj_z.code, "name": "张三食品有限公司", "address": "一路1号",
                           "legal_representative": "张三", "registration_status": "active",
                           "flags": {"abnormal_list": True, "serious_violation": False}}
    assert [(i["name"], i["department"], i["template_id"], i["template_version"]) for i in v["items"]] == [
        ("食品经营许可", "发起局", assigned.tpl_a.id, 3), ("计量器具", "协作局", assigned.tpl_b.id, 3)]
    assert v["changed_at"]


def test_risk_class_is_never_in_the_response(assigned, login):
    raw = login(assigned.u_b1).get("/api/me/visits").get_data(as_text=True)
    assert "risk" not in raw
    assert '"D"' not in raw and '"C"' not in raw


def test_visits_are_ordered_by_task_period_first(assigned, login, make_task, make_object):
    from server.planning.models import TaskStatus
    from server.teams.models import Team
    from server.visits.models import Visit

    earlier = make_task(assigned.a, accepted=True, period=(date(2026, 11, 1), date(2026, 11, 30)))
    earlier.status = TaskStatus.INSPECTORS_DRAWN
    team = Team(task_id=earlier.id, number=0)
    db.session.add(team)
    db.session.flush()
    db.session.add(TeamMember(team_id=team.id, task_id=earlier.id, inspector_id=assigned.i_b1.id,
                              department_id=assigned.b.id))
    obj = make_object("做早公司")
    db.session.add(Visit(task_id=earlier.id, object_id=obj.id, team_id=team.id))
    db.session.commit()
    body = login(assigned.u_b1).get("/api/me/visits").get_json()
    assert [v["task"]["id"] for v in body["visits"]] == [earlier.id, assigned.task.id, assigned.task.id]


def test_each_call_is_logged_once(assigned, login):
    client = login(assigned.u_b1)

    def count():
        return db.session.execute(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "task.view_confidential")).scalar_one()

    before = count()
    client.get("/api/me/visits")
    assert count() == before + 1
    entry = db.session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
    assert entry.after["task_ids"] == [assigned.task.id] and entry.after["visit_count"] == 2


def test_anonymous_is_refused(assigned, client):
    resp = client.get("/api/me/visits")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "login_required"
