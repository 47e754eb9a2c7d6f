"""The printed documents of a visit: the record form and the notice letter, as PDF.

Access is the back-office visit page's (``fieldwork.views.can_view_visit``): before the visits are
over only the task's initiators, the team's own members, participating heads and auditors see a
visit's team and object. Each generation is logged as a confidential view.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..core.errors import Forbidden
from ..extensions import db
from ..fieldwork import services as field_services
from ..fieldwork.views import can_view_visit
from ..planning.models import Task
from ..teams.access import log_confidential_view
from ..visits.models import Visit
from . import notice_letter, record_form
from .common import ascii_fallback

bp = Blueprint("documents", __name__, template_folder="templates")


def _visit_for(visit_id: int) -> tuple[Visit, Task]:
    visit = field_services.get_visit(visit_id)
    if not can_view_visit(current_user, visit):
        raise Forbidden("lists_confidential", _("检查结束前，检查对象和检查组信息只对任务发起人、本组成员、相关部门负责人和审计人员开放。"))
    return visit, db.session.get(Task, visit.task_id)


def pdf_response(data: bytes, name: str) -> Response:
    """An inline PDF with an ASCII fallback name and the RFC 5987 UTF-8 name; never cached."""
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = (
        f"inline; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/visits/<int:visit_id>/record-form.pdf")
@login_required
def record_form_pdf(visit_id: int):
    """The record form (联合抽查情况记录表) of the visit; 404 ``no_record`` while no section is stored."""
    visit, task = _visit_for(visit_id)
    data = record_form.build(visit)
    log_confidential_view(task, f"record_form:{visit.id}")
    return pdf_response(data, record_form.filename(visit))


@bp.get("/visits/<int:visit_id>/notice.pdf")
@login_required
def notice_letter_pdf(visit_id: int):
    """The notice letter (联合检查告知书) of an announced visit; 409 ``unannounced_task`` otherwise."""
    visit, task = _visit_for(visit_id)
    notice_letter.ensure_announced(task)
    data = notice_letter.build(visit)
    log_confidential_view(task, f"notice_letter:{visit.id}")
    return pdf_response(data, notice_letter.filename(visit))


@bp.app_context_processor
def _document_links():
    """``notice_letter_available(task)`` for templates that link the documents: the notice letter is
    offered only for announced tasks."""
    return {"notice_letter_available": notice_letter.available}
