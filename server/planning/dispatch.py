"""Dispatch by a higher level [000#13, 000#15]: a joint check stays joint, no object is dropped.

A higher-level department draws once and dispatches the locked list to lower-level departments
("由上级发起部门一次性抽取，并将检查对象名单派发至下级发起部门或者有关部门实施" [000#13]).
The user chooses the lower-level departments that will LEAD a child task each (usually the
counterparts of the parent's initiator, one per county). Then:

* **Who joins a child.** The departments of the parent task are mapped to the child's level
  through the department tree (``Department.parent``): a lower-level department *corresponds* to
  the parent-task department it descends from. A child led by ``T`` is joined by every active
  department ``D`` at ``T``'s level that corresponds to a parent-task department, lies in ``T``'s
  area (same ``Department.region``; without a region no partner can be told apart) and supervises
  at least one of the child's objects. ``D`` takes over the check items of its parent-task
  counterpart, with its own current published checklist, or the counterpart's checklist version
  when it has none of its own.
* **Which objects go where.** An object goes to the chosen lead that (or one of whose units)
  supervises it, in code order; otherwise to the first child one of whose partners supervises
  it. Objects already given to an earlier child or already decided are not dispatched again.
* **Unmatched objects.** An object matched by no child is *unmatched*: dispatch is refused
  (``unmatched_objects``, nothing changed, the objects listed) until a decision is given for
  each: ``keep`` (checked by the parent task itself), ``assign`` (to a chosen child) or
  ``exclude`` (with a reason). Decisions are stored (:class:`DispatchDecision`) and audited.

Services only flush; the request commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit.services import record
from ..core.errors import Conflict, ValidationFailed
from ..core.models import utcnow
from ..extensions import db
from ..org.models import Department, Kind
from ..registry.models import InspectedObject, object_departments
from .models import (
    Acceptance,
    DispatchDecision,
    Task,
    TaskCandidate,
    TaskCheckItem,
    TaskDepartment,
    TaskStatus,
)

DECISIONS = ("keep", "assign", "exclude")
DECISION_LABELS = {"keep": _l("留在本级检查"), "assign": _l("指派给下派任务"), "exclude": _l("排除（须说明理由）")}
#: how many unmatched objects the refusal message names (the screen lists them all)
MESSAGE_LIMIT = 20


@dataclass
class ChildPlan:
    lead: Department
    #: the departments of the child, the lead first (each supervises some of its objects)
    departments: list[Department] = field(default_factory=list)
    object_ids: list[int] = field(default_factory=list)


@dataclass
class Unmatched:
    object_id: int
    code: str
    name: str
    #: names of the departments that supervise it (maybe none)
    supervisors: list[str] = field(default_factory=list)


@dataclass
class DispatchPlan:
    children: list[ChildPlan] = field(default_factory=list)
    skipped: list[Department] = field(default_factory=list)  # chosen leads with no object
    unmatched: list[Unmatched] = field(default_factory=list)
    #: counterpart in the parent task of each child department (department id → parent dept id)
    counterpart: dict[int, int] = field(default_factory=dict)


@dataclass
class DispatchReport:
    children: list[Task] = field(default_factory=list)
    skipped: list[Department] = field(default_factory=list)  # chosen departments with no object
    kept: list[int] = field(default_factory=list)  # object ids kept at the parent's level
    excluded: list[int] = field(default_factory=list)  # object ids excluded (with a reason)
    assigned: list[int] = field(default_factory=list)  # unmatched object ids assigned to a child
    #: always 0: no object is left undecided (kept for callers of the former report)
    undispatched: int = 0


def _services():
    from . import services

    return services


def _subtree(dept_id: int) -> set[int]:
    return _services()._descendant_ids(dept_id)


def handled_object_ids(parent: Task) -> set[int]:
    """Objects of ``parent`` already dispatched to a child or already decided."""
    children = select(Task.id).where(Task.parent_task_id == parent.id)
    given = set(db.session.execute(
        select(TaskCandidate.object_id).where(TaskCandidate.task_id.in_(children))).scalars())
    decided = set(db.session.execute(
        select(DispatchDecision.object_id).where(DispatchDecision.parent_task_id == parent.id)).scalars())
    return given | decided


def kept_object_ids(parent: Task) -> list[int]:
    """Objects of ``parent`` decided to be checked by the parent task itself (``keep``)."""
    return list(db.session.execute(
        select(DispatchDecision.object_id).where(DispatchDecision.parent_task_id == parent.id,
                                                 DispatchDecision.decision == "keep")
        .order_by(DispatchDecision.object_id)).scalars())


def decisions_of(parent: Task) -> list[DispatchDecision]:
    return list(db.session.execute(
        select(DispatchDecision).where(DispatchDecision.parent_task_id == parent.id)
        .order_by(DispatchDecision.id)).scalars())


def _counterparts(parent: Task) -> list[Department]:
    return [d.department for d in parent.departments]


def _counterpart_of(dept: Department, parent_depts: list[Department]) -> Department | None:
    """The parent-task department ``dept`` is, or descends from (nearest first)."""
    ids = {p.id: p for p in parent_depts}
    if dept.id in ids:
        return ids[dept.id]
    for ancestor in dept.ancestors():
        if ancestor.id in ids:
            return ids[ancestor.id]
    return None


def _partners(lead: Department, leads: list[Department], parent_depts: list[Department]) -> list[Department]:
    """Departments at ``lead``'s level, in its area, corresponding to a parent-task department."""
    if not (lead.region or "").strip():
        return []
    lead_ids = {d.id for d in leads}
    out = []
    for dept in db.session.execute(
            select(Department).where(Department.active.is_(True), Department.kind == Kind.DEPARTMENT,
                                     Department.level == lead.level, Department.region == lead.region)
            .order_by(Department.code)).scalars():
        if dept.id in lead_ids:
            continue
        if _counterpart_of(dept, parent_depts) is not None:
            out.append(dept)
    return out


