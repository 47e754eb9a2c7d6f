"""GET /api/sync/pull: the user's visits since a server-made cursor, withdrawn ones, full resyncs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from server.core.models import utcnow
from server.extensions import db
from server.teams.models import TeamMember
from server.visits.models import Visit, VisitStatus
from tests.sync.conftest import new_uuid, put_record, record_body


def _age_all_visits():
    """Pretend every visit last changed an hour ago (older than the cursor's overlap)."""
    db.session.execute(update(Visit).values(changed_at=utcnow() - timedelta(hours=1)))
    db.session.commit()


def _pull(client, cursor=None):
    resp = client.get("/api/sync/pull", query_string={"cursor": cursor} if cursor else None)
    assert resp.status_code == 200
    return resp.get_json()


def test_first_pull_is_full_with_the_teams_visits_and_checklists(field, login):
    body = _pull(login(field.u_b1))
    assert body["full"] is True and body["withdrawn"] == [] and body["cursor"]
    assert {v["id"] for v in body["visits"]} == {field.v_z.id, field.v_a.id}
    v = next(v for v in body["visits"] if v["id"] == field.v_z.id)
    assert v["team"]["leader"] == {"inspector_id": field.i_a1.id, "name": "insp_a1姓名"}
    assert v["object"]["abnormal_list"] is True and v["object"]["previous_results"] == []
    a_section = next(s for s in v["sections"] if s["department_id"] == field.a.id)
    questions = a_section["items"][0]["template"]["questions"]
    assert [(q["text"], q["kind"], q["required"]) for q in questions] == [
        ("是否亮照经营", "yes_no_na", True), ("从业人员数", "number", False)]
    assert questions[1]["unit"] == "人" and questions[1]["max"] == 999.0


def test_pull_never_contains_the_risk_class(field, login):
    raw = login(field.u_b1).get("/api/sync/pull").get_data(as_text=True)
    assert "risk" not in raw
    assert '"D"' not in raw and '"C"' not in raw


def test_another_teams_visit_is_not_pulled(field, login):
    body = _pull(login(field.u_a1))
    assert field.v_other.id not in {v["id"] for v in body["visits"]}


def test_second_pull_returns_only_changed_visits(field, login):
    _age_all_visits()
    client = login(field.u_a1)
    cursor = _pull(client)["cursor"]
    assert _pull(client, cursor)["visits"] == []
    put_record(client, field.v_a.id, new_uuid(), record_body(field.a.id))
    body = _pull(client, cursor)
    assert body["full"] is False
    assert [v["id"] for v in body["visits"]] == [field.v_a.id]
    assert body["visits"][0]["records"][0]["version"] == 1


def test_replaced_inspector_gets_the_visits_as_withdrawn(field, login):
    _age_all_visits()
    client = login(field.u_b1)
    cursor = _pull(client)["cursor"]
    member = db.session.execute(select(TeamMember).where(TeamMember.inspector_id == field.i_b1.id)).scalar_one()
    member.active = False
    db.session.commit()
    body = _pull(client, cursor)
    assert body["full"] is False and body["visits"] == []
    assert body["withdrawn"] == sorted([field.v_z.id, field.v_a.id])


def test_replacement_reaches_the_other_members_phones(field, login):
    _age_all_visits()
    client = login(field.u_a1)
    cursor = _pull(client)["cursor"]
    member = db.session.execute(select(TeamMember).where(TeamMember.inspector_id == field.i_b1.id)).scalar_one()
    member.active = False
    db.session.commit()
    body = _pull(client, cursor)
    assert {v["id"] for v in body["visits"]} == {field.v_z.id, field.v_a.id}
    assert all(len(v["team"]["members"]) == 1 for v in body["visits"])


def test_withdrawn_visit_is_listed_as_withdrawn(field, login):
    _age_all_visits()
    client = login(field.u_a1)
    cursor = _pull(client)["cursor"]
    field.v_a.status = VisitStatus.WITHDRAWN
    db.session.commit()
    body = _pull(client, cursor)
    assert body["withdrawn"] == [field.v_a.id]
    assert field.v_a.id not in {v["id"] for v in body["visits"]}


def test_unknown_cursor_gives_a_full_pull(field, login):
    body = _pull(login(field.u_a1), "garbage.cursor")
    assert body["full"] is True
    assert {v["id"] for v in body["visits"]} == {field.v_z.id, field.v_a.id}


def test_another_users_cursor_gives_a_full_pull(field, login):
    _age_all_visits()
    cursor = _pull(login(field.u_b1))["cursor"]
    body = _pull(login(field.u_a1), cursor)
    assert body["full"] is True and len(body["visits"]) == 2


def test_too_old_cursor_gives_a_full_pull(field, login, app):
    _age_all_visits()
    client = login(field.u_a1)
    cursor = _pull(client)["cursor"]
    app.config["SYNC_CURSOR_MAX_AGE_DAYS"] = -1
    assert _pull(client, cursor)["full"] is True


def test_not_logged_in_is_401(client):
    resp = client.get("/api/sync/pull")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "not_authenticated"
