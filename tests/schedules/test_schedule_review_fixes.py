"""Review fixes: the route form refuses bad positions (422, nothing changed, the typed numbers kept);
one stage label for every page; one active-leader rule (server/teams/access.py); one parse of the
API's body; the index reads each task's visibility once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.extensions import db
from server.review.services import stage_label
from server.teams.access import is_team_leader, leader_team_ids
from server.teams.models import TeamMember
from server.visits.models import Visit, VisitStage
from tests.schedules.conftest import put_schedule


def _audits() -> int:
    return db.session.execute(select(func.count(AuditEntry.id)).where(
        AuditEntry.action.not_in(["user.login", "user.logout", "task.view_confidential"]))).scalar_one()


def _visits(*ids) -> list[tuple]:
    db.session.expire_all()
    out = []
    for vid in ids:
        v = db.session.get(Visit, vid)
        out.append((v.scheduled_on, v.route_order, v.stage, v.scheduled_at, v.changed_at))
    return out


@pytest.fixture
def day(sched, login):
    """team 1's two visits on 2026-12-04, v_z first then v_a; the leader logged in."""
    client = login(sched.u_a1)
    assert put_schedule(client, sched.v_z.id, scheduled_on="2026-12-04", route_order=1).status_code == 200
    assert put_schedule(client, sched.v_a.id, scheduled_on="2026-12-04", route_order=2).status_code == 200
    return client


def _reorder(client, sched, z, a):
    return client.post(f"/tasks/{sched.task.id}/schedule/reorder", data={
        "team_id": sched.team1.id, "day": "2026-12-04", f"order-{sched.v_z.id}": z, f"order-{sched.v_a.id}": a})


@pytest.mark.parametrize(("z", "a", "items"), [
    ("1", "abc", "2"),      # not a number (was silently saved last)
    ("2", "1.5", "2"),      # not an integer
    ("", "1", "1"),         # empty
    ("0", "1", "1"),        # below 1
    ("1", "1000", "2"),     # above 999
    ("-1", "2", "1"),       # negative
    ("２", "1", "1"),       # full-width digit
    ("2", "2", "1、2"),     # duplicate (was silently saved in id order)
])
def test_bad_route_positions_are_refused_422_nothing_changed_and_the_input_kept(sched, day, z, a, items):
    before, count = _visits(sched.v_z.id, sched.v_a.id), _audits()
    resp = _reorder(day, sched, z, a)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422, html
    assert f"第 {items} 项的顺序应为 1–999 的整数，且不能重复。" in html
    assert _visits(sched.v_z.id, sched.v_a.id) == before and _audits() == count
    # the page is shown again with what was typed, the route form open and the bad items marked
    assert f'name="order-{sched.v_z.id}" type="number" min="1" max="999" inputmode="numeric" value="{z}"' in html
    assert f'name="order-{sched.v_a.id}" type="number" min="1" max="999" inputmode="numeric" value="{a}"' in html
    assert '<details class="sched-reorder" open>' in html
    assert html.count('aria-invalid="true"') == len(items.split("、"))


def test_a_non_leader_posting_bad_positions_is_refused_403_first(sched, day, login):
    before, count = _visits(sched.v_z.id, sched.v_a.id), _audits()
    resp = _reorder(login(sched.u_b1), sched, "x", "x")
    assert resp.status_code == 403 and "项的顺序" not in resp.get_data(as_text=True)
    assert _visits(sched.v_z.id, sched.v_a.id) == before and _audits() == count


