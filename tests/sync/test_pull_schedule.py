"""Issue 8 additions to the pull: the schedule, the stage, the result due date, the object's
business peak, each section's review and the returned version's attention. The schedule fields and
the review rows are set directly on the models (the schedules and review areas write them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, update

from server.core.models import utcnow
from server.extensions import db
from server.review.models import Consolidation, ResultStatus, ReviewDecision, SectionResult
from server.visits.models import Visit, VisitStage
from tests.sync.conftest import app_record, new_uuid, put_record, record_body


def _age_all_visits():
    db.session.execute(update(Visit).values(changed_at=utcnow() - timedelta(hours=1)))
    db.session.commit()


def _pull(client, cursor=None):
    resp = client.get("/api/sync/pull", query_string={"cursor": cursor} if cursor else None)
    assert resp.status_code == 200
    return resp.get_json()


def _visit(body, visit_id):
    return next(v for v in body["visits"] if v["id"] == visit_id)


def test_unscheduled_visit_has_an_empty_schedule_and_no_due_date(field, login):
    v = _visit(_pull(login(field.u_a1)), field.v_z.id)
    assert v["schedule"] == {"scheduled_on": None, "window_start": None, "window_end": None,
                             "route_order": None, "note": None}
    assert v["scheduled_on"] is None
    assert v["stage"] == "planned" and v["result_due"] is None
    assert all(s["review"] is None for s in v["sections"])
    assert all(r["attention"] is None for r in v["records"])


def test_pull_carries_the_schedule_stage_due_date_and_business_peak(field, login):
    field.obj_z.business_peak = "11:00-13:30, 17:00-20:00"
    vz = field.v_z
    vz.scheduled_on, vz.window_start, vz.window_end = date(2026, 12, 3), time(9, 0), time(10, 30)
    vz.route_order, vz.schedule_note, vz.stage = 2, "先去仓库", VisitStage.VISITED
    vz.visited_on, vz.result_due, vz.result_due_provisional = date(2026, 12, 3), date(2026, 12, 31), False
    db.session.commit()
    v = _visit(_pull(login(field.u_b1)), vz.id)
    assert v["schedule"] == {"scheduled_on": "2026-12-03", "window_start": "09:00", "window_end": "10:30",
                             "route_order": 2, "note": "先去仓库"}
    assert v["scheduled_on"] == "2026-12-03"  # kept at the top level for older app versions
    assert v["stage"] == "visited"
    assert v["result_due"] == {"date": "2026-12-31", "provisional": False, "reason": None}
    assert v["object"]["business_peak"] == "11:00-13:30, 17:00-20:00"
    assert _visit(_pull(login(field.u_b1)), field.v_a.id)["object"]["business_peak"] is None


def test_a_provisional_due_date_comes_with_its_reason(field, login):
    # visited late in a year whose successor's holidays are not loaded: the due date is provisional
    vz = field.v_z
    vz.stage, vz.visited_on = VisitStage.VISITED, date(2026, 12, 21)
    vz.result_due, vz.result_due_provisional = date(2027, 1, 18), True
    db.session.commit()
    due = _visit(_pull(login(field.u_a1)), vz.id)["result_due"]
    assert due["date"] == "2027-01-18" and due["provisional"] is True
    assert "2027" in due["reason"] and "暂按" in due["reason"]


def _consolidate(field, status, comment=None):
    """Store a finished section of department a on v_z, consolidate it and review it as ``status``."""
    client_a = field.client_a
    resp = put_record(client_a, field.v_z.id, new_uuid(),
                      record_body(field.a.id, content=app_record(field.v_z, field.a.id), finished=True))
    assert resp.status_code == 201, resp.get_json()
    record_id = resp.get_json()["record_id"]
    cons = Consolidation(visit_id=field.v_z.id, round=1, record_ids={str(field.a.id): record_id},
                         summary="组长汇总意见", consolidated_by_id=field.u_a1.id)
    db.session.add(cons)
    db.session.flush()
    decided = datetime(2026, 12, 10, 2, 0, tzinfo=UTC) if status is not ResultStatus.PENDING else None
    result = SectionResult(visit_id=field.v_z.id, department_id=field.a.id, task_id=field.task.id,
                           object_id=field.obj_z.id, consolidation_id=cons.id, record_id=record_id, status=status,
                           result_codes=["no_problem"], visited_on=date(2026, 12, 3), result_due=date(2026, 12, 31),
                           review_comment=comment, reviewed_at=decided,
                           reviewed_by_id=field.u_b1.id if decided else None)
    db.session.add(result)
    db.session.flush()
    if decided:
        db.session.add(ReviewDecision(section_result_id=result.id, visit_id=field.v_z.id, department_id=field.a.id,
                                      record_id=record_id, decision=status, comment=comment,
                                      decided_by_id=field.u_b1.id, decided_at=decided))
    field.v_z.stage = {ResultStatus.PENDING: VisitStage.CONSOLIDATED, ResultStatus.RETURNED: VisitStage.RETURNED,
                       ResultStatus.ACCEPTED: VisitStage.REVIEWED}[status]
    field.v_z.changed_at = utcnow()  # the review area bumps it on every decision
    db.session.commit()
    return record_id


def test_a_returned_section_carries_the_comment_and_flags_the_returned_version(field, login):
    field.client_a = login(field.u_a1)
    record_id = _consolidate(field, ResultStatus.RETURNED, "请补充许可证编号，并重新签字。")
    v = _visit(_pull(field.client_a), field.v_z.id)
    assert v["stage"] == "returned"
    sec_a = next(s for s in v["sections"] if s["department_id"] == field.a.id)
    sec_b = next(s for s in v["sections"] if s["department_id"] == field.b.id)
    # the returned content for the department's member: tests/sync/test_pull_returned_content.py
    assert sec_a["review"].pop("returned_record")["version"] == 1
    assert sec_a["review"] == {"status": "returned", "comment": "请补充许可证编号，并重新签字。",
                               "decided_at": "2026-12-10T02:00:00+00:00", "version": 1}
    assert sec_b["review"] is None  # b's section was not consolidated
    held = v["records"]
    assert len(held) == 1 and held[0]["version"] == 1
    assert held[0]["attention"] == {"code": "returned", "message": "请补充许可证编号，并重新签字。"}
    assert record_id  # the returned version itself is never changed

    # the corrected version (base = the returned version) is stored as usual; the returned one keeps its flag
    resp = put_record(field.client_a, field.v_z.id, new_uuid(),
                      record_body(field.a.id, 1, content=app_record(field.v_z, field.a.id), finished=True))
    assert resp.status_code == 201 and resp.get_json()["version"] == 2
    held = _visit(_pull(field.client_a), field.v_z.id)["records"]
    assert [(r["version"], (r["attention"] or {}).get("code")) for r in held] == [(1, "returned"), (2, None)]


def test_pending_and_accepted_sections_have_their_status_and_no_attention(field, login):
    field.client_a = login(field.u_a1)
    _consolidate(field, ResultStatus.PENDING)
    v = _visit(_pull(field.client_a), field.v_z.id)
    sec_a = next(s for s in v["sections"] if s["department_id"] == field.a.id)
    assert sec_a["review"]["status"] == "pending_review" and sec_a["review"]["decided_at"] is None
    assert v["stage"] == "consolidated"
    assert v["records"][0]["attention"] is None

    result = db.session.execute(db.select(SectionResult)).scalar_one()
    result.status, result.reviewed_at = ResultStatus.ACCEPTED, utcnow()
    db.session.commit()
    sec_a = next(s for s in _visit(_pull(field.client_a), field.v_z.id)["sections"] if s["department_id"] == field.a.id)
    assert sec_a["review"]["status"] == "accepted" and sec_a["review"]["decided_at"]


def test_a_schedule_change_reaches_an_incremental_pull(field, login):
    _age_all_visits()
    client = login(field.u_b1)  # a team member who is not the leader: sees the leader's plan
    cursor = _pull(client)["cursor"]
    assert _pull(client, cursor)["visits"] == []
    db.session.execute(update(Visit).where(Visit.id == field.v_a.id).values(
        scheduled_on=date(2026, 12, 8), window_start=time(14, 0), window_end=time(15, 0), route_order=1,
        schedule_note="下午", stage=VisitStage.SCHEDULED, changed_at=utcnow()))
    db.session.commit()
    body = _pull(client, cursor)
    assert body["full"] is False
    assert [v["id"] for v in body["visits"]] == [field.v_a.id]
    v = body["visits"][0]
    assert v["schedule"] == {"scheduled_on": "2026-12-08", "window_start": "14:00", "window_end": "15:00",
                             "route_order": 1, "note": "下午"}
    assert v["stage"] == "scheduled"


def test_a_return_reaches_an_incremental_pull(field, login):
    field.client_a = login(field.u_a1)
    _age_all_visits()
    cursor = _pull(field.client_a)["cursor"]
    _consolidate(field, ResultStatus.RETURNED, "签字不清")
    body = _pull(field.client_a, cursor)
    assert [v["id"] for v in body["visits"]] == [field.v_z.id]
    assert body["visits"][0]["records"][0]["attention"]["message"] == "签字不清"


def test_the_pull_reads_every_review_in_one_batch_query(field, login, app):
    """No per-visit query: the reviews of all delivered visits come in one statement."""
    from sqlalchemy import event

    field.client_a = login(field.u_a1)
    _consolidate(field, ResultStatus.RETURNED, "退回")

    def count_statements():
        seen = []
        engine = db.engine

        def before(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            _pull(field.client_a)
        finally:
            event.remove(engine, "before_cursor_execute", before)
        return sum(1 for s in seen if "section_results" in s)

    assert count_statements() == 1
    assert db.session.execute(db.select(func.count()).select_from(SectionResult)).scalar_one() == 1
