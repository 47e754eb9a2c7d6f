"""Fixtures for follow-up: the assignments of tests/visits (two teams, departments 发起局 and 协作局), a third
department receiving transfers, users per role, and ``make_result`` — one department's accepted result of a
visit, written directly (a VisitRecord, a Consolidation and a SectionResult) as the review area would."""

from __future__ import annotations

import uuid
from datetime import date
from types import SimpleNamespace

import pytest

from server.extensions import db
from tests.visits.conftest import assigned, login  # noqa: F401  (shared fixtures)


@pytest.fixture
def fw(assigned, make_department, make_user):  # noqa: F811
    from server.auth.roles import Role

    ns = assigned
    ns.c = make_department("接收局")
    ns.reviewer_a = make_user("reviewer_a", roles=(Role.REVIEWER,), department=ns.a)
    ns.head_a = make_user("head_a", roles=(Role.DEPT_HEAD,), department=ns.a)
    ns.reviewer_b = make_user("reviewer_b", roles=(Role.REVIEWER,), department=ns.b)
    ns.reviewer_c = make_user("reviewer_c", roles=(Role.REVIEWER,), department=ns.c)
    ns.joint = make_user("joint", roles=(Role.JOINT_OFFICE,))
    return ns


@pytest.fixture
def make_result(fw):
    from server.fieldwork.models import RecordStatus, VisitRecord
    from server.review.models import Consolidation, ResultStatus, SectionResult
    from server.workdays.services import referral_due, result_due

    def make(visit, department, *, entered_on: date = date(2026, 12, 2), problem: bool = True,
             status: ResultStatus = ResultStatus.ACCEPTED, visited_on: date | None = None):
        visited_on = visited_on or entered_on
        rec = VisitRecord(uuid=str(uuid.uuid4()), visit_id=visit.id, department_id=department.id, base_version=0,
                          version=1, server_version=1, status=RecordStatus.STORED, content={"schema": 2},
                          content_sha256="0" * 64, request_sha256="0" * 64, photos=[], finished=True,
                          created_by_id=fw.u_a1.id)
        db.session.add(rec)
        db.session.flush()
        rounds = db.session.execute(db.select(db.func.count(Consolidation.id))
                                    .where(Consolidation.visit_id == visit.id)).scalar()
        cons = Consolidation(visit_id=visit.id, round=rounds + 1, record_ids={str(department.id): rec.id},
                             consolidated_by_id=fw.u_a1.id)
        db.session.add(cons)
        db.session.flush()
        due = result_due(visited_on)
        ref = referral_due(entered_on) if problem and status is ResultStatus.ACCEPTED else None
        sr = SectionResult(visit_id=visit.id, department_id=department.id, task_id=visit.task_id,
                           object_id=visit.object_id, consolidation_id=cons.id, record_id=rec.id, status=status,
                           result_codes=["problem" if problem else "no_problem"], problem=problem,
                           visited_on=visited_on, result_due=due.date, result_due_provisional=due.provisional,
                           entered_on=entered_on if status is ResultStatus.ACCEPTED else None,
                           referral_due=ref.date if ref else None,
                           referral_due_provisional=ref.provisional if ref else False,
                           reviewed_by_id=fw.reviewer_a.id)
        db.session.add(sr)
        db.session.commit()
        return sr

    return make


def counts():
    """Rows that a refused request must not change: follow-ups, their events, audit entries, objects' versions."""
    from server.audit.models import AuditEntry
    from server.followup.models import FollowUp, FollowUpEvent
    from server.registry.models import InspectedObject

    db.session.expire_all()
    return SimpleNamespace(
        follow_ups=db.session.execute(db.select(db.func.count(FollowUp.id))).scalar(),
        events=db.session.execute(db.select(db.func.count(FollowUpEvent.id))).scalar(),
        audit=db.session.execute(db.select(db.func.count()).select_from(AuditEntry)).scalar(),
        objects=sorted(db.session.execute(db.select(InspectedObject.id, InspectedObject.version,
                                                    InspectedObject.abnormal_list)).all()),
    ).__dict__


@pytest.fixture
def set_today(monkeypatch):
    """Fix Beijing 'today' for the follow-up services and screens."""
    from server.followup import services

    def do(day: date):
        monkeypatch.setattr(services, "beijing_today", lambda: day)

    return do
