"""Draw screens (a task's draws, preparing, the projected draw screen) and the record APIs.

Operating a draw: the initiating department's task initiators / administrators and system
administrators (:func:`services.can_operate`). Seeing the result lists is confidential until the
visits are over (``server.teams.access``); every such view is audit-logged.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..audit.services import history
from ..auth.roles import Role, roles_required
from ..core.errors import DomainError
from ..planning.models import TaskStatus
from ..teams import access
from . import services
from .candidates import REASON_LABELS
from .models import Draw, DrawKind, DrawStatus

bp = Blueprint("draws", __name__, template_folder="templates", static_folder="static",
               static_url_path="/draws-static")

EXCLUDED_PER_PAGE = 50
#: on the projected screen, at most this many selected codes per stratum are listed
SCREEN_LIMIT = 1000

@bp.app_template_filter("draw_status_label")
def _draw_status_label(status: DrawStatus) -> str:
    return {DrawStatus.COMMITTED: _("已公布承诺值，待抽取"), DrawStatus.FINAL: _("已抽取（结果已锁定）"),
            DrawStatus.VOIDED: _("已作废")}[status]


@bp.app_template_filter("draw_kind_label")
def _draw_kind_label(kind: DrawKind) -> str:
    return _("检查对象抽取") if kind is DrawKind.OBJECTS else _("检查人员抽取与匹配")


@bp.app_template_filter("draw_task_status")
def _task_status(status: TaskStatus) -> str:
    return {
        TaskStatus.DRAFT: _("草稿"), TaskStatus.PENDING: _("待各部门确认"), TaskStatus.ACCEPTED: _("各部门已确认，可抽取"),
        TaskStatus.OBJECTS_DRAWN: _("已抽取检查对象"), TaskStatus.INSPECTORS_DRAWN: _("已抽取检查人员并匹配"),
        TaskStatus.VISITS_OVER: _("检查已结束"), TaskStatus.CANCELLED: _("已取消"),
    }[status]


@bp.app_template_filter("exclusion_reason")
def _exclusion_reason(code: str) -> str:
    label = REASON_LABELS.get(code)
    return str(label) if label else code


def _require_view(task) -> tuple[bool, bool]:
    """Return (may operate, may see the lists); 403 when the user may do neither."""
    operate = services.can_operate(current_user, task)
    lists = access.can_view_task_lists(current_user, task)
    if not (operate or lists or current_user.has_role(Role.AUDITOR, Role.JOINT_OFFICE)):
        abort(403)
    return operate, lists


def _require_operate(task) -> None:
    if not services.can_operate(current_user, task):
        abort(403)


@bp.get("/tasks/<int:task_id>/draws")
@login_required
def task_draws(task_id: int):
    """The task's draws: status, commitments, voided draws with who and why, and the next step."""
    task = services.get_task(task_id)
    operate, lists = _require_view(task)
    draws = services.task_draws(task)
    return render_template(
        "draws/task_draws.html", task=task, draws=draws, can_operate=operate, can_view_lists=lists,
        objects_live=services.live_draw(task, DrawKind.OBJECTS),
        inspectors_live=services.live_draw(task, DrawKind.INSPECTORS),
        pending=services.not_accepted_departments(task), history=history("task", task.id, limit=50),
        users=_user_names(draws),
    )


def _user_names(draws: list[Draw]) -> dict[int, str]:
    from ..auth.models import User
    from ..extensions import db

    ids = {i for d in draws for i in (d.created_by_id, d.voided_by_id) if i}
    if not ids:
        return {}
    rows = db.session.execute(db.select(User.id, User.display_name).where(User.id.in_(ids)))
    return {k: v for k, v in rows}


@bp.get("/tasks/<int:task_id>/draws/objects/prepare")
@login_required
def prepare_objects(task_id: int):
    """Counts per stratum and the excluded objects with the reason, then the commit button."""
    task = services.get_task(task_id)
    _require_operate(task)
    try:
        cands = services.prepare_object_draw(task)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("draws.task_draws", task_id=task.id))
    page = max(1, request.args.get("page", 1, type=int))
    total = len(cands.excluded)
    pages = max(1, (total + EXCLUDED_PER_PAGE - 1) // EXCLUDED_PER_PAGE)
    excluded = cands.excluded[(page - 1) * EXCLUDED_PER_PAGE: page * EXCLUDED_PER_PAGE]
    from .spec import Stratum

    rows = [{"name": s["name"], "ratio": s.get("ratio"), "count": s.get("count"), "N": len(s["ids"]),
             "n": Stratum(name=s["name"], ids=tuple(s["ids"]), ratio=s.get("ratio"), count=s.get("count")).size()}
            for s in cands.strata]
    return render_template("draws/prepare_objects.html", task=task, rows=rows, excluded=excluded,
                           excluded_total=total, page=page, pages=pages, source=cands.source)


@bp.post("/tasks/<int:task_id>/draws/objects/commit")
@login_required
def commit_objects(task_id: int):
    """Fix the candidates and show the nonce commitment on the draw screen."""
    task = services.get_task(task_id)
    _require_operate(task)
    draw = services.commit_object_draw(task)
    return redirect(url_for("draws.screen", draw_id=draw.id))


@bp.get("/tasks/<int:task_id>/draws/inspectors/prepare")
@login_required
def prepare_inspectors(task_id: int):
    """Per department: needed, qualified, shortfall; then the commit button."""
    task = services.get_task(task_id)
    _require_operate(task)
    try:
        pools = services.prepare_inspector_draw(task)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("draws.task_draws", task_id=task.id))
    return render_template("draws/prepare_inspectors.html", task=task, pools=pools,
                           short=any(p.shortfall for p in pools))