def plan_dispatch(parent: Task, leads: list[Department]) -> DispatchPlan:
    """Compute, without changing anything, the children for ``leads`` (sorted by code) and the
    objects no child matches."""
    services = _services()
    leads = sorted(leads, key=lambda d: d.code)
    parent_depts = _counterparts(parent)
    handled = handled_object_ids(parent)
    pending = [oid for oid in services.selected_object_ids(parent) if oid not in handled]
    supervisors: dict[int, set[int]] = {}
    for i in range(0, len(pending), 900):
        for oid, did in db.session.execute(
                select(object_departments.c.object_id, object_departments.c.department_id)
                .where(object_departments.c.object_id.in_(pending[i:i + 900]))):
            supervisors.setdefault(oid, set()).add(did)

    plan = DispatchPlan()
    partners = {lead.id: _partners(lead, leads, parent_depts) for lead in leads}
    area = {d.id: _subtree(d.id) for lead in leads for d in [lead, *partners[lead.id]]}
    owner: dict[int, int] = {}
    for oid in pending:
        sup = supervisors.get(oid, set())
        lead = next((ld for ld in leads if sup & area[ld.id]), None)
        if lead is None:  # no lead supervises it: a partner of some child may
            lead = next((ld for ld in leads if any(sup & area[p.id] for p in partners[ld.id])), None)
        if lead is not None:
            owner[oid] = lead.id
    unmatched_ids = [oid for oid in pending if oid not in owner]
    for lead in leads:
        object_ids = [oid for oid in pending if owner.get(oid) == lead.id]
        if not object_ids:
            plan.skipped.append(lead)
            continue
        child = ChildPlan(lead=lead, departments=[lead], object_ids=object_ids)
        for partner in partners[lead.id]:
            if any(supervisors.get(oid, set()) & area[partner.id] for oid in object_ids):
                child.departments.append(partner)
        plan.children.append(child)
    for dept in [d for lead in leads for d in [lead, *partners[lead.id]]]:
        cp = _counterpart_of(dept, parent_depts)
        if cp is not None:
            plan.counterpart[dept.id] = cp.id
    if unmatched_ids:
        names = {d.id: d.name for d in db.session.execute(select(Department)).scalars()}
        rows = {oid: (code, name) for oid, code, name in db.session.execute(
            select(InspectedObject.id, InspectedObject.code, InspectedObject.name)
            .where(InspectedObject.id.in_(unmatched_ids)))}
        for oid in unmatched_ids:
            code, name = rows[oid]
            plan.unmatched.append(Unmatched(object_id=oid, code=code, name=name, supervisors=sorted(
                names[d] for d in supervisors.get(oid, set()) if d in names)))
    return plan


