"""Team leaders' schedules (issue 8 §1) [000#17, 002#13]: per visit a date, an optional time
window, a route order and a note, set by the team's active leader; conflicts flagged for the
agenda and the field app.

Rules:

* only the visit team's *active* leader (``TeamMember.is_leader`` and ``active``, through the
  inspector linked to the login) may set a schedule (403 ``not_team_leader``);
* a visit already visited (or later), withdrawn, or of a task whose visits are over or which was
  cancelled, is locked (409 ``schedule_locked``);
* the date lies within the task period (422 ``schedule_outside_period``); window both-or-neither
  with start < end, route order 1–999, note ≤ 500 characters (422 ``invalid_schedule``, ``fields``);
* a change sets the stage planned ↔ scheduled, ``scheduled_by``/``scheduled_at``, bumps
  ``visit.changed_at`` (the phones pull it) and is audited ``visit.schedule`` with before/after
  (date, window, order, note — never an object's name). Nothing changes on any error.

Services only flush; the request commits.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from ..audit.services import record
from ..core.errors import Conflict, DomainError, Forbidden, NotFound
from ..core.models import utcnow
from ..extensions import db
from ..fieldwork import services as field_services
from ..planning.models import Task, TaskStatus
from ..registry.models import Inspector
from ..registry.validation import parse_business_peak
from ..teams.access import is_team_leader, visible_team_ids
from ..teams.models import Team, TeamMember
from ..visits.models import Visit, VisitStage, VisitStatus
from ..workdays.services import is_workday

NOTE_MAX = 500
ORDER_MIN, ORDER_MAX = 1, 999
#: stages a schedule may still be changed in
OPEN_STAGES = (VisitStage.PLANNED, VisitStage.SCHEDULED)
#: task states in which no schedule changes any more
LOCKED_TASK_STATES = (TaskStatus.VISITS_OVER, TaskStatus.CANCELLED)
FIELDS = ("scheduled_on", "window_start", "window_end", "route_order", "note")

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::00)?$")


@dataclass(frozen=True)
class ScheduleInput:
    scheduled_on: date | None = None
    window_start: time | None = None
    window_end: time | None = None
    route_order: int | None = None
    note: str | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}


def _invalid(fields: dict[str, str]) -> DomainError:
    return DomainError("invalid_schedule", _("日程填写有误：%(m)s", m="；".join(fields.values())), status=422,
                       fields=fields)


# -- reading ---------------------------------------------------------------------------------------


#: the visit or 404 ``visit_not_found``: the field record's lookup, one message for the app and the pages
get_visit = field_services.get_visit


def get_team(team_id: int) -> Team:
    team = db.session.get(Team, team_id)
    if team is None:
        raise NotFound("team_not_found", _("找不到该检查组。"))
    return team


def schedule_of(visit: Visit) -> dict[str, Any]:
    """The visit's schedule as the API gives it (strings)."""
    return {
        "scheduled_on": visit.scheduled_on.isoformat() if visit.scheduled_on else None,
        "window_start": visit.window_start.strftime("%H:%M") if visit.window_start else None,
        "window_end": visit.window_end.strftime("%H:%M") if visit.window_end else None,
        "route_order": visit.route_order,
        "note": visit.schedule_note,
    }


def parse_time(value: Any) -> time | None:
    """``"HH:MM"`` → time; ``None``/empty → None; raises ValueError otherwise."""
    if value is None:
        return None
    if isinstance(value, time):
        return value
    text = str(value).strip()
    if not text:
        return None
    m = _TIME.match(text)
    if m is None:
        raise ValueError(text)
    return time(int(m.group(1)), int(m.group(2)))


