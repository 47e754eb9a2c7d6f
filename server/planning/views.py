"""Screens of annual plans and tasks, plus the public plans (no login).

Everyone logged in reads plans and task headers (never a task's object list or teams); the
joint office and the system administrator manage plans; the initiating department's task
initiators and department admins create and edit tasks; each participating department's
admins, heads and task initiators accept or return a task."""

from __future__ import annotations

import os
import tempfile
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..audit.services import history
from ..core.errors import DomainError
from ..core.pagination import paginate
from ..extensions import db
from ..org.models import Department
from ..registry.models import ObjectType, RegistrationStatus
from . import services
from .models import Acceptance, AnnualPlan, PlanStatus, Task, TaskStatus
from .schemas import PublicAdhocTaskSchema, PublicPlanSchema, PublicTaskSchema
from .services import (
    ACCEPTANCE_LABELS,
    LEVEL_LABELS,
    PLAN_STATUS_LABELS,
    SCOPE_FLAG_LABELS,
    SOURCE_LABELS,
    TASK_STATUS_LABELS,
)

bp = Blueprint("planning", __name__, template_folder="templates")
public_bp = Blueprint("planning_public", __name__, template_folder="templates")

#: multi-value fields of the task form
LIST_FIELDS = ("participant_ids", "check_item_ids", "object_types", "statuses", "flags",
               "supervising_department_ids")
OBJECT_TYPE_LABELS = {
    "enterprise": "企业", "individual": "个体工商户", "cooperative": "农民专业合作社", "other": "其他主体",
    "product": "产品", "project": "项目",
}
STATUS_LABELS = {"active": "存续（在业）", "revoked": "吊销", "cancelled": "注销", "moved_out": "迁出"}


@bp.app_template_filter("task_status_label")
def _task_status_label(status: TaskStatus | None) -> str:
    return str(TASK_STATUS_LABELS[status]) if status else ""


@bp.app_template_filter("plan_status_label")
def _plan_status_label(status: PlanStatus | None) -> str:
    return str(PLAN_STATUS_LABELS[status]) if status else ""


@bp.app_template_filter("plan_level_label")
def _plan_level_label(level) -> str:
    return str(LEVEL_LABELS[level]) if level else ""


def _int_arg(name: str) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None


def _errors(err: DomainError) -> dict[str, str]:
    fields = err.details.get("fields") if err.details else None
    if fields:
        return dict(fields)
    return {err.details.get("field") or "_form": err.message}


# -- annual plans ----------------------------------------------------------------------------------


PLAN_FIELDS = ("year", "level", "department_id", "title", "note")


@bp.get("/plans/")
@login_required
def list_plans():
    """Plans with search, filters (year, issuing department, status) and paging."""
    status = request.args.get("status") or ""
    try:
        status_enum = PlanStatus(status) if status else None
    except ValueError:
        status_enum = None
    q = (request.args.get("q") or "").strip()
    page = paginate(services.search_plans(year=_int_arg("year"), department_id=_int_arg("department_id"),
                                          status=status_enum, q=q))
    return render_template("planning/plans.html", page=page, q=q, status=status, year=_int_arg("year"),
                           department_id=_int_arg("department_id"), departments=services.active_departments(),
                           statuses=list(PlanStatus), can_manage=services.can_manage_plans(current_user))


def _plan_form_context() -> dict:
    from ..org.models import Level

    return {"departments": services.active_departments(), "levels": list(Level)}


def _require_plan_manager() -> None:
    if not services.can_manage_plans(current_user):
        abort(403)


@bp.route("/plans/new", methods=["GET", "POST"])
@login_required
def create_plan():
    """Create a draft plan; on bad input the form comes back with the message by the field."""
    _require_plan_manager()
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in PLAN_FIELDS}
        try:
            plan = services.create_plan(form)
        except DomainError as err:
            db.session.rollback()
            return render_template("planning/plan_form.html", plan=None, form=form, errors=_errors(err),
                                   **_plan_form_context()), err.status
        flash(_("已创建年度计划“%(t)s”。", t=plan.title), "success")
        return redirect(url_for(".show_plan", plan_id=plan.id))
    form = {"year": str(date.today().year), "level": "county", "department_id": "", "title": "", "note": ""}
    return render_template("planning/plan_form.html", plan=None, form=form, errors={}, **_plan_form_context())


