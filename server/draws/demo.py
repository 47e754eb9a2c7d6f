"""Demo: one joint task of seed 003 (成品油市场监管, 商务局 + 市场监督管理局) with both draws done."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..audit.services import record, snapshot
from ..extensions import db
from ..org.models import Department
from ..planning.models import Acceptance, Task, TaskCheckItem, TaskDepartment, TaskStatus
from . import services
from .candidates import registry_state

DEMO_TASK_CODE = "WZ-2026-LH-001"
#: people present at the demo draws [003#16] — invented people and organisation (示例内容): the
#: organisation carries the visible marker, since it is printed in the draw record
DEMO_WITNESSES = {"operator": "李娜", "technical": "赵强", "supervisor": "刘洋"}
DEMO_REPRESENTATIVES = [{"role": "行业协会代表", "name": "孙建国", "organisation": "武陟县石油流通行业协会（示例）"}]


def _department(code: str) -> Department:
    dept = db.session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
    if dept is None:
        raise LookupError(f"demo department {code} is missing: load the demo departments first")
    return dept


def _oil_item():
    from ..catalog.models import CheckItem, CheckItemKey

    return db.session.execute(
        select(CheckItem).join(CheckItemKey, CheckItemKey.id == CheckItem.key_id)
        .where(CheckItemKey.code == "WZ-2021-001").order_by(CheckItem.id.desc()).limit(1)
    ).scalar_one_or_none()


def load_demo_draws() -> Task | None:
    """Create the accepted joint task 成品油市场监管 over the demo's 成品油零售 objects (2 teams, one
    member per department per team) and run both draws with demo witnesses. Idempotent: does
    nothing when the task exists. Flushes only; the caller commits. Returns the task."""
    if db.session.execute(select(Task).where(Task.code == DEMO_TASK_CODE)).scalar_one_or_none() is not None:
        return None
    commerce = _department("410823-SWJ")
    samr = _department("410823-SCJG")
    task = Task(
        code=DEMO_TASK_CODE, name="2026年度成品油市场联合抽查", initiating_department_id=commerce.id,
        adhoc_reason="演示数据：年度计划外的临时性联合抽查", status=TaskStatus.ACCEPTED,
        period_start=date(2026, 12, 1), period_end=date(2026, 12, 20), teams_count=2, unannounced=False,
        scope={"statuses": ["active"], "industries": ["成品油零售"], "region_county": "武陟县"},
        candidate_source="registry",
        strata=[{"name": "A", "ratio": "0.05"}, {"name": "B", "ratio": "0.1"}, {"name": "C", "ratio": "0.2"},
                {"name": "D", "ratio": "0.5"}],
    )
    for dept in (commerce, samr):
        task.departments.append(TaskDepartment(department_id=dept.id, is_initiator=dept is commerce,
                                               acceptance=Acceptance.ACCEPTED, members_per_team=1))
    db.session.add(task)
    db.session.flush()
    item = _oil_item()
    if item is not None:
        from ..catalog.services import current_template

        for dept in (commerce, samr):
            template = current_template(item, dept)
            db.session.add(TaskCheckItem(task_id=task.id, department_id=dept.id, check_item_id=item.id,
                                         template_id=template.id if template else None))
        db.session.flush()
    record("task.create", "task", task.id, after=snapshot(task), note="demo data")

    witnesses = services.clean_witnesses(DEMO_WITNESSES, DEMO_REPRESENTATIVES)
    # the demo loader confirms the registries it has just written [000#11]
    objects = services.commit_object_draw(task, registry=registry_state(task))
    services.perform_draw(objects.id, witnesses=witnesses, witness_entropy="骰子：3 6 1 4 2")
    inspectors = services.commit_inspector_draw(task)
    services.perform_draw(inspectors.id, witnesses=witnesses, witness_entropy="骰子：5 2 2 6")
    return task