def parse_strings(data: Mapping[str, Any]) -> ScheduleInput:
    """Parse the form's (or the API's) values; raise 422 ``invalid_schedule`` naming each field that
    cannot be read. Empty strings are None."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    raw = data.get("scheduled_on")
    try:
        values["scheduled_on"] = (raw if isinstance(raw, date) else date.fromisoformat(str(raw).strip())
                                  ) if raw not in (None, "") else None
    except ValueError:
        errors["scheduled_on"] = _("日期格式应为“年-月-日”，如 2026-12-03。")
    for f in ("window_start", "window_end"):
        try:
            values[f] = parse_time(data.get(f))
        except ValueError:
            errors[f] = _("时间格式应为“时:分”，如 09:30。")
    raw = data.get("route_order")
    if raw in (None, ""):
        values["route_order"] = None
    elif isinstance(raw, bool):
        errors["route_order"] = _("路线顺序应为 %(a)s 到 %(b)s 之间的整数。", a=ORDER_MIN, b=ORDER_MAX)
    elif isinstance(raw, int):
        values["route_order"] = raw
    else:
        text = str(raw).strip()
        if re.fullmatch(r"-?\d{1,9}", text):
            values["route_order"] = int(text)
        else:
            errors["route_order"] = _("路线顺序应为 %(a)s 到 %(b)s 之间的整数。", a=ORDER_MIN, b=ORDER_MAX)
    note = data.get("note")
    values["note"] = (str(note).strip() or None) if note is not None else None
    if errors:
        raise _invalid(errors)
    return ScheduleInput(**values)


# -- access ----------------------------------------------------------------------------------------


def _check_leader(user: Any, team_id: int) -> None:
    if not is_team_leader(user, team_id):
        raise Forbidden("not_team_leader", _("只有本检查组的组长可以安排日程。如需调整，请联系组长。"))


def lock_reason(visit: Visit, task: Task) -> str | None:
    """Why the visit's schedule can no longer change (zh-CN), or None."""
    if task.status is TaskStatus.VISITS_OVER:
        return _("该任务的检查已结束，日程不能再修改。")
    if task.status is TaskStatus.CANCELLED:
        return _("该任务已取消，日程不能再修改。")
    if visit.status is VisitStatus.WITHDRAWN:
        return _("该检查对象已撤出本次检查，无需安排日程。")
    if visit.stage not in OPEN_STAGES:
        return _("该对象已完成现场检查，日程不能再修改。")
    return None


def _check_unlocked(visit: Visit, task: Task) -> None:
    reason = lock_reason(visit, task)
    if reason is not None:
        raise Conflict("schedule_locked", reason, stage=visit.stage.value)


def _validate(task: Task, s: ScheduleInput) -> ScheduleInput:
    errors: dict[str, str] = {}
    if (s.window_start is None) != (s.window_end is None):
        missing = "window_end" if s.window_end is None else "window_start"
        errors[missing] = _("时间段需同时填写开始和结束时间，或都不填。")
    elif s.window_start is not None and not s.window_start < s.window_end:
        errors["window_end"] = _("结束时间须晚于开始时间。")
    if s.route_order is not None and not ORDER_MIN <= s.route_order <= ORDER_MAX:
        errors["route_order"] = _("路线顺序应为 %(a)s 到 %(b)s 之间的整数。", a=ORDER_MIN, b=ORDER_MAX)
    if s.note is not None and len(s.note) > NOTE_MAX:
        errors["note"] = _("备注最多 %(max)s 个字，现为 %(n)s 个字，请缩短。", max=NOTE_MAX, n=len(s.note))
    if s.scheduled_on is None:
        if s.window_start is not None and "window_start" not in errors and "window_end" not in errors:
            errors["window_start"] = _("请先选择检查日期，再填写时间段。")
        if s.route_order is not None and "route_order" not in errors:
            errors["route_order"] = _("请先选择检查日期，再填写路线顺序。")
    if errors:
        raise _invalid(errors)
    if s.scheduled_on is not None and not task.period_start <= s.scheduled_on <= task.period_end:
        raise DomainError(
            "schedule_outside_period",
            _("检查日期 %(d)s 不在任务检查期限内（%(a)s 至 %(b)s）。请在期限内选择日期。",
              d=s.scheduled_on.isoformat(), a=task.period_start.isoformat(), b=task.period_end.isoformat()),
            status=422, period_start=task.period_start.isoformat(), period_end=task.period_end.isoformat(),
            fields={"scheduled_on": _("请选择 %(a)s 至 %(b)s 之间的日期。", a=task.period_start.isoformat(),
                                      b=task.period_end.isoformat())})
    return s


# -- writing ---------------------------------------------------------------------------------------


