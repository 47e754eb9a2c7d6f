"""Draw screens (a task's draws, preparing, the projected draw screen, the confidential selection)
and the record APIs.

Operating a draw: the initiating department's task initiators / administrators and system
administrators (:func:`services.can_operate`). What each one sees (spec draw-v2):

* the projected screen ``/draws/<id>``: the task, the commitment, the entropy as entered, totals
  and that the draw is final — never per-stratum counts or ratios, the seed, or the selection;
* the selection ``/draws/<id>/selection``: the confidential task view, for whom
  ``access.visible_team_ids`` allows (a team member: their own team), logged;
* the full record (seed, nonce, strata, per-stratum counts, ratios): only
  ``access.can_view_full_record`` (auditors, the task's initiators), logged;
* the public record (§6): anyone, once the task's visits are over.

Every response that carries confidential data is ``Cache-Control: no-store``.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..audit.services import history
from ..auth.roles import Role
from ..core.errors import DomainError, wants_json
from ..planning.models import TaskStatus
from ..rules.services import get_rules
from ..teams import access
from . import services
from .candidates import REASON_LABELS, confirmation_from_form, registry_state
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


def _no_store(response):
    """Mark a response that carries (or may carry) confidential data as never to be cached."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/tasks/<int:task_id>/draws")
@login_required
def task_draws(task_id: int):
    """The task's draws: status, commitments, voided draws with who and why, and the next step."""
    task = services.get_task(task_id)
    operate, lists = _require_view(task)
    draws = services.task_draws(task)
    return _no_store(render_template(
        "draws/task_draws.html", task=task, draws=draws, can_operate=operate, can_view_lists=lists,
        can_view_full=access.can_view_full_record(current_user, task),
        objects_live=services.live_draw(task, DrawKind.OBJECTS),
        inspectors_live=services.live_draw(task, DrawKind.INSPECTORS),
        pending=services.not_accepted_departments(task), history=history("task", task.id, limit=50),
        users=_user_names(draws),
    ))


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
    totals = {"N": sum(r["N"] for r in rows), "n": sum(r["n"] for r in rows)}
    # per-stratum counts and ratios, and why objects were left out (e.g. no risk class), are for
    # those entitled to the full record; any other operator (a system administrator) sees totals
    full = access.can_view_full_record(current_user, task)
    if not full:
        rows, excluded = [], []
    return _no_store(render_template(
        "draws/prepare_objects.html", task=task, rows=rows, totals=totals, can_view_full=full,
        excluded=excluded, excluded_total=total, page=page, pages=pages, source=cands.source,
        registry=registry_state(task), rules=get_rules()))


@bp.post("/tasks/<int:task_id>/draws/objects/commit")
@login_required
def commit_objects(task_id: int):
    """Fix the candidates and show the nonce commitment on the draw screen."""
    task = services.get_task(task_id)
    _require_operate(task)
    try:
        draw = services.commit_object_draw(task, registry=confirmation_from_form(request.form))
    except DomainError as err:  # confirm the registries' state again, on the page that shows it
        if err.code not in ("registry_not_confirmed", "registry_changed") or wants_json():
            raise
        flash(err.message, "error")
        return redirect(url_for("draws.prepare_objects", task_id=task.id))
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
    """What the projected screen shows: the task, the commitment, the witnesses and their entropy,
    totals and the status — nothing from which a list or a risk class could be rebuilt."""
    task = services.get_task(draw.task_id)
    operate, lists = _require_view(task)
    ctx: dict = {"draw": draw, "task": task, "can_operate": operate, "can_view_lists": lists,
                 "can_view_full": access.can_view_full_record(current_user, task),
                 "form": form or {}, "errors": errors or {}, "rep_roles": services.REPRESENTATIVE_ROLES,
                 "required": services.REQUIRED_WITNESSES, "required_labels": services.REQUIRED_LABELS,
                 "candidates_total": None, "selected_total": None, "teams_total": None}
    if draw.status is not DrawStatus.FINAL or not draw.record:
        ctx["candidates_total"] = sum(len(s["ids"]) for s in services.candidate_strata(draw))
    else:
        rec = services.draw_record(draw)  # composed and checked against the hash sealed at the draw
        ctx["candidates_total"] = sum(len(s["ids"]) for s in rec["strata"])
        ctx["selected_total"] = sum(len(s["selected"]) for s in rec["strata"])
        ctx["record_sha256"] = draw.record_sha256 if rec.get("spec") == "draw-v2" else None
        if draw.kind is DrawKind.INSPECTORS:
            ctx["teams_total"] = rec.get("teams")
    return ctx