@bp.get("/plans/<int:plan_id>")
@login_required
def show_plan(plan_id: int):
    """Plan detail: header, tasks, actions and history. 404 if unknown."""
    plan = services.get_plan(plan_id)
    can_manage = services.can_manage_plans(current_user)
    return render_template(
        "planning/plan_detail.html", plan=plan, tasks=services.plan_tasks(plan), can_manage=can_manage,
        addable=services.tasks_addable_to(plan) if can_manage and plan.status is PlanStatus.DRAFT else [],
        can_create_tasks=services.can_create_tasks(current_user), history=history("annual_plan", plan.id))


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@login_required
def edit_plan(plan_id: int):
    """Edit a draft plan (a published one is refused with 409)."""
    _require_plan_manager()
    plan = services.get_plan(plan_id)
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in PLAN_FIELDS}
        try:
            services.update_plan(plan, form)
        except DomainError as err:
            db.session.rollback()
            plan = services.get_plan(plan_id)
            return render_template("planning/plan_form.html", plan=plan, form=form, errors=_errors(err),
                                   **_plan_form_context()), err.status
        flash(_("已保存年度计划。"), "success")
        return redirect(url_for(".show_plan", plan_id=plan.id))
    form = {"year": str(plan.year), "level": plan.level.value, "department_id": str(plan.department_id),
            "title": plan.title, "note": plan.note or ""}
    return render_template("planning/plan_form.html", plan=plan, form=form, errors={}, **_plan_form_context())


@bp.route("/plans/<int:plan_id>/publish", methods=["GET", "POST"])
@login_required
def publish_plan(plan_id: int):
    """Confirm (GET), then publish (POST) a draft plan: it becomes public and frozen."""
    _require_plan_manager()
    plan = services.get_plan(plan_id)
    if request.method == "GET":
        return render_template("planning/publish_confirm.html", plan=plan, tasks=services.plan_tasks(plan))
    services.publish_plan(plan)
    flash(_("已发布年度计划“%(t)s”，公众可以查询。", t=plan.title), "success")
    return redirect(url_for(".show_plan", plan_id=plan.id))


@bp.post("/plans/<int:plan_id>/tasks")
@login_required
def add_plan_task(plan_id: int):
    """Put an existing task into a draft plan."""
    _require_plan_manager()
    plan = services.get_plan(plan_id)
    task_id = request.form.get("task_id", type=int)
    task = services.get_task(task_id) if task_id else None
    if task is None:
        flash(_("请选择要加入计划的任务。"), "error")
        return redirect(url_for(".show_plan", plan_id=plan.id))
    services.add_task_to_plan(plan, task)
    flash(_("已将任务“%(t)s”加入计划。", t=task.name), "success")
    return redirect(url_for(".show_plan", plan_id=plan.id))


# -- tasks -----------------------------------------------------------------------------------------


@bp.get("/tasks/")
@login_required
def list_tasks():
    """Task headers with search, filters (status, department, year) and paging."""
    status = request.args.get("status") or ""
    try:
        status_enum = TaskStatus(status) if status else None
    except ValueError:
        status_enum = None
    q = (request.args.get("q") or "").strip()
    page = paginate(services.search_tasks(q=q, status=status_enum, department_id=_int_arg("department_id"),
                                          year=_int_arg("year"), plan_id=_int_arg("plan_id")))
    return render_template("planning/tasks.html", page=page, q=q, status=status, year=_int_arg("year"),
                           department_id=_int_arg("department_id"), departments=services.active_departments(),
                           statuses=list(TaskStatus), can_create=services.can_create_tasks(current_user))