def test_a_list_that_is_not_the_days_visits_is_refused_with_the_input_kept(sched, day):
    before, count = _visits(sched.v_z.id, sched.v_a.id), _audits()
    resp = day.post(f"/tasks/{sched.task.id}/schedule/reorder", data={
        "team_id": sched.team1.id, "day": "2026-12-04", f"order-{sched.v_z.id}": "7"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "每个只出现一次" in html
    assert f'name="order-{sched.v_z.id}" type="number" min="1" max="999" inputmode="numeric" value="7"' in html
    assert _visits(sched.v_z.id, sched.v_a.id) == before and _audits() == count


def test_good_positions_still_save_in_one_go(sched, day):
    resp = _reorder(day, sched, " 2 ", "1")
    assert resp.status_code == 302
    db.session.expire_all()
    assert (db.session.get(Visit, sched.v_a.id).route_order, db.session.get(Visit, sched.v_z.id).route_order) == (1, 2)


def test_the_schedule_page_uses_the_visit_pages_stage_labels(sched, login):
    put_schedule(login(sched.u_a1), sched.v_z.id, scheduled_on="2026-12-03")
    html = login(sched.initiator).get(f"/tasks/{sched.task.id}/schedule").get_data(as_text=True)
    assert f'<span class="badge" data-stage="scheduled">{stage_label(VisitStage.SCHEDULED)}</span>' in html
    assert '<span class="badge" data-stage="scheduled">已排期</span>' in html
    assert '<span class="badge" data-stage="planned">待安排</span>' in html
    db.session.get(Visit, sched.v_z.id).stage = VisitStage.VISITED
    db.session.commit()
    html = login(sched.initiator).get(f"/tasks/{sched.task.id}/schedule").get_data(as_text=True)
    assert '<span class="badge" data-stage="visited">已检查待汇总</span>' in html


def test_one_active_leader_rule(sched):
    assert is_team_leader(sched.u_a1, sched.team1.id) and not is_team_leader(sched.u_a1, sched.team2.id)
    assert not is_team_leader(sched.u_b1, sched.team1.id)  # a member
    assert not is_team_leader(sched.initiator, sched.team1.id)  # no inspector
    assert leader_team_ids(sched.u_a1) == {sched.team1.id}
    assert leader_team_ids(sched.u_a2, [sched.team1.id, sched.team2.id]) == {sched.team2.id}
    assert leader_team_ids(sched.u_a2, [sched.team1.id]) == set()
    member = db.session.execute(select(TeamMember).where(TeamMember.team_id == sched.team1.id,
                                                         TeamMember.is_leader.is_(True))).scalar_one()
    member.active = False  # a leader replaced is a leader no more
    db.session.commit()
    assert not is_team_leader(sched.u_a1, sched.team1.id)


def test_the_api_reads_its_body_once_with_the_forms_time_format(sched, login, auth, monkeypatch):
    from server.schedules import services

    def boom(_data):
        raise AssertionError("the API body is parsed by its schema only")

    monkeypatch.setattr(services, "parse_strings", boom)
    client = login(sched.u_a1)
    resp = put_schedule(client, sched.v_z.id, scheduled_on="2026-12-03", window_start="9:05", window_end="10:00")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["schedule"]["window_start"] == "09:05"
    assert resp.headers["Cache-Control"] == "no-store"  # server/core/security.py, for every /api answer
    for body, field in (({"window_start": "", "window_end": "10:00"}, "window_start"),
                        ({"window_start": "24:00", "window_end": "10:00"}, "window_start"),
                        ({"window_start": "09:00", "window_end": 930}, "window_end")):
        resp = put_schedule(client, sched.v_z.id, scheduled_on="2026-12-03", **body)
        err = resp.get_json()["error"]
        assert resp.status_code == 422 and err["code"] == "invalid_schedule", body
        assert list(err["details"]["fields"]) == [field]
        assert err["details"]["fields"][field] == "时间格式应为“时:分”，如 09:30。"
    # an error answer of a logged-out caller is not kept either
    auth.logout()
    resp = put_schedule(client, sched.v_z.id, scheduled_on="2026-12-03")
    assert resp.status_code in (400, 401) and resp.headers["Cache-Control"] == "no-store"


def test_the_index_reads_each_tasks_visibility_once(sched, login, monkeypatch):
    from server.schedules import views

    calls = []
    real = views.visible_team_ids

    def counting(user, task):
        calls.append(task.id)
        return real(user, task)

    monkeypatch.setattr(views, "visible_team_ids", counting)
    html = login(sched.u_a1).get("/schedules").get_data(as_text=True)
    assert sched.task.name in html
    assert sorted(calls) == sorted(set(calls))
    calls.clear()
    html = login(sched.u_none).get("/schedules").get_data(as_text=True)
    assert sched.task.name not in html and calls.count(sched.task.id) == 1
