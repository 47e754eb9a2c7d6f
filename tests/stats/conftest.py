"""A small hand-made year of tasks, visits, results and follow-ups, built directly from the models
(review and follow-up screens are tested elsewhere). Expected figures are in tests/stats/test_stats.py,
worked out by hand from the rows below. "Today" is fixed at 2026-06-30 (Beijing)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from types import SimpleNamespace

import pytest

from server.auth.roles import Role
from server.draws.models import Draw, DrawCandidates, DrawKind, DrawSelection, DrawStatus
from server.extensions import db
from server.fieldwork.models import RecordStatus, VisitRecord
from server.followup.models import FollowUp, FollowUpKind, FollowUpStatus
from server.planning.models import TaskStatus
from server.review.models import Consolidation, ResultStatus, SectionResult
from server.teams.models import Team
from server.visits.models import Visit, VisitItem, VisitStage, VisitStatus
from tests.visits.conftest import _check_item

TODAY = date(2026, 6, 30)


@pytest.fixture
def fixed_today(monkeypatch):
    import server.stats.services as services

    monkeypatch.setattr(services, "beijing_today", lambda: TODAY)
    return TODAY


class StatsFactory:
    """Rows for the statistics, created directly."""

    def __init__(self, user_id: int):
        self.user_id = user_id

    def team(self, task) -> Team:
        team = Team(task_id=task.id, number=len(db.session.execute(
            db.select(Team.id).where(Team.task_id == task.id)).all()))
        db.session.add(team)
        db.session.flush()
        return team

    def visit(self, task, team, obj, *, stage=VisitStage.PLANNED, visited_on=None, result_due=None,
              departments=(), items=None, status=VisitStatus.PLANNED) -> Visit:
        v = Visit(task_id=task.id, object_id=obj.id, team_id=team.id, stage=stage, visited_on=visited_on,
                  result_due=result_due, status=status)
        db.session.add(v)
        db.session.flush()
        for dept in departments:
            db.session.add(VisitItem(visit_id=v.id, department_id=dept.id, check_item_id=items[dept.id].id))
        db.session.flush()
        return v

    def result(self, visit, dept, *, status=ResultStatus.PENDING, codes=("no_problem",), late=False,
               entered_on=None, problem=False) -> SectionResult:
        rec = VisitRecord(uuid=str(uuid.uuid4()), visit_id=visit.id, department_id=dept.id, base_version=0, version=1,
                          server_version=0, status=RecordStatus.STORED, content={}, content_sha256="0" * 64,
                          request_sha256="0" * 64, photos=[], finished=True, created_by_id=self.user_id)
        cons = db.session.execute(db.select(Consolidation).where(Consolidation.visit_id == visit.id)).scalar()
        db.session.add(rec)
        db.session.flush()
        if cons is None:
            cons = Consolidation(visit_id=visit.id, round=1, record_ids={}, consolidated_by_id=self.user_id)
            db.session.add(cons)
            db.session.flush()
        entered = status in (ResultStatus.ACCEPTED, ResultStatus.PUBLISHED)
        sr = SectionResult(visit_id=visit.id, department_id=dept.id, task_id=visit.task_id, object_id=visit.object_id,
                           consolidation_id=cons.id, record_id=rec.id, status=status, result_codes=list(codes),
                           problem=problem, visited_on=visit.visited_on, result_due=visit.result_due,
                           entered_on=entered_on or (visit.result_due if entered else None),
                           entered_late=late)
        db.session.add(sr)
        db.session.flush()
        return sr

    def follow_up(self, sr, *, status=FollowUpStatus.OPEN, due_on) -> FollowUp:
        fu = FollowUp(section_result_id=sr.id, visit_id=sr.visit_id, task_id=sr.task_id, object_id=sr.object_id,
                      department_id=sr.department_id, kind=FollowUpKind.REFERRAL, target_name="某局",
                      matter="移送", due_on=due_on, status=status, created_by_id=self.user_id)
        db.session.add(fu)
        db.session.flush()
        return fu

    def draw(self, task, strata: dict[str, int], selected: dict[str, list]) -> Draw:
        d = Draw(task_id=task.id, kind=DrawKind.OBJECTS, status=DrawStatus.FINAL, nonce="0" * 64,
                 nonce_commitment="1" * 64)
        db.session.add(d)
        db.session.flush()
        db.session.add(DrawCandidates(draw_id=d.id, strata=json.dumps(
            [{"name": k, "ratio": "0.1", "ids": [f"X{k}{i}" for i in range(n)]} for k, n in strata.items()])))
        pos = 0
        for name, objs in selected.items():
            for obj in objs:
                pos += 1
                db.session.add(DrawSelection(draw_id=d.id, task_id=task.id, object_id=obj.id, stratum=name,
                                             position=pos))
        db.session.flush()
        return d


@pytest.fixture
def world(app, fixed_today, make_department, make_user, make_object, make_task):
    """Departments A, B, C; tasks T1 (A leads, B joins: joint; visits over), T2 and T3 (A alone), T4 (B alone),
    plus a draft and a 2025 task that never count; visits, results, follow-ups and draws."""
    a, b, c = make_department("甲局"), make_department("乙局"), make_department("丙局")
    ns = SimpleNamespace(a=a, b=b, c=c)
    ns.admin = make_user("admin")
    ns.joint = make_user("joint", roles=(Role.JOINT_OFFICE,))
    ns.auditor = make_user("auditor", roles=(Role.AUDITOR,))
    ns.head_a = make_user("head_a", roles=(Role.DEPT_HEAD,), department=a)
    ns.dadmin_a = make_user("dadmin_a", roles=(Role.DEPT_ADMIN,), department=a)
    ns.inspector = make_user("insp", roles=(Role.INSPECTOR,), department=a)
    ns.reviewer = make_user("rev", roles=(Role.REVIEWER,), department=a)
    period = (date(2026, 3, 1), date(2026, 9, 30))
    ns.t1 = make_task(a, [b], accepted=True, period=period, code="T-2026-001", name="食品联合抽查")
    ns.t1.status = TaskStatus.VISITS_OVER  # T1's visits are over; T2 is still open
    ns.t2 = make_task(a, [], accepted=True, period=period, code="T-2026-002", name="甲局单独抽查")
    ns.t3 = make_task(a, [], accepted=True, period=period, code="T-2026-003", name="甲局另一抽查")
    ns.t4 = make_task(b, [], accepted=True, period=period, code="T-2026-004", name="乙局单独抽查")
    ns.draft = make_task(a, [b], period=period, code="T-2026-005", status=TaskStatus.DRAFT)
    ns.old = make_task(a, [b], accepted=True, period=(date(2025, 3, 1), date(2025, 9, 30)), code="T-2025-001")
    objs = [make_object(risk=r) for r in "ABCCDDAA"]
    f = StatsFactory(ns.admin.id)
    ns.factory = f
    item_a, _ = _check_item(a, "甲项", 1)
    item_b, _ = _check_item(b, "乙项", 2)
    items = {a.id: item_a, b.id: item_b}
    team1, team2 = f.team(ns.t1), f.team(ns.t2)
    both = (a, b)
    f.visit(ns.t1, team1, objs[0], departments=both, items=items)
    f.visit(ns.t1, team1, objs[1], stage=VisitStage.SCHEDULED, departments=both, items=items)
    f.visit(ns.t1, team1, objs[2], stage=VisitStage.VISITED, visited_on=date(2026, 5, 6),
                 result_due=date(2026, 6, 3), departments=both, items=items, status=VisitStatus.DONE)
    v4 = f.visit(ns.t1, team1, objs[3], stage=VisitStage.CONSOLIDATED, visited_on=date(2026, 5, 10),
                 result_due=date(2026, 6, 8), departments=both, items=items, status=VisitStatus.DONE)
    v5 = f.visit(ns.t1, team1, objs[4], stage=VisitStage.REVIEWED, visited_on=date(2026, 4, 1),
                 result_due=date(2026, 4, 29), departments=both, items=items, status=VisitStatus.DONE)
    v6 = f.visit(ns.t1, team1, objs[5], stage=VisitStage.CONSOLIDATED, visited_on=date(2026, 6, 20),
                 result_due=date(2026, 7, 17), departments=both, items=items, status=VisitStatus.DONE)
    f.visit(ns.t1, team1, objs[6], status=VisitStatus.WITHDRAWN, departments=both, items=items)
    v8 = f.visit(ns.t2, team2, objs[7], stage=VisitStage.REVIEWED, visited_on=date(2026, 3, 2),
                 result_due=date(2026, 3, 30), departments=(a,), items=items, status=VisitStatus.DONE)
    f.result(v4, a)  # pending, due 06-08: overdue
    r4b = f.result(v4, b, status=ResultStatus.ACCEPTED, codes=("no_problem",))
    r5a = f.result(v5, a, status=ResultStatus.ACCEPTED, codes=("rectified", "rectified", "not_disclosed"),
                   late=True, problem=True, entered_on=date(2026, 5, 6))
    f.result(v5, b, status=ResultStatus.PUBLISHED, codes=("no_problem",))
    f.result(v6, a)  # pending, due 07-17: not yet due
    f.result(v8, a, status=ResultStatus.ACCEPTED, codes=("qualified",))
    f.follow_up(r5a, due_on=date(2026, 6, 10))  # open, overdue
    f.follow_up(r5a, status=FollowUpStatus.IN_PROGRESS, due_on=date(2026, 7, 10))
    f.follow_up(r5a, status=FollowUpStatus.CLOSED, due_on=date(2026, 5, 1))
    f.follow_up(r4b, due_on=date(2026, 6, 29))  # open, overdue
    f.draw(ns.t1, {"A": 100, "B": 40, "C": 20, "D": 10, "U": 0},
           {"A": [objs[0]], "B": [objs[1]], "C": [objs[2], objs[3]], "D": [objs[4], objs[5]]})
    f.draw(ns.t2, {"ALL": 10}, {"ALL": [objs[7]]})
    db.session.commit()
    return ns
