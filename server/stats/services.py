"""Statistics from the platform's own data [000#29] (issue 8 §6): the filters and every figure.

Every figure is one or a few SQL aggregates (GROUP BY) over the tasks in scope; nothing loads a row
per visit into Python. Definitions and their source rules: ``docs/statistics.md``.

Scope: the submitted tasks (not draft, not cancelled) whose execution starts in the year — the same
rule as the joint-task share of :func:`server.planning.services.joint_shares` — narrowed to the
tasks a department takes part in, or to one task. The optional date range narrows visits, results
and follow-ups to the visits whose ``visited_on`` lies in it (inclusive); the annual indicators
(tasks led/joined, joint share, objects drawn) ignore it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Text, and_, case, cast, exists, func, or_, select, true

from ..auth.roles import Role
from ..draws.models import Draw, DrawCandidates, DrawKind, DrawSelection, DrawStatus
from ..extensions import db
from ..followup.models import FollowUp, FollowUpStatus
from ..org.models import Department
from ..planning import services as planning
from ..planning.models import Task, TaskDepartment, TaskStatus
from ..review.models import ResultStatus, SectionResult
from ..rules.services import get_rules
from ..teams import access
from ..visits.models import Visit, VisitItem, VisitStage, VisitStatus
from ..workdays.services import beijing_today

YEAR_MIN, YEAR_MAX = 2000, 2100
MAX_RANGE_DAYS = 366
#: roles that see every department's statistics
GLOBAL_ROLES = (Role.SYSTEM_ADMIN, Role.JOINT_OFFICE, Role.AUDITOR)
#: roles that see their own bureau's statistics only
DEPARTMENT_ROLES = (Role.DEPT_HEAD, Role.DEPT_ADMIN)
STATS_ROLES = (*GLOBAL_ROLES, *DEPARTMENT_ROLES)
#: result statuses that count as entered (accepted by the department's reviewer, later published)
ENTERED = (ResultStatus.ACCEPTED, ResultStatus.PUBLISHED)
#: visit stages counted as "visited or later" (检查已完成)
DONE_STAGES = (VisitStage.VISITED, VisitStage.CONSOLIDATED, VisitStage.RETURNED, VisitStage.REVIEWED,
               VisitStage.PUBLISHED)
#: stage columns shown, in order (returned is counted with consolidated: it waits for a new round)
STAGE_COLUMNS = ("planned", "scheduled", "visited", "consolidated", "reviewed")
STAGE_OF = {VisitStage.PLANNED: "planned", VisitStage.SCHEDULED: "scheduled", VisitStage.VISITED: "visited",
            VisitStage.CONSOLIDATED: "consolidated", VisitStage.RETURNED: "consolidated",
            VisitStage.REVIEWED: "reviewed", VisitStage.PUBLISHED: "reviewed"}
RISK_ROWS = ("A", "B", "C", "D", "U")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class StatsInputError(Exception):
    """Refused filters: ``errors`` maps a filter field to its message; nothing is computed."""

    def __init__(self, errors: dict[str, str], status: int = 400):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.status = status


@dataclass
class Filters:
    year: int
    department: Department | None = None
    task: Task | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: what the user typed, to refill the form
    raw: dict[str, str] = field(default_factory=dict)

    def describe(self) -> list[tuple[str, str]]:
        return [(_("年度"), str(self.year)),
                (_("部门"), self.department.name if self.department else _("全部部门")),
                (_("任务"), f"{self.task.code} {self.task.name}" if self.task else _("全部任务")),
                (_("检查日期自"), self.date_from.isoformat() if self.date_from else "—"),
                (_("检查日期至"), self.date_to.isoformat() if self.date_to else "—")]

    def query_args(self) -> dict[str, Any]:
        out: dict[str, Any] = {"year": self.year}
        if self.department:
            out["department"] = self.department.id
        if self.task:
            out["task"] = self.task.code
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        return out


# -- who sees what ---------------------------------------------------------------------------------


def may_view(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.has_role(*STATS_ROLES))


def sees_all_departments(user: Any) -> bool:
    return user.has_role(*GLOBAL_ROLES)


def selectable_departments(user: Any) -> list[Department]:
    """The departments the user may pick: all active ones, or the user's own bureau."""
    if sees_all_departments(user):
        return planning.active_departments()
    bureau = access.user_bureau_id(user)
    return [d for d in [db.session.get(Department, bureau)] if d is not None] if bureau else []


