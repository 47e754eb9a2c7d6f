"""A returned section carries the returned version's content in the pull (issue 8 §2), so that a
phone without its own copy (logged out and wiped, or another member of the department on another
phone) corrects it instead of starting from an empty form. Only members who may write that section
get it; pending and accepted sections never carry it. The review rows are written directly (the
review area writes them in production)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import event

from server.core.models import utcnow
from server.extensions import db
from server.review.models import Consolidation, ResultStatus, ReviewDecision, SectionResult
from server.rules.services import RESULTS_BY_LEAD_DEPARTMENT, set_rule
from server.teams.models import TeamMember
from server.visits.models import VisitItem, VisitStage
from tests.sync.conftest import (
    app_record,
    jpeg_bytes,
    new_uuid,
    put_record,
    record_body,
    sha,
    upload,
)

COMMENT = "从业人员数与营业执照不符，请核实后更正。"


def _pull(client):
    resp = client.get("/api/sync/pull")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _section(body, visit_id, department_id):
    visit = next(v for v in body["visits"] if v["id"] == visit_id)
    return next(s for s in visit["sections"] if s["department_id"] == department_id)


def _store(client, visit, department_id, *, photos=(), base=0, **overrides):
    content = app_record(visit, department_id, **overrides)
    if photos:
        content["photos"] = [{"sha256": p, "purpose": "evidence", "captured_at": "2026-12-02T02:10:00.000Z"}
                             for p in photos]
    resp = put_record(client, visit.id, new_uuid(),
                      record_body(department_id, base, content=content, photos=photos, finished=True))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json(), content


def _review(field, visit, department_id, record_id, status, comment=None):
    cons = Consolidation(visit_id=visit.id, round=1, record_ids={str(department_id): record_id},
                         consolidated_by_id=field.u_a1.id)
    db.session.add(cons)
    db.session.flush()
    decided = datetime(2026, 12, 10, 2, 0, tzinfo=UTC) if status is not ResultStatus.PENDING else None
    result = SectionResult(visit_id=visit.id, department_id=department_id, task_id=field.task.id,
                           object_id=visit.object_id, consolidation_id=cons.id, record_id=record_id, status=status,
                           result_codes=["no_problem"], visited_on=date(2026, 12, 3), result_due=date(2026, 12, 31),
                           review_comment=comment, reviewed_at=decided)
    db.session.add(result)
    db.session.flush()
    if decided:
        db.session.add(ReviewDecision(section_result_id=result.id, visit_id=visit.id, department_id=department_id,
                                      record_id=record_id, decision=status, comment=comment,
                                      decided_by_id=field.u_b1.id, decided_at=decided))
    visit.stage = {ResultStatus.PENDING: VisitStage.CONSOLIDATED, ResultStatus.RETURNED: VisitStage.RETURNED,
                   ResultStatus.ACCEPTED: VisitStage.REVIEWED}[status]
    visit.changed_at = utcnow()
    db.session.commit()


def _second_member_of_a(field):
    """insp_none (department a) joins team 1: another member of the same department, another phone."""
    db.session.add(TeamMember(team_id=field.team1.id, task_id=field.task.id, inspector_id=field.i_none.id,
                              department_id=field.a.id))
    db.session.commit()


def test_the_returned_content_goes_to_the_departments_members_only(field, login):
    client_a = login(field.u_a1)
    photo = jpeg_bytes(7)
    assert upload(client_a, photo).status_code == 204
    receipt, content = _store(client_a, field.v_z, field.a.id, photos=[sha(photo)])
    _review(field, field.v_z, field.a.id, receipt["record_id"], ResultStatus.RETURNED, COMMENT)

    expected = {"uuid": receipt["uuid"], "version": 1, "content": content, "photos": [sha(photo)]}
    review = _section(_pull(client_a), field.v_z.id, field.a.id)["review"]
    assert review["status"] == "returned" and review["comment"] == COMMENT
    assert review["returned_record"] == expected

    # another member of the same department, on another phone that never had the record
    _second_member_of_a(field)
    review = _section(_pull(login(field.u_none)), field.v_z.id, field.a.id)["review"]
    assert review["returned_record"] == expected

    # the other department's member of the same team sees the return, never the content
    review = _section(_pull(login(field.u_b1)), field.v_z.id, field.a.id)["review"]
    assert review["status"] == "returned" and review["comment"] == COMMENT
    assert review["returned_record"] is None
    assert "张三" not in str(_section(_pull(login(field.u_b1)), field.v_z.id, field.a.id))


def test_a_returned_correction_carries_the_returned_version_not_the_latest(field, login):
    """v1 stored, v2 stored, v2 consolidated and returned: the content is v2's."""
    client_a = login(field.u_a1)
    _store(client_a, field.v_z, field.a.id, notes="第一版")
    receipt, content = _store(client_a, field.v_z, field.a.id, base=1, notes="第二版")
    _review(field, field.v_z, field.a.id, receipt["record_id"], ResultStatus.RETURNED, COMMENT)
    review = _section(_pull(client_a), field.v_z.id, field.a.id)["review"]
    assert review["version"] == 2
    assert review["returned_record"]["version"] == 2 and review["returned_record"]["content"]["notes"] == "第二版"


