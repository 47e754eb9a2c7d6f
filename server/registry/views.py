"""Back-office screens of the two registries: list with search, filters and paging; detail with
history; create and edit forms that keep the user's input on error."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..audit.services import history
from ..auth.roles import MASTER_DATA_EDITORS, Role, can_edit_department_data, roles_required
from ..core.errors import DomainError
from ..extensions import db
from ..org.models import Department, Kind, Level
from ..teams.access import can_see_risk_class
from . import labels, services
from .models import (
    InspectedObject,
    Inspector,
    InspectorStatus,
    ObjectType,
    RegistrationStatus,
    RiskClass,
)
from .validation import INSPECTOR_FIELDS, OBJECT_FIELDS

bp = Blueprint("registry", __name__, template_folder="templates")


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"registry_labels": labels}


def _enum_arg(enum_cls, name: str):
    value = request.args.get(name, "").strip()
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _page_arg() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _departments(kind: Kind | None = Kind.DEPARTMENT) -> list[Department]:
    stmt = select(Department).order_by(Department.level, Department.name)
    if kind is not None:
        stmt = stmt.where(Department.kind == kind)
    return list(db.session.execute(stmt).scalars())


def _error_map(err: DomainError) -> dict[str, list[str]]:
    """Return {field: [messages]} for a domain error, for the form's field_errors."""
    fields = err.details.get("fields")
    if fields:
        return fields
    return {err.details.get("field") or "_": [err.message]}


def can_edit_objects() -> bool:
    return current_user.has_role(*MASTER_DATA_EDITORS)


def can_edit_inspector(ins: Inspector | None = None) -> bool:
    if ins is None:
        return current_user.has_role(*MASTER_DATA_EDITORS)
    return can_edit_department_data(current_user, ins.department_id)


# -- objects -----------------------------------------------------------------------------------


def _object_filters() -> services.ObjectFilters:
    return services.ObjectFilters(
        q=request.args.get("q", ""),
        region_county=request.args.get("county", ""),
        region_town=request.args.get("town", ""),
        jurisdiction_level=_enum_arg(Level, "level"),
        object_type=_enum_arg(ObjectType, "type"),
        industry=request.args.get("industry", ""),
        scope=request.args.get("scope", ""),
        status=_enum_arg(RegistrationStatus, "status"),
        department_id=_int_arg("department"),
        abnormal=request.args.get("abnormal") == "1",
        serious=request.args.get("serious") == "1",
        min_complaints=_int_arg("complaints"),
        risk_class=_enum_arg(RiskClass, "risk"),
    )


@bp.get("/objects/")
@login_required
def list_objects():
    """The object registry: search by name or code, filters, 50 per page without a full count.

    The internal credit-risk class (filter and column) only for ``can_see_risk_class``: a risk filter
    from anybody else is refused 403 ``risk_class_internal``."""
    filters = _object_filters()
    show_risk = can_see_risk_class(current_user)
    stmt = services.search_objects(filters, internal=show_risk)
    page = services.fetch_page(stmt, _page_arg(), 50)
    return render_template("registry/objects/list.html", page=page, filters=filters,
                           departments=_departments(), can_edit=can_edit_objects(), show_risk=show_risk)


@bp.get("/objects/<int:object_id>")
@login_required
def show_object(object_id: int):
    obj = services.get_object(object_id) or abort(404)
    return render_template("registry/objects/detail.html", obj=obj, history=history("object", obj.id),
                           can_edit=can_edit_objects(), show_risk=can_see_risk_class(current_user))


def _object_form_from(obj: InspectedObject) -> dict[str, Any]:
    return {
        "code": obj.code,
        "name": obj.name,
        "object_type": obj.object_type.value,
        "legal_representative": obj.legal_representative or "",
        "address": obj.address or "",
        "region_county": obj.region_county or "",
        "region_town": obj.region_town or "",
        "jurisdiction_level": obj.jurisdiction_level.value,
        "industry": obj.industry or "",
        "business_scope": obj.business_scope or "",
        "registration_status": obj.registration_status.value,
        "registered_on": obj.registered_on.isoformat() if obj.registered_on else "",
        "risk_class": obj.risk_class.value if obj.risk_class else "",
        "abnormal_list": "是" if obj.abnormal_list else "",
        "serious_violation": "是" if obj.serious_violation else "",
        "complaint_count": str(obj.complaint_count),
        "supervising_departments": [d.code for d in obj.supervising_departments],
        "business_peak": obj.business_peak or "",
        "version": str(obj.version),
    }


def _object_row_from_request() -> dict[str, Any]:
    row: dict[str, Any] = {f: request.form.get(f, "") for f in OBJECT_FIELDS}
    row["supervising_departments"] = request.form.getlist("supervising_departments")
    return row


def _render_object_form(obj: InspectedObject | None, form: dict, errors: dict | None = None,
                        status: int = 200, error: str | None = None):
    return render_template("registry/objects/form.html", obj=obj, form=form, errors=errors or {},
                           error=error, departments=_departments(),
                           can_accept_code=current_user.has_role(Role.SYSTEM_ADMIN)), status


@bp.route("/objects/new", methods=["GET", "POST"])
@roles_required(*MASTER_DATA_EDITORS)
def new_object():
    if request.method == "GET":
        return _render_object_form(None, {"object_type": "enterprise", "jurisdiction_level": "county",
                                          "registration_status": "active", "complaint_count": "0",
                                          "supervising_departments": []})
    row = _object_row_from_request()
    try:
        obj = services.create_object(row, user=current_user,
                                     code_exception_reason=request.form.get("code_exception_reason") or None)
    except DomainError as err:
        form = {**row, "code_exception_reason": request.form.get("code_exception_reason", "")}
        return _render_object_form(None, form, _error_map(err), err.status, err.message)
    flash(_("已登记检查对象“%(name)s”（%(code)s）。", name=obj.name, code=obj.code), "success")
    return redirect(url_for(".show_object", object_id=obj.id))


