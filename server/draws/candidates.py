"""The candidates of an objects draw and the objects excluded from it, with the reason.

Candidates come from the task's scope filters over the object registry, from an imported list
(``candidate_source == "imported"``, [001#9]) or, for a task dispatched by a higher-level
department's draw [000#13], from the parent task's locked list. They are split into the task's
strata: credit-risk classes A/B/C/D, or one stratum ``ALL``.

Exclusions [000#10, 003#15, 003#28]:

* ``joint_cap`` — the object is already in 2 joint checks (tasks with ≥ 2 departments whose objects
  draw is final) this calendar year; objects of risk class D, on the abnormal list (经营异常名录),
  on the serious-violation list (严重违法失信) or with complaints ≥ ``DRAW_COMPLAINT_THRESHOLD``
  are exempt from this cap (重点抽查，不受次数限制);
* ``higher_level`` — a higher-level department already checked the object this year (no
  exemption: the lower level must leave it out);
* ``no_risk_class`` — the object has no credit-risk class, so it fits no stratum A–D.

Built for a million candidates: only ``(code, risk_class)`` pairs are read, with Core selects;
the exclusions are small sets of codes computed in SQL and applied with set look-ups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
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
from ..registry.models import InspectedObject, object_departments
from .models import Draw, DrawKind, DrawSelection, DrawStatus

RISK_STRATA = ("A", "B", "C", "D")
ALL = "ALL"
#: a joint check is a task with at least this many departments; at most this many per year
JOINT_CAP = 2
DEFAULT_COMPLAINT_THRESHOLD = 3

REASON_LABELS = {
    "joint_cap": _l("本年度已被联合抽查 2 次"),
    "higher_level": _l("本年度已被上级部门抽查"),
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
    return int(current_app.config.get("DRAW_COMPLAINT_THRESHOLD", DEFAULT_COMPLAINT_THRESHOLD))


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
        .having(func.count(distinct(td.department_id)) >= 2)
    ).scalars()
    return set(rows)


def _capped_codes(task: Task) -> dict[str, tuple[int, str]]:
    """Return {code: (joint checks this year, name)} for non-exempt objects at or over the cap."""
    year_draws = db.session.execute(_final_object_draws_in_year(task)).all()
    # a dispatched child counts as its parent's check (one check, drawn once)
    roots: dict[int, int] = {tid: root for tid, root in year_draws}
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
            .group_by(ds.object_id).having(checks >= JOINT_CAP).subquery())
    exempt = or_(o.risk_class == "D", o.abnormal_list.is_(True), o.serious_violation.is_(True),
                 o.complaint_count >= complaint_threshold())
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
    (N = 0 is recorded, not an error).
    """
    o = InspectedObject.__table__.c
    spec_strata = list(task.strata or [])
    names = [s["name"] for s in spec_strata]
    by_risk = names != [ALL]
    dispatched = task.parent_task_id is not None
    source = "dispatched" if dispatched else task.candidate_source or "registry"

    # exclusions: small sets computed in SQL (a dispatched task inherits its parent's check)
    capped = {} if dispatched else _capped_codes(task)
    higher = {} if dispatched else _higher_level_codes(task)
    reasons: dict[str, tuple[str, str]] = {}
    labels: dict[str, str] = {}
    for code, (n, name) in capped.items():
        reasons[code] = ("joint_cap", str(n))
        labels[code] = name
    for code, (task_code, name) in higher.items():
        reasons[code] = ("higher_level", task_code)
        labels[code] = name

    ids: dict[str, list[str]] = {name: [] for name in names}
    no_class: list[str] = []
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
            if risk is None:
                no_class.append(code)
                continue
            bucket = ids.get(risk)
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
    for code in no_class:
        reasons[code] = ("no_risk_class", "")
    excluded_codes.extend(no_class)
    excluded_codes.sort()
    labels.update(_names(no_class))
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