# -- filters ---------------------------------------------------------------------------------------


def _parse_date(value: str) -> date | None:
    if not ISO_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_filters(args: Any, user: Any) -> Filters:
    """Validate the filters of the page and the export; raise :class:`StatsInputError` (400, or 403
    for a department or task outside the user's bureau) with a Chinese message per field."""
    raw = {k: (args.get(k) or "").strip() for k in ("year", "department", "task", "from", "to")}
    errors: dict[str, str] = {}
    status = 400
    year = beijing_today().year
    if raw["year"]:
        if not raw["year"].isdigit() or not YEAR_MIN <= int(raw["year"]) <= YEAR_MAX:
            errors["year"] = _("年度应为 %(a)s 至 %(b)s 之间的四位数字，例如 %(y)s。", a=YEAR_MIN, b=YEAR_MAX, y=year)
        else:
            year = int(raw["year"])
    date_from = date_to = None
    for key in ("from", "to"):
        if raw[key]:
            parsed = _parse_date(raw[key])
            if parsed is None:
                errors[key] = _("“%(v)s”不是有效日期，请按 年-月-日 填写，例如 %(y)s-03-01。", v=raw[key], y=year)
            elif key == "from":
                date_from = parsed
            else:
                date_to = parsed
    if date_from and date_to:
        if date_from > date_to:
            errors["to"] = _("结束日期 %(t)s 早于开始日期 %(f)s，请调换或改正日期。",
                             t=date_to.isoformat(), f=date_from.isoformat())
        elif (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
            errors["to"] = _("日期范围最长 %(n)s 天，请缩小范围或按年度统计。", n=MAX_RANGE_DAYS)
    department = None
    own = access.user_bureau_id(user)
    if raw["department"]:
        dept = db.session.get(Department, int(raw["department"])) if raw["department"].isdigit() else None
        if dept is None or not dept.active:
            errors["department"] = _("没有这个部门，请从列表中选择。")
        elif not sees_all_departments(user) and dept.id != own:
            errors["department"] = _("您只能查看本部门的统计，不能选择其他部门。")
            status = 403
        else:
            department = dept
    elif not sees_all_departments(user):
        department = db.session.get(Department, own) if own else None
        if department is None:
            errors["department"] = _("您的账号没有所属部门，无法查看部门统计，请联系系统管理员。")
            status = 403
    task = None
    if raw["task"]:
        value = raw["task"]
        stmt = select(Task).where(Task.id == int(value)) if value.isdigit() else select(Task).where(Task.code == value)
        task = db.session.execute(stmt).scalar_one_or_none()
        if task is None and value.isdigit():
            task = db.session.execute(select(Task).where(Task.code == value)).scalar_one_or_none()
        if task is None or task.status in (TaskStatus.DRAFT, TaskStatus.CANCELLED):
            errors["task"] = _("没有编号为“%(v)s”的已提交任务，请核对任务编号。", v=value)
            task = None
        elif "year" not in errors and task.period_start.year != year:
            errors["task"] = _("任务 %(c)s 的执行期始于 %(y)s 年，请把年度改为 %(y)s。", c=task.code, y=task.period_start.year)
        elif not sees_all_departments(user) and own not in {d.department_id for d in task.departments}:
            errors["task"] = _("本部门没有参加任务 %(c)s，不能查看它的统计。", c=task.code)
            status = 403
        elif department is not None and department.id not in {d.department_id for d in task.departments}:
            errors["task"] = _("%(d)s 没有参加任务 %(c)s，请改选部门或任务。", d=department.name, c=task.code)
    if errors:
        raise StatsInputError(errors, status)
    return Filters(year=year, department=department, task=task, date_from=date_from, date_to=date_to, raw=raw)


# -- figures ---------------------------------------------------------------------------------------


def ratio(num: int, den: int) -> Decimal | None:
    return (Decimal(num) / Decimal(den)) if den else None


def percent_text(r: Decimal | None) -> str:
    return "—" if r is None else f"{(r * 100).quantize(Decimal('0.1'))}%"


def _year_tasks(year: int):
    return and_(Task.period_start >= date(year, 1, 1), Task.period_start <= date(year, 12, 31),
                Task.status.notin_([TaskStatus.DRAFT, TaskStatus.CANCELLED]))


def scope_task_ids(f: Filters):
    """A subquery of the ids of the tasks in scope."""
    stmt = select(Task.id).where(_year_tasks(f.year))
    if f.task is not None:
        stmt = stmt.where(Task.id == f.task.id)
    if f.department is not None:
        stmt = stmt.where(Task.id.in_(select(TaskDepartment.task_id)
                                      .where(TaskDepartment.department_id == f.department.id)))
    return stmt


def _visit_range(col, f: Filters):
    conds = []
    if f.date_from:
        conds.append(col >= f.date_from)
    if f.date_to:
        conds.append(col <= f.date_to)
    return conds


@dataclass(kw_only=True)
class _Counts:
    """The counters a department row and a task row share."""

    visits_total: int = 0
    visits_done: int = 0
    entered: int = 0
    on_time: int = 0
    overdue: int = 0  # due date passed, not entered
    fu_open: int = 0
    fu_closed: int = 0
    fu_overdue: int = 0

    @property
    def due(self) -> int:
        return self.entered + self.overdue

    @property
    def on_time_rate(self) -> Decimal | None:
        return ratio(self.on_time, self.due)


@dataclass(kw_only=True)
class DeptRow(_Counts):
    department: Department
    led: int = 0
    joint_led: int = 0
    joined: int = 0
    joint_share: Decimal | None = None
    joint_below: bool = False
    visits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGE_COLUMNS, 0))