@bp.route("/objects/<int:object_id>/edit", methods=["GET", "POST"])
@roles_required(*MASTER_DATA_EDITORS)
def edit_object(object_id: int):
    obj = services.get_object(object_id) or abort(404)
    if request.method == "GET":
        return _render_object_form(obj, _object_form_from(obj))
    row = _object_row_from_request()
    try:
        services.update_object(obj, row, request.form.get("version"), user=current_user,
                               code_exception_reason=request.form.get("code_exception_reason") or None)
    except DomainError as err:
        db.session.rollback()
        obj = services.get_object(object_id) or abort(404)
        form = {**row, "version": request.form.get("version", ""),
                "code_exception_reason": request.form.get("code_exception_reason", "")}
        return _render_object_form(obj, form, _error_map(err), err.status, err.message)
    flash(_("已保存检查对象“%(name)s”。", name=obj.name), "success")
    return redirect(url_for(".show_object", object_id=obj.id))


# -- inspectors --------------------------------------------------------------------------------


def _inspector_filters() -> services.InspectorFilters:
    expert = request.args.get("expert", "")
    return services.InspectorFilters(
        q=request.args.get("q", ""),
        certificate_no=request.args.get("certificate", ""),
        department_id=_int_arg("department"),
        unit_id=_int_arg("unit"),
        expertise=request.args.get("expertise", ""),
        status=_enum_arg(InspectorStatus, "status"),
        expert=True if expert == "1" else False if expert == "0" else None,
        qualified_on=_date_arg("qualified_on"),
    )


@bp.get("/inspectors/")
@login_required
def list_inspectors():
    """The inspector registry with search, filters and paging."""
    filters = _inspector_filters()
    page = services.fetch_page(services.search_inspectors(filters), _page_arg(), 50)
    return render_template("registry/inspectors/list.html", page=page, filters=filters,
                           departments=_departments(), units=_departments(Kind.UNIT),
                           tags=services.expertise_tags(), can_edit=can_edit_inspector())


@bp.get("/inspectors/<int:inspector_id>")
@login_required
def show_inspector(inspector_id: int):
    ins = db.session.get(Inspector, inspector_id) or abort(404)
    return render_template("registry/inspectors/detail.html", ins=ins, history=history("inspector", ins.id),
                           can_edit=can_edit_inspector(ins))


def _inspector_form_from(ins: Inspector) -> dict[str, Any]:
    return {
        "department": ins.department.code,
        "unit": ins.unit.code if ins.unit else "",
        "name": ins.name,
        "gender": ins.gender.value if ins.gender else "",
        "title": ins.title or "",
        "expertise": "、".join(ins.expertise),
        "certificate_no": ins.certificate_no or "",
        "phone": ins.phone or "",
        "qualification": ins.qualification or "",
        "qualification_valid_from": ins.qualification_valid_from.isoformat() if ins.qualification_valid_from else "",
        "qualification_valid_until": (ins.qualification_valid_until.isoformat()
                                      if ins.qualification_valid_until else ""),
        "status": ins.status.value,
        "is_expert": "是" if ins.is_expert else "",
        "version": str(ins.version),
    }


def _render_inspector_form(ins: Inspector | None, form: dict, errors: dict | None = None,
                           status: int = 200, error: str | None = None):
    departments = [d for d in _departments() if can_edit_department_data(current_user, d.id)]
    units = [u for u in _departments(Kind.UNIT) if can_edit_department_data(current_user, u.id)]
    return render_template("registry/inspectors/form.html", ins=ins, form=form, errors=errors or {},
                           error=error, departments=departments, units=units), status


@bp.route("/inspectors/new", methods=["GET", "POST"])
@roles_required(*MASTER_DATA_EDITORS)
def new_inspector():
    if request.method == "GET":
        own = current_user.department.code if current_user.department else ""
        return _render_inspector_form(None, {"department": own, "status": "on_duty"})
    row = {f: request.form.get(f, "") for f in INSPECTOR_FIELDS}
    try:
        ins = services.create_inspector(row, user=current_user)
    except DomainError as err:
        return _render_inspector_form(None, row, _error_map(err), err.status, err.message)
    flash(_("已登记执法检查人员“%(name)s”。", name=ins.name), "success")
    return redirect(url_for(".show_inspector", inspector_id=ins.id))


@bp.route("/inspectors/<int:inspector_id>/edit", methods=["GET", "POST"])
@roles_required(*MASTER_DATA_EDITORS)
def edit_inspector(inspector_id: int):
    ins = db.session.get(Inspector, inspector_id) or abort(404)
    if not can_edit_inspector(ins):
        abort(403)
    if request.method == "GET":
        return _render_inspector_form(ins, _inspector_form_from(ins))
    row = {f: request.form.get(f, "") for f in INSPECTOR_FIELDS}
    try:
        services.update_inspector(ins, row, request.form.get("version"), user=current_user)
    except DomainError as err:
        db.session.rollback()
        ins = db.session.get(Inspector, inspector_id) or abort(404)
        return _render_inspector_form(ins, {**row, "version": request.form.get("version", "")},
                                      _error_map(err), err.status, err.message)
    flash(_("已保存执法检查人员“%(name)s”。", name=ins.name), "success")
    return redirect(url_for(".show_inspector", inspector_id=ins.id))
