"""Follow-up screens (issue 8 §5): the list with reminders, registering a follow-up of an accepted result,
one follow-up's history with its actions, and ``GET /api/follow-ups``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..auth.models import User
from ..core.errors import DomainError, ValidationFailed, wants_json
from ..core.pagination import paginate
from ..extensions import db
from ..planning.services import active_departments
from ..teams.access import user_bureau_id
from . import services
from .models import FollowUpKind, FollowUpStatus

bp = Blueprint("followup", __name__, template_folder="templates")


@bp.app_context_processor
def _followup_reminders():
    """``followups_due()`` for the navigation badge (a callable: pages that do not show it cost no query)."""

    def count() -> int:
        try:
            return services.reminder_count(current_user)
        except SQLAlchemyError:  # an error page after a failed statement: no badge, not a 2nd error
            return 0

    return {"followups_due": count, "follow_up_kind_label": lambda k: str(services.KIND_LABELS[k]),
            "follow_up_status_label": lambda s: str(services.STATUS_LABELS[s])}


def _require_user() -> None:
    if not services.may_use(current_user):
        abort(403)


@bp.get("/followups")
@login_required
def index():
    _require_user()
    f = services.Filters.from_args(request.args)
    today = services.beijing_today()
    page = paginate(services.list_stmt(current_user, f, today))
    reminders = services.rows(services.due_soon(current_user, today), today)
    pending = services.result_rows(services.pending_results(current_user, today))
    departments = active_departments() if services.sees_all_departments(current_user) else []
    return render_template("followup/index.html", page=page, rows=services.rows(page.items, today),
                           reminders=reminders, pending=pending, f=f, departments=departments,
                           kinds=list(FollowUpKind), statuses=list(FollowUpStatus), today=today)


def _new_form(sr, values, errors, status=200):
    bureau = sr.department_id
    departments = [d for d in active_departments() if d.id != bureau]
    return render_template("followup/new.html", values=values, errors=errors, departments=departments,
                           kinds=list(FollowUpKind), **services.result_rows([sr])[0]), status


@bp.route("/results/<int:section_result_id>/follow-ups/new", methods=["GET", "POST"])
@login_required
def new(section_result_id: int):
    sr = services.get_result(section_result_id)
    services.check_result(current_user, sr)  # 403 / 409 before any form
    if request.method == "GET":
        return _new_form(sr, {"kind": request.args.get("kind", "")}, {})
    values = {k: request.form.get(k, "") for k in ("kind", "target_department_id", "target_name", "matter")}
    try:
        fu = services.create(current_user, sr, values["kind"], values["target_department_id"],
                             values["target_name"], values["matter"])
    except ValidationFailed as exc:
        db.session.rollback()
        if wants_json():
            raise  # the error shape, with its code (e.g. ``target_required``) and every field
        return _new_form(sr, values, exc.errors, exc.status)
    return redirect(url_for("followup.show", follow_up_id=fu.id), 303)


def _viewable(follow_up_id: int):
    fu = services.get(follow_up_id)
    if not services.can_view(current_user, fu):
        abort(403)
    return fu


def _show(fu, values=None, errors=None, status=200, form_error: DomainError | None = None):
    """The detail page of a follow-up the user may see (``_viewable`` checked it: not again here)."""
    today = services.beijing_today()
    events = [(e, db.session.get(User, e.by_id)) for e in fu.events]
    sr = db.session.get(services.SectionResult, fu.section_result_id)
    return render_template("followup/show.html", r=services.row(fu, today), fu=fu, events=events,
                           result=sr, values=values or {}, errors=errors or {}, today=today, form_error=form_error,
                           may_progress=services.can_progress(current_user, fu, visible=True),
                           may_close=services.can_close(current_user, fu, visible=True),
                           receiving=user_bureau_id(current_user) == fu.target_department_id), status


@bp.get("/follow-ups/<int:follow_up_id>")
@login_required
def show(follow_up_id: int):
    return _show(_viewable(follow_up_id))


def _act(follow_up_id: int, action, fields: tuple[str, ...], message: str):
    fu = _viewable(follow_up_id)
    values = {k: request.form.get(k, "") for k in fields}
    try:
        action(fu, values)
    except DomainError as exc:
        db.session.rollback()
        if wants_json():
            raise
        if isinstance(exc, ValidationFailed):
            return _show(services.get(follow_up_id), values, exc.errors, exc.status)
        # e.g. closed or reopened by someone else meanwhile (409), not ours to do (403): the page as it is
        # now, the reason, and what the user typed (not lost)
        return _show(services.get(follow_up_id), values, {}, exc.status, form_error=exc)
    flash(message, "success")
    return redirect(url_for("followup.show", follow_up_id=fu.id), 303)


@bp.post("/follow-ups/<int:follow_up_id>/progress")
@login_required
def progress(follow_up_id: int):
    return _act(follow_up_id, lambda fu, v: services.progress(current_user, fu, v["note"]), ("note",),
                _("已登记办理进展。"))


@bp.post("/follow-ups/<int:follow_up_id>/close")
@login_required
def close(follow_up_id: int):
    return _act(follow_up_id, lambda fu, v: services.close(current_user, fu, v["done_on"], v["reference"],
                                                             v["outcome"]),
                ("done_on", "reference", "outcome"), _("已办结。"))


@bp.post("/follow-ups/<int:follow_up_id>/reopen")
@login_required
def reopen(follow_up_id: int):
    return _act(follow_up_id, lambda fu, v: services.reopen(current_user, fu, v["reopen_note"]), ("reopen_note",),
                _("已重新打开。"))


@bp.get("/api/follow-ups")
@login_required
def api_list():
    if not services.may_use(current_user):
        raise DomainError("forbidden", _("您的角色不能查看后续处置。"), status=403)
    f = services.Filters.from_args(request.args)
    today = services.beijing_today()
    page = paginate(services.list_stmt(current_user, f, today))
    return jsonify(items=[services.as_json(r["fu"], today, r) for r in services.rows(page.items, today)],
                   page=page.page, pages=page.pages, total=page.total)
