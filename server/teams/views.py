"""Team screens: a task's teams (confidential), my assignments, replacement requests and decisions,
conflict-of-interest declarations. Handlers: parse → check access → call the service."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..audit.services import history
from ..core.errors import DomainError, Forbidden, wants_json
from ..core.pagination import paginate
from ..extensions import db
from ..org.models import Department
from ..planning.models import TaskStatus
from ..registry.models import Inspector
from . import services
from .access import (
    can_view_task_lists,
    inspector_of,
    log_confidential_view,
    user_bureau_id,
    visible_team_ids,
)
from .models import ReplacementReason, ReplacementStatus
from .services import REASON_LABELS, STATUS_LABELS

bp = Blueprint("teams", __name__, template_folder="templates")


@bp.app_template_filter("replacement_reason")
def _reason_label(reason: ReplacementReason | None) -> str:
    return str(REASON_LABELS[reason]) if reason else ""


@bp.app_template_filter("replacement_status")
def _status_label(status: ReplacementStatus | None) -> str:
    return str(STATUS_LABELS[status]) if status else ""


def _forbid_lists() -> Forbidden:
    return Forbidden("lists_confidential",
                     _("检查结束前，检查对象名单和检查组名单只对任务发起人、本组成员、相关部门负责人和审计人员开放。"))


def _errors(err: DomainError) -> dict[str, str]:
    return {err.details.get("field") or "_form": err.message}


# -- a task's teams ------------------------------------------------------------------------------------


@bp.get("/tasks/<int:task_id>/teams")
@login_required
def task_teams(task_id: int):
    """The task's teams with leader, members and visits; a member sees their own team only.
    403 for anyone outside the allowed list before the visits are over; every view is logged."""
    task = services.get_task(task_id)
    visible = visible_team_ids(current_user, task)
    if not (visible is None or visible):
        raise _forbid_lists()
    teams = services.list_teams(task, visible)
    visits = services.visits_by_team([t.id for t in teams])
    log_confidential_view(task, "teams:" + ",".join(str(t.number + 1) for t in teams))
    departments = {d.id: d for d in db.session.execute(
        db.select(Department).where(Department.id.in_({m.department_id for t in teams for m in t.members}))
    ).scalars()}
    task_history = [e for e in history("task", task.id) if e.action.startswith(("team.", "task.visits_over"))]
    return render_template(
        "teams/task_teams.html", task=task, teams=teams, visits=visits, departments=departments,
        all_teams=visible is None, can_mark_over=services.can_mark_visits_over(current_user, task)
        and task.status is TaskStatus.INSPECTORS_DRAWN,
        can_add_expert=services.can_add_expert(current_user, task) and task.status is TaskStatus.INSPECTORS_DRAWN,
        missing_reasons=services.missing_record_reasons(task),
        can_request=lambda m: m.active and task.status is TaskStatus.INSPECTORS_DRAWN
        and services.can_request_replacement(current_user, m),
        history=task_history, history_title=_("检查组变更历史"),
    )


def _visits_over_page(task, form, errors, message=None, status=200):
    """The confirmation page: the visits still lacking a finished record, with a reason per visit for
    the initiator; object names only for those who may see the lists (the view is then logged)."""
    missing = services.visits_without_record(task)
    names = visible_team_ids(current_user, task) is None
    if missing and names:
        log_confidential_view(task, "visits_over:" + ",".join(str(v.id) for v, _t in missing))
    per_team: dict[int, int] = {}
    for _v, team in missing:
        per_team[team.number + 1] = per_team.get(team.number + 1, 0) + 1
    return render_template(
        "teams/visits_over.html", task=task, missing=missing, names=names, per_team=sorted(per_team.items()),
        can_explain=services.can_explain_missing_records(current_user, task), form=form, errors=errors,
        message=message, max_reason=services.MAX_MISSING_REASON,
        suggestions=[_("企业已注销"), _("无法联系，已取证"), _("已停业歇业"), _("已迁出本辖区"),
                     _("经营场所已灭失")],
    ), status


@bp.route("/tasks/<int:task_id>/visits-over", methods=["GET", "POST"])
@login_required
def mark_visits_over(task_id: int):
    """Declare the task's visits over (lists stop being confidential). GET shows which visits lack
    a finished record and lets the initiator give a reason per visit; POST declares. 403 / 409 per
    the service; a refused form is shown again with the input kept (409 lists the visits)."""
    task = services.get_task(task_id)
    if not services.can_mark_visits_over(current_user, task):
        raise Forbidden("visits_over_forbidden", _("只有发起部门的用户或联席办可以宣布检查结束。"))
    if request.method == "GET":
        if task.status is not TaskStatus.INSPECTORS_DRAWN:
            return redirect(url_for("teams.task_teams", task_id=task.id))
        return _visits_over_page(task, {}, {})
    form = {k: v for k, v in request.form.items() if k.startswith("reason_")}
    reasons = {}
    for key, value in form.items():
        try:
            reasons[int(key.removeprefix("reason_"))] = value
        except ValueError:
            continue
    try:
        services.mark_visits_over(task, current_user, reasons)
    except DomainError as err:
        if err.status in (403, 404) or wants_json() or err.code in ("visits_already_over", "visits_over_too_early"):
            raise
        db.session.rollback()
        errors = _errors(err)
        for row in err.details.get("visits", []):
            errors[f"reason_{row['visit_id']}"] = _("请填写没有检查记录的原因。")
        return _visits_over_page(services.get_task(task_id), form, errors, err.message, err.status)
    flash(_("已宣布检查结束，名单不再保密。"), "success")
    return redirect(url_for("teams.task_teams", task_id=task.id))


@bp.get("/me/assignments")
@login_required
def my_assignments():
    """我的检查任务: the visits of the teams the current user is an active member of."""
    rows = services.my_assignments(current_user)
    for task, _team, _member, _visits in rows:
        log_confidential_view(task, "my_assignments")
    return render_template("teams/my_assignments.html", rows=rows, linked=inspector_of(current_user) is not None)


# -- replacement ---------------------------------------------------------------------------------------


def _request_form_page(task, member, form, errors, status=200):
    return render_template("teams/replacement_request.html", task=task, member=member, form=form, errors=errors,
                           reasons=list(ReplacementReason)), status


@bp.route("/tasks/<int:task_id>/members/<int:member_id>/replacement", methods=["GET", "POST"])
@login_required
def request_replacement(task_id: int, member_id: int):
    """Request the replacement of a drawn member (the member, the leader or the task's initiators)."""
    task = services.get_task(task_id)
    member = services.get_member(member_id, task)
    if not services.can_request_replacement(current_user, member):
        raise Forbidden("replacement_request_forbidden",
                        _("只有该检查人员本人、组长或任务发起部门的用户可以申请调整。"))
    if request.method == "GET":
        return _request_form_page(task, member, {}, {})
    form = {"reason": request.form.get("reason", ""), "explanation": request.form.get("explanation", "")}
    try:
        req = services.request_replacement(current_user, member, **form)
    except DomainError as err:
        if err.status == 403:
            raise
        return _request_form_page(task, member, form, _errors(err), err.status)
    flash(_("人员调整申请已提交，等待该人员所在部门负责人审批。"), "success")
    return redirect(url_for("teams.show_replacement", request_id=req.id))


@bp.get("/replacements")
@login_required
def replacement_queue():
    """The approver's queue (and the user's own requests); ``?status=`` pending (default) / approved /
    rejected / all."""
    raw = request.args.get("status", "pending")
    status = None if raw == "all" else next((s for s in ReplacementStatus if s.value == raw),
                                             ReplacementStatus.PENDING)
    page = paginate(services.replacement_queue(current_user, status=status))
    return render_template("teams/replacement_queue.html", page=page, status=raw,
                           statuses=list(ReplacementStatus))


def _can_see_request(req) -> bool:
    if req.requested_by_id == current_user.id or services.can_decide_replacement(current_user, req):
        return True
    task = services.get_task(req.task_id)
    visible = visible_team_ids(current_user, task)
    return visible is None or req.member.team_id in visible


def _replacement_page(req, *, form=None, errors=None, status=200):
    task = services.get_task(req.task_id)
    can_decide = req.status is ReplacementStatus.PENDING and services.can_decide_replacement(current_user, req)
    candidates = services.substitute_candidates(req) if can_decide else []
    substitute = db.session.get(Inspector, req.substitute_inspector_id) if req.substitute_inspector_id else None
    return render_template(
        "teams/replacement_detail.html", req=req, task=task, member=req.member, can_decide=can_decide,
        candidates=candidates, substitute=substitute, form=form or {}, errors=errors or {},
        required=next((d.required_expertise for d in task.departments
                       if d.department_id == req.member.department_id), []),
        history=history("replacement_request", req.id),
    ), status


@bp.get("/replacements/<int:request_id>")
@login_required
def show_replacement(request_id: int):
    """One request with its decision form for the member's department head (substitute picker)."""
    req = services.get_replacement(request_id)
    if not _can_see_request(req):
        raise _forbid_lists()
    task = services.get_task(req.task_id)
    log_confidential_view(task, f"replacement:{req.id}")
    return _replacement_page(req)


@bp.post("/replacements/<int:request_id>/decision")
@login_required
def decide_replacement(request_id: int):
    """Approve (with a substitute) or reject (with a note). 403 for anyone but a head of the member's
    department; the form is shown again with the message on a bad choice."""
    req = services.get_replacement(request_id)
    form = {"decision": request.form.get("decision", ""), "substitute_id": request.form.get("substitute_id", ""),
            "note": request.form.get("note", "")}
    try:
        if form["decision"] == "approve":
            services.approve_replacement(current_user, req, substitute_id=form["substitute_id"], note=form["note"])
            flash(_("已批准调整，替补人员已加入检查组，并已报联席办备案。"), "success")
        elif form["decision"] == "reject":
            services.reject_replacement(current_user, req, note=form["note"])
            flash(_("已驳回该申请。"), "success")
        else:
            raise DomainError("decision_required", _("请选择批准或驳回。"), field="decision")
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        return _replacement_page(services.get_replacement(request_id), form=form, errors=_errors(err),
                                 status=err.status)
    return redirect(url_for("teams.show_replacement", request_id=req.id))


# -- conflict-of-interest declarations -------------------------------------------------------------------


def _declarations_page(form, errors, status=200):
    inspector = inspector_of(current_user)
    rows = []
    if inspector is not None:
        rows = services.declaration_rows(db.session.execute(services.list_declarations([inspector.id])).scalars())
    q = form.get("q", "")
    return render_template("teams/my_declarations.html", inspector=inspector, rows=rows, form=form,
                           errors=errors, q=q, results=services.search_objects(q) if q else []), status


@bp.get("/me/declarations")
@login_required
def my_declarations():
    """My conflict-of-interest declarations, and a form to declare one (``?q=`` searches objects)."""
    return _declarations_page({"q": (request.args.get("q") or "").strip()}, {})


@bp.post("/me/declarations")
@login_required
def declare_conflict():
    """Declare a relation to an object; the form is shown again with the message when incomplete."""
    form = {"q": request.form.get("q", ""), "object_id": request.form.get("object_id", ""),
            "relation": request.form.get("relation", "")}
    try:
        services.declare_conflict(current_user, object_id=form["object_id"], relation=form["relation"])
    except DomainError as err:
        if err.status == 403:
            raise
        return _declarations_page(form, _errors(err), err.status)
    flash(_("利益冲突申报已登记。"), "success")
    return redirect(url_for("teams.my_declarations"))


@bp.post("/me/declarations/<int:declaration_id>/withdraw")
@login_required
def withdraw_declaration(declaration_id: int):
    """Withdraw one of my declarations."""
    services.withdraw_declaration(current_user, declaration_id)
    flash(_("申报已撤回。"), "success")
    return redirect(url_for("teams.my_declarations"))


@bp.get("/declarations")
@login_required
def department_declarations():
    """The declarations of the inspectors of the user's department (back office)."""
    bureau = user_bureau_id(current_user)
    if bureau is None:
        raise Forbidden("no_department", _("您的账号不属于任何部门，无法查看利益冲突申报。"))
    show = request.args.get("show", "active")
    page = paginate(services.list_declarations(department_id=bureau, include_withdrawn=show == "all"))
    return render_template("teams/department_declarations.html", page=page, show=show,
                           rows=services.declaration_rows(page.items),
                           department=db.session.get(Department, bureau))


# -- replacement filings with the joint office (备案) ---------------------------------------------------------


@bp.app_context_processor
def _filing_notice():
    """``filings_awaiting()`` for the navigation badge and the home page notice (joint office only;
    a callable, so pages that do not show it cost no query)."""

    def count() -> int:
        try:
            return services.filings_awaiting_count(current_user)
        except SQLAlchemyError:  # an error page after a failed statement: show no badge, not a 2nd error
            return 0

    return {"filings_awaiting": count}


@bp.get("/filings")
@login_required
def filing_queue():
    """The joint office's queue of approved replacements awaiting acknowledgement (``?show=`` pending
    (default) / acknowledged / all). 403 for everybody else. Names only once the lists may be seen."""
    show = request.args.get("show", "pending")
    if show not in ("pending", "acknowledged", "all"):
        show = "pending"
    page = paginate(services.filing_queue(current_user, show=show))
    return render_template("teams/filing_queue.html", page=page, show=show,
                           rows=services.filing_rows(current_user, page.items))


@bp.post("/filings/<int:request_id>/acknowledge")
@login_required
def acknowledge_filing(request_id: int):
    """已阅/备案: the joint office acknowledges one filing (audited). 403 / 409 per the service."""
    if not services.can_see_filings(current_user):
        raise Forbidden("filings_forbidden", _("人员调整备案只对联席办开放。"))
    req = services.get_replacement(request_id)
    services.acknowledge_filing(current_user, req)
    flash(_("已确认备案。"), "success")
    return redirect(url_for("teams.filing_queue"))


# -- experts chosen as supplements (选派) ---------------------------------------------------------------------


def _expert_page(task, form, errors, status=200):
    teams = services.list_teams(task, None)
    log_confidential_view(task, "experts")
    return render_template("teams/add_expert.html", task=task, teams=teams, form=form, errors=errors,
                           experts=services.expert_candidates(task)), status


@bp.route("/tasks/<int:task_id>/experts", methods=["GET", "POST"])
@login_required
def add_expert(task_id: int):
    """Choose an expert from the expert registry as a supplement member of a team, with a reason
    (the task's initiators or the participating departments' heads; 403 otherwise)."""
    task = services.get_task(task_id)
    if not services.can_add_expert(current_user, task):
        raise Forbidden("expert_forbidden", _("只有任务发起部门的用户或参与部门的负责人可以选派专家。"))
    if request.method == "GET":
        return _expert_page(task, {"team_id": request.args.get("team_id", "")}, {})
    form = {"team_id": request.form.get("team_id", ""), "inspector_id": request.form.get("inspector_id", ""),
            "reason": request.form.get("reason", "")}
    try:
        services.add_expert(current_user, task, **form)
    except DomainError as err:
        if err.status in (403, 404) or wants_json():
            raise
        db.session.rollback()
        return _expert_page(services.get_task(task_id), form, _errors(err), err.status)
    flash(_("已选派专家加入检查组。"), "success")
    return redirect(url_for("teams.task_teams", task_id=task.id))


__all__ = ["bp", "can_view_task_lists"]