def _raw_task_form() -> dict:
    raw: dict = {k: v for k, v in request.form.items() if k not in LIST_FIELDS and not k.startswith("units_")}
    for k in LIST_FIELDS:
        raw[k] = request.form.getlist(k)
    for k in request.form:
        if k.startswith("units_"):
            raw[k] = request.form.getlist(k)
    return raw


def _task_form_context(form: dict, task: Task | None) -> dict:
    from ..catalog.services import current_edition

    edition = current_edition()
    departments = services.active_departments()
    by_id = {d.id: d for d in departments}
    chosen: list[Department] = []
    for value in [form.get("initiating_department_id"), *form.get("participant_ids", [])]:
        try:
            dept = by_id.get(int(value))
        except (TypeError, ValueError):
            dept = None
        if dept is not None and dept not in chosen:
            chosen.append(dept)
    plans = list(db.session.execute(
        select(AnnualPlan).where(AnnualPlan.status == PlanStatus.DRAFT).order_by(AnnualPlan.year.desc())).scalars())
    if task is not None and task.plan is not None and task.plan not in plans:
        plans.insert(0, task.plan)
    return {
        "task": task, "form": form, "departments": departments,
        "initiators": services.initiating_department_choices(current_user),
        "plans": plans, "edition": edition, "items": edition.items if edition else [],
        "chosen": chosen, "units": {d.id: services.units_of(d.id) for d in chosen},
        "object_types": [(t.value, OBJECT_TYPE_LABELS[t.value]) for t in ObjectType],
        "reg_statuses": [(s.value, STATUS_LABELS[s.value]) for s in RegistrationStatus],
        "flags": [(k, str(v)) for k, v in SCOPE_FLAG_LABELS.items()],
        "min_ratios": {k: services.percent(v) for k, v in services.min_ratios().items()},
        "all_min": services.percent(services.all_min_ratio()),
    }


def _render_task_form(form: dict, task: Task | None, errors: dict, status: int = 200):
    return render_template("planning/task_form.html", errors=errors, **_task_form_context(form, task)), status


@bp.route("/tasks/new", methods=["GET", "POST"])
@login_required
def create_task():
    """Create a draft task. "更新部门设置" re-renders the form (input kept) with a settings row per
    chosen department; bad input re-renders it with the messages by the fields (422)."""
    if not services.can_create_tasks(current_user):
        abort(403)
    if request.method == "POST":
        form = _raw_task_form()
        if request.form.get("action") == "refresh":
            return _render_task_form(form, None, {})
        try:
            data = services.clean_task_data(form, user=current_user)
            task = services.create_task(data, user=current_user)
        except DomainError as err:
            db.session.rollback()
            return _render_task_form(form, None, _errors(err), err.status)
        flash(_("已保存任务草稿“%(t)s”（%(c)s）。", t=task.name, c=task.code), "success")
        return redirect(url_for(".show_task", task_id=task.id))
    plan_id = _int_arg("plan_id")
    plan = db.session.get(AnnualPlan, plan_id) if plan_id else None
    initiators = services.initiating_department_choices(current_user)
    form = services.new_task_form_values(plan=plan, initiator_id=initiators[0].id if len(initiators) == 1 else None)
    return _render_task_form(form, None, {})


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@login_required
def edit_task(task_id: int):
    """Edit a draft task (its initiating department's task initiators and admins)."""
    task = services.get_task(task_id)
    if not services.can_manage_task(current_user, task):
        abort(403)
    if task.status is not TaskStatus.DRAFT:
        flash(_("只有草稿状态的任务可以修改。"), "error")
        return redirect(url_for(".show_task", task_id=task.id))
    if request.method == "POST":
        form = _raw_task_form()
        if request.form.get("action") == "refresh":
            return _render_task_form(form, task, {})
        try:
            data = services.clean_task_data(form, user=current_user, task=task)
            services.update_task(task, data, expected_version=request.form.get("version"))
        except DomainError as err:
            db.session.rollback()
            task = services.get_task(task_id)
            return _render_task_form(form, task, _errors(err), err.status)
        flash(_("已保存任务“%(t)s”。", t=task.name), "success")
        return redirect(url_for(".show_task", task_id=task.id))
    return _render_task_form({**services.task_form_values(task), "version": str(task.version)}, task, {})