def test_pending_and_accepted_sections_carry_no_content(field, login):
    client_a = login(field.u_a1)
    receipt, _content = _store(client_a, field.v_z, field.a.id)
    _review(field, field.v_z, field.a.id, receipt["record_id"], ResultStatus.PENDING)
    review = _section(_pull(client_a), field.v_z.id, field.a.id)["review"]
    assert review["status"] == "pending_review" and "returned_record" not in review

    result = db.session.execute(db.select(SectionResult)).scalar_one()
    result.status, result.reviewed_at = ResultStatus.ACCEPTED, utcnow()
    db.session.commit()
    review = _section(_pull(client_a), field.v_z.id, field.a.id)["review"]
    assert review["status"] == "accepted" and "returned_record" not in review
    # a section never consolidated: no review at all
    assert _section(_pull(client_a), field.v_z.id, field.b.id)["review"] is None


def test_lead_department_rule_gives_the_content_to_the_leading_departments_members(field, login):
    """谁主导、谁填报: the leading department (a) writes every section, so b's returned content goes to
    a's member and not to b's."""
    set_rule("results_entry", RESULTS_BY_LEAD_DEPARTMENT)
    db.session.commit()
    client_a = login(field.u_a1)
    receipt, content = _store(client_a, field.v_z, field.b.id)
    _review(field, field.v_z, field.b.id, receipt["record_id"], ResultStatus.RETURNED, COMMENT)
    assert _section(_pull(client_a), field.v_z.id, field.b.id)["review"]["returned_record"]["content"] == content
    review = _section(_pull(login(field.u_b1)), field.v_z.id, field.b.id)["review"]
    assert review["status"] == "returned" and review["returned_record"] is None


def _statements(client):
    seen = []

    def before(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        body = _pull(client)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return body, seen


def test_the_returned_contents_come_without_a_query_per_visit(field, login):
    """One statement reads every record of the delivered visits (the returned versions included);
    a second returned visit adds no statement."""
    field.v_a.items.append(VisitItem(department_id=field.a.id, check_item_id=field.item_a.id,
                                     template_id=field.tpl_a.id))
    db.session.commit()
    client_a = login(field.u_a1)
    receipt, _content = _store(client_a, field.v_z, field.a.id)
    _review(field, field.v_z, field.a.id, receipt["record_id"], ResultStatus.RETURNED, COMMENT)
    body, one = _statements(client_a)
    assert _section(body, field.v_z.id, field.a.id)["review"]["returned_record"]["version"] == 1

    receipt, _content = _store(client_a, field.v_a, field.a.id)
    _review(field, field.v_a, field.a.id, receipt["record_id"], ResultStatus.RETURNED, COMMENT)
    body, two = _statements(client_a)
    assert _section(body, field.v_a.id, field.a.id)["review"]["returned_record"]["version"] == 1
    assert _section(body, field.v_z.id, field.a.id)["review"]["returned_record"]["version"] == 1
    assert sum("FROM visit_records" in s for s in two) == 1
    assert sum("FROM section_results" in s for s in two) == 1
    assert len(two) == len(one)
