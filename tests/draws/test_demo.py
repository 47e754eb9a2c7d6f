"""The demo task with both draws done (``load_demo_draws``), as ``flask demo load`` will call it."""

from __future__ import annotations

from sqlalchemy import select

from server.audit.services import set_actor
from server.draws import services, spec
from server.draws.demo import DEMO_TASK_CODE, load_demo_draws
from server.draws.models import DrawStatus
from server.draws.services import task_draws
from server.extensions import db
from server.planning.models import Task, TaskStatus


def test_demo_task_has_both_draws_final_and_verifiable(app):
    from server.demo.services import load_demo

    set_actor(None, "test:demo")
    load_demo(n_objects=600)  # calls load_demo_draws()
    db.session.commit()
    task = db.session.execute(select(Task).where(Task.code == DEMO_TASK_CODE)).scalar_one()
    assert task.status is TaskStatus.INSPECTORS_DRAWN
    draws = task_draws(task)
    assert [(d.kind.value, d.status) for d in draws] == [("objects", DrawStatus.FINAL),
                                                         ("inspectors", DrawStatus.FINAL)]
    for d in draws:
        assert spec.verify(services.draw_record(d)) == []
    assert load_demo_draws() is None  # idempotent