def _task_items(task: Task) -> list[dict]:
    from ..catalog.models import CheckItem, ChecklistTemplate

    out = []
    for row in task.check_items:
        item = db.session.get(CheckItem, row.check_item_id)
        template = db.session.get(ChecklistTemplate, row.template_id) if row.template_id else None
        out.append({"row": row, "item": item, "template": template,
                    "department": db.session.get(Department, row.department_id)})
    return out


def _draws_url(task: Task) -> str | None:
    if "draws.task_draws" in current_app.view_functions:
        return url_for("draws.task_draws", task_id=task.id)
    return None


def _detail_response(task: Task, *, errors: dict | None = None, status: int = 200):
    decidable = {d.department_id for d in task.departments
                 if task.status is TaskStatus.PENDING and d.acceptance is not Acceptance.ACCEPTED
                 and services.can_decide_for(current_user, d.department_id)}
    can_manage = services.can_manage_task(current_user, task)
    has_selection = bool(services.selected_object_ids(task)) if task.parent_task_id is None else False
    unit_names = {}
    for d in task.departments:
        for u in services.units_of(d.department_id):
            unit_names[u.id] = u.name
    return render_template(
        "planning/task_detail.html", task=task, items=_task_items(task), decidable=decidable,
        can_edit=services.can_edit_task(current_user, task), can_manage=can_manage,
        can_dispatch=can_manage and has_selection, children=services.child_tasks(task),
        candidates=services.candidate_count(task), draws_url=_draws_url(task), unit_names=unit_names,
        acceptance_labels=ACCEPTANCE_LABELS, source_labels=SOURCE_LABELS, object_type_labels=OBJECT_TYPE_LABELS,
        status_labels=STATUS_LABELS, flag_labels=SCOPE_FLAG_LABELS, percent=services.percent,
        errors=errors or {}, form=request.form if errors else {}, history=history("task", task.id),
        show_ratios=_may_see_ratios(task)), status


def _may_see_ratios(task: Task) -> bool:
    """Per-stratum ratios name credit-risk classes and, with the registry's counts, give the size of
    every stratum's selection: before the visits are over only those entitled to the draw's full
    record see them (spec draw-v2; issue 7 §1)."""
    from ..teams.access import can_view_full_record

    return task.status is TaskStatus.VISITS_OVER or can_view_full_record(current_user, task)


@bp.get("/tasks/<int:task_id>")
@login_required
def show_task(task_id: int):
    """Task detail: header, departments with acceptance, items, scope, strata, team settings,
    candidate count, children, a link to the draws and the history. Never the object list."""
    return _detail_response(services.get_task(task_id))


def _refused(task_id: int, err: DomainError):
    """Roll back and show the task again with the message (the status of the refusal)."""
    db.session.rollback()
    errors = _errors(err)
    if "_form" not in errors:
        errors["_form"] = err.message
    return _detail_response(services.get_task(task_id), errors=errors, status=err.status)


@bp.post("/tasks/<int:task_id>/submit")
@login_required
def submit_task(task_id: int):
    """Submit a draft for acceptance by the participating departments."""
    task = services.get_task(task_id)
    if not services.can_manage_task(current_user, task):
        abort(403)
    try:
        services.submit_task(task, user=current_user)
    except DomainError as err:
        return _refused(task_id, err)
    flash(_("已提交，等待各参与部门确认。") if task.status is TaskStatus.PENDING
          else _("已提交；没有其他参与部门，任务已确认。"), "success")
    return redirect(url_for(".show_task", task_id=task.id))


