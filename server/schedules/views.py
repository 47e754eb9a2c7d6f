"""Back-office schedule screens (issue 8 §1): the tasks and teams with their scheduling status, and
a task's agenda (by day, then route order) or month calendar, per team or per inspector. The
team's leader edits the schedule of their own team's visits here; everybody else reads.

Access follows the confidentiality rules (``visible_team_ids``): before the visits are over only
the task's initiators, the participating heads, the auditors and the teams' own members (their own
team only) see a task's schedule; every view of it is logged."""

from __future__ import annotations

import calendar as pycal
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..core.errors import DomainError, Forbidden, NotFound
from ..core.pagination import paginate
from ..extensions import db
from ..planning.models import Task, TaskStatus
from ..planning.services import get_task
from ..registry.models import Inspector
from ..teams.access import is_team_leader, leader_team_ids, log_confidential_view, visible_team_ids
from ..teams.models import Team, TeamMember
from ..visits.models import Visit, VisitStage, VisitStatus
from ..workdays.services import beijing_today, is_workday
from . import services

bp = Blueprint("schedules", __name__, template_folder="templates")


def _forbid() -> Forbidden:
    return Forbidden("lists_confidential", _(
        "检查结束前，检查日程（含检查对象和检查组）只对任务发起人、本组成员、相关部门负责人和审计人员开放。"))