@dataclass(kw_only=True)
class TaskRow(_Counts):
    task: Task
    joint: bool


@dataclass
class RiskRow:
    name: str
    label: str
    candidates: int
    drawn: int
    minimum: Decimal | None

    @property
    def share(self) -> Decimal | None:
        return ratio(self.drawn, self.candidates)

    @property
    def met(self) -> bool | None:
        s = self.share
        return None if s is None or self.minimum is None else s >= self.minimum


@dataclass
class Stats:
    filters: Filters
    today: date
    departments: list[DeptRow]
    tasks: list[TaskRow] | None
    categories: list[dict[str, Any]]
    risk: list[RiskRow] | None
    #: drawn tasks in scope left out of ``risk``: visits not over, and the user not entitled to the full record
    risk_left_out: int
    joint_minimum: Decimal
    totals: dict[str, Any]

    @property
    def empty(self) -> bool:
        return not self.totals["tasks"] and not self.totals["visits_total"]


def _visits_by_task(f: Filters) -> list[tuple[int, VisitStage, int]]:
    """(task_id, stage, n) of the visits in scope (withdrawn ones left out)."""
    stmt = (select(Visit.task_id, Visit.stage, func.count())
            .where(Visit.task_id.in_(scope_task_ids(f)), Visit.status != VisitStatus.WITHDRAWN,
                   *_visit_range(Visit.visited_on, f))
            .group_by(Visit.task_id, Visit.stage))
    return db.session.execute(stmt).all()


def _results_by_task_department(f: Filters, today: date):
    """(task_id, department_id, entered, on_time, overdue) over the section results in scope:
    ``overdue`` = not entered and due before today."""
    entered = SectionResult.status.in_(ENTERED)
    stmt = (select(SectionResult.task_id, SectionResult.department_id,
                   func.sum(case((entered, 1), else_=0)),
                   func.sum(case((and_(entered, SectionResult.entered_late.is_(False)), 1), else_=0)),
                   func.sum(case((and_(~entered, SectionResult.result_due < today), 1), else_=0)))
            .where(SectionResult.task_id.in_(scope_task_ids(f)), *_visit_range(SectionResult.visited_on, f))
            .group_by(SectionResult.task_id, SectionResult.department_id))
    if f.department is not None:
        stmt = stmt.where(SectionResult.department_id == f.department.id)
    return db.session.execute(stmt).all()