def _department_arg() -> int:
    dept_id = request.form.get("department_id", type=int)
    if dept_id is None:
        abort(400)
    return dept_id


@bp.post("/tasks/<int:task_id>/accept")
@login_required
def accept_task(task_id: int):
    """Accept the task for one's own department (403 for another department's user)."""
    task = services.get_task(task_id)
    try:
        services.accept_task(task, _department_arg(), user=current_user, comment=request.form.get("comment"))
    except DomainError as err:
        if err.status == 403:
            raise
        return _refused(task_id, err)
    flash(_("已接受该任务。"), "success")
    return redirect(url_for(".show_task", task_id=task.id))


@bp.post("/tasks/<int:task_id>/return")
@login_required
def return_task(task_id: int):
    """Return the task to its initiator with a comment (required)."""
    task = services.get_task(task_id)
    try:
        services.return_task(task, _department_arg(), user=current_user, comment=request.form.get("comment", ""))
    except DomainError as err:
        if err.status == 403:
            raise
        return _refused(task_id, err)
    flash(_("已退回该任务，发起部门修改后可重新提交。"), "success")
    return redirect(url_for(".show_task", task_id=task.id))


@bp.post("/tasks/<int:task_id>/candidates")
@login_required
def upload_candidates(task_id: int):
    """Upload a CSV/XLSX of credit codes as the task's candidate list (replaces the previous one)."""
    task = services.get_task(task_id)
    if not services.can_edit_task(current_user, task):
        abort(403)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise DomainError("no_file", _("请选择要上传的候选名单文件（CSV 或 XLSX）。"), status=422)
    suffix = os.path.splitext(upload.filename)[1][:10]
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            upload.save(fh)
        rows = services.read_codes(path, upload.filename)
        report = services.import_candidates(task, rows)
    except DomainError as err:
        return _refused(task_id, err)
    finally:
        os.unlink(path)
    flash(_("已导入 %(n)s 个候选检查对象。", n=report.added), "success")
    if report.unknown:
        shown = "、".join(report.unknown[:20]) + ("……" if len(report.unknown) > 20 else "")
        flash(_("%(n)s 个统一社会信用代码不在检查对象名录库中，未导入：%(c)s", n=len(report.unknown), c=shown), "warning")
    if report.invalid:
        shown = "、".join(f"第{r}行“{t}”" for r, t in report.invalid[:20])
        flash(_("%(n)s 行不是统一社会信用代码，已忽略：%(c)s", n=len(report.invalid), c=shown), "warning")
    if report.duplicates:
        flash(_("%(n)s 个重复的代码已合并。", n=report.duplicates), "success")
    return redirect(url_for(".show_task", task_id=task.id))


