"""Operations on annual plans and tasks: create/edit, submit, acceptance, dispatch, the 10% indicator.

Plain functions; they validate, change, audit and ``flush()`` — the request or CLI command
commits. Every refusal is a :class:`~server.core.errors.DomainError` with a stable code; form
input errors are :class:`ValidationFailed` (422) with one message per field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..audit.services import diff, record, snapshot
from ..auth.roles import Role
from ..core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from ..core.forms import optional_date as _date_or_none
from ..core.forms import optional_int as _int_or_none
from ..core.forms import text as _text
from ..core.models import utcnow
from ..extensions import db
from ..org.models import Department, Kind, Level
from ..registry import codes as credit_codes
from ..registry.models import InspectedObject, ObjectType, RegistrationStatus
from .models import (
    Acceptance,
    AnnualPlan,
    PlanStatus,
    Task,
    TaskCandidate,
    TaskCheckItem,
    TaskDepartment,
    TaskStatus,
)

PLAN_STATUS_LABELS = {PlanStatus.DRAFT: _l("草稿"), PlanStatus.PUBLISHED: _l("已发布")}
TASK_STATUS_LABELS = {
    TaskStatus.DRAFT: _l("草稿"),
    TaskStatus.PENDING: _l("待各部门确认"),
    TaskStatus.ACCEPTED: _l("已确认，待抽取"),
    TaskStatus.OBJECTS_DRAWN: _l("已抽取检查对象"),
    TaskStatus.INSPECTORS_DRAWN: _l("已抽取检查人员"),
    TaskStatus.VISITS_OVER: _l("检查已结束"),
    TaskStatus.CANCELLED: _l("已取消"),
}
ACCEPTANCE_LABELS = {Acceptance.PENDING: _l("待确认"), Acceptance.ACCEPTED: _l("已接受"),
                     Acceptance.RETURNED: _l("已退回")}
LEVEL_LABELS = {Level.PROVINCE: _l("省级"), Level.CITY: _l("市级"), Level.COUNTY: _l("县区级")}
SCOPE_FLAG_LABELS = {"abnormal_list": _l("列入经营异常名录"), "serious_violation": _l("列入严重违法失信名单"),
                     "high_complaints": _l("投诉举报较多")}
SOURCE_LABELS = {"registry": _l("按范围从名录库抽取"), "imported": _l("导入的候选名单"),
                 "dispatched": _l("上级下派的对象")}

#: the risk classes A–D [000#13] and the stratum of objects without a class (未评级, [000#4]);
#: their minimum ratios, and the unstratified (ALL) minimum, are rules (``server.rules``)
RISK_STRATA = ("A", "B", "C", "D")
UNRATED_STRATUM = "U"
#: the strata of a task drawn by risk class, in order
CLASS_STRATA = (*RISK_STRATA, UNRATED_STRATUM)
#: joint tasks must be at least this share of a department's tasks [001#7] (``JOINT_TASK_MIN_SHARE``)
DEFAULT_JOINT_MIN_SHARE = "0.10"

#: roles that may create and edit tasks of their own department
TASK_EDITOR_ROLES = (Role.TASK_INITIATOR, Role.DEPT_ADMIN)
#: roles that may accept or return a task for their department
ACCEPTOR_ROLES = (Role.DEPT_ADMIN, Role.DEPT_HEAD, Role.TASK_INITIATOR)
#: roles that manage annual plans
PLAN_MANAGERS = (Role.SYSTEM_ADMIN, Role.JOINT_OFFICE)

RATIO_RE = re.compile(r"^(?:0|[1-9]\d{0,2})(?:\.\d{1,6})?%?$")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
CODE_HEADERS = {"统一社会信用代码", "社会信用代码", "信用代码", "代码", "code", "credit_code", "uscc"}
SCOPE_FLAGS = tuple(SCOPE_FLAG_LABELS)


# -- small parsers ---------------------------------------------------------------------------------


def _list(value: Any) -> list[str]:
    """Return a list of non-empty strings from a list or a text separated by commas, 、 ; or newlines."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        items = [_text(v) for v in value]
    else:
        items = [_text(v) for v in re.split(r"[,，、;；\n]+", str(value))]
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def _department(value: Any) -> Department | None:
    dept_id = _int_or_none(value)
    dept = db.session.get(Department, dept_id) if dept_id is not None else None
    if dept is None or not dept.active or dept.kind is not Kind.DEPARTMENT:
        return None
    return dept


def parse_ratio(value: Any) -> Decimal:
    """Return a ratio from a decimal string ("0.03") or a percentage ("3%").

    Floats and anything float-looking ("1e-2", "0.1.2", "nan") raise DomainError ``bad_ratio``;
    the ratio must be > 0 and ≤ 1."""
    if isinstance(value, float):
        raise DomainError("bad_ratio", _("抽查比例须以小数文本填写（如 0.03）或百分数（如 3%），不能是浮点数。"))
    text = _text(value).replace("％", "%")
    if not text:
        raise DomainError("bad_ratio", _("请填写抽查比例（如 0.03 或 3%）。"))
    if not RATIO_RE.match(text):
        raise DomainError("bad_ratio", _("抽查比例“%(v)s”不是有效的数字。请填写 0 到 1 之间的小数（如 0.03）或百分数（如 3%%）。",
                                         v=text))
    try:
        ratio = Decimal(text.rstrip("%"))
    except InvalidOperation:  # pragma: no cover - the pattern already refused it
        raise DomainError("bad_ratio", _("抽查比例“%(v)s”不是有效的数字。", v=text)) from None
    if text.endswith("%"):
        ratio = ratio / 100
    if not Decimal(0) < ratio <= Decimal(1):
        raise DomainError("bad_ratio", _("抽查比例须大于 0 且不超过 1（100%%）。"))
    return ratio


def ratio_text(ratio: Decimal) -> str:
    """Return the canonical decimal string of a ratio: no exponent, no trailing zeros ("0.1", "1")."""
    text = format(ratio.normalize(), "f")
    return text


def min_ratios() -> dict[str, Decimal]:
    """Return the minimum ratio per stratum (A–D and U) from the deployment's rules."""
    from ..rules.services import get_rules

    return {k: Decimal(str(v)) for k, v in get_rules().min_ratios.items()}


