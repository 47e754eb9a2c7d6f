"""JSON API of results and deadlines (issue 8 §3): ``result_due`` and ``referral_due`` per visit and
section, with the same access rules as the screens. Answers are ``no-store`` (``core.security`` marks
every /api answer so)."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..core.errors import DomainError, Forbidden
from ..extensions import db
from ..fieldwork.views import can_view_visit
from ..org.models import Department
from .models import SectionResult
from .services import (
    department_names,
    page_rows,
    result_due_json,
    results_query,
    reviewer_departments,
    section_json,
)
from .views import bp


def _user():
    if not current_user.is_authenticated:
        raise DomainError("not_authenticated", _("登录已过期，请重新登录。"), status=401)
    return current_user


@bp.get("/api/visits/<int(max=2147483647):visit_id>/results")
def visit_results(visit_id: int):
    """The visit's stage, visit date, result deadline and every department's result the user may see."""
    from ..fieldwork.services import get_visit

    user = _user()
    visit = get_visit(visit_id)
    if can_view_visit(user, visit):
        allowed = None
    else:
        allowed = reviewer_departments(user, visit)
        if not allowed:
            raise Forbidden("lists_confidential", _(
                "检查结束前，检查对象和检查组信息只对任务发起人、本组成员、相关部门负责人和审计人员开放。"))
    rows = list(db.session.execute(select(SectionResult).where(SectionResult.visit_id == visit.id)
                                   .order_by(SectionResult.department_id)).scalars())
    if allowed is not None:
        rows = [r for r in rows if r.department_id in allowed]
    names = department_names({r.department_id for r in rows})
    return jsonify({
        "visit_id": visit.id, "stage": visit.stage.value,
        "visited_on": visit.visited_on.isoformat() if visit.visited_on else None,
        "result_due": result_due_json(visit),
        "sections": [section_json(r, names) for r in rows],
    })


@bp.get("/api/results")
def list_results():
    """Results the user may see: ``department_id``, ``status`` (pending_review, accepted, returned,
    published), ``overdue=1`` (not accepted after the due date), ``q``, ``page``."""
    user = _user()
    department_id = request.args.get("department_id", type=int)
    if department_id is not None and db.session.get(Department, department_id) is None:
        raise DomainError("department_not_found", _("找不到该部门。"), status=404)
    stmt = results_query(user, department_id=department_id, status=request.args.get("status") or None,
                         overdue=request.args.get("overdue") in ("1", "true", "yes"),
                         q=(request.args.get("q") or "").strip()[:100] or None)
    page = page_rows(stmt.order_by(SectionResult.result_due, SectionResult.id),
                     request.args.get("page", 1, type=int), per_page=50)
    names = department_names({row[0].department_id for row in page.items})
    items = []
    for sr, visit, task, obj in page.items:
        item = section_json(sr, names)
        item.update({"visit_id": visit.id, "stage": visit.stage.value, "task_id": task.id, "task_code": task.code,
                     "object_id": obj.id, "object_code": obj.code, "object_name": obj.name})
        items.append(item)
    return jsonify({"items": items, "page": page.page, "pages": page.pages, "total": page.total})