def _missing_results_by_task_department(f: Filters, today: date):
    """(task_id, department_id, n): (visit, department) pairs due before today with no section
    result at all: the visit is visited but not yet consolidated (a consolidation makes a section
    result for every department), so each of its departments' results is due and not entered."""
    pairs = (select(VisitItem.visit_id, VisitItem.department_id, Visit.task_id).distinct()
             .join(Visit, Visit.id == VisitItem.visit_id)
             .where(Visit.task_id.in_(scope_task_ids(f)), Visit.status != VisitStatus.WITHDRAWN,
                    Visit.stage == VisitStage.VISITED, Visit.result_due < today, *_visit_range(Visit.visited_on, f),
                    ~exists().where(SectionResult.visit_id == VisitItem.visit_id,
                                    SectionResult.department_id == VisitItem.department_id)))
    if f.department is not None:
        pairs = pairs.where(VisitItem.department_id == f.department.id)
    pairs = pairs.subquery()
    return db.session.execute(select(pairs.c.task_id, pairs.c.department_id, func.count())
                              .group_by(pairs.c.task_id, pairs.c.department_id)).all()


def _followups_by_task_department(f: Filters, today: date):
    """(task_id, department_id, open, closed, overdue) of the follow-ups in scope."""
    closed = FollowUp.status == FollowUpStatus.CLOSED
    stmt = (select(FollowUp.task_id, FollowUp.department_id, func.sum(case((~closed, 1), else_=0)),
                   func.sum(case((closed, 1), else_=0)),
                   func.sum(case((and_(~closed, FollowUp.due_on < today), 1), else_=0)))
            .where(FollowUp.task_id.in_(scope_task_ids(f)))
            .group_by(FollowUp.task_id, FollowUp.department_id))
    if f.date_from or f.date_to:
        stmt = stmt.join(Visit, Visit.id == FollowUp.visit_id).where(*_visit_range(Visit.visited_on, f))
    if f.department is not None:
        stmt = stmt.where(FollowUp.department_id == f.department.id)
    return db.session.execute(stmt).all()


def result_categories(f: Filters, entered_total: int) -> list[dict[str, Any]]:
    """Per result code, the number of entered section results carrying it (a result with two items
    of the same code counts once); labels from the reference list, in its order. One GROUP BY over
    the results' code lists (a few hundred distinct lists at most), summed here per code."""
    from ..fieldwork.reference import result_options

    codes_text = cast(SectionResult.result_codes, Text)
    stmt = (select(codes_text, func.count())
            .where(SectionResult.task_id.in_(scope_task_ids(f)), SectionResult.status.in_(ENTERED),
                   *_visit_range(SectionResult.visited_on, f))
            .group_by(codes_text))
    if f.department is not None:
        stmt = stmt.where(SectionResult.department_id == f.department.id)
    counts: dict[str, int] = {}
    for text_value, n in db.session.execute(stmt).all():
        try:
            codes = set(json.loads(text_value or "[]"))
        except ValueError:
            continue
        for code in codes:
            counts[code] = counts.get(code, 0) + n
    out = []
    for opt in result_options(include_inactive=True):
        n = counts.pop(opt.code, 0)
        if n or opt.active:
            out.append({"code": opt.code, "label": opt.label, "problem": opt.problem, "count": n,
                        "share": ratio(n, entered_total)})
    for code, n in sorted(counts.items()):  # codes no longer in the reference list
        out.append({"code": code, "label": code, "problem": False, "count": n, "share": ratio(n, entered_total)})
    return out


#: per-stratum (candidates, drawn) of final object draws, keyed by (database, draw id, creation
#: time): a final draw and its locked list never change [000#15], so each is counted once per process
_DRAW_COUNTS: dict[tuple, dict[str, tuple[int, int]]] = {}
#: a bound on the process's memory: a year holds a few hundred draws; past this, start afresh
_DRAW_COUNTS_MAX = 20_000


