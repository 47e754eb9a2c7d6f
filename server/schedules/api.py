"""The schedule API (RULES "Schedule API"): ``PUT /api/visits/<id>/schedule`` and
``GET /api/teams/<id>/schedule``. Session cookie; writes carry the ``X-CSRFToken`` header (Flask-WTF
CSRFProtect, as every /api write). Answers are ``Cache-Control: no-store`` (server/core/security.py,
as every non-public /api answer)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..auth.roles import Role
from ..core.errors import DomainError, Forbidden
from ..extensions import db
from ..planning.models import Task
from ..teams.access import is_task_initiator, is_team_leader, log_confidential_view, member_team_ids
from ..visits.models import Visit
from . import schemas, services

bp = Blueprint("schedules_api", __name__)

#: a field's message when the body's value has the wrong type or format
FIELD_MESSAGES = {
    "scheduled_on": lambda: _("日期格式应为“年-月-日”，如 2026-12-03。"),
    "window_start": lambda: _("时间格式应为“时:分”，如 09:30。"),
    "window_end": lambda: _("时间格式应为“时:分”，如 09:30。"),
    "route_order": lambda: _("路线顺序应为 %(a)s 到 %(b)s 之间的整数。", a=services.ORDER_MIN, b=services.ORDER_MAX),
    "note": lambda: _("备注最多 %(max)s 个字，请缩短。", max=services.NOTE_MAX),
}


def _require_user():
    if not current_user.is_authenticated:
        raise DomainError("not_authenticated", _("登录已过期，请重新登录。离线修改的内容不会丢失。"), status=401)
    return current_user._get_current_object()


def _visit_body(visit: Visit, conflicts: list[dict[str, str]]) -> dict:
    return {"visit_id": visit.id, "schedule": services.schedule_of(visit), "conflicts": conflicts,
            "changed_at": visit.changed_at.isoformat()}


def _parse_body() -> services.ScheduleInput:
    try:
        body = current_app.json.loads(request.get_data() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DomainError("invalid_request", _("请求内容无效：应为 JSON 对象，如 {\"scheduled_on\": \"2026-12-03\"}。"))
    try:
        return schemas.ScheduleInSchema().load(body)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {}
        fields = {f: (FIELD_MESSAGES[f]() if f in FIELD_MESSAGES else "；".join(map(str, m)))
                  for f, m in messages.items()}
        raise DomainError("invalid_schedule", _("日程填写有误：%(m)s", m="；".join(fields.values())), status=422,
                          fields=fields) from None


@bp.put("/api/visits/<int(max=2147483647):visit_id>/schedule")
def put_schedule(visit_id: int):
    """Set the visit's whole schedule → 200 ``{visit_id, schedule, conflicts, changed_at}``.
    400 ``invalid_request``; 403 ``not_team_leader``; 404; 409 ``schedule_locked``; 422
    ``invalid_schedule`` (``fields``) / ``schedule_outside_period`` (``period_start``, ``period_end``)."""
    user = _require_user()
    visit = services.get_visit(visit_id)
    if not is_team_leader(user, visit.team_id):
        # before reading the body: a non-leader learns nothing about the visit from the errors
        raise Forbidden("not_team_leader", _("只有本检查组的组长可以安排日程。如需调整，请联系组长。"))
    data = _parse_body()
    services.set_schedule(user, visit, **data.as_kwargs())
    conflicts = services.conflicts_for([visit], user)[visit.id]
    return jsonify(schemas.VisitScheduleSchema().dump(_visit_body(visit, conflicts)))


def _may_read_team(user, team, task: Task) -> bool:
    """Team members (active), the task's initiators and the auditors (the API contract)."""
    return (team.id in member_team_ids(user, task) or is_task_initiator(user, task)
            or user.has_role(Role.AUDITOR))


@bp.get("/api/teams/<int(max=2147483647):team_id>/schedule")
def get_team_schedule(team_id: int):
    """The team's visits with their schedules and conflicts (members, initiators, auditors)."""
    user = _require_user()
    team = services.get_team(team_id)
    task = db.session.get(Task, team.task_id)
    if not _may_read_team(user, team, task):
        raise Forbidden("lists_confidential", _("只有本组成员、任务发起人和审计人员可以查看该检查组的日程。"))
    visits = list(db.session.execute(select(Visit).options(selectinload(Visit.object))
                                     .where(Visit.team_id == team.id)).scalars())
    visits.sort(key=lambda v: (v.scheduled_on is None, v.scheduled_on or task.period_start, v.route_order or 0, v.id))
    conflicts = services.conflicts_for(visits, user)
    log_confidential_view(task, f"schedule:team:{team.number + 1}")
    body = {
        "team_id": team.id, "team_number": team.number + 1,
        "task": {"id": task.id, "code": task.code, "name": task.name, "period_start": task.period_start.isoformat(),
                 "period_end": task.period_end.isoformat()},
        "can_edit": is_team_leader(user, team.id) and task.status not in services.LOCKED_TASK_STATES,
        "visits": [{**_visit_body(v, conflicts[v.id]), "stage": v.stage.value, "status": v.status.value,
                    "object": {"id": v.object.id, "code": v.object.code, "name": v.object.name,
                               "address": v.object.address, "business_peak": v.object.business_peak}}
                   for v in visits],
    }
    return jsonify(schemas.TeamScheduleSchema().dump(body))