def _apply(user: Any, visit: Visit, s: ScheduleInput) -> bool:
    """Apply a validated schedule; audit and bump when something changed. Return whether it did."""
    before = schedule_of(visit)
    visit.scheduled_on = s.scheduled_on
    visit.window_start = s.window_start
    visit.window_end = s.window_end
    visit.route_order = s.route_order
    visit.schedule_note = s.note
    after = schedule_of(visit)
    if after == before:
        return False
    stage_before = visit.stage
    visit.stage = VisitStage.SCHEDULED if s.scheduled_on is not None else VisitStage.PLANNED
    visit.scheduled_by_id = user.id
    visit.scheduled_at = utcnow()
    visit.changed_at = utcnow()
    b = {k: v for k, v in before.items() if after[k] != v}
    a = {k: after[k] for k in b}
    if visit.stage is not stage_before:
        b["stage"], a["stage"] = stage_before.value, visit.stage.value
    record("visit.schedule", "visit", visit.id, before=b, after=a)
    return True


def set_schedule(user: Any, visit: Visit, *, scheduled_on: date | None, window_start: time | None,
                 window_end: time | None, route_order: int | None, note: str | None) -> Visit:
    """Set the whole schedule of ``visit`` (None clears a field; no date = back to planned).

    403 ``not_team_leader``, 409 ``schedule_locked``, 422 ``invalid_schedule`` (``fields``) or
    ``schedule_outside_period`` (``period_start``, ``period_end``). Nothing changes on an error."""
    _check_leader(user, visit.team_id)
    task = db.session.get(Task, visit.task_id)
    _check_unlocked(visit, task)
    note = (note.strip() or None) if isinstance(note, str) else None
    s = _validate(task, ScheduleInput(scheduled_on, window_start, window_end, route_order, note))
    _apply(user, visit, s)
    db.session.flush()
    return visit


def reorder(user: Any, team: Team, day: date, visit_ids: Sequence[int]) -> list[Visit]:
    """Set the route order of one day of one team in one go: ``visit_ids`` in route order must be
    exactly the team's visits scheduled that day that can still change. Same checks as
    :func:`set_schedule`; returns the visits in their new order."""
    _check_leader(user, team.id)
    task = db.session.get(Task, team.task_id)
    day_visits = list(db.session.execute(select(Visit).where(Visit.team_id == team.id, Visit.scheduled_on == day)
                                         .order_by(Visit.route_order, Visit.id)).scalars())
    by_id = {v.id: v for v in day_visits}
    ids = [int(i) for i in visit_ids]
    if len(set(ids)) != len(ids) or set(ids) != set(by_id):
        raise _invalid({"visit_ids": _("排序须包含本组 %(d)s 安排的全部检查对象，且每个只出现一次。请刷新页面后重试。",
                                        d=day.isoformat())})
    for v in day_visits:
        _check_unlocked(v, task)
    if len(ids) > ORDER_MAX:
        raise _invalid({"visit_ids": _("一天最多安排 %(max)s 个检查对象。", max=ORDER_MAX)})
    out = []
    for position, vid in enumerate(ids, start=1):
        v = by_id[vid]
        s = ScheduleInput(v.scheduled_on, v.window_start, v.window_end, position, v.schedule_note)
        _apply(user, v, s)
        out.append(v)
    db.session.flush()
    return out


# -- conflicts -------------------------------------------------------------------------------------


def _fmt(t: time) -> str:
    return t.strftime("%H:%M")