def _draw_counts(draws: list[tuple[int, Any]]) -> dict[int, dict[str, tuple[int, int]]]:
    url = str(db.engine.url)
    keys = {draw_id: (url, draw_id, str(created)) for draw_id, created in draws}
    missing = [i for i, k in keys.items() if k not in _DRAW_COUNTS]
    if missing:
        if len(_DRAW_COUNTS) + len(missing) > _DRAW_COUNTS_MAX:
            _DRAW_COUNTS.clear()
            missing = list(keys)
        drawn: dict[int, dict[str, int]] = {}
        for draw_id, stratum, n in db.session.execute(
                select(DrawSelection.draw_id, DrawSelection.stratum, func.count())
                .where(DrawSelection.draw_id.in_(missing)).group_by(DrawSelection.draw_id, DrawSelection.stratum)):
            drawn.setdefault(draw_id, {})[stratum] = n
        for draw_id, text in db.session.execute(
                select(DrawCandidates.draw_id, DrawCandidates.strata).where(DrawCandidates.draw_id.in_(missing))):
            per = {s["name"]: len(s.get("ids") or ()) for s in json.loads(text)}
            sel = drawn.get(draw_id, {})
            _DRAW_COUNTS[keys[draw_id]] = {name: (per.get(name, 0), sel.get(name, 0)) for name in {*per, *sel}}
    return {i: _DRAW_COUNTS.get(k, {}) for i, k in keys.items()}


def _risk_task_clause(user: Any):
    """The tasks whose per-class counts the user may see: every task whose visits are over; while
    they are not, the per-stratum counts are part of the draw's full record — its initiating
    bureau's initiators and the auditors only (``access.can_view_full_record``)."""
    if user.has_role(Role.AUDITOR):
        return true()
    bureau = access.user_bureau_id(user)
    if user.has_role(*access.INITIATOR_ROLES) and bureau is not None:
        return or_(Task.status == TaskStatus.VISITS_OVER, Task.initiating_department_id == bureau)
    return Task.status == TaskStatus.VISITS_OVER


def risk_rows(f: Filters, user: Any) -> tuple[list[RiskRow], int]:
    """Objects drawn per risk class against the minimum ratios (internal): over the final object
    draws of the tasks in scope the user may see them for, drawn ÷ candidates per stratum; tasks
    drawn without strata are one row "不分层" against the unstratified minimum. Also returns how
    many drawn tasks in scope were left out because their visits are not over."""
    final = and_(Draw.kind == DrawKind.OBJECTS, Draw.status == DrawStatus.FINAL)
    rows_ = db.session.execute(
        select(Draw.id, Draw.created_at, _risk_task_clause(user)).join(Task, Task.id == Draw.task_id)
        .where(Draw.task_id.in_(scope_task_ids(f)), final)).all()
    draws = [(d, c) for d, c, ok in rows_ if ok]
    left_out = len(rows_) - len(draws)
    candidates: dict[str, int] = {}
    drawn: dict[str, int] = {}
    for per in _draw_counts(draws).values():
        for name, (n_candidates, n_drawn) in per.items():
            candidates[name] = candidates.get(name, 0) + n_candidates
            drawn[name] = drawn.get(name, 0) + n_drawn
    rules = get_rules()
    labels = {"A": _("A 类（低风险）"), "B": _("B 类（中风险）"), "C": _("C 类（中高风险）"), "D": _("D 类（高风险）"),
              "U": _("未评级"), "ALL": _("不分层")}
    rows = [RiskRow(name=c, label=labels[c], candidates=candidates.pop(c, 0), drawn=drawn.pop(c, 0),
                    minimum=Decimal(str(rules.min_ratios[c])) if rules.min_ratios.get(c) else None)
            for c in RISK_ROWS]
    if "ALL" in candidates or "ALL" in drawn:
        rows.append(RiskRow(name="ALL", label=labels["ALL"], candidates=candidates.pop("ALL", 0),
                            drawn=drawn.pop("ALL", 0), minimum=Decimal(str(rules.unstratified_min_ratio))))
    other_c, other_d = sum(candidates.values()), sum(drawn.values())
    if other_c or other_d:
        rows.append(RiskRow(name="other", label=_("其他分层"), candidates=other_c, drawn=other_d, minimum=None))
    return rows, left_out


def may_see_risk(user: Any) -> bool:
    """The per-class counts are internal (``can_see_risk_class``)."""
    return access.can_see_risk_class(user)