@bp.get("/draws/<int:draw_id>")
@login_required
def screen(draw_id: int):
    """The projected draw screen: commitment, witnesses, entropy, then the totals of the result."""
    draw = services.get_draw(draw_id)
    return _no_store(render_template("draws/screen.html", **_screen_context(draw)))


@bp.get("/draws/<int:draw_id>/selection")
@login_required
def selection(draw_id: int):
    """The confidential result of a final draw: the selected objects (all of them for those who see
    every team; a team member the objects of their own team) or the teams with members and matched
    objects. Strata (risk classes) only for those entitled to the full record. Logged."""
    draw = services.get_draw(draw_id)
    task = services.get_task(draw.task_id)
    visible = access.visible_team_ids(current_user, task)
    if visible is not None and not visible:
        abort(403)
    if draw.status is not DrawStatus.FINAL or not draw.record:
        abort(404)
    rec = services.draw_record(draw)
    full = access.can_view_full_record(current_user, task)
    ctx: dict = {"draw": draw, "task": task, "can_view_full": full, "limit": SCREEN_LIMIT,
                 "objects": None, "teams": None}
    if draw.kind is DrawKind.OBJECTS:
        if visible is None:
            rows = [(c, s["name"]) for s in rec["strata"] for c in s["selected"]]
            if not full:  # no risk class, and not in selection order (which follows the keys)
                rows = sorted((c, None) for c, _s in rows)
        else:  # a member: the objects their team visits
            rows = sorted((v.object.code, None) for t in services.team_overview(task)
                          if t["team"].id in visible for v in t["visits"])
        shown = rows[:SCREEN_LIMIT]
        names = services.object_labels([c for c, _s in shown])
        ctx["objects"] = [{"code": c, "name": names.get(c, ""), "stratum": s} for c, s in shown]
        ctx["objects_total"] = len(rows)
        access.log_confidential_view(task, f"draw {draw.id}: selected objects")
    else:
        overview = services.team_overview(task)
        if visible is not None:
            overview = [t for t in overview if t["team"].id in visible]
        ctx["teams"] = overview
        access.log_confidential_view(task, f"draw {draw.id}: teams and matched objects")
    return _no_store(render_template("draws/selection.html", **ctx))


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
        return _no_store((render_template("draws/screen.html", **_screen_context(draw, form=form, errors=errors),
                                          error=err.message), err.status))
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
        return _no_store((render_template("draws/screen.html", **_screen_context(draw, errors={"reason": err.message}),
                                          error=err.message), err.status))
    flash(_("已作废该抽取。可以重新生成承诺值。"), "success")
    return redirect(url_for("draws.task_draws", task_id=task.id))


# -- records API ---------------------------------------------------------------------------------


@bp.get("/api/draws/<int:draw_id>/record")
@login_required
def api_record(draw_id: int):
    """The full record (draw-v1 or draw-v2): seed, nonce, strata and candidates. Only for those
    entitled to it (``access.can_view_full_record``: auditors and the task's initiators; a system
    administrator is refused); the view is logged; never cached."""
    task = services.draw_task(draw_id)
    if not access.can_view_full_record(current_user, task):
        abort(403)
    draw = services.get_draw(draw_id)
    return _no_store(jsonify(services.full_record(draw)))


@bp.get("/api/public/draws/<int:draw_id>/record")
def api_public_record(draw_id: int):
    """The public record (draw-v2 §6, for draw-v1 and draw-v2 records), once the task's visits are
    over; 404 before."""
    draw = services.get_draw(draw_id)
    return jsonify(services.public_record(draw))