@bp.post("/tasks/<int:task_id>/draws/inspectors/commit")
@login_required
def commit_inspectors(task_id: int):
    task = services.get_task(task_id)
    _require_operate(task)
    try:
        draw = services.commit_inspector_draw(task)
    except DomainError as err:
        if err.code != "inspector_shortfall":
            raise
        pools = services.inspector_pools(task)
        return render_template("draws/prepare_inspectors.html", task=task, pools=pools, short=True,
                               error=err.message), err.status
    return redirect(url_for("draws.screen", draw_id=draw.id))


def _screen_context(draw: Draw, *, form: dict | None = None, errors: dict | None = None) -> dict:
    task = services.get_task(draw.task_id)
    operate, lists = _require_view(task)
    ctx: dict = {"draw": draw, "task": task, "can_operate": operate, "can_view_lists": lists,
                 "form": form or {}, "errors": errors or {}, "rep_roles": services.REPRESENTATIVE_ROLES,
                 "required": services.REQUIRED_WITNESSES, "required_labels": services.REQUIRED_LABELS,
                 "limit": SCREEN_LIMIT, "strata": [], "teams": None, "candidate_counts": []}
    if draw.status is not DrawStatus.FINAL or not draw.record:
        ctx["candidate_counts"] = [(s["name"], len(s["ids"])) for s in services.candidate_strata(draw)]
    else:
        rec = services.draw_record(draw)  # composed and checked against the hash sealed at the draw
        ctx["candidate_counts"] = [(s["name"], len(s["ids"])) for s in rec["strata"]]
        ctx["seed"] = rec["seed"]
        strata = [{"name": s["name"], "ratio": s.get("ratio"), "count": s.get("count"), "N": len(s["ids"]),
                   "selected": s["selected"]} for s in rec["strata"]]
        ctx["strata"] = strata
        if lists:
            visible = access.visible_team_ids(current_user, task)
            if draw.kind is DrawKind.OBJECTS:
                if visible is None:
                    shown = [c for s in strata for c in s["selected"][:SCREEN_LIMIT]]
                    ctx["names"] = services.object_labels(shown)
                    access.log_confidential_view(task, f"draw {draw.id}: selected objects")
                else:
                    ctx["names"] = None  # members see their own team's objects on the teams screen
            else:
                overview = services.team_overview(task)
                if visible is not None:
                    overview = [t for t in overview if t["team"].id in visible]
                ctx["teams"] = overview
                ctx["leader_cert"] = {int(k): v["leader"] for k, v in rec["assignment"].items()}
                access.log_confidential_view(task, f"draw {draw.id}: teams and matched objects")
    return ctx


@bp.get("/draws/<int:draw_id>")
@login_required
def screen(draw_id: int):
    """The projected draw screen: commitment, witnesses, entropy, then the result."""
    draw = services.get_draw(draw_id)
    return render_template("draws/screen.html", **_screen_context(draw))


def _witness_form() -> tuple[dict, dict, list]:
    form = {k: request.form.get(k, "") for k in ("operator", "technical", "supervisor", "witness_entropy")}
    reps = []
    for k in range(4):
        rep = {"role": request.form.get(f"rep_{k}_role", ""), "name": request.form.get(f"rep_{k}_name", ""),
               "organisation": request.form.get(f"rep_{k}_organisation", "")}
        for key, value in rep.items():
            form[f"rep_{k}_{key}"] = value
        reps.append(rep)
    return form, {k: form[k] for k in ("operator", "technical", "supervisor")}, reps


@bp.post("/draws/<int:draw_id>/perform")
@login_required
def perform(draw_id: int):
    """Draw now with the people present and their entropy; final at once."""
    task = services.draw_task(draw_id)
    _require_operate(task)
    form, required, reps = _witness_form()
    try:
        witnesses = services.clean_witnesses(required, reps)
        draw = services.perform_draw(draw_id, witnesses=witnesses, witness_entropy=form["witness_entropy"])
    except DomainError as err:
        if err.code not in ("witnesses_missing", "entropy_too_long"):
            raise
        errors = dict(err.details.get("fields") or {})
        if err.details.get("field"):
            errors[err.details["field"]] = err.message
        draw = services.get_draw(draw_id)
        return render_template("draws/screen.html", **_screen_context(draw, form=form, errors=errors),
                               error=err.message), err.status
    flash(_("抽取完成，结果已锁定。"), "success")
    return redirect(url_for("draws.screen", draw_id=draw.id))


@bp.post("/draws/<int:draw_id>/void")
@login_required
def void(draw_id: int):
    """Abandon a committed draw with a reason."""
    task = services.draw_task(draw_id)
    _require_operate(task)
    try:
        services.void_draw(draw_id, reason=request.form.get("reason", ""))
    except DomainError as err:
        if err.code != "void_reason_required":
            raise
        draw = services.get_draw(draw_id)
        return render_template("draws/screen.html", **_screen_context(draw, errors={"reason": err.message}),
                               error=err.message), err.status
    flash(_("已作废该抽取。可以重新生成承诺值。"), "success")
    return redirect(url_for("draws.task_draws", task_id=task.id))


# -- records API ---------------------------------------------------------------------------------


@bp.get("/api/draws/<int:draw_id>/record")
@roles_required(Role.AUDITOR, Role.SYSTEM_ADMIN)
def api_record(draw_id: int):
    """The full draw-v1 record (auditors and system administrators; the view is logged)."""
    draw = services.get_draw(draw_id)
    return jsonify(services.full_record(draw))


@bp.get("/api/public/draws/<int:draw_id>/record")
def api_public_record(draw_id: int):
    """The redacted public record, once the task's visits are over; 404 before."""
    draw = services.get_draw(draw_id)
    return jsonify(services.public_record(draw))