def conflicts_for(visits: Sequence[Visit], viewer: Any = None) -> dict[int, list[dict[str, str]]]:
    """Return ``{visit_id: [{code, message}]}`` for the visits:

    * ``inspector_double_booked``: an active member of the visit's team is also an active member of
      another team (any task) with a visit scheduled the same day (the other task's code only when
      ``viewer`` may see that team; otherwise "另一检查任务");
    * ``outside_period``: the stored date lies outside the task period (the period changed);
    * ``business_peak``: the time window overlaps the object's business peak;
    * ``non_working_day``: the date is not a Chinese working day (informational).

    One query finds the double bookings of all the visits given."""
    out: dict[int, list[dict[str, str]]] = {v.id: [] for v in visits}
    dated = [v for v in visits if v.scheduled_on is not None]
    if not dated:
        return out
    tasks = {t.id: t for t in db.session.execute(select(Task).where(Task.id.in_({v.task_id for v in dated}))).scalars()}
    double = _double_bookings(dated)
    other_tasks = {row["task_id"] for rows in double.values() for row in rows}
    if other_tasks - set(tasks):
        tasks.update({t.id: t for t in db.session.execute(select(Task).where(Task.id.in_(other_tasks - set(tasks))))
                      .scalars()})
    visible_cache: dict[int, set[int] | None] = {}

    def sees(task_id: int, team_id: int) -> bool:
        if viewer is None:
            return False
        if task_id not in visible_cache:
            visible_cache[task_id] = visible_team_ids(viewer, tasks[task_id])
        vis = visible_cache[task_id]
        return vis is None or team_id in vis

    for v in dated:
        task = tasks[v.task_id]
        found = out[v.id]
        seen: set[tuple] = set()
        for row in double.get((v.team_id, v.scheduled_on), []):
            key = (row["inspector_id"], row["task_id"], row["team_id"])
            if key in seen:
                continue
            seen.add(key)
            if row["task_id"] == v.task_id:
                where = (_("本任务第 %(n)s 组", n=row["team_number"] + 1) if sees(row["task_id"], row["team_id"])
                         else _("本任务另一检查组"))
            elif sees(row["task_id"], row["team_id"]):
                where = _("任务 %(code)s 第 %(n)s 组", code=tasks[row["task_id"]].code, n=row["team_number"] + 1)
            else:
                where = _("另一检查任务")
            found.append({"code": "inspector_double_booked", "message": _(
                "检查人员 %(name)s 在 %(d)s 另有安排（%(where)s），请调整日期或与相关组长协调。",
                name=row["inspector_name"], d=v.scheduled_on.isoformat(), where=where)})
        if not task.period_start <= v.scheduled_on <= task.period_end:
            found.append({"code": "outside_period", "message": _(
                "日期 %(d)s 已不在任务检查期限内（%(a)s 至 %(b)s），请重新安排。", d=v.scheduled_on.isoformat(),
                a=task.period_start.isoformat(), b=task.period_end.isoformat())})
        if v.window_start is not None and v.window_end is not None:
            peaks = parse_business_peak(v.object.business_peak) if v.object.business_peak else []
            for start, end in peaks or []:
                if v.window_start < end and start < v.window_end:
                    found.append({"code": "business_peak", "message": _(
                        "时间段 %(ws)s-%(we)s 与该对象的经营高峰时段（%(peak)s）重叠，请尽量避开。",
                        ws=_fmt(v.window_start), we=_fmt(v.window_end), peak=v.object.business_peak)})
                    break
        if not is_workday(v.scheduled_on):
            found.append({"code": "non_working_day", "message": _(
                "%(d)s 不是工作日（周末或法定节假日），请确认是否在该日检查。", d=v.scheduled_on.isoformat())})
    return out


def _double_bookings(visits: Sequence[Visit]) -> dict[tuple[int, date], list[dict[str, Any]]]:
    """``{(team_id, day): [{inspector_id, inspector_name, task_id, team_id, team_number}]}``: the
    active members of the given visits' teams who are active members of another team having a
    visit scheduled that day. One query."""
    team_ids = sorted({v.team_id for v in visits})
    days = sorted({v.scheduled_on for v in visits})
    wanted = {(v.team_id, v.scheduled_on) for v in visits}
    tm1, tm2, v2, t2 = aliased(TeamMember), aliased(TeamMember), aliased(Visit), aliased(Team)
    rows = db.session.execute(
        select(tm1.team_id, tm1.inspector_id, Inspector.name, v2.scheduled_on, v2.task_id, v2.team_id, t2.number)
        .join(tm2, and_(tm2.inspector_id == tm1.inspector_id, tm2.team_id != tm1.team_id, tm2.active.is_(True)))
        .join(v2, and_(v2.team_id == tm2.team_id, v2.scheduled_on.in_(days), v2.status != VisitStatus.WITHDRAWN))
        .join(t2, t2.id == tm2.team_id)
        .join(Task, Task.id == v2.task_id)
        .join(Inspector, Inspector.id == tm1.inspector_id)
        .where(tm1.team_id.in_(team_ids), tm1.active.is_(True), Task.status != TaskStatus.CANCELLED)
        .distinct()
    ).all()
    out: dict[tuple[int, date], list[dict[str, Any]]] = defaultdict(list)
    for team_id, inspector_id, name, day, task_id, other_team, number in sorted(rows, key=lambda r: (r[2], r[4], r[6])):
        if (team_id, day) in wanted:
            out[(team_id, day)].append({"inspector_id": inspector_id, "inspector_name": name, "task_id": task_id,
                                        "team_id": other_team, "team_number": number})
    return out