def all_min_ratio() -> Decimal:
    """Return the lower bound of the single-stratum (ALL) ratio from the deployment's rules."""
    from ..rules.services import get_rules

    return Decimal(str(get_rules().unstratified_min_ratio))


def percent(ratio: Decimal | str) -> str:
    """Return a ratio as a percentage text for display ("0.035" → "3.5%")."""
    value = Decimal(str(ratio)) * 100
    return f"{ratio_text(value)}%"


def clean_strata(mode: str, ratios: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the strata for ``mode`` "risk" (A–D and U for objects without a class, each ≥ its
    minimum in the rules) or "all" (one stratum ALL, from the rules' minimum to 100%). A missing U
    ratio (a client that predates it) is the U minimum. Raises ValidationFailed with one message
    per bad ratio."""
    errors: dict[str, str] = {}
    strata: list[dict[str, str]] = []
    if mode == "all":
        try:
            ratio = parse_ratio(ratios.get("ALL"))
        except DomainError as err:
            raise ValidationFailed({"ratio_ALL": err.message}) from None
        if ratio < all_min_ratio():
            raise ValidationFailed({"ratio_ALL": _("不分层抽取时，抽查比例须在 %(min)s 到 100%% 之间 [004§6]。",
                                                   min=percent(all_min_ratio()))})
        return [{"name": "ALL", "ratio": ratio_text(ratio)}]
    if mode != "risk":
        raise ValidationFailed({"strata_mode": _("请选择“按信用风险分类抽取”或“不分层抽取”。")})
    minimums = min_ratios()
    for name in CLASS_STRATA:
        key = f"ratio_{name}"
        value = ratios.get(name)
        if value is None and name == UNRATED_STRATUM:
            value = ratio_text(minimums[name])
        label = _("未评级对象") if name == UNRATED_STRATUM else _("%(c)s类", c=name)
        try:
            ratio = parse_ratio(value)
        except DomainError as err:
            errors[key] = f"{label}：{err.message}"
            continue
        minimum = minimums.get(name)
        if minimum is not None and ratio < minimum:
            errors[key] = _("%(c)s的抽查比例不得低于 %(min)s [000#13]。", c=label, min=percent(minimum))
            continue
        strata.append({"name": name, "ratio": ratio_text(ratio)})
    if errors:
        raise ValidationFailed(errors)
    return strata


def check_unstratified(strata: list[dict[str, Any]], *, scope: Mapping[str, Any] | None, candidate_source: str,
                       task: Task | None = None) -> None:
    """Refuse the single-stratum mode (ALL) where the candidates have credit-risk classes, unless the
    rules allow it: one stratum would bypass the per-class minimums (D ≥ 20 % [000#13]).

    Not refused: a ratio of 1 (every candidate is drawn, so every minimum is met — e.g. a dispatched
    list), candidates without any class, an imported list not uploaded yet (checked again on
    submit). Raises DomainError ``unstratified_with_classes`` (422, field ``strata_mode``)."""
    from ..draws.candidates import source_has_risk_classes
    from ..rules.services import get_rules

    if [s.get("name") for s in strata] != ["ALL"] or candidate_source == "dispatched":
        return
    if Decimal(str(strata[0].get("ratio") or "0")) >= 1 or get_rules().unstratified_with_classes:
        return
    if candidate_source == "imported" and (task is None or task.id is None):
        return
    if source_has_risk_classes(scope=scope or {}, candidate_source=candidate_source,
                               task_id=task.id if task is not None else None):
        raise DomainError("unstratified_with_classes", _(
            "候选检查对象已有信用风险分类：不分层抽取会绕过各类的最低抽查比例（如 D 类不低于 %(d)s），"
            "本地规则不允许。请选择“按信用风险分类抽取”，或由系统管理员、联席办在“抽查规则”中调整。",
            d=percent(min_ratios()["D"])), status=422, field="strata_mode")


# -- access ----------------------------------------------------------------------------------------


def user_bureau_id(user) -> int | None:
    """Return the id of the department (bureau) the user belongs to (a unit's user counts for its bureau)."""
    if user is None or not getattr(user, "department_id", None):
        return None
    dept = db.session.get(Department, user.department_id)
    return dept.bureau.id if dept is not None else None


def can_manage_plans(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(*PLAN_MANAGERS))


def can_create_tasks(user) -> bool:
    return bool(user and user.is_authenticated and (
        user.has_role(Role.SYSTEM_ADMIN) or (user.has_role(*TASK_EDITOR_ROLES) and user_bureau_id(user))))


def can_edit_task(user, task: Task) -> bool:
    """True when ``user`` may change ``task`` (its initiating department's task initiator or
    department admin, or a system administrator) and the task is still a draft."""
    return task.status is TaskStatus.DRAFT and can_manage_task(user, task)


def can_manage_task(user, task: Task) -> bool:
    """True when ``user`` acts for the task's initiating department (or is a system administrator)."""
    if not (user and user.is_authenticated):
        return False
    if user.has_role(Role.SYSTEM_ADMIN):
        return True
    return user.has_role(*TASK_EDITOR_ROLES) and user_bureau_id(user) == task.initiating_department_id


def can_decide_for(user, department_id: int) -> bool:
    """True when ``user`` may accept or return a task for ``department_id``."""
    return bool(user and user.is_authenticated and user.has_role(*ACCEPTOR_ROLES)
                and user_bureau_id(user) == department_id)


def initiating_department_choices(user) -> list[Department]:
    """Return the departments ``user`` may initiate tasks for."""
    if user.has_role(Role.SYSTEM_ADMIN):
        return active_departments()
    bureau = user_bureau_id(user)
    return [d for d in active_departments() if d.id == bureau]


def active_departments() -> list[Department]:
    return list(db.session.execute(
        select(Department).where(Department.active.is_(True), Department.kind == Kind.DEPARTMENT)
        .order_by(Department.level, Department.code)
    ).scalars())


def units_of(department_id: int) -> list[Department]:
    """Return the active units (headquarters sections, stations) of a department."""
    return list(db.session.execute(
        select(Department).where(Department.parent_id == department_id, Department.kind == Kind.UNIT,
                                 Department.active.is_(True)).order_by(Department.code)
    ).scalars())


# -- annual plans ----------------------------------------------------------------------------------


def get_plan(plan_id: int) -> AnnualPlan:
    """Return the plan or raise NotFound (404)."""
    plan = db.session.get(AnnualPlan, plan_id)
    if plan is None:
        raise NotFound("plan_not_found", _("找不到该年度计划。"))
    return plan


def search_plans(*, year: int | None = None, department_id: int | None = None, status: PlanStatus | None = None,
                 q: str = ""):
    """Return a SELECT of plans, newest year first."""
    stmt = select(AnnualPlan)
    if year:
        stmt = stmt.where(AnnualPlan.year == year)
    if department_id:
        stmt = stmt.where(AnnualPlan.department_id == department_id)
    if status is not None:
        stmt = stmt.where(AnnualPlan.status == status)
    if q:
        stmt = stmt.where(AnnualPlan.title.ilike(f"%{q.strip()}%"))
    return stmt.order_by(AnnualPlan.year.desc(), AnnualPlan.id.desc())


def _clean_plan(data: Mapping[str, Any], exclude_id: int | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    year = _int_or_none(data.get("year"))
    if year is None or not 2000 <= year <= 2100:
        errors["year"] = _("请填写计划年度（如 2026）。")
    try:
        level = Level(_text(data.get("level")))
    except ValueError:
        level = None
        errors["level"] = _("请选择计划层级（省级、市级或县区级）。")
    dept = _department(data.get("department_id"))
    if dept is None:
        errors["department_id"] = _("请选择有效的印发部门。")
    elif level is not None and dept.level is not level:
        errors["department_id"] = _("印发部门的层级须与计划层级一致。")
    title = _text(data.get("title"))
    if not title:
        errors["title"] = _("请填写计划名称。")
    elif len(title) > 200:
        errors["title"] = _("计划名称不能超过 200 个字。")
    note = _text(data.get("note")) or None
    if not errors:
        clash = db.session.execute(select(AnnualPlan.id).where(
            AnnualPlan.department_id == dept.id, AnnualPlan.year == year, AnnualPlan.title == title,
            AnnualPlan.id != (exclude_id or 0))).first()
        if clash:
            errors["title"] = _("该部门在 %(y)s 年已有同名计划。请换一个名称。", y=year)
    if errors:
        raise ValidationFailed(errors)
    return {"year": year, "level": level, "department_id": dept.id, "title": title, "note": note}


def _ensure_plan_draft(plan: AnnualPlan) -> None:
    if plan.status is not PlanStatus.DRAFT:
        raise Conflict("plan_published", _("已发布的年度计划不能修改。计划外的任务请作为临时性联合抽查任务备案。"))


def create_plan(data: Mapping[str, Any]) -> AnnualPlan:
    """Create a draft plan from ``year``, ``level``, ``department_id``, ``title``, ``note``."""
    values = _clean_plan(data)
    plan = AnnualPlan(status=PlanStatus.DRAFT, **values)
    db.session.add(plan)
    db.session.flush()
    record("annual_plan.create", "annual_plan", plan.id, after=snapshot(plan))
    return plan


def update_plan(plan: AnnualPlan, data: Mapping[str, Any]) -> AnnualPlan:
    """Edit a draft plan. Raises Conflict ``plan_published`` for a published one."""
    _ensure_plan_draft(plan)
    values = _clean_plan(data, exclude_id=plan.id)
    if plan_tasks(plan) and values["year"] != plan.year:
        raise ValidationFailed({"year": _("计划中已有任务，不能修改计划年度。")})
    before = snapshot(plan)
    for k, v in values.items():
        setattr(plan, k, v)
    db.session.flush()
    b, a = diff(before, snapshot(plan))
    if a:
        record("annual_plan.update", "annual_plan", plan.id, before=b, after=a)
    return plan


def publish_plan(plan: AnnualPlan) -> AnnualPlan:
    """Publish a draft plan: it becomes public and frozen. Refused (``plan_empty``) without tasks."""
    _ensure_plan_draft(plan)
    tasks = plan_tasks(plan)
    if not tasks:
        raise DomainError("plan_empty", _("计划中还没有任何任务，不能发布。请先在计划中新建或加入任务。"))
    before = snapshot(plan)
    plan.status = PlanStatus.PUBLISHED
    plan.published_at = utcnow()
    db.session.flush()
    b, a = diff(before, snapshot(plan))
    record("annual_plan.publish", "annual_plan", plan.id, before=b, after=a,
           note=f"{len(tasks)} tasks: " + ", ".join(t.code for t in tasks))
    return plan


def _check_plan_for_task(plan: AnnualPlan, task_year: int | None) -> None:
    if plan.status is not PlanStatus.DRAFT:
        raise ValidationFailed({"plan_id": _("“%(p)s”已发布，不能再加入任务。计划外的任务请填写备案理由，作为临时性联合抽查。",
                                             p=plan.title)})
    if task_year is not None and task_year != plan.year:
        raise ValidationFailed({"plan_id": _("任务执行时间须在计划年度（%(y)s 年）内。", y=plan.year)})


def add_task_to_plan(plan: AnnualPlan, task: Task) -> Task:
    """Put an existing task into a draft plan (same year; the task must not belong to another plan)."""
    _ensure_plan_draft(plan)
    if task.plan_id is not None:
        raise Conflict("task_in_plan", _("任务“%(t)s”已属于一个年度计划。", t=task.name))
    if task.parent_task_id is not None or task.status is TaskStatus.CANCELLED:
        raise Conflict("task_not_plannable", _("下派任务和已取消的任务不能加入年度计划。"))
    _check_plan_for_task(plan, task.year)
    before = snapshot(task)
    task.plan_id = plan.id
    db.session.flush()
    b, a = diff(before, snapshot(task))
    record("task.add_to_plan", "task", task.id, before=b, after=a, note=f"plan #{plan.id} {plan.title}")
    return task


def tasks_addable_to(plan: AnnualPlan) -> list[Task]:
    """Return tasks that could join ``plan``: no plan, not dispatched, not cancelled, same year."""
    stmt = select(Task).where(Task.plan_id.is_(None), Task.parent_task_id.is_(None),
                              Task.status != TaskStatus.CANCELLED,
                              Task.period_start >= date(plan.year, 1, 1),
                              Task.period_start <= date(plan.year, 12, 31)).order_by(Task.code)
    return list(db.session.execute(stmt).scalars())


def published_plans() -> list[AnnualPlan]:
    return list(db.session.execute(
        search_plans(status=PlanStatus.PUBLISHED)).scalars())


def get_published_plan(plan_id: int) -> AnnualPlan:
    """Return a published plan or raise NotFound (drafts are not public)."""
    plan = db.session.get(AnnualPlan, plan_id)
    if plan is None or plan.status is not PlanStatus.PUBLISHED:
        raise NotFound("plan_not_found", _("找不到该年度计划，或计划尚未发布。"))
    return plan


def plan_tasks(plan: AnnualPlan) -> list[Task]:
    """Return the plan's tasks that are not cancelled, by code."""
    return list(db.session.execute(
        select(Task).where(Task.plan_id == plan.id, Task.status != TaskStatus.CANCELLED).order_by(Task.code)
    ).scalars())


def public_adhoc_tasks(year: int | None = None) -> list[Task]:
    """Return the submitted ad-hoc tasks (outside any plan, filed with the joint office [000#8]),
    which are public like the plans; newest first."""
    stmt = select(Task).where(Task.plan_id.is_(None), Task.parent_task_id.is_(None),
                              Task.status.notin_([TaskStatus.DRAFT, TaskStatus.CANCELLED]))
    if year:
        stmt = stmt.where(Task.period_start >= date(year, 1, 1), Task.period_start <= date(year, 12, 31))
    return list(db.session.execute(stmt.order_by(Task.period_start.desc(), Task.id.desc())).scalars())


# -- tasks: reading --------------------------------------------------------------------------------


def get_task(task_id: int) -> Task:
    """Return the task or raise NotFound (404)."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound("task_not_found", _("找不到该抽查任务。"))
    return task


def search_tasks(*, q: str = "", status: TaskStatus | None = None, department_id: int | None = None,
                 year: int | None = None, plan_id: int | None = None):
    """Return a SELECT of tasks filtered by text (name or code), status, a taking-part department,
    year (of the execution period's start) and plan; newest first."""
    stmt = select(Task)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Task.name.ilike(like), Task.code.ilike(like)))
    if status is not None:
        stmt = stmt.where(Task.status == status)
    if department_id:
        stmt = stmt.where(Task.id.in_(select(TaskDepartment.task_id)
                                      .where(TaskDepartment.department_id == department_id)))
    if year:
        stmt = stmt.where(Task.period_start >= date(year, 1, 1), Task.period_start <= date(year, 12, 31))
    if plan_id:
        stmt = stmt.where(Task.plan_id == plan_id)
    return stmt.order_by(Task.period_start.desc(), Task.id.desc())


def candidate_count(task: Task) -> int:
    return db.session.execute(
        select(func.count()).select_from(TaskCandidate).where(TaskCandidate.task_id == task.id)).scalar_one()


def dispatched_object_ids(task: Task) -> list[int]:
    """Return the ids of the objects a dispatched task received from its parent's draw, in code order
    (the child's TaskCandidate rows: its candidate list, all of which its ratio-1 draw selects)."""
    return list(db.session.execute(
        select(TaskCandidate.object_id).join(InspectedObject, InspectedObject.id == TaskCandidate.object_id)
        .where(TaskCandidate.task_id == task.id).order_by(InspectedObject.code)
    ).scalars())


def child_tasks(task: Task) -> list[Task]:
    return list(db.session.execute(
        select(Task).where(Task.parent_task_id == task.id).order_by(Task.id)).scalars())


def task_state(task: Task) -> dict[str, Any]:
    """Return a snapshot of the task with its departments and items (for the audit log)."""
    state = snapshot(task, exclude=("version",))
    state["departments"] = [
        {"department_id": d.department_id, "is_initiator": d.is_initiator, "members_per_team": d.members_per_team,
         "required_expertise": list(d.required_expertise or []), "unit_ids": list(d.unit_ids or [])}
        for d in task.departments]
    state["check_items"] = sorted([[c.department_id, c.check_item_id] for c in task.check_items])
    return state


# -- tasks: creating and editing -------------------------------------------------------------------


@dataclass
class DepartmentPart:
    department_id: int
    members_per_team: int = 1
    required_expertise: list[str] = field(default_factory=list)
    unit_ids: list[int] = field(default_factory=list)


@dataclass
class TaskData:
    """Cleaned task input (see :func:`clean_task_data`)."""

    name: str
    code: str | None
    plan_id: int | None
    adhoc_reason: str | None
    initiating_department_id: int
    parts: list[DepartmentPart]
    check_item_ids: list[int]
    period_start: date
    period_end: date
    teams_count: int
    unannounced: bool
    scope: dict[str, Any]
    candidate_source: str
    strata: list[dict[str, str]]


def _truthy(value: Any) -> bool:
    return _text(value).lower() in {"1", "true", "on", "yes", "y", "是"}


def _clean_scope(raw: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    county = _text(raw.get("region_county"))
    if county:
        scope["region_county"] = county[:100]
    towns = _list(raw.get("region_towns"))
    if towns:
        scope["region_towns"] = towns
    types = _list(raw.get("object_types"))
    valid_types = {t.value for t in ObjectType}
    if any(t not in valid_types for t in types):
        errors["object_types"] = _("请从列表中选择检查对象类型。")
    if types:
        scope["object_types"] = types
    industries = _list(raw.get("industries"))
    if industries:
        scope["industries"] = industries
    statuses = _list(raw.get("statuses")) or [RegistrationStatus.ACTIVE.value]
    if any(s not in {s.value for s in RegistrationStatus} for s in statuses):
        errors["statuses"] = _("请从列表中选择登记状态。")
    scope["statuses"] = statuses
    before_raw = _text(raw.get("registered_before"))
    if before_raw:
        before = _date_or_none(before_raw)
        if before is None:
            errors["registered_before"] = _("成立日期截止日“%(v)s”不是有效日期（格式 2026-01-31）。", v=before_raw)
        else:
            scope["registered_before"] = before.isoformat()
    flags = _list(raw.get("flags"))
    if any(f not in SCOPE_FLAGS for f in flags):
        errors["flags"] = _("请从列表中选择对象标记。")
    if flags:
        scope["flags"] = flags
    sup_ids = []
    for value in _list(raw.get("supervising_department_ids")):
        dept = _department(value)
        if dept is None:
            errors["supervising_department_ids"] = _("请选择有效的监管部门。")
            break
        sup_ids.append(dept.id)
    if sup_ids:
        scope["supervising_department_ids"] = sup_ids
    return scope


def clean_task_data(raw: Mapping[str, Any], *, user=None, task: Task | None = None) -> TaskData:
    """Validate raw task input and return :class:`TaskData`. Raises ValidationFailed (422) with a
    message per field.

    Keys: name, code, plan_id, adhoc_reason, initiating_department_id, participant_ids (list),
    check_item_ids (list), period_start, period_end, teams_count, unannounced, candidate_source,
    strata_mode ("risk"/"all"), ratio_A … ratio_D / ratio_ALL, scope keys (region_county,
    region_towns, object_types, industries, statuses, registered_before, flags,
    supervising_department_ids) and per department ``members_<id>``, ``expertise_<id>``,
    ``pool_<id>`` ("all"/"units") with ``units_<id>`` (unit ids, 0 = headquarters)."""
    errors: dict[str, str] = {}
    name = _text(raw.get("name"))
    if not name:
        errors["name"] = _("请填写任务名称。")
    elif len(name) > 200:
        errors["name"] = _("任务名称不能超过 200 个字。")
    code = _text(raw.get("code")).upper() or None
    if code is not None and not CODE_RE.match(code):
        errors["code"] = _("任务编号只能包含字母、数字和连字符，最长 40 位（如 WZ-2026-001）。留空则自动生成。")

    initiator = _department(raw.get("initiating_department_id"))
    if initiator is None:
        errors["initiating_department_id"] = _("请选择发起部门。")
    elif user is not None and not user.has_role(Role.SYSTEM_ADMIN) and user_bureau_id(user) != initiator.id:
        errors["initiating_department_id"] = _("只能以本部门名义发起任务。")

    participant_ids: list[int] = []
    for value in _list(raw.get("participant_ids")):
        dept = _department(value)
        if dept is None:
            errors["participant_ids"] = _("请选择有效的参与部门。")
            break
        if (initiator is None or dept.id != initiator.id) and dept.id not in participant_ids:
            participant_ids.append(dept.id)

    start = _date_or_none(raw.get("period_start"))
    end = _date_or_none(raw.get("period_end"))
    if start is None:
        errors["period_start"] = _("请填写执行开始日期（格式 2026-03-01）。")
    if end is None:
        errors["period_end"] = _("请填写执行结束日期（格式 2026-03-31）。")
    if start and end and end < start:
        errors["period_end"] = _("执行结束日期不能早于开始日期。")

    plan_id = _int_or_none(raw.get("plan_id")) or None
    adhoc_reason = _text(raw.get("adhoc_reason")) or None
    if plan_id is not None:
        plan = db.session.get(AnnualPlan, plan_id)
        if plan is None:
            errors["plan_id"] = _("请选择有效的年度计划。")
        elif not (task is not None and task.plan_id == plan.id):
            try:
                _check_plan_for_task(plan, start.year if start else None)
            except ValidationFailed as err:
                errors.update(err.errors)
    elif not adhoc_reason:
        errors["adhoc_reason"] = _("计划外的临时性联合抽查须填写备案理由（向联席会议办公室备案）[000#8]。")

    teams = _int_or_none(raw.get("teams_count"))
    if teams is None or teams < 1:
        errors["teams_count"] = _("检查小组数至少为 1。")
    elif teams > 10000:
        errors["teams_count"] = _("检查小组数不能超过 10000。")

    parts: list[DepartmentPart] = []
    for dept_id in ([initiator.id] if initiator else []) + participant_ids:
        part = DepartmentPart(department_id=dept_id)
        members = _int_or_none(raw.get(f"members_{dept_id}", 1))
        if members is None or members < 1:
            errors[f"members_{dept_id}"] = _("每组每部门人数至少为 1。")
        else:
            part.members_per_team = members
        part.required_expertise = [t[:60] for t in _list(raw.get(f"expertise_{dept_id}"))]
        if _text(raw.get(f"pool_{dept_id}")) == "units":
            unit_ids = [_int_or_none(v) for v in _list(raw.get(f"units_{dept_id}"))]
            allowed = {u.id for u in units_of(dept_id)} | {0}
            if not unit_ids or any(u is None or u not in allowed for u in unit_ids):
                errors[f"units_{dept_id}"] = _("请选择本部门的机关（局机关）或下属市场监管所。")
            else:
                part.unit_ids = sorted(set(unit_ids))  # type: ignore[arg-type]
        parts.append(part)

    item_ids = [i for i in (_int_or_none(v) for v in _list(raw.get("check_item_ids"))) if i is not None]
    if item_ids:
        from ..catalog.models import CheckItem
        from ..catalog.services import current_edition

        edition = current_edition()
        items = {i.id: i for i in db.session.execute(select(CheckItem).where(CheckItem.id.in_(item_ids))).scalars()}
        dept_ids = {p.department_id for p in parts}
        for item_id in item_ids:
            item = items.get(item_id)
            if item is None or edition is None or item.edition_id != edition.id:
                errors["check_item_ids"] = _("请从现行（已发布）的抽查事项清单中选择检查事项。")
                break
            if not dept_ids & {d.id for d in item.departments}:
                errors["check_item_ids"] = _("检查事项“%(i)s”不属于任何参与部门。请加入其发起或配合部门，或去掉该事项。",
                                             i=item.name)
                break

    source = _text(raw.get("candidate_source")) or "registry"
    if source not in ("registry", "imported"):
        errors["candidate_source"] = _("请选择检查对象来源：按范围从名录库抽取，或导入候选名单。")
    scope = _clean_scope(raw, errors)
    strata: list[dict[str, str]] = []
    try:
        strata = clean_strata(_text(raw.get("strata_mode")) or "risk",
                              {k: raw.get(f"ratio_{k}") for k in (*CLASS_STRATA, "ALL")})
    except ValidationFailed as err:
        errors.update(err.errors)
    if strata and "candidate_source" not in errors:
        try:
            check_unstratified(strata, scope=scope, candidate_source=source, task=task)
        except DomainError as err:
            errors["strata_mode"] = err.message

    if errors:
        raise ValidationFailed(errors)
    return TaskData(name=name, code=code, plan_id=plan_id, adhoc_reason=adhoc_reason,
                    initiating_department_id=initiator.id, parts=parts, check_item_ids=item_ids,
                    period_start=start, period_end=end, teams_count=teams, unannounced=_truthy(raw.get("unannounced")),
                    scope=scope, candidate_source=source, strata=strata)


def next_task_code(department: Department, year: int) -> str:
    """Return the next free code ``<dept code>-<year>-<seq>`` (seq of 3 digits)."""
    prefix = f"{department.code}-{year}-"
    taken = set(db.session.execute(select(Task.code).where(Task.code.like(f"{prefix}%"))).scalars())
    seq = len(taken) + 1
    while f"{prefix}{seq:03d}" in taken:
        seq += 1
    return f"{prefix}{seq:03d}"


def _refuse_taken_code(code: str, exclude_id: int | None) -> None:
    clash = db.session.execute(select(Task.id).where(Task.code == code, Task.id != (exclude_id or 0))).first()
    if clash:
        raise ValidationFailed({"code": _("任务编号“%(c)s”已被使用。请换一个编号，或留空自动生成。", c=code)})


def _apply(task: Task, data: TaskData) -> None:
    from ..catalog.models import CheckItem

    task.name = data.name
    task.plan_id = data.plan_id
    task.adhoc_reason = data.adhoc_reason
    task.initiating_department_id = data.initiating_department_id
    task.period_start = data.period_start
    task.period_end = data.period_end
    task.teams_count = data.teams_count
    task.unannounced = data.unannounced
    task.scope = data.scope
    task.candidate_source = data.candidate_source
    task.strata = data.strata
    existing = {d.department_id: d for d in task.departments}
    wanted = [p.department_id for p in data.parts]
    for dept_id, row in list(existing.items()):
        if dept_id not in wanted:
            task.departments.remove(row)
    for part in data.parts:
        row = existing.get(part.department_id)
        if row is None:
            row = TaskDepartment(department_id=part.department_id, acceptance=Acceptance.PENDING)
            task.departments.append(row)
        row.is_initiator = part.department_id == data.initiating_department_id
        row.members_per_team = part.members_per_team
        row.required_expertise = part.required_expertise
        row.unit_ids = part.unit_ids
    items = db.session.execute(select(CheckItem).where(CheckItem.id.in_(data.check_item_ids))).scalars().all()
    pairs = {(d.id, i.id) for i in items for d in i.departments if d.id in wanted}
    current = {(c.department_id, c.check_item_id): c for c in task.check_items}
    for key, row in current.items():
        if key not in pairs:
            task.check_items.remove(row)
    for dept_id, item_id in sorted(pairs - set(current)):
        task.check_items.append(TaskCheckItem(department_id=dept_id, check_item_id=item_id))


def create_task(data: TaskData, *, user=None) -> Task:
    """Create a draft task; the code is generated when not given. Raises ValidationFailed for a taken code."""
    initiator = db.session.get(Department, data.initiating_department_id)
    code = data.code or next_task_code(initiator, data.period_start.year)
    _refuse_taken_code(code, None)
    task = Task(code=code, status=TaskStatus.DRAFT, created_by_id=getattr(user, "id", None),
                name=data.name, initiating_department_id=initiator.id, period_start=data.period_start,
                period_end=data.period_end)
    _apply(task, data)
    db.session.add(task)
    db.session.flush()
    record("task.create", "task", task.id, after=task_state(task))
    return task


def _ensure_task_draft(task: Task) -> None:
    if task.status is not TaskStatus.DRAFT:
        raise Conflict("task_not_draft", _("只有草稿状态的任务可以修改。该任务当前状态：%(s)s。",
                                           s=TASK_STATUS_LABELS[task.status]))


def update_task(task: Task, data: TaskData, *, expected_version: int | str | None = None) -> Task:
    """Edit a draft task (Conflict ``task_not_draft`` otherwise). With ``expected_version`` (the
    version the form was loaded at), an edit of a task changed meanwhile is refused (``stale_task``)."""
    _ensure_task_draft(task)
    if expected_version not in (None, "") and str(expected_version) != str(task.version):
        raise Conflict("stale_task", _("该任务在您编辑期间已被他人修改。请重新打开编辑页面，在最新内容上修改。"))
    code = data.code or task.code
    _refuse_taken_code(code, task.id)
    before = task_state(task)
    task.code = code
    _apply(task, data)
    db.session.flush()
    b, a = diff(before, task_state(task))
    if a:
        record("task.update", "task", task.id, before=b, after=a)
    return task


def task_form_values(task: Task) -> dict[str, Any]:
    """Return the form values (as the edit form posts them) of a task."""
    form: dict[str, Any] = {
        "name": task.name, "code": task.code, "plan_id": str(task.plan_id or ""),
        "adhoc_reason": task.adhoc_reason or "", "initiating_department_id": str(task.initiating_department_id),
        "participant_ids": [str(d.department_id) for d in task.departments if not d.is_initiator],
        "check_item_ids": sorted({str(c.check_item_id) for c in task.check_items}),
        "period_start": task.period_start.isoformat(), "period_end": task.period_end.isoformat(),
        "teams_count": str(task.teams_count), "unannounced": "1" if task.unannounced else "",
        "candidate_source": task.candidate_source,
    }
    scope = task.scope or {}
    form["region_county"] = scope.get("region_county", "")
    form["region_towns"] = "、".join(scope.get("region_towns", []))
    form["object_types"] = scope.get("object_types", [])
    form["industries"] = "、".join(scope.get("industries", []))
    form["statuses"] = scope.get("statuses", ["active"])
    form["registered_before"] = scope.get("registered_before", "")
    form["flags"] = scope.get("flags", [])
    form["supervising_department_ids"] = [str(i) for i in scope.get("supervising_department_ids", [])]
    names = [s["name"] for s in task.strata or []]
    form["strata_mode"] = "all" if names == ["ALL"] else "risk"
    for s in task.strata or []:
        form[f"ratio_{s['name']}"] = s.get("ratio", "")
    if form["strata_mode"] == "risk":  # a task saved before the unrated stratum existed [000#4]
        form.setdefault(f"ratio_{UNRATED_STRATUM}", ratio_text(min_ratios()[UNRATED_STRATUM]))
    for d in task.departments:
        form[f"members_{d.department_id}"] = str(d.members_per_team)
        form[f"expertise_{d.department_id}"] = "、".join(d.required_expertise or [])
        form[f"pool_{d.department_id}"] = "units" if d.unit_ids else "all"
        form[f"units_{d.department_id}"] = [str(u) for u in d.unit_ids or []]
    return form


def new_task_form_values(*, plan: AnnualPlan | None = None, initiator_id: int | None = None) -> dict[str, Any]:
    """Return the defaults of the new-task form (default strata, 存续 only, one team)."""
    form: dict[str, Any] = {"strata_mode": "risk", "statuses": ["active"], "teams_count": "1",
                            "candidate_source": "registry", "participant_ids": [], "check_item_ids": [],
                            "object_types": [], "flags": [], "supervising_department_ids": []}
    from ..rules.services import get_rules

    rules = get_rules()
    for name, minimum in rules.min_ratios.items():  # the rules' minimums (A–D and U)
        form[f"ratio_{name}"] = minimum
    form["ratio_ALL"] = rules.unstratified_min_ratio
    if plan is not None:
        form["plan_id"] = str(plan.id)
    if initiator_id:
        form["initiating_department_id"] = str(initiator_id)
    return form


# -- imported candidate list -----------------------------------------------------------------------


@dataclass
class CandidateReport:
    added: int = 0
    duplicates: int = 0
    unknown: list[str] = field(default_factory=list)  # well-formed codes not in the registry
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (row, text) that is not a code


def read_codes(path: str, filename: str | None = None) -> list[tuple[int, str]]:
    """Return (row number, text) of the credit-code column of a CSV/XLSX file.

    The column is the one headed 统一社会信用代码 (or 信用代码, code …), else the first one; a first row
    that is itself a code is read as data. Raises FileRefused for an unreadable file."""
    from ..imports.readers import cell_text, open_table

    out: list[tuple[int, str]] = []
    with open_table(path, filename) as table:
        headers = [cell_text(h).strip() for h in table.headers]
        col = next((i for i, h in enumerate(headers) if h.lower() in CODE_HEADERS), 0)
        if headers and len(credit_codes.normalise(headers[col])) == 18 and headers[col].lower() not in CODE_HEADERS:
            out.append((1, headers[col]))
        for row_no, cells in table.rows:
            text = cell_text(cells[col]).strip() if col < len(cells) else ""
            if text:
                out.append((row_no, text))
    return out


def import_candidates(task: Task, rows: Sequence[tuple[int, str]]) -> CandidateReport:
    """Replace the draft task's candidate list with the registry objects of the given credit codes.

    Codes not in the registry and texts that are not codes are reported, not imported. Raises
    DomainError ``no_candidates`` (nothing changed) when no row names a known object."""
    _ensure_task_draft(task)
    report = CandidateReport()
    wanted: dict[str, int] = {}
    for row_no, text in rows:
        code = credit_codes.normalise(text)
        if len(code) != 18 or not code.isalnum():
            report.invalid.append((row_no, text[:40]))
            continue
        if code in wanted:
            report.duplicates += 1
            continue
        wanted[code] = row_no
    found: dict[str, int] = {}
    codes_list = list(wanted)
    for i in range(0, len(codes_list), 500):
        chunk = codes_list[i:i + 500]
        found.update(db.session.execute(
            select(InspectedObject.code, InspectedObject.id).where(InspectedObject.code.in_(chunk))).all())
    report.unknown = [c for c in codes_list if c not in found]
    if not found:
        raise DomainError("no_candidates", _("文件中没有任何名录库中的检查对象（共 %(n)s 行）。请核对统一社会信用代码后重新上传。",
                                             n=len(rows)), status=422)
    before = candidate_count(task)
    db.session.execute(db.delete(TaskCandidate).where(TaskCandidate.task_id == task.id))
    db.session.add_all([TaskCandidate(task_id=task.id, object_id=oid) for oid in found.values()])
    task.candidate_source = "imported"
    db.session.flush()
    report.added = len(found)
    record("task.import_candidates", "task", task.id, before={"candidates": before},
           after={"candidates": report.added, "candidate_source": "imported"},
           note=f"unknown {len(report.unknown)}, invalid {len(report.invalid)}, duplicates {report.duplicates}")
    return report


# -- submit and acceptance -------------------------------------------------------------------------


def submit_task(task: Task, *, user=None) -> Task:
    """Submit a draft for acceptance (draft → pending_acceptance).

    Checks completeness, fixes each item's checklist version (the department's current published
    one) and marks it used. The initiating department counts as accepted; a task with no other
    department is accepted at once. Raises ValidationFailed/Conflict, nothing changed."""
    from ..catalog.models import CheckItem
    from ..catalog.services import current_template, mark_template_used

    _ensure_task_draft(task)
    errors: dict[str, str] = {}
    if task.plan_id is None and not (task.adhoc_reason or "").strip():
        errors["adhoc_reason"] = _("计划外的临时性联合抽查须填写备案理由（向联席会议办公室备案）[000#8]。")
    if not task.check_items:
        errors["check_item_ids"] = _("请至少选择一个检查事项后再提交。")
    if task.candidate_source == "imported" and candidate_count(task) == 0:
        errors["candidate_source"] = _("已选择“导入候选名单”，但还没有导入任何检查对象。请先上传名单。")
    try:  # the rules may have changed, or the imported list arrived, since the task was saved
        check_unstratified(task.strata or [], scope=task.scope, candidate_source=task.candidate_source, task=task)
    except DomainError as err:
        errors["strata_mode"] = err.message
    if errors:
        raise ValidationFailed(errors)
    before = task_state(task)
    before_status = task.status
    for row in task.check_items:
        item = db.session.get(CheckItem, row.check_item_id)
        template = current_template(item, row.department_id)
        row.template_id = template.id if template is not None else None
        if template is not None:
            mark_template_used(template)
    now = utcnow()
    for d in task.departments:
        if d.is_initiator:
            d.acceptance, d.decided_by_id, d.decided_at, d.comment = (
                Acceptance.ACCEPTED, getattr(user, "id", None), now, None)
        else:
            d.acceptance, d.decided_by_id, d.decided_at = Acceptance.PENDING, None, None
    task.status = TaskStatus.ACCEPTED if all(d.acceptance is Acceptance.ACCEPTED for d in task.departments) \
        else TaskStatus.PENDING
    db.session.flush()
    b, a = diff(before, task_state(task))
    record("task.submit", "task", task.id, before={**b, "status": before_status.value},
           after={**a, "status": task.status.value})
    return task


def _decision_row(task: Task, department_id: int, user) -> TaskDepartment:
    row = next((d for d in task.departments if d.department_id == department_id), None)
    if row is None:
        raise NotFound("not_participant", _("该部门不是本任务的参与部门。"))
    if not can_decide_for(user, department_id):
        raise Forbidden("not_your_department", _("只有%(d)s的部门管理员、部门负责人或任务发起人可以确认或退回该任务。",
                                                 d=row.department.name))
    if task.status is not TaskStatus.PENDING:
        raise Conflict("task_not_pending", _("该任务当前状态为“%(s)s”，不在待确认阶段。",
                                             s=TASK_STATUS_LABELS[task.status]))
    if row.acceptance is Acceptance.ACCEPTED:
        raise Conflict("already_accepted", _("%(d)s已经接受了该任务。", d=row.department.name))
    return row


def accept_task(task: Task, department_id: int, *, user, comment: str | None = None) -> Task:
    """Record that ``department_id`` accepts the task; when every department has accepted, the task
    becomes accepted. Raises Forbidden (403) for a user of another department."""
    row = _decision_row(task, department_id, user)
    before_row, before_status = snapshot(row), task.status
    row.acceptance, row.comment = Acceptance.ACCEPTED, (_text(comment) or None)
    row.decided_by_id, row.decided_at = user.id, utcnow()
    if all(d.acceptance is Acceptance.ACCEPTED for d in task.departments):
        task.status = TaskStatus.ACCEPTED
    db.session.flush()
    b, a = diff(before_row, snapshot(row))
    record("task.accept", "task", task.id, before={**b, "status": before_status.value},
           after={**a, "status": task.status.value}, note=f"department #{department_id}")
    return task


def return_task(task: Task, department_id: int, *, user, comment: str) -> Task:
    """Return the task to its initiator with a comment (required); the task goes back to draft."""
    comment = _text(comment)
    if not comment:
        raise ValidationFailed({"comment": _("退回任务时须填写退回意见，说明需要修改的内容。")})
    row = _decision_row(task, department_id, user)
    before_row, before_status = snapshot(row), task.status
    row.acceptance, row.comment = Acceptance.RETURNED, comment[:2000]
    row.decided_by_id, row.decided_at = user.id, utcnow()
    task.status = TaskStatus.DRAFT
    db.session.flush()
    b, a = diff(before_row, snapshot(row))
    record("task.return", "task", task.id, before={**b, "status": before_status.value},
           after={**a, "status": task.status.value}, note=comment[:500])
    return task


# -- dispatch [000#13] -----------------------------------------------------------------------------


def selected_object_ids(task: Task) -> list[int]:
    """Return the ids of the objects locked by the task's final objects draw (DrawSelection)."""
    from ..draws.models import DrawSelection

    return list(db.session.execute(
        select(DrawSelection.object_id).where(DrawSelection.task_id == task.id)
        .order_by(DrawSelection.position, DrawSelection.id)).scalars())


def dispatch_targets(parent: Task) -> list[Department]:
    """Return the active departments below the parent's initiating department that may receive objects."""
    top = parent.initiating_department
    return [d for d in active_departments() if top.is_higher_than(d)]


def _descendant_ids(dept_id: int) -> set[int]:
    ids, frontier = {dept_id}, [dept_id]
    while frontier:
        children = db.session.execute(select(Department.id).where(Department.parent_id.in_(frontier))).scalars().all()
        frontier = [c for c in children if c not in ids]
        ids.update(frontier)
    return ids


def dispatch_task(parent: Task, departments: Iterable[Department | int], **kwargs: Any):
    """Dispatch the parent's drawn objects to lower-level departments [000#13]: see
    :func:`server.planning.dispatch.dispatch_task` (joint children, unmatched objects decided)."""
    from .dispatch import dispatch_task as _dispatch

    return _dispatch(parent, departments, **kwargs)


# -- the 10% indicator [001#7] ---------------------------------------------------------------------


@dataclass
class JointShare:
    department: Department
    total: int
    joint: int

    @property
    def ratio(self) -> Decimal | None:
        return (Decimal(self.joint) / Decimal(self.total)) if self.total else None

    @property
    def percent(self) -> str:
        r = self.ratio
        return "—" if r is None else f"{(r * 100).quantize(Decimal('0.1'))}%"

    def below(self, minimum: Decimal) -> bool:
        r = self.ratio
        return r is not None and r < minimum


def joint_min_share() -> Decimal:
    return Decimal(str(current_app.config.get("JOINT_TASK_MIN_SHARE") or DEFAULT_JOINT_MIN_SHARE))


def joint_shares(year: int) -> list[JointShare]:
    """Return, per active department, the tasks of ``year`` it LEADS (initiates) and how many of
    them are joint [001#7]; departments leading no task are listed with 0 (ratio "—").

    [001#7]: "市场监管领域相关部门应确保年度部门联合抽查任务占对应牵头抽查事项任务总数的10%以上" —
    the base is the total of the tasks on the check items the department LEADS (牵头), and
    [001#8] "联合双随机抽查由发起部门牵头组织实施": the initiating department leads a task. So a
    department counts only the tasks it initiates; taking part in another department's joint task
    counts for neither its numerator nor its base (it would inflate a department that only
    cooperates). Counted: submitted tasks (not draft or cancelled) whose execution starts in
    ``year``. A task is joint with ≥ 2 departments; a dispatched task also when its parent is."""
    counts = (select(TaskDepartment.task_id, func.count(func.distinct(TaskDepartment.department_id)).label("n"))
              .group_by(TaskDepartment.task_id).subquery())
    parent_counts = counts.alias("parent_counts")
    rows = db.session.execute(
        select(Task.initiating_department_id, Task.id, counts.c.n, parent_counts.c.n)
        .outerjoin(counts, counts.c.task_id == Task.id)
        .outerjoin(parent_counts, parent_counts.c.task_id == Task.parent_task_id)
        .where(Task.period_start >= date(year, 1, 1), Task.period_start <= date(year, 12, 31),
               Task.status.notin_([TaskStatus.DRAFT, TaskStatus.CANCELLED]))
    ).all()
    per_dept: dict[int, dict[int, bool]] = {}
    for dept_id, task_id, n, parent_n in rows:
        per_dept.setdefault(dept_id, {})[task_id] = (n or 0) >= 2 or (parent_n or 0) >= 2
    out = []
    for dept in active_departments():
        tasks = per_dept.get(dept.id, {})
        out.append(JointShare(department=dept, total=len(tasks), joint=sum(tasks.values())))
    return out