def _weekday(d: date) -> str:
    return [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")][d.weekday()]


# -- /schedules ------------------------------------------------------------------------------------


@bp.get("/schedules")
@login_required
def index():
    """The tasks (with teams) the user may see, with how many visits are scheduled per team."""
    show = request.args.get("show", "open")
    if show == "over":
        page = paginate(select(Task).where(Task.status == TaskStatus.VISITS_OVER)
                        .order_by(Task.period_start.desc(), Task.id.desc()))
        tasks = list(page.items)
    else:
        show, page = "open", None
        candidates = db.session.execute(select(Task).where(Task.status == TaskStatus.INSPECTORS_DRAWN)
                                        .order_by(Task.period_start, Task.id)).scalars()
        tasks = list(candidates)
    visible = {t.id: visible_team_ids(current_user, t) for t in tasks}
    if show == "open":  # the open tasks the user may see (at least part of)
        tasks = [t for t in tasks if visible[t.id] is None or visible[t.id]]
    counts: dict[int, dict[int, list[int]]] = defaultdict(dict)
    teams: dict[int, Team] = {}
    if tasks:
        rows = db.session.execute(
            select(Visit.task_id, Visit.team_id, func.count(Visit.id), func.count(Visit.scheduled_on))
            .where(Visit.task_id.in_([t.id for t in tasks]), Visit.status != VisitStatus.WITHDRAWN)
            .group_by(Visit.task_id, Visit.team_id)).all()
        for task_id, team_id, total, scheduled in rows:
            vis = visible[task_id]
            if vis is None or team_id in vis:
                counts[task_id][team_id] = [total, scheduled]
        team_ids = {tid for c in counts.values() for tid in c}
        teams = {t.id: t for t in db.session.execute(select(Team).where(Team.id.in_(team_ids))).scalars()} if team_ids else {}
    leads = leader_team_ids(current_user, list(teams)) if teams else set()
    rows_out = []
    for t in tasks:
        per_team = sorted(((teams[tid], c[0], c[1]) for tid, c in counts[t.id].items()), key=lambda r: r[0].number)
        rows_out.append({"task": t, "teams": per_team, "total": sum(r[1] for r in per_team),
                         "scheduled": sum(r[2] for r in per_team)})
    return render_template("schedules/index.html", rows=rows_out, page=page, show=show, leads=leads)


# -- /tasks/<id>/schedule --------------------------------------------------------------------------


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _month_arg(task: Task) -> date:
    raw = request.args.get("month", "").strip()
    try:
        y, m = raw.split("-")
        if not (y.isascii() and y.isdigit() and 2000 <= int(y) <= 2100):
            raise ValueError(raw)
        return date(int(y), int(m), 1)
    except ValueError:
        today = beijing_today()
        start = today if task.period_start <= today <= task.period_end else task.period_start
        return start.replace(day=1)


def _context(task: Task) -> dict[str, Any]:
    """Everything the schedule page needs, filtered by the user's visibility and the filters."""
    visible = visible_team_ids(current_user, task)
    if not (visible is None or visible):
        raise _forbid()
    teams = list(db.session.execute(select(Team).where(Team.task_id == task.id).order_by(Team.number)).scalars())
    if visible is not None:
        teams = [t for t in teams if t.id in visible]
    team_ids = [t.id for t in teams]
    members = list(db.session.execute(
        select(TeamMember, Inspector).join(Inspector, Inspector.id == TeamMember.inspector_id)
        .where(TeamMember.team_id.in_(team_ids), TeamMember.active.is_(True))
        .order_by(TeamMember.team_id, TeamMember.is_leader.desc(), TeamMember.id)).all()) if team_ids else []
    inspectors: dict[int, Inspector] = {}
    inspector_teams: dict[int, set[int]] = defaultdict(set)
    for m, ins in members:
        inspectors[ins.id] = ins
        inspector_teams[ins.id].add(m.team_id)
    team_filter = _int_arg("team")
    if team_filter is not None and team_filter not in team_ids:
        team_filter = None
    inspector_filter = _int_arg("inspector")
    if inspector_filter is not None and inspector_filter not in inspectors:
        inspector_filter = None
    shown = set(team_ids)
    if team_filter is not None:
        shown &= {team_filter}
    if inspector_filter is not None:
        shown &= inspector_teams[inspector_filter]
    visits = list(db.session.execute(
        select(Visit).options(selectinload(Visit.object))
        .where(Visit.task_id == task.id, Visit.team_id.in_(shown), Visit.status != VisitStatus.WITHDRAWN)
    ).scalars()) if shown else []
    visits.sort(key=lambda v: (v.scheduled_on or date.min, v.route_order or 10**6, v.id))
    leads = leader_team_ids(current_user, team_ids) if team_ids else set()
    return {"task": task, "teams": teams, "team_by_id": {t.id: t for t in teams}, "members": members,
            "inspectors": inspectors, "team_filter": team_filter, "inspector_filter": inspector_filter,
            "visits": visits, "leads": leads, "all_teams": visible is None,
            "bad_inspector": request.args.get("inspector") and inspector_filter is None}


def _agenda(visits: list[Visit]) -> tuple[list[Visit], list[dict[str, Any]]]:
    unscheduled = [v for v in visits if v.scheduled_on is None]
    days: dict[date, list[Visit]] = defaultdict(list)
    for v in visits:
        if v.scheduled_on is not None:
            days[v.scheduled_on].append(v)
    out = []
    for d in sorted(days):
        by_team: dict[int, list[Visit]] = defaultdict(list)
        for v in days[d]:
            by_team[v.team_id].append(v)
        out.append({"day": d, "weekday": _weekday(d), "workday": is_workday(d), "visits": days[d],
                    "by_team": dict(by_team)})
    return unscheduled, out


def _month(task: Task, visits: list[Visit], conflicts: dict[int, list], first: date) -> dict[str, Any]:
    counts: dict[date, int] = defaultdict(int)
    flagged: dict[date, int] = defaultdict(int)
    for v in visits:
        if v.scheduled_on is not None and v.scheduled_on.year == first.year and v.scheduled_on.month == first.month:
            counts[v.scheduled_on] += 1
            if any(c["code"] != "non_working_day" for c in conflicts.get(v.id, [])):
                flagged[v.scheduled_on] += 1
    weeks = []
    for week in pycal.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        weeks.append([{"day": d, "in_month": d.month == first.month, "count": counts.get(d, 0),
                       "flagged": flagged.get(d, 0), "workday": is_workday(d),
                       "in_period": task.period_start <= d <= task.period_end} for d in week])
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return {"first": first, "weeks": weeks, "prev": prev_month.strftime("%Y-%m"), "next": next_month.strftime("%Y-%m"),
            "weekdays": [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")],
            "total": sum(counts.values())}


def _render(task: Task, *, form_visit: int | None = None, form: dict | None = None, errors: dict | None = None,
            error: str | None = None, order_form: dict | None = None, status: int = 200):
    """The schedule page; ``form_visit``/``form``/``errors`` re-show one visit's form, ``order_form``
    (``team_id``, ``day``, ``values`` {visit_id: typed text}, ``bad`` visit ids) a day's route form."""
    ctx = _context(task)
    conflicts = services.conflicts_for(ctx["visits"], current_user)
    view = "month" if request.args.get("view") == "month" else "agenda"
    unscheduled, days = _agenda(ctx["visits"])
    filt = []
    if ctx["team_filter"] is not None:
        filt.append(f"team:{ctx['team_by_id'][ctx['team_filter']].number + 1}")
    if ctx["inspector_filter"] is not None:
        filt.append(f"inspector:{ctx['inspector_filter']}")
    what = "schedule:" + ",".join(str(t.number + 1) for t in ctx["teams"]) + (";" + ";".join(filt) if filt else "")
    log_confidential_view(task, what)
    locked_task = task.status in services.LOCKED_TASK_STATES
    return render_template(
        "schedules/task_schedule.html", **ctx, view=view, unscheduled=unscheduled, days=days, conflicts=conflicts,
        month=_month(task, ctx["visits"], conflicts, _month_arg(task)) if view == "month" else None,
        can_edit=lambda v: (v.team_id in ctx["leads"] and services.lock_reason(v, task) is None),
        lock_reason=lambda v: services.lock_reason(v, task), locked_task=locked_task,
        reorderable=lambda vs: all(services.lock_reason(v, task) is None for v in vs),
        form_visit=form_visit, form=form or {}, errors=errors or {}, error=error, keep_args=_keep_args(),
        VisitStage=VisitStage, order_form=order_form,
        team_names={t.id: _("第 %(n)s 组", n=t.number + 1) for t in ctx["teams"]},
    ), status


@bp.get("/tasks/<int:task_id>/schedule")
@login_required
def task_schedule(task_id: int):
    """The task's schedule: agenda by day (unscheduled first) or ``?view=month&month=YYYY-MM``;
    ``?team=<team_id>``, ``?inspector=<inspector_id>`` (that inspector's visits in this task)."""
    return _render(get_task(task_id))


def _keep_args() -> dict[str, str]:
    """The page's filters, carried through the leader's forms and back."""
    return {k: v for k, v in request.args.items() if k in ("team", "inspector", "view", "month")}


def _back(task: Task, anchor: str | None = None) -> str:
    return url_for(".task_schedule", task_id=task.id, **_keep_args()) + (f"#{anchor}" if anchor else "")


@bp.post("/tasks/<int:task_id>/schedule/visits/<int:visit_id>")
@login_required
def set_visit_schedule(task_id: int, visit_id: int):
    """The leader's form for one visit; errors are shown next to the fields, the input kept."""
    task = get_task(task_id)
    visit = services.get_visit(visit_id)
    if visit.task_id != task.id:
        raise NotFound("visit_not_found", _("找不到该检查安排。"))
    if not is_team_leader(current_user, visit.team_id):
        raise Forbidden("not_team_leader", _("只有本检查组的组长可以安排日程。如需调整，请联系组长。"))
    form = {f: request.form.get(f, "") for f in services.FIELDS}
    if request.form.get("clear"):
        form = dict.fromkeys(services.FIELDS, "")
    try:
        data = services.parse_strings(form)
        services.set_schedule(current_user, visit, **data.as_kwargs())
    except DomainError as err:
        db.session.rollback()
        if err.status == 403 or err.code == "schedule_locked":
            raise
        fields = dict(err.details.get("fields") or {})
        return _render(task, form_visit=visit.id, form=form, errors=fields, error=err.message, status=err.status)
    flash(_("已保存检查日程。") if visit.scheduled_on else _("已清除检查日程（待安排）。"), "success")
    return redirect(_back(task, f"visit-{visit.id}"))


def _position(value: str) -> int | None:
    """A route position as typed (ASCII digits, 1–999), else None."""
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 3):
        return None
    pos = int(text)
    return pos if services.ORDER_MIN <= pos <= services.ORDER_MAX else None


@bp.post("/tasks/<int:task_id>/schedule/reorder")
@login_required
def reorder_day(task_id: int):
    """按路线排序: the leader numbers one day's visits of their team; saved in one go."""
    task = get_task(task_id)
    team = services.get_team(request.form.get("team_id", type=int) or 0)
    if team.task_id != task.id:
        raise NotFound("team_not_found", _("找不到该检查组。"))
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        raise DomainError("invalid_schedule", _("日期无效，请刷新页面后重试。"), status=422) from None
    if not is_team_leader(current_user, team.id):
        # before reading the numbers: a non-leader learns nothing from the errors
        raise Forbidden("not_team_leader", _("只有本检查组的组长可以安排日程。如需调整，请联系组长。"))
    typed = [(int(key[6:]), value) for key, value in request.form.items(multi=True)
             if key.startswith("order-") and key[6:].isascii() and key[6:].isdigit() and len(key) < 16]
    order_form = {"team_id": team.id, "day": day, "values": dict(typed), "bad": set()}
    read = [(vid, _position(value)) for vid, value in typed]
    used = Counter(pos for _vid, pos in read)
    positions, bad_items = [], []
    for item, (vid, pos) in enumerate(read, start=1):  # item: as numbered on the form
        if pos is None or used[pos] > 1:
            bad_items.append(str(item))
            order_form["bad"].add(vid)
        else:
            positions.append((pos, vid))
    if bad_items:
        msg = _("第 %(n)s 项的顺序应为 %(a)s–%(b)s 的整数，且不能重复。", n="、".join(bad_items),
                a=services.ORDER_MIN, b=services.ORDER_MAX)
        return _render(task, error=msg, order_form=order_form, status=422)
    ids = [vid for _pos, vid in sorted(positions)]
    try:
        services.reorder(current_user, team, day, ids)
    except DomainError as err:
        db.session.rollback()
        if err.status == 403 or err.code == "schedule_locked":
            raise
        msg = "；".join((err.details.get("fields") or {}).values()) or err.message
        return _render(task, error=msg, order_form=order_form, status=err.status)
    flash(_("已按路线排好 %(d)s 的顺序。", d=day.isoformat()), "success")
    return redirect(_back(task, f"day-{day.isoformat()}"))