@bp.route("/tasks/<int:task_id>/dispatch", methods=["GET", "POST"])
@login_required
def dispatch_task(task_id: int):
    """Dispatch the drawn objects to lower-level departments (one joint child task each) [000#13].

    "预览" (``action=preview``) shows the children (departments, object counts) and the objects no
    child matches, with a decision for each; "下派" dispatches, and is refused while an unmatched
    object has no decision (the list is shown, the form keeps what was typed)."""
    from . import dispatch as dispatching

    task = services.get_task(task_id)
    if not services.can_manage_task(current_user, task):
        abort(403)
    targets = services.dispatch_targets(task)
    form = {"department_ids": request.form.getlist("department_ids"),
            "teams_count": request.form.get("teams_count", str(task.teams_count)),
            "members_per_team": request.form.get("members_per_team", "1"),
            "values": request.form}

    def page(errors: dict, status: int = 200, plan=None, unmatched=None):
        chosen = [d for d in targets if str(d.id) in form["department_ids"]]
        if plan is not None and unmatched is None:
            unmatched = plan.unmatched
        return render_template(
            "planning/dispatch.html", task=task, targets=targets, form=form, errors=errors, plan=plan,
            unmatched=unmatched or [], chosen=chosen, decision_labels=dispatching.DECISION_LABELS,
            decisions=dispatching.decisions_of(task), selected=len(services.selected_object_ids(task))), status

    if request.method == "POST":
        try:
            teams = int(form["teams_count"])
            members = int(form["members_per_team"])
        except ValueError:
            return page({"teams_count": _("请填写整数。")}, 422)
        try:
            if request.form.get("action") == "preview":
                return page({}, 200, plan=dispatching.preview_dispatch(task, form["department_ids"]))
            report = services.dispatch_task(task, form["department_ids"], user=current_user, teams_count=teams,
                                            members_per_team=members,
                                            decisions=dispatching.decisions_from_form(request.form))
        except DomainError as err:
            db.session.rollback()
            task = services.get_task(task_id)
            errors = _errors(err)
            plan = None
            if err.code in ("unmatched_objects", "invalid_input") and form["department_ids"]:
                try:
                    plan = dispatching.preview_dispatch(task, form["department_ids"])
                except DomainError:
                    plan = None
                db.session.rollback()
            if "_form" not in errors:
                errors["_form"] = err.message
            return page(errors, err.status, plan=plan)
        flash(_("已下派 %(n)s 个任务。", n=len(report.children)), "success")
        if report.skipped:
            flash(_("以下部门没有辖区内的抽中对象，未下派：%(d)s", d="、".join(d.name for d in report.skipped)), "warning")
        if report.kept or report.excluded or report.assigned:
            flash(_("未匹配对象的处理已记录：留在本级检查 %(k)s 个，指派 %(a)s 个，排除 %(e)s 个。",
                    k=len(report.kept), a=len(report.assigned), e=len(report.excluded)), "success")
        return redirect(url_for(".show_task", task_id=task.id))
    return page({})


@bp.get("/tasks/joint-share")
@login_required
def joint_share():
    """Per department, the joint tasks it leads / all tasks it leads for a year; a warning below 10% [001#7]."""
    year = _int_arg("year") or date.today().year
    minimum = services.joint_min_share()
    rows = services.joint_shares(year)
    return render_template("planning/joint_share.html", rows=rows, year=year, minimum=minimum,
                           minimum_text=services.percent(minimum))


# -- public (no login) -----------------------------------------------------------------------------


@public_bp.get("/public/plans")
def public_plans():
    """Published plans, newest first, and the filed ad-hoc tasks."""
    return render_template("planning/public_plans.html", plans=services.published_plans(),
                           adhoc=PublicAdhocTaskSchema(many=True).dump(services.public_adhoc_tasks()))


@public_bp.get("/public/plans/<int:plan_id>")
def public_plan(plan_id: int):
    """One published plan with its tasks' public fields (404 for a draft)."""
    plan = services.get_published_plan(plan_id)
    tasks = PublicTaskSchema(many=True).dump(services.plan_tasks(plan))
    return render_template("planning/public_plan.html", plan=plan, tasks=tasks)


@public_bp.get("/api/public/plans")
def public_plans_json():
    """JSON ``{"plans": [...]}`` of the published plans (public fields only)."""
    return jsonify(plans=PublicPlanSchema(many=True).dump(services.published_plans()))


@public_bp.get("/api/public/plans/<int:plan_id>")
def public_plan_json(plan_id: int):
    """JSON of one published plan with ``tasks`` (name, code, departments, items, period). 404 for a draft."""
    plan = services.get_published_plan(plan_id)
    body = PublicPlanSchema().dump(plan)
    body["tasks"] = PublicTaskSchema(many=True).dump(services.plan_tasks(plan))
    return jsonify(body)


@public_bp.get("/api/public/adhoc-tasks")
def public_adhoc_json():
    """JSON ``{"tasks": [...]}`` of the filed ad-hoc tasks (``?year=`` optional): public fields and
    the filing reason."""
    tasks = services.public_adhoc_tasks(_int_arg("year"))
    return jsonify(tasks=PublicAdhocTaskSchema(many=True).dump(tasks))
