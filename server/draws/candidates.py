"""The candidates of an objects draw and the objects excluded from it, with the reason.

Candidates come from the task's scope filters over the object registry, from an imported list
(``candidate_source == "imported"``, [001#9]) or, for a task dispatched by a higher-level
department's draw [000#13], from the parent task's locked list. They are split into the task's
strata: credit-risk classes A/B/C/D plus ``U`` for objects without a class (未评级: drawn in a
stratum of their own, never silently left out [000#4]), or one stratum ``ALL``.

The rules come from ``server.rules.services.get_rules()`` (per deployment, in the database).

Exclusions [000#10, 003#15, 003#28]:

* ``joint_cap`` / ``yearly_cap`` — the object already reached the yearly cap (rule ``yearly_cap``,
  default 2) of joint checks (tasks with ≥ 2 departments whose objects draw is final) this calendar
  year [000#10], or of all checks when the rule ``yearly_cap_counts`` is ``all`` [003#15]; objects
  of risk class D, on the abnormal list (经营异常名录), on the serious-violation list (严重违法失信)
  or with complaints ≥ the rule ``complaint_threshold`` are exempt (重点抽查，不受次数限制);
* ``higher_level`` — a higher-level department already checked the object this year (no
  exemption: the lower level must leave it out).

Built for a million candidates: only ``(code, risk_class)`` pairs are read, with Core selects;
the exclusions are small sets of codes computed in SQL and applied with set look-ups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    String,
    and_,
    any_,
    bindparam,
    case,
    column,
    distinct,
    exists,
    func,
    or_,
    select,
    type_coerce,
)

from ..extensions import db
from ..org.models import Department
from ..planning.models import Task, TaskCandidate, TaskDepartment
from ..registry.models import InspectedObject, Inspector, InspectorStatus, object_departments
from ..rules.services import CAP_COUNTS_ALL, UNRATED, Rules, get_rules
from .models import Draw, DrawKind, DrawSelection, DrawStatus

RISK_STRATA = ("A", "B", "C", "D")
ALL = "ALL"
#: a joint check is a task with at least this many departments
JOINT_MIN_DEPARTMENTS = 2

REASON_LABELS = {
    "joint_cap": _l("本年度联合抽查次数已达上限"),
    "yearly_cap": _l("本年度抽查次数已达上限"),
    "higher_level": _l("本年度已被上级部门抽查"),
    # kept for draws committed before unrated objects had a stratum of their own
    "no_risk_class": _l("未评定信用风险分类"),
}

#: scope ``flags`` an object must all have
FLAG_FILTERS = ("abnormal_list", "serious_violation", "high_complaints")


@dataclass
class CandidateSet:
    """The candidates per stratum (in the task's order) and the excluded objects."""

    #: [{"name": …, "ratio": … | "count": …, "ids": [codes]}], ready for ``Draw.candidates``
    strata: list[dict[str, Any]]
    #: [{"code", "name", "reason", "detail"}] sorted by code
    excluded: list[dict[str, Any]] = field(default_factory=list)
    source: str = "registry"

    @property
    def total(self) -> int:
        return sum(len(s["ids"]) for s in self.strata)


def values_in(col: Any, values: list[str]) -> Any:
    """``col IN values`` with one bound parameter, however many values: ``= ANY(array)`` on
    PostgreSQL, ``IN (SELECT value FROM json_each(?))`` on SQLite (no query per 900 values)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return col == any_(bindparam(None, list(values), type_=ARRAY(String)))
    return col.in_(select(column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(list(values), ensure_ascii=False), type_=String))))


def fetch_raw(stmt) -> list[tuple]:
    """Run a Core select and return the DBAPI's rows as they come (no per-row processing)."""
    result = db.session.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def complaint_threshold() -> int:
    """The rule: objects with at least this many complaints are exempt from the yearly cap."""
    return get_rules().complaint_threshold


def _year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def _scope_conditions(scope: dict[str, Any]) -> list[Any]:
    """Return the WHERE conditions of a task's object scope."""
    o = InspectedObject.__table__.c
    conds: list[Any] = []
    statuses = scope.get("statuses") or ["active"]
    conds.append(o.registration_status.in_(list(statuses)))
    if scope.get("region_county"):
        conds.append(o.region_county == scope["region_county"])
    if scope.get("region_towns"):
        conds.append(o.region_town.in_(list(scope["region_towns"])))
    if scope.get("object_types"):
        conds.append(o.object_type.in_(list(scope["object_types"])))
    if scope.get("industries"):
        conds.append(o.industry.in_(list(scope["industries"])))
    if scope.get("registered_before"):
        cutoff = scope["registered_before"]
        cutoff = date.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
        conds.append(o.registered_on < cutoff)
    flags = set(scope.get("flags") or [])
    if "abnormal_list" in flags:
        conds.append(o.abnormal_list.is_(True))
    if "serious_violation" in flags:
        conds.append(o.serious_violation.is_(True))
    if "high_complaints" in flags:
        conds.append(o.complaint_count >= complaint_threshold())
    dept_ids = scope.get("supervising_department_ids") or []
    if dept_ids:
        od = object_departments.c
        conds.append(exists().where(od.object_id == o.id, od.department_id.in_(list(dept_ids))))
    return conds


def _source_query(task: Task, columns: Iterable[Any]):
    """A Core select of ``columns`` over the task's candidate objects (before exclusions)."""
    o = InspectedObject.__table__.c
    stmt = select(*columns).select_from(InspectedObject.__table__)
    if task.candidate_source in ("imported", "dispatched"):
        # an imported list [001#9], or the share of a parent's locked list dispatched to this
        # department by planning.services.dispatch_task [000#13]
        tc = TaskCandidate.__table__.c
        return stmt.join(TaskCandidate.__table__, tc.object_id == o.id).where(tc.task_id == task.id)
    if task.parent_task_id is not None:
        ds = DrawSelection.__table__.c
        return stmt.join(DrawSelection.__table__, ds.object_id == o.id).where(ds.task_id == task.parent_task_id)
    return stmt.where(*_scope_conditions(task.scope or {}))


def _final_object_draws_in_year(task: Task):
    """A subquery of (task_id, root task id) for other tasks of the year with a final objects draw."""
    t = Task.__table__.c
    d = Draw.__table__.c
    start, end = _year_bounds(task.year)
    return (
        select(t.id.label("task_id"), func.coalesce(t.parent_task_id, t.id).label("root_id"))
        .join(Draw.__table__, and_(d.task_id == t.id, d.kind == DrawKind.OBJECTS.value,
                                   d.status == DrawStatus.FINAL.value))
        .where(t.period_start >= start, t.period_start < end, t.id != task.id)
    )


def _joint_task_ids(task_ids: list[int]) -> set[int]:
    if not task_ids:
        return set()
    td = TaskDepartment.__table__.c
    rows = db.session.execute(
        select(td.task_id).where(td.task_id.in_(task_ids)).group_by(td.task_id)
        .having(func.count(distinct(td.department_id)) >= JOINT_MIN_DEPARTMENTS)
    ).scalars()
    return set(rows)


def _capped_codes(task: Task, rules: Rules | None = None) -> dict[str, tuple[int, str]]:
    """Return {code: (checks this year, name)} for non-exempt objects at or over the yearly cap:
    joint checks only, or every check when the rule says so."""
    rules = rules or get_rules()
    year_draws = db.session.execute(_final_object_draws_in_year(task)).all()
    # a dispatched child counts as its parent's check (one check, drawn once)
    roots: dict[int, int] = {tid: root for tid, root in year_draws}
    if rules.yearly_cap_counts == CAP_COUNTS_ALL:
        joint_ids = list(roots)
    else:
        joint = _joint_task_ids(sorted(set(roots) | set(roots.values())))
        joint_ids = [tid for tid, root in roots.items() if tid in joint or root in joint]
    if not joint_ids:
        return {}
    ds = DrawSelection.__table__.c
    o = InspectedObject.__table__.c
    # count checks per object in draw_selections alone (a child counts as its parent), then join
    # the few objects over the cap for the exemptions and their names
    merged = {tid: roots[tid] for tid in joint_ids if roots[tid] != tid}
    root = case(merged, value=ds.task_id, else_=ds.task_id) if merged else ds.task_id
    checks = func.count(distinct(root))
    over = (select(ds.object_id, checks.label("n")).where(ds.task_id.in_(joint_ids))
            .group_by(ds.object_id).having(checks >= rules.yearly_cap).subquery())
    exempt = or_(o.risk_class == "D", o.abnormal_list.is_(True), o.serious_violation.is_(True),
                 o.complaint_count >= rules.complaint_threshold)
    rows = fetch_raw(select(o.code, o.name, over.c.n).join(over, over.c.object_id == o.id).where(~exempt))
    return {code: (n, name) for code, name, n in rows}


def _higher_level_codes(task: Task) -> dict[str, tuple[str, str]]:
    """Return {code: (task code, name)} for objects drawn this year by a higher-level department."""
    year_draws = db.session.execute(_final_object_draws_in_year(task)).all()
    other_ids = sorted({tid for tid, _ in year_draws})
    if not other_ids:
        return {}
    ours = [db.session.get(Department, d.department_id) for d in task.departments]
    td = TaskDepartment.__table__.c
    higher: set[int] = set()
    for task_id, dept_id in db.session.execute(
            select(td.task_id, td.department_id).where(td.task_id.in_(other_ids))).all():
        dept = db.session.get(Department, dept_id)
        if dept is not None and any(dept.is_higher_than(mine) for mine in ours if mine is not None):
            higher.add(task_id)
    if not higher:
        return {}
    t = Task.__table__.c
    ds = DrawSelection.__table__.c
    o = InspectedObject.__table__.c
    rows = db.session.execute(
        select(o.code, o.name, t.code)
        .select_from(DrawSelection.__table__)
        .join(Task.__table__, t.id == ds.task_id)
        .join(InspectedObject.__table__, o.id == ds.object_id)
        .where(ds.task_id.in_(sorted(higher)))
    ).all()
    return {code: (task_code, name) for code, name, task_code in rows}


def _names(codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    o = InspectedObject.__table__.c
    return {code: name for code, name in fetch_raw(select(o.code, o.name).where(values_in(o.code, codes)))}


def build_candidates(task: Task) -> CandidateSet:
    """Return the task's candidates per stratum and the objects excluded, with the reason.

    The strata and their ratios are the task's (``Task.strata``); an empty stratum is kept
    (N = 0 is recorded, not an error). Objects without a credit-risk class are drawn in the
    stratum ``U`` [000#4]; a task saved without one (before the rule existed) gets it appended, at
    the rules' minimum, when it has such candidates.
    """
    o = InspectedObject.__table__.c
    rules = get_rules()
    spec_strata = list(task.strata or [])
    names = [s["name"] for s in spec_strata]
    by_risk = names != [ALL]
    dispatched = task.parent_task_id is not None
    source = "dispatched" if dispatched else task.candidate_source or "registry"

    # exclusions: small sets computed in SQL (a dispatched task inherits its parent's check)
    capped = {} if dispatched else _capped_codes(task, rules)
    higher = {} if dispatched else _higher_level_codes(task)
    reasons: dict[str, tuple[str, str]] = {}
    labels: dict[str, str] = {}
    cap_reason = "yearly_cap" if rules.yearly_cap_counts == CAP_COUNTS_ALL else "joint_cap"
    for code, (n, name) in capped.items():
        reasons[code] = (cap_reason, str(n))
        labels[code] = name
    for code, (task_code, name) in higher.items():
        reasons[code] = ("higher_level", task_code)
        labels[code] = name

    ids: dict[str, list[str]] = {name: [] for name in names}
    unrated_appended = by_risk and UNRATED not in ids
    if by_risk:
        ids.setdefault(UNRATED, [])
    excluded_codes: list[str] = []
    # raw strings: no Enum conversion per row
    risk_col = type_coerce(o.risk_class, String)
    stmt = _source_query(task, [o.code, risk_col])
    if db.session.get_bind().dialect.name == "postgresql":
        # byte order, as the digest wants it; Python's sort below is then a linear pass
        stmt = stmt.order_by(o.code.collate("C"))
    rows = fetch_raw(stmt)
    # one pass over the rows: stratum, then exclusion (a set look-up; the excluded are few)
    if by_risk:
        for code, risk in rows:
            bucket = ids.get(UNRATED if risk is None else risk)
            if bucket is None:  # a class the task does not draw from
                continue
            if code in reasons:
                excluded_codes.append(code)
            else:
                bucket.append(code)
    elif reasons:
        bucket = ids[ALL]
        for code, _risk in rows:
            if code in reasons:
                excluded_codes.append(code)
            else:
                bucket.append(code)
    else:
        ids[ALL] = [code for code, _risk in rows]
    del rows

    for bucket in ids.values():
        # code point order = UTF-8 byte order: the order of draw-v1's digest lines, so the
        # digest never sorts a million strings again (and candidate lists read in code order)
        bucket.sort()
    excluded_codes.sort()
    if unrated_appended and ids[UNRATED]:
        spec_strata.append({"name": UNRATED, "ratio": rules.min_ratios[UNRATED]})
    excluded = [{"code": c, "name": labels.get(c, ""), "reason": reasons[c][0], "detail": reasons[c][1]}
                for c in excluded_codes]

    strata = []
    for s in spec_strata:
        entry: dict[str, Any] = {"name": s["name"]}
        if s.get("ratio") is not None:
            entry["ratio"] = str(s["ratio"])
        else:
            entry["count"] = int(s.get("count") or 0)
        entry["ids"] = ids[s["name"]]
        strata.append(entry)
    return CandidateSet(strata=strata, excluded=excluded, source=source)


def source_has_risk_classes(*, scope: dict[str, Any], candidate_source: str, task_id: int | None) -> bool:
    """True when some candidate of a task's source (the registry filtered by ``scope``, or the
    task's imported list) has a credit-risk class: one query, stops at the first row."""
    o = InspectedObject.__table__.c
    if candidate_source == "imported":
        if task_id is None:
            return False
        tc = TaskCandidate.__table__.c
        stmt = (select(o.id).select_from(InspectedObject.__table__)
                .join(TaskCandidate.__table__, tc.object_id == o.id).where(tc.task_id == task_id))
    else:
        stmt = select(o.id).where(*_scope_conditions(scope))
    return db.session.execute(stmt.where(o.risk_class.is_not(None)).limit(1)).first() is not None


# -- the registries' state the initiator confirms before the objects draw [000#11] -------------


@dataclass(frozen=True)
class RegistryState:
    """The state of the two registries as far as a task draws from them: the newest change
    (``as_of``, ISO 8601 UTC, "" when empty), the objects of the task's candidate source (before
    exclusions) and the on-duty inspectors of its participating departments."""

    as_of: str
    object_count: int
    inspector_count: int

    @property
    def as_of_datetime(self):
        from datetime import datetime

        return datetime.fromisoformat(self.as_of) if self.as_of else None


def _iso(value: Any) -> str:
    if value is None:
        return ""
    from datetime import UTC, datetime

    if isinstance(value, str):  # SQLite's max() of a text column
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def registry_state(task: Task) -> RegistryState:
    """Return the registries' state for ``task`` now (two aggregate queries)."""
    o = InspectedObject.__table__.c
    objects, objects_at = db.session.execute(_source_query(task, [func.count(o.id), func.max(o.updated_at)])).one()
    i = Inspector.__table__.c
    dept_ids = [td.department_id for td in task.departments]
    inspectors, inspectors_at = db.session.execute(
        select(func.count(i.id), func.max(i.updated_at)).where(
            i.department_id.in_(dept_ids), type_coerce(i.status, String) == InspectorStatus.ON_DUTY.value)
    ).one() if dept_ids else (0, None)
    stamps = [s for s in (_iso(objects_at), _iso(inspectors_at)) if s]
    return RegistryState(as_of=max(stamps) if stamps else "", object_count=int(objects or 0),
                         inspector_count=int(inspectors or 0))


def check_registry_confirmation(task: Task, confirmed: RegistryState | None) -> RegistryState:
    """Return the registries' state now when it is the one the initiator confirmed [000#11].

    Raises DomainError ``registry_not_confirmed`` (422) without a confirmation and
    ``registry_changed`` (409) when the registries changed since it was given (a count or the
    newest change differs): the initiator looks at the new state and confirms again."""
    from flask_babel import gettext as _

    from ..core.errors import Conflict, DomainError

    if confirmed is None:
        raise DomainError("registry_not_confirmed", _(
            "请先确认检查对象名录库和执法检查人员名录库的状态（截至时间、对象数、人员数）[000#11]，"
            "再固定候选名单。"), status=422, field="registry_confirmed")
    now = registry_state(task)
    if now != confirmed:
        raise Conflict("registry_changed", _(
            "确认之后名录库已有变动（确认时：检查对象 %(o1)s 个、执法检查人员 %(i1)s 人；现在：检查对象 %(o2)s 个、"
            "执法检查人员 %(i2)s 人）。请核对最新状态后重新确认。",
            o1=confirmed.object_count, i1=confirmed.inspector_count, o2=now.object_count,
            i2=now.inspector_count), field="registry_confirmed")
    return now


def confirmation_from_form(form: Any) -> RegistryState | None:
    """The confirmation posted with the commit form (the state shown, ticked by the initiator), or
    None when the box is not ticked or the values are not the ones the page shows."""
    if (form.get("registry_confirmed") or "").strip() not in ("1", "on", "yes"):
        return None
    try:
        return RegistryState(as_of=(form.get("registry_as_of") or "").strip(),
                             object_count=int(form.get("registry_object_count") or ""),
                             inspector_count=int(form.get("registry_inspector_count") or ""))
    except ValueError:
        return None
