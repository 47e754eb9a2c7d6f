"""The schedule API and service: the leader sets a schedule; everybody else is refused and nothing
changes; bad dates, windows and locked visits are refused with their codes; conflicts."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.extensions import db
from server.planning.models import TaskStatus
from server.teams.models import Team, TeamMember
from server.visits.models import Visit, VisitStage
from tests.schedules.conftest import put_schedule


def _audits() -> int:
    return db.session.execute(select(func.count(AuditEntry.id))).scalar_one()


def _schedule_audits(visit_id: int) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "visit.schedule", AuditEntry.entity_id == str(visit_id))
        .order_by(AuditEntry.seq)).scalars())


def _state(visit_id: int) -> tuple:
    db.session.expire_all()
    v = db.session.get(Visit, visit_id)
    return (v.scheduled_on, v.window_start, v.window_end, v.route_order, v.schedule_note, v.stage,
            v.scheduled_by_id, v.scheduled_at, v.changed_at)


def test_leader_sets_a_schedule_through_the_api(sched, login):
    before_changed = db.session.get(Visit, sched.v_z.id).changed_at
    client = login(sched.u_a1)
    resp = put_schedule(client, sched.v_z.id, scheduled_on="2026-12-03", window_start="09:00",
                        window_end="10:30", route_order=1, note="先电话联系")
    assert resp.status_code == 200, resp.get_json()
    assert "no-store" in resp.headers["Cache-Control"]
    body = resp.get_json()
    assert body["visit_id"] == sched.v_z.id
    assert body["schedule"] == {"scheduled_on": "2026-12-03", "window_start": "09:00", "window_end": "10:30",
                                "route_order": 1, "note": "先电话联系"}
    assert body["conflicts"] == []
    db.session.expire_all()
    v = db.session.get(Visit, sched.v_z.id)
    assert v.stage is VisitStage.SCHEDULED
    assert (v.scheduled_on, v.window_start, v.window_end, v.route_order) == (date(2026, 12, 3), time(9), time(10, 30), 1)
    assert v.scheduled_by_id == sched.u_a1.id and v.scheduled_at is not None
    assert v.changed_at > before_changed
    assert body["changed_at"] == v.changed_at.isoformat()
    (entry,) = _schedule_audits(v.id)
    assert entry.entity_type == "visit" and entry.actor_id == sched.u_a1.id
    assert entry.after["scheduled_on"] == "2026-12-03" and entry.after["stage"] == "scheduled"
    assert entry.before["scheduled_on"] is None and entry.before["stage"] == "planned"
    assert sched.obj_z.name not in str(entry.after) + str(entry.before) + str(entry.note)

    # PUT is idempotent: the same body again changes nothing and writes no entry
    count = _audits()
    again = put_schedule(client, sched.v_z.id, scheduled_on="2026-12-03", window_start="09:00",
                         window_end="10:30", route_order=1, note="先电话联系")
    assert again.status_code == 200 and again.get_json()["changed_at"] == body["changed_at"]
    assert len(_schedule_audits(v.id)) == 1 and _audits() == count

    # clearing the date sends the visit back to planned
    cleared = put_schedule(client, sched.v_z.id)
    assert cleared.status_code == 200 and cleared.get_json()["schedule"]["scheduled_on"] is None
    db.session.expire_all()
    assert db.session.get(Visit, sched.v_z.id).stage is VisitStage.PLANNED


def _audits_except_logins() -> int:
    return db.session.execute(select(func.count(AuditEntry.id)).where(
        AuditEntry.action.not_in(["user.login", "user.logout"]))).scalar_one()


def test_a_non_leader_member_is_refused_403_and_nothing_changes(sched, login):
    before, count = _state(sched.v_z.id), _audits_except_logins()
    for user in (sched.u_b1, sched.u_a2, sched.initiator):  # a member, another team's leader, the initiator
        resp = put_schedule(login(user), sched.v_z.id, scheduled_on="2026-12-03")
        assert resp.status_code == 403, user.username
        assert resp.get_json()["error"]["code"] == "not_team_leader"
    assert _state(sched.v_z.id) == before
    assert _audits_except_logins() == count
    assert _schedule_audits(sched.v_z.id) == []


def test_a_date_outside_the_task_period_is_refused_422_schedule_outside_period_and_nothing_changed(sched, login):
    client = login(sched.u_a1)
    before, count = _state(sched.v_z.id), _audits()
    resp = put_schedule(client, sched.v_z.id, scheduled_on="2027-01-04", window_start="09:00", window_end="10:00")
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "schedule_outside_period"
    assert err["details"]["period_start"] == "2026-12-01" and err["details"]["period_end"] == "2026-12-31"
    assert "2026-12-01" in err["message"] and "2026-12-31" in err["message"]
    assert _state(sched.v_z.id) == before
    assert _audits() == count


def test_invalid_windows_orders_and_notes_are_refused_422_with_fields(sched, login):
    client = login(sched.u_a1)
    before, count = _state(sched.v_z.id), _audits()
    cases = [
        ({"scheduled_on": "2026-12-03", "window_start": "09:00"}, "window_end"),
        ({"scheduled_on": "2026-12-03", "window_start": "11:00", "window_end": "10:00"}, "window_end"),
        ({"scheduled_on": "2026-12-03", "window_start": "9am", "window_end": "10:00"}, "window_start"),
        ({"scheduled_on": "2026-12-03", "route_order": 0}, "route_order"),
        ({"scheduled_on": "2026-12-03", "route_order": "2"}, "route_order"),
        ({"scheduled_on": "2026-12-03", "note": "长" * 501}, "note"),
        ({"scheduled_on": "03.12.2026"}, "scheduled_on"),
        ({"route_order": 2}, "route_order"),  # an order without a date
    ]
    for body, field in cases:
        resp = put_schedule(client, sched.v_z.id, **body)
        assert resp.status_code == 422, body
        err = resp.get_json()["error"]
        assert err["code"] == "invalid_schedule" and field in err["details"]["fields"], (body, err)
    for raw in (b"{not json", b"[1, 2]", b'"x"'):
        resp = client.put(f"/api/visits/{sched.v_z.id}/schedule", data=raw, content_type="application/json")
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_request"
    assert _state(sched.v_z.id) == before and _audits() == count


def test_a_visited_visit_or_a_finished_task_is_locked_409(sched, login):
    client = login(sched.u_a1)
    sched.v_z.stage = VisitStage.VISITED
    db.session.commit()
    before, count = _state(sched.v_z.id), _audits()
    resp = put_schedule(client, sched.v_z.id, scheduled_on="2026-12-03")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "schedule_locked"
    assert _state(sched.v_z.id) == before and _audits() == count
    sched.task.status = TaskStatus.VISITS_OVER
    db.session.commit()
    resp = put_schedule(client, sched.v_a.id, scheduled_on="2026-12-03")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "schedule_locked"


def test_missing_visit_is_404(sched, login):
    resp = put_schedule(login(sched.u_a1), 999999, scheduled_on="2026-12-03")
    assert resp.status_code == 404


def _second_task(sched, make_task, member_inspector, team_number=0):
    """Another task whose team has ``member_inspector`` and one visit of obj_other."""
    other = make_task(sched.a, [], accepted=True, code="T-2026-099", name="另一任务")
    other.status = TaskStatus.INSPECTORS_DRAWN
    team = Team(task_id=other.id, number=team_number)
    db.session.add(team)
    db.session.flush()
    db.session.add(TeamMember(team_id=team.id, task_id=other.id, inspector_id=member_inspector.id,
                              department_id=member_inspector.department_id, is_leader=True))
    visit = Visit(task_id=other.id, object_id=sched.obj_other.id, team_id=team.id, scheduled_on=date(2026, 12, 8),
                  stage=VisitStage.SCHEDULED)
    db.session.add(visit)
    db.session.commit()
    return other, team, visit


def test_double_booking_across_two_tasks_is_flagged_on_both(sched, login, make_task):
    other, _team, other_visit = _second_task(sched, make_task, sched.i_b1)
    client = login(sched.u_a1)
    resp = put_schedule(client, sched.v_z.id, scheduled_on="2026-12-08")
    conflicts = resp.get_json()["conflicts"]
    assert [c["code"] for c in conflicts] == ["inspector_double_booked"]
    # the leader of team 1 may not see the other task's lists: its code is not named
    assert sched.i_b1.name in conflicts[0]["message"] and "另一检查任务" in conflicts[0]["message"]
    assert other.code not in conflicts[0]["message"]
    # the other side is flagged too
    from server.schedules.services import conflicts_for

    flagged = conflicts_for([db.session.get(Visit, other_visit.id)])[other_visit.id]
    assert [c["code"] for c in flagged] == ["inspector_double_booked"]
    # an auditor (who may see both) reads the other task's code on the page
    html = login(sched.auditor).get(f"/tasks/{sched.task.id}/schedule").get_data(as_text=True)
    assert other.code in html and 'data-conflict="inspector_double_booked"' in html
    # a different day: no conflict
    resp = put_schedule(login(sched.u_a1), sched.v_z.id, scheduled_on="2026-12-09")
    assert resp.get_json()["conflicts"] == []


def test_business_peak_overlap_is_flagged(sched, login):
    sched.obj_z.business_peak = "11:00-13:30，17:00-20:00"
    sched.obj_a.business_peak = "午市高峰"  # unreadable: shown as-is, never flagged
    db.session.commit()
    client = login(sched.u_a1)
    resp = put_schedule(client, sched.v_z.id, scheduled_on="2026-12-03", window_start="13:00", window_end="14:00")
    (c,) = resp.get_json()["conflicts"]
    assert c["code"] == "business_peak" and "11:00-13:30" in c["message"]
    resp = put_schedule(client, sched.v_z.id, scheduled_on="2026-12-03", window_start="14:00", window_end="16:00")
    assert resp.get_json()["conflicts"] == []
    resp = put_schedule(client, sched.v_a.id, scheduled_on="2026-12-03", window_start="12:00", window_end="13:00")
    assert resp.get_json()["conflicts"] == []
    html = client.get(f"/tasks/{sched.task.id}/schedule").get_data(as_text=True)
    assert "午市高峰" in html


def test_a_non_working_day_is_flagged(sched, login):
    sched.task.period_start = date(2026, 9, 1)  # National Day 2026-10-01 inside the period
    db.session.commit()
    resp = put_schedule(login(sched.u_a1), sched.v_z.id, scheduled_on="2026-10-01")
    assert resp.status_code == 200
    assert [c["code"] for c in resp.get_json()["conflicts"]] == ["non_working_day"]
    resp = put_schedule(login(sched.u_a1), sched.v_z.id, scheduled_on="2026-10-09")  # a Friday
    assert resp.get_json()["conflicts"] == []


def test_a_stored_date_outside_a_changed_period_is_flagged(sched, login):
    put_schedule(login(sched.u_a1), sched.v_z.id, scheduled_on="2026-12-28")
    sched.task.period_end = date(2026, 12, 20)
    db.session.commit()
    body = login(sched.u_a1).get(f"/api/teams/{sched.team1.id}/schedule").get_json()
    v = next(v for v in body["visits"] if v["visit_id"] == sched.v_z.id)
    assert "outside_period" in [c["code"] for c in v["conflicts"]]


def test_team_schedule_api_for_members_initiators_and_auditors_only(sched, login):
    put_schedule(login(sched.u_a1), sched.v_a.id, scheduled_on="2026-12-04", route_order=2)
    put_schedule(login(sched.u_a1), sched.v_z.id, scheduled_on="2026-12-04", route_order=1)
    for user in (sched.u_a1, sched.u_b1, sched.initiator, sched.auditor):
        resp = login(user).get(f"/api/teams/{sched.team1.id}/schedule")
        assert resp.status_code == 200, user.username
        body = resp.get_json()
        assert [v["visit_id"] for v in body["visits"]] == [sched.v_z.id, sched.v_a.id]
        assert body["visits"][0]["object"]["name"] == sched.obj_z.name
        assert "risk" not in str(body)
        assert body["can_edit"] is (user is sched.u_a1)
        assert "no-store" in resp.headers["Cache-Control"]
    for user in (sched.u_a2, sched.u_none):  # another team's leader, an inspector outside the task
        resp = login(user).get(f"/api/teams/{sched.team1.id}/schedule")
        assert resp.status_code == 403
        assert sched.obj_z.name not in resp.get_data(as_text=True)
    assert login(sched.u_a1).get("/api/teams/999999/schedule").status_code == 404


def test_reorder_sets_one_days_route_in_one_go(sched, login):
    from server.schedules import services

    client = login(sched.u_a1)
    put_schedule(client, sched.v_z.id, scheduled_on="2026-12-04", route_order=1)
    put_schedule(client, sched.v_a.id, scheduled_on="2026-12-04", route_order=2)
    resp = client.post(f"/tasks/{sched.task.id}/schedule/reorder", data={
        "team_id": sched.team1.id, "day": "2026-12-04", f"order-{sched.v_z.id}": "2", f"order-{sched.v_a.id}": "1"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Visit, sched.v_a.id).route_order == 1
    assert db.session.get(Visit, sched.v_z.id).route_order == 2
    assert len(_schedule_audits(sched.v_z.id)) == 2
    # a list that is not exactly the day's visits is refused, nothing changed
    count = _audits()
    import pytest

    from server.core.errors import DomainError

    with pytest.raises(DomainError) as exc:
        services.reorder(sched.u_a1, sched.team1, date(2026, 12, 4), [sched.v_z.id])
    assert exc.value.code == "invalid_schedule"
    with pytest.raises(DomainError) as exc:
        services.reorder(sched.u_b1, sched.team1, date(2026, 12, 4), [sched.v_z.id, sched.v_a.id])
    assert exc.value.code == "not_team_leader"
    db.session.rollback()
    assert _audits() == count
    # a non-leader posting the form is refused
    resp = login(sched.u_b1).post(f"/tasks/{sched.task.id}/schedule/reorder", data={
        "team_id": sched.team1.id, "day": "2026-12-04", f"order-{sched.v_z.id}": "1", f"order-{sched.v_a.id}": "2"})
    assert resp.status_code == 403
    db.session.expire_all()
    assert db.session.get(Visit, sched.v_z.id).route_order == 2