def decisions_from_form(form: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """Read ``decision_<object id>``, ``assign_<object id>`` and ``reason_<object id>`` fields."""
    out: dict[int, dict[str, Any]] = {}
    for key in form:
        if not key.startswith("decision_"):
            continue
        try:
            oid = int(key.removeprefix("decision_"))
        except ValueError:
            continue
        decision = str(form.get(key) or "").strip()
        if not decision:
            continue
        out[oid] = {"decision": decision, "department_id": str(form.get(f"assign_{oid}") or "").strip(),
                    "reason": str(form.get(f"reason_{oid}") or "").strip()}
    return out


def _clean_decisions(plan: DispatchPlan, leads: list[Department],
                     decisions: Mapping[int, Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """Return the decision for each unmatched object; refuse (nothing changed) when any is missing
    or invalid."""
    missing = [u for u in plan.unmatched if not str((decisions.get(u.object_id) or {}).get("decision") or "")]
    if missing:
        shown = "、".join(f"{u.code} {u.name}" for u in missing[:MESSAGE_LIMIT])
        more = _("等") if len(missing) > MESSAGE_LIMIT else ""
        raise Conflict(
            "unmatched_objects",
            _("有 %(n)s 个抽中对象不由所选任何下级部门（或与其联合检查的部门）监管：%(o)s%(more)s。对象名单已锁定，"
              "不能静默丢弃：请为每个对象选择“留在本级检查”“指派给某个下派任务”或“排除（须说明理由）”，再下派。",
              n=len(missing), o=shown, more=more),
            unmatched=[{"object_id": u.object_id, "code": u.code, "name": u.name, "supervisors": u.supervisors}
                       for u in missing])
    by_id = {d.id: d for d in leads}
    errors: dict[str, str] = {}
    out: dict[int, dict[str, Any]] = {}
    for u in plan.unmatched:
        raw = decisions[u.object_id]
        decision = str(raw.get("decision") or "")
        reason = str(raw.get("reason") or "").strip()
        if decision not in DECISIONS:
            errors[f"decision_{u.object_id}"] = _("请为 %(c)s 选择“留在本级检查”“指派给下派任务”或“排除”。", c=u.code)
            continue
        entry: dict[str, Any] = {"decision": decision, "reason": reason[:2000] or None, "department_id": None}
        if decision == "assign":
            try:
                dept_id = int(raw.get("department_id") or 0)
            except (TypeError, ValueError):
                dept_id = 0
            if dept_id not in by_id:
                errors[f"assign_{u.object_id}"] = _("请为 %(c)s 选择本次下派的一个下级部门。", c=u.code)
                continue
            entry["department_id"] = dept_id
        if decision == "exclude" and not reason:
            errors[f"reason_{u.object_id}"] = _("排除 %(c)s 须填写理由（将记入审计日志）。", c=u.code)
            continue
        out[u.object_id] = entry
    if errors:
        raise ValidationFailed(errors)
    return out


def _check_inputs(parent: Task, departments: Iterable[Department | int], teams_count: int | None,
                  members_per_team: int | None) -> tuple[list[Department], int, int]:
    services = _services()
    if not services.selected_object_ids(parent):
        raise Conflict("objects_not_drawn", _("该任务还没有完成检查对象的抽取，不能下派。请先完成对象抽取。"))
    if parent.parent_task_id is not None:
        raise Conflict("already_dispatched_task", _("下派任务不能再次下派。"))
    depts: list[Department] = []
    for value in departments:
        dept = value if isinstance(value, Department) else services._department(value)
        if dept is None:
            raise ValidationFailed({"department_ids": _("请选择有效的下级部门。")})
        if dept not in depts:
            depts.append(dept)
    if not depts:
        raise ValidationFailed({"department_ids": _("请至少选择一个下级部门。")})
    top = parent.initiating_department
    for dept in depts:
        if not top.is_higher_than(dept):
            raise ValidationFailed({"department_ids": _("%(d)s不是%(t)s的下级部门，不能下派。", d=dept.name, t=top.name)})
    existing = {c.initiating_department_id for c in services.child_tasks(parent)}
    clash = [d.name for d in depts if d.id in existing]
    if clash:
        raise Conflict("already_dispatched", _("已向%(d)s下派过该任务。", d="、".join(clash)))
    teams = teams_count if teams_count is not None else parent.teams_count
    members = members_per_team if members_per_team is not None else 1
    if teams < 1:
        raise ValidationFailed({"teams_count": _("检查小组数至少为 1。")})
    if members < 1:
        raise ValidationFailed({"members_per_team": _("每组人数至少为 1。")})
    return sorted(depts, key=lambda d: d.code), teams, members


def preview_dispatch(parent: Task, departments: Iterable[Department | int]) -> DispatchPlan:
    """The plan the dispatch screen shows before anything changes (same checks as dispatch)."""
    depts, _teams, _members = _check_inputs(parent, departments, None, None)
    return plan_dispatch(parent, depts)


def _items_for(parent: Task, dept: Department, counterpart_id: int | None) -> list[tuple[int, int | None]]:
    """(check item, checklist version) for ``dept``: its counterpart's items in the parent task,
    each with ``dept``'s own current published checklist, else the counterpart's version."""
    from ..catalog.models import CheckItem
    from ..catalog.services import current_template

    out: list[tuple[int, int | None]] = []
    seen: set[int] = set()
    for row in sorted(parent.check_items, key=lambda c: (c.check_item_id, c.id)):
        if row.department_id != counterpart_id or row.check_item_id in seen:
            continue
        seen.add(row.check_item_id)
        item = db.session.get(CheckItem, row.check_item_id)
        own = current_template(item, dept.id) if item is not None else None
        out.append((row.check_item_id, own.id if own is not None else row.template_id))
    return out


def dispatch_task(parent: Task, departments: Iterable[Department | int], *, user=None,
                  teams_count: int | None = None, members_per_team: int | None = None,
                  decisions: Mapping[int, Mapping[str, Any]] | None = None) -> DispatchReport:
    """Create one child task per chosen lower-level department from the parent's drawn objects,
    each joined by the departments of its area that supervise its objects, with their items and
    checklists (see the module). Refused, nothing changed: Conflict ``objects_not_drawn``,
    ``already_dispatched_task``, ``already_dispatched``, ``unmatched_objects`` (objects without a
    decision, listed in ``details["unmatched"]``), ``nothing_to_dispatch``; ValidationFailed for
    bad choices or decisions (``decision_<id>``, ``assign_<id>``, ``reason_<id>``)."""
    services = _services()
    depts, teams, members = _check_inputs(parent, departments, teams_count, members_per_team)
    plan = plan_dispatch(parent, depts)
    if not plan.children and not plan.unmatched:
        raise Conflict("nothing_to_dispatch", _("该任务的抽中对象都已下派或已作出处理，没有可下派的对象。"))
    chosen = _clean_decisions(plan, depts, decisions or {})

    # assigned objects join the chosen lead's child (created when it had none of its own)
    children = {c.lead.id: c for c in plan.children}
    for u in plan.unmatched:
        entry = chosen[u.object_id]
        if entry["decision"] == "assign":
            lead_id = entry["department_id"]
            if lead_id not in children:
                lead = next(d for d in depts if d.id == lead_id)
                children[lead_id] = ChildPlan(lead=lead, departments=[lead])
            children[lead_id].object_ids.append(u.object_id)
    ordered = [children[d.id] for d in depts if d.id in children]
    report = DispatchReport(skipped=[d for d in depts if d.id not in children])
    now, user_id = utcnow(), getattr(user, "id", None)
    lead_parts = {d.department_id: d for d in parent.departments}
    child_of_lead: dict[int, Task] = {}
    for cp in ordered:
        lead = cp.lead
        child = Task(
            code=services.next_task_code(lead, parent.period_start.year),
            name=f"{parent.name}（{lead.short_name or lead.name}）"[:200],
            plan_id=parent.plan_id, adhoc_reason=parent.adhoc_reason, initiating_department_id=lead.id,
            status=TaskStatus.ACCEPTED, period_start=parent.period_start, period_end=parent.period_end,
            teams_count=teams, unannounced=parent.unannounced, scope={}, candidate_source="dispatched",
            strata=[{"name": "ALL", "ratio": "1"}], parent_task_id=parent.id, created_by_id=user_id,
        )
        for dept in cp.departments:
            counterpart_id = plan.counterpart.get(dept.id)
            source = lead_parts.get(counterpart_id) if counterpart_id else None
            child.departments.append(TaskDepartment(
                department_id=dept.id, is_initiator=dept.id == lead.id, acceptance=Acceptance.ACCEPTED,
                decided_by_id=user_id, decided_at=now, members_per_team=members,
                comment=_("上级下派任务，随下派确认。"),
                required_expertise=list(source.required_expertise or []) if source else [], unit_ids=[]))
            for item_id, template_id in _items_for(parent, dept, counterpart_id):
                child.check_items.append(TaskCheckItem(department_id=dept.id, check_item_id=item_id,
                                                       template_id=template_id))
        db.session.add(child)
        db.session.flush()
        db.session.add_all([TaskCandidate(task_id=child.id, object_id=oid) for oid in cp.object_ids])
        db.session.flush()
        state = services.task_state(child)
        state["objects"] = len(cp.object_ids)
        record("task.dispatch", "task", child.id, after=state, note=f"from task #{parent.id} {parent.code}")
        report.children.append(child)
        child_of_lead[lead.id] = child

    logged = []
    for u in plan.unmatched:
        entry = chosen[u.object_id]
        child = child_of_lead.get(entry["department_id"]) if entry["decision"] == "assign" else None
        db.session.add(DispatchDecision(
            parent_task_id=parent.id, object_id=u.object_id, decision=entry["decision"],
            child_task_id=child.id if child is not None else None, reason=entry["reason"],
            decided_by_id=user_id, decided_at=now))
        {"keep": report.kept, "exclude": report.excluded, "assign": report.assigned}[entry["decision"]].append(
            u.object_id)
        logged.append({"object_id": u.object_id, "decision": entry["decision"],
                       "child": child.code if child is not None else None, "reason": entry["reason"]})
    db.session.flush()
    record("task.dispatch", "task", parent.id,
           after={"children": [c.code for c in report.children],
                  "departments": {c.code: [d.department_id for d in c.departments] for c in report.children},
                  "skipped": [d.code for d in report.skipped], "decisions": logged})
    return report