def compute(f: Filters, user: Any) -> Stats:
    today = beijing_today()
    depts = [f.department] if f.department is not None else planning.active_departments()
    rows = {d.id: DeptRow(department=d) for d in depts}
    minimum = planning.joint_min_share()
    for share in planning.joint_shares(f.year):
        row = rows.get(share.department.id)
        if row is not None:
            row.led, row.joint_led = share.total, share.joint
            row.joint_share, row.joint_below = share.ratio, share.below(minimum)
    for dept_id, n in db.session.execute(
            select(TaskDepartment.department_id, func.count(func.distinct(Task.id)))
            .join(Task, Task.id == TaskDepartment.task_id)
            .where(_year_tasks(f.year), Task.initiating_department_id != TaskDepartment.department_id)
            .group_by(TaskDepartment.department_id)).all():
        if dept_id in rows:
            rows[dept_id].joined = n

    # the departments of each task in scope; then one GROUP BY pass per table, by task (and
    # department), summed here into the department rows, the task rows and the totals
    task_departments: dict[int, set[int]] = {}
    for task_id, dept_id in db.session.execute(
            select(TaskDepartment.task_id, TaskDepartment.department_id)
            .where(TaskDepartment.task_id.in_(scope_task_ids(f)))).all():
        task_departments.setdefault(task_id, set()).add(dept_id)
    trows: dict[int, TaskRow] = {}
    with_tasks = f.department is not None or f.task is not None
    if with_tasks:
        tasks = db.session.execute(select(Task).where(Task.id.in_(scope_task_ids(f))).order_by(Task.code)).scalars()
        trows = {t.id: TaskRow(task=t, joint=len(task_departments.get(t.id, ())) >= 2) for t in tasks}
    stages = dict.fromkeys(STAGE_COLUMNS, 0)
    for task_id, stage, n in _visits_by_task(f):
        stages[STAGE_OF[stage]] += n
        for dept_id in task_departments.get(task_id, ()):
            if dept_id in rows:
                _add_visits(rows[dept_id], stage, n)
        if task_id in trows:
            _add_visits(trows[task_id], stage, n)
    for task_id, dept_id, entered, on_time, overdue in _results_by_task_department(f, today):
        for row in (rows.get(dept_id), trows.get(task_id)):
            if row is not None:
                row.entered += int(entered or 0)
                row.on_time += int(on_time or 0)
                row.overdue += int(overdue or 0)
    for task_id, dept_id, n in _missing_results_by_task_department(f, today):
        for row in (rows.get(dept_id), trows.get(task_id)):
            if row is not None:
                row.overdue += n
    for task_id, dept_id, open_, closed, overdue in _followups_by_task_department(f, today):
        for row in (rows.get(dept_id), trows.get(task_id)):
            if row is not None:
                row.fu_open += int(open_ or 0)
                row.fu_closed += int(closed or 0)
                row.fu_overdue += int(overdue or 0)

    # totals over distinct visits (a visit counts once, not once per department)
    totals: dict[str, Any] = {"tasks": db.session.execute(
        select(func.count()).select_from(scope_task_ids(f).subquery())).scalar() or 0}
    totals["visits"] = stages
    totals["visits_total"] = sum(stages.values())
    totals["visits_done"] = sum(v for k, v in stages.items() if k not in ("planned", "scheduled"))
    for key in ("entered", "on_time", "overdue", "fu_open", "fu_closed", "fu_overdue"):
        totals[key] = sum(getattr(r, key) for r in rows.values())
    totals["due"] = totals["entered"] + totals["overdue"]
    totals["on_time_rate"] = ratio(totals["on_time"], totals["due"])
    led = sum(r.led for r in rows.values())
    joint_led = sum(r.joint_led for r in rows.values())
    totals["led"], totals["joint_led"], totals["joint_share"] = led, joint_led, ratio(joint_led, led)
    risk, risk_left_out = risk_rows(f, user) if may_see_risk(user) else (None, 0)
    return Stats(filters=f, today=today, departments=list(rows.values()), tasks=list(trows.values()) if with_tasks
                 else None, categories=result_categories(f, totals["entered"]), risk=risk,
                 risk_left_out=risk_left_out, joint_minimum=minimum, totals=totals)


def _add_visits(row: DeptRow | TaskRow, stage: VisitStage, n: int) -> None:
    if isinstance(row, DeptRow):
        row.visits[STAGE_OF[stage]] += n
    row.visits_total += n
    if stage in DONE_STAGES:
        row.visits_done += n


__all__ = ["Filters", "Stats", "StatsInputError", "compute", "parse_filters", "may_view", "selectable_departments",
           "percent_text"]
