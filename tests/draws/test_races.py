"""Two operators pressing "draw" at the same moment: exactly one draw wins, the other gets 409.

Runs on whichever database the suite uses: PostgreSQL when SPOTCHECK_TEST_DATABASE_URL is set
(row lock ``SELECT … FOR UPDATE``), otherwise a SQLite file (the database write lock). Each thread
has its own application context, hence its own session and connection.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from server.audit.services import set_actor
from server.core.errors import DomainError
from server.draws import services
from server.draws.candidates import registry_state
from server.draws.models import Draw, DrawSelection, DrawStatus
from server.extensions import db
from tests.draws.conftest import WITNESSES


def _race(app, action):
    """Run ``action()`` in two threads released together; return the outcomes (ok or error code)."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with app.app_context():
            set_actor(None, f"test:{name}")
            try:
                barrier.wait(timeout=10)
                action()
                db.session.commit()
                result = "ok"
            except DomainError as err:
                db.session.rollback()
                result = f"{err.status}:{err.code}"
            except Exception as exc:  # noqa: BLE001 - reported in the assertion below
                db.session.rollback()
                result = f"error:{type(exc).__name__}:{exc}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("operator-1", "operator-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)


def test_two_operators_pressing_draw_give_exactly_one_draw(app, make_department, make_task, bulk_objects):
    depts = make_department("武陟县商务局"), make_department("武陟县市场监督管理局")
    bulk_objects(50, "A")
    task = make_task(depts[0], [depts[1]], accepted=True, strata=[{"name": "A", "ratio": "0.2"}])
    draw = services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    draw_id, task_id = draw.id, task.id
    db.session.remove()

    outcomes = _race(app, lambda: services.perform_draw(
        draw_id, witnesses=services.clean_witnesses(WITNESSES), witness_entropy="4 4 2"))

    assert outcomes == ["409:draw_exists", "ok"]
    final = db.session.execute(select(Draw).where(Draw.task_id == task_id)).scalars().all()
    assert [d.status for d in final] == [DrawStatus.FINAL]
    selections = db.session.execute(select(func.count()).select_from(DrawSelection)
                                    .where(DrawSelection.task_id == task_id)).scalar_one()
    assert selections == 10


def test_two_operators_committing_at_once_give_one_live_draw(app, make_department, make_task, bulk_objects):
    depts = make_department("武陟县商务局"), make_department("武陟县市场监督管理局")
    bulk_objects(5, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    task_id = task.id
    db.session.remove()

    def commit():
        task = services.get_task(task_id)
        services.commit_object_draw(task, registry=registry_state(task))

    outcomes = _race(app, commit)

    assert outcomes == ["409:draw_exists", "ok"]
    draws = db.session.execute(select(Draw).where(Draw.task_id == task_id)).scalars().all()
    assert [d.status for d in draws] == [DrawStatus.COMMITTED]
