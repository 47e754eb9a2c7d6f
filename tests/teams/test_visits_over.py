"""Marking a task's visits over lifts confidentiality; only the initiators or the joint office may."""

from __future__ import annotations

from server.audit.services import history
from server.extensions import db
from server.planning.models import TaskStatus


def test_initiator_marks_visits_over(drawn, login):
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over")
    assert resp.status_code == 302
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.VISITS_OVER
    assert drawn.task.visits_over_at is not None
    assert history("task", drawn.task.id)[0].action == "task.visits_over"


def test_joint_office_marks_visits_over(drawn, login):
    assert login(drawn.joint).post(f"/tasks/{drawn.task.id}/visits-over").status_code == 302
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.VISITS_OVER


def test_member_cannot_mark_visits_over(drawn, login):
    resp = login(drawn.u_a1).post(f"/tasks/{drawn.task.id}/visits-over")
    assert resp.status_code == 403
    assert "发起部门" in resp.get_data(as_text=True)
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.INSPECTORS_DRAWN


def test_visits_over_refused_before_inspectors_drawn(drawn, login):
    drawn.task.status = TaskStatus.OBJECTS_DRAWN
    db.session.commit()
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over")
    assert resp.status_code == 409
    assert "尚未抽取检查人员" in resp.get_data(as_text=True)
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.OBJECTS_DRAWN
