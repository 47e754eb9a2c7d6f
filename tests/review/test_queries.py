"""The review's hot paths read in batches: the leader's queue (``/review``) with a fixed number of
statements whatever the number of visits, the overview's overdue counts in SQL, the never-visited
cutoff computed once (its boundary against ``result_due``), the leader's search ignoring case."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import event

from server.extensions import db
from server.review import services
from server.visits.models import Visit, VisitItem, VisitStatus
from server.workdays.services import result_due


def _statements(do) -> list[str]:
    seen: list[str] = []

    def before(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        do()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return seen


def _visit_in_the_field(flow, make_object, name=None) -> Visit:
    """A visit of the leader's team with items of both departments; department a's section sent
    finished with a photo not yet uploaded, department b's not at all (two blockers)."""
    obj = make_object(name)
    visit = Visit(task_id=flow.task.id, object_id=obj.id, team_id=flow.team1.id)
    db.session.add(visit)
    db.session.flush()
    visit.items.append(VisitItem(department_id=flow.a.id, check_item_id=flow.item_a.id, template_id=flow.tpl_a.id))
    visit.items.append(VisitItem(department_id=flow.b.id, check_item_id=flow.item_b.id, template_id=flow.tpl_b.id))
    db.session.commit()
    flow.send(flow.u_a1, flow.a, visit=visit, photos=[f"{visit.id:064x}"])
    db.session.refresh(visit)
    assert visit.status is VisitStatus.IN_PROGRESS
    return visit


def test_the_leaders_queue_reads_a_fixed_number_of_statements_whatever_the_number_of_visits(flow, make_object):
    # a returned visit (waiting for the corrected version) and visits in the field
    flow.both()
    flow.login(flow.u_a1).post(f"/visits/{flow.v_z.id}/consolidate", data={"summary": "汇总"})
    sr = services.get_section_result(next(
        s.id for s in db.session.execute(db.select(services.SectionResult)).scalars() if s.department_id == flow.a.id))
    flow.login(flow.rev_a).post(f"/results/{sr.id}/review", data={"decision": "return", "comment": "请更正"})
    visits = [_visit_in_the_field(flow, make_object) for _ in range(2)]
    client = flow.login(flow.u_a1)

    def queue():
        resp = client.get("/review")
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    body = queue()
    assert body.count("张三食品有限公司") == 1 and all(f'data-visit-id="{v.id}"' in body for v in visits)
    few = len(_statements(queue))
    visits += [_visit_in_the_field(flow, make_object) for _ in range(5)]
    body = queue()
    assert all(f'data-visit-id="{v.id}" data-ready="0"' in body for v in visits)
    assert body.count("1 张照片尚未上传") == len(visits) and body.count("尚未同步任何记录") == len(visits)
    assert f'data-visit-id="{flow.v_z.id}" data-ready="0"' in body and "等待被退回部门提交更正版本" in body
    assert len(_statements(queue)) == few


def test_the_batched_state_equals_the_state_of_each_visit(flow, make_object):
    flow.both()
    flow.send(flow.u_b1, flow.b, base=0, expect=409)  # a conflict version newer than b's latest
    visits = [flow.v_z, _visit_in_the_field(flow, make_object), flow.v_a]
    many = services.unsynced_sections_many(visits)
    for visit in visits:
        blockers, ready = many[visit.id]
        single = services.unsynced_sections(visit)
        assert [(b.department_id, b.reasons) for b in blockers] == [(b.department_id, b.reasons) for b in single]
        assert ready == (not single and services.ready_to_consolidate(visit))
    assert "冲突版本" in many[flow.v_z.id][0][0].reasons[0]


def test_the_leaders_search_ignores_case(flow, make_object):
    visit = _visit_in_the_field(flow, make_object, "ACME食品有限公司")
    body = flow.login(flow.u_a1).get("/review?q=acme").get_data(as_text=True)
    assert f'data-visit-id="{visit.id}"' in body
    body = flow.login(flow.u_a1).get("/review?q=zzz").get_data(as_text=True)
    assert f'data-visit-id="{visit.id}"' not in body


def test_the_never_visited_cutoff_matches_result_due_at_the_boundary(flow):
    # every day of 2025 and 2026 (Spring Festival, National Day, their make-up working days) and
    # into 2027 (not loaded: weekends only)
    for n in range(0, 800):
        today = date(2025, 1, 1) + timedelta(days=n)
        cutoff = services.never_visited_cutoff(today)
        for day in range(-12, 12):
            period_end = cutoff + timedelta(days=day)
            assert (period_end < cutoff) == (result_due(period_end).date < today), (today, period_end)
        # the last overdue period end is due before today, the cutoff itself on or after it
        assert result_due(cutoff - timedelta(days=1)).date < today <= result_due(cutoff).date


def test_the_overview_counts_equal_the_overdue_rows(flow):
    # v_z visited on 6 January 2025, due 8 February 2025: not consolidated; then the task's period
    # ends long ago: v_a (no items) adds nothing, v_z is visited (not never-visited)
    check_in = {"at": "2025-01-06T02:00:00.000Z", "gps": None, "gps_error": "denied"}
    flow.both(check_in=check_in)
    flow.task.period_start, flow.task.period_end = date(2025, 1, 1), date(2025, 1, 31)
    db.session.commit()
    rows = services.overdue_rows(None, None)
    counts = services.overdue_counts(None)
    per_dept: dict[int, int] = {}
    for row in rows:
        per_dept[row.department_id] = per_dept.get(row.department_id, 0) + 1
    assert counts == per_dept == {flow.a.id: 1, flow.b.id: 1}
    assert {r.kind for r in rows} == {"not_consolidated"}
    # consolidated: one unreviewed result per department; scoped to one department
    assert flow.login(flow.u_a1).post(f"/visits/{flow.v_z.id}/consolidate", data={"summary": "汇总"}).status_code == 302
    rows = services.overdue_rows(None, {flow.b.id})
    assert services.overdue_counts({flow.b.id}) == {flow.b.id: 1} and [r.kind for r in rows] == ["unreviewed"]


def test_never_visited_visits_are_counted_from_the_cutoff(flow):
    today = date(2026, 12, 2)
    cutoff = services.never_visited_cutoff(today)
    flow.task.period_start = cutoff - timedelta(days=40)
    for end, expected in ((cutoff, {}), (cutoff - timedelta(days=1), {flow.a.id: 1, flow.b.id: 1})):
        flow.task.period_end = end
        db.session.commit()
        assert services.overdue_counts(None, today) == expected
        rows = services.overdue_rows(None, None, today)
        assert len(rows) == sum(expected.values()) and all(r.kind == "never_visited" for r in rows)
        assert all(r.due == result_due(end).date < today for r in rows)
