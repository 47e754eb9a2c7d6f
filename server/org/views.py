"""Department screens: tree, search, detail with history, create/edit, deactivate.

Everyone logged in reads; the system administrator and the joint office edit."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..audit.services import history
from ..auth.roles import Role, roles_required
from ..core.errors import DomainError
from ..core.pagination import paginate
from ..extensions import db
from . import services
from .models import Department, Kind, Level
from .services import KIND_LABELS, LEVEL_LABELS

bp = Blueprint("org", __name__, url_prefix="/departments", template_folder="templates")

#: who may create, edit and deactivate departments
DEPARTMENT_EDITORS = (Role.SYSTEM_ADMIN, Role.JOINT_OFFICE)


@bp.app_template_filter("level_label")
def _level_label(level: Level | None) -> str:
    return str(LEVEL_LABELS[level]) if level else ""


@bp.app_template_filter("kind_label")
def _kind_label(kind: Kind | None) -> str:
    return str(KIND_LABELS[kind]) if kind else ""


def _can_edit() -> bool:
    return current_user.is_authenticated and current_user.has_role(*DEPARTMENT_EDITORS)


def _enum_arg(enum_cls, raw: str | None):
    try:
        return enum_cls(raw) if raw else None
    except ValueError:
        return None


@bp.get("/")
@login_required
def list_departments():
    """The department tree; with a search text or filters, a flat paged list of matches."""
    q = (request.args.get("q") or "").strip()
    level = _enum_arg(Level, request.args.get("level"))
    kind = _enum_arg(Kind, request.args.get("kind"))
    status = request.args.get("status", "active")
    active = {"active": True, "inactive": False}.get(status)
    searching = bool(q or level or kind)
    page = tree = None
    if searching:
        page = paginate(services.search_departments(q, level=level, kind=kind, active=active))
    else:
        tree = services.department_tree(
            db.session.execute(services.search_departments(active=active)).scalars().all())
    return render_template("org/list.html", q=q, level=level, kind=kind, status=status, page=page,
                           tree=tree, searching=searching, levels=list(Level), kinds=list(Kind),
                           can_edit=_can_edit())


@bp.get("/<int:department_id>")
@login_required
def show_department(department_id: int):
    """Detail of one department with its parents, children and change history. 404 if unknown."""
    dept = services.get_department(department_id)
    from ..auth.models import User

    children = sorted(dept.children, key=lambda d: (d.kind is Kind.UNIT, d.code))
    user_count = db.session.execute(
        select(func.count()).select_from(User).where(User.department_id == dept.id)
    ).scalar_one()
    return render_template("org/detail.html", dept=dept, children=children, user_count=user_count,
                           history=history("department", dept.id), can_edit=_can_edit())


def _form_data() -> dict:
    return {k: request.form.get(k, "") for k in services.FIELDS}


def _form_context(dept: Department | None) -> dict:
    exclude = services.descendant_ids(dept.id) | {dept.id} if dept is not None else set()
    parents = [(d, depth) for d, depth in services.department_choices(kinds=(Kind.DEPARTMENT,))
               if d.id not in exclude]
    if dept is not None and dept.parent is not None and all(d.id != dept.parent_id for d, _ in parents):
        parents.insert(0, (dept.parent, 0))  # keep an inactive current parent selectable
    return {"parents": parents, "levels": list(Level), "kinds": list(Kind)}


def _error_dict(err: DomainError) -> dict[str, str]:
    return {err.details.get("field") or "_form": err.message}


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*DEPARTMENT_EDITORS)
def create_department():
    """Create a department or unit; on bad input the form comes back with the message by the field."""
    form = _form_data() if request.method == "POST" else {
        "kind": request.args.get("kind", "department"), "parent_id": request.args.get("parent_id", ""),
        "level": request.args.get("level", "county")}
    if request.method == "POST":
        try:
            dept = services.create_department(**form)
        except DomainError as err:
            return render_template("org/form.html", dept=None, form=form, errors=_error_dict(err),
                                   **_form_context(None)), err.status
        flash(_("已创建“%(name)s”。", name=dept.name), "success")
        return redirect(url_for("org.show_department", department_id=dept.id))
    return render_template("org/form.html", dept=None, form=form, errors={}, **_form_context(None))


@bp.route("/<int:department_id>/edit", methods=["GET", "POST"])
@roles_required(*DEPARTMENT_EDITORS)
def edit_department(department_id: int):
    """Edit a department; the same validation as create."""
    dept = services.get_department(department_id)
    if request.method == "POST":
        form = _form_data()
        try:
            services.update_department(dept, **form)
        except DomainError as err:
            db.session.rollback()
            dept = services.get_department(department_id)
            return render_template("org/form.html", dept=dept, form=form, errors=_error_dict(err),
                                   **_form_context(dept)), err.status
        flash(_("已保存“%(name)s”。", name=dept.name), "success")
        return redirect(url_for("org.show_department", department_id=dept.id))
    form = {"code": dept.code, "name": dept.name, "short_name": dept.short_name or "",
            "level": dept.level.value, "kind": dept.kind.value, "region": dept.region or "",
            "parent_id": str(dept.parent_id or "")}
    return render_template("org/form.html", dept=dept, form=form, errors={}, **_form_context(dept))


@bp.post("/<int:department_id>/active")
@roles_required(*DEPARTMENT_EDITORS)
def set_active(department_id: int):
    """Deactivate (``active=0``) or reactivate (``active=1``) a department."""
    dept = services.get_department(department_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    services.set_department_active(dept, wanted == "1")
    flash(_("已启用“%(name)s”。", name=dept.name) if wanted == "1"
          else _("已停用“%(name)s”。", name=dept.name), "success")
    return redirect(url_for("org.show_department", department_id=dept.id))
