"""Screens of the check-item list and the checklist editor, plus the public list (no login).

Handlers parse the request, check access, then call :mod:`server.catalog.services`.
Reading needs a login (the public list excepted); editing editions needs system admin or joint
office; editing items and checklists also allows the department admin of the item's initiating
department / the checklist's owning department.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..audit.services import history
from ..auth.roles import Role, can_edit_department_data
from ..core.errors import Conflict, Forbidden, NotFound
from ..core.pagination import paginate
from ..extensions import db
from ..org.models import Department, Kind
from ..registry.models import ObjectType
from . import services
from .models import (
    METHOD_LABELS,
    OBJECT_TYPE_LABELS,
    QUESTION_TYPE_LABELS,
    STATUS_LABELS,
    CheckItem,
    CheckMethod,
    ListEdition,
    QuestionType,
    Status,
)
from .schemas import PublicListSchema
from .services import ValidationFailed

bp = Blueprint("catalog", __name__, url_prefix="/catalog", template_folder="templates")
public_bp = Blueprint("catalog_public", __name__, template_folder="templates")

ITEM_MULTI_FIELDS = ("cooperating_department_ids", "methods")


# -- access ---------------------------------------------------------------------------------------


def _deny() -> Forbidden:
    return Forbidden("forbidden", _("您没有权限执行此操作。如需权限，请联系联席办或本部门管理员。"))


def can_edit_editions(user) -> bool:
    """System admin and joint office manage editions (create, publish, delete)."""
    return user.is_authenticated and user.has_role(Role.SYSTEM_ADMIN, Role.JOINT_OFFICE)


def can_edit_items(user) -> bool:
    """Who may add items to a draft at all (a department admin only for their own department)."""
    return user.is_authenticated and user.has_role(Role.SYSTEM_ADMIN, Role.JOINT_OFFICE, Role.DEPT_ADMIN)


def can_edit_item(user, item: CheckItem) -> bool:
    return user.is_authenticated and can_edit_department_data(user, item.initiating_department_id)


def can_edit_template_of(user, department_id: int) -> bool:
    return user.is_authenticated and can_edit_department_data(user, department_id)


def _require(allowed: bool) -> None:
    if not allowed:
        raise _deny()


def template_globals() -> dict[str, Any]:
    """Labels the catalog templates (and their imported macros) use; see ``init_app``."""
    return {
        "METHOD_LABELS": METHOD_LABELS,
        "OBJECT_TYPE_LABELS": OBJECT_TYPE_LABELS,
        "QUESTION_TYPE_LABELS": QUESTION_TYPE_LABELS,
        "STATUS_LABELS": STATUS_LABELS,
        "method_label": lambda code: METHOD_LABELS.get(CheckMethod(code), code),
    }


def _departments() -> list[Department]:
    return list(db.session.execute(
        select(Department).where(Department.active.is_(True), Department.kind == Kind.DEPARTMENT)
        .order_by(Department.level, Department.name)
    ).scalars())


def _form_values(form, multi: tuple[str, ...] = ()) -> dict[str, Any]:
    values: dict[str, Any] = form.to_dict()
    values.pop("csrf_token", None)
    for name in multi:
        values[name] = form.getlist(name)
    return values


def _int_arg(name: str) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None


# -- editions and the list ------------------------------------------------------------------------


@bp.get("/")
@login_required
def list_items():
    """The items of one edition (``?edition=<id>``; default: the current one, else the draft),
    searchable by text and filterable by department, object type and domain, paged."""
    edition_id = _int_arg("edition")
    if edition_id:
        edition = services.get_edition(edition_id)
    else:
        edition = services.current_edition() or services.draft_edition()
    q = (request.args.get("q") or "").strip()
    department_id = _int_arg("department")
    object_type = request.args.get("object_type") or None
    domain = request.args.get("domain") or None
    pagination = None
    domains: list[str] = []
    if edition is not None:
        pagination = paginate(services.search_items(edition, q=q, department_id=department_id,
                                                    object_type=object_type, domain=domain))
        domains = sorted({i.domain for i in edition.items})
    current = services.current_edition()
    return render_template(
        "catalog/items.html", edition=edition, pagination=pagination, q=q, department_id=department_id,
        object_type=object_type, domain=domain, domains=domains, departments=_departments(),
        object_types=list(ObjectType), current=current, draft=services.draft_edition(),
        can_edit_editions=can_edit_editions(current_user), can_edit_items=can_edit_items(current_user),
        history=history("check_list_edition", edition.id) if edition else [],
    )


def _default_title(number: int) -> str:
    base = _("市场监管领域部门联合抽查事项清单")
    current = services.current_edition()
    if current is not None:
        base = current.title.split("（第")[0]
    return _("%(base)s（第%(n)s版）", base=base, n=chinese_number(number))


def chinese_number(n: int) -> str:
    """Return 1–99 in Chinese numerals (一, 十二, 二十 …); other numbers as digits."""
    digits = "零一二三四五六七八九"
    if 1 <= n < 10:
        return digits[n]
    if 10 <= n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
    return str(n)


@bp.get("/editions")
@login_required
def list_editions():
    """The edition history, newest first, and the form to start a new edition."""
    editions = services.list_editions()
    number = (editions[0].number + 1) if editions else 1
    current = services.current_edition()
    values = {"title": _default_title(number),
              "issuer_id": str(current.issuer_id) if current else ""}
    return render_template("catalog/editions.html", editions=editions, current=current,
                           draft=services.draft_edition(), departments=_departments(), values=values,
                           errors={}, can_edit_editions=can_edit_editions(current_user))


@bp.post("/editions")
@login_required
def create_edition():
    """Start a new draft edition (copying the current list, if any)."""
    _require(can_edit_editions(current_user))
    values = _form_values(request.form)
    try:
        edition = services.create_edition(title=values.get("title"), issuer_id=values.get("issuer_id"),
                                          note=values.get("note"))
    except ValidationFailed as err:
        editions = services.list_editions()
        return render_template("catalog/editions.html", editions=editions,
                               current=services.current_edition(), draft=services.draft_edition(),
                               departments=_departments(), values=values, errors=err.errors,
                               can_edit_editions=True), 422
    flash(_("已新建草稿版本“%(t)s”。", t=edition.title), "success")
    return redirect(url_for(".list_items", edition=edition.id))


@bp.route("/editions/<int:edition_id>/edit", methods=["GET", "POST"])
@login_required
def edit_edition(edition_id: int):
    """Edit a draft edition's title, issuer and note."""
    edition = services.get_edition(edition_id)
    _require(can_edit_editions(current_user))
    services._ensure_draft_edition(edition)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form_values(request.form)
        try:
            services.update_edition(edition, title=values.get("title"), issuer_id=values.get("issuer_id"),
                                    note=values.get("note"))
        except ValidationFailed as err:
            return render_template("catalog/edition_form.html", edition=edition, values=values,
                                   errors=err.errors, departments=_departments()), 422
        flash(_("已保存。"), "success")
        return redirect(url_for(".list_items", edition=edition.id))
    values = {"title": edition.title, "issuer_id": str(edition.issuer_id), "note": edition.note or ""}
    return render_template("catalog/edition_form.html", edition=edition, values=values, errors=errors,
                           departments=_departments(),
                           history=history("check_list_edition", edition.id))


@bp.route("/editions/<int:edition_id>/publish", methods=["GET", "POST"])
@login_required
def publish_edition(edition_id: int):
    """Confirm, then publish a draft edition: it becomes the current public list."""
    edition = services.get_edition(edition_id)
    _require(can_edit_editions(current_user))
    services._ensure_draft_edition(edition)
    if request.method == "POST":
        services.publish_edition(edition)
        flash(_("已发布“%(t)s”，它现在是现行清单。", t=edition.title), "success")
        return redirect(url_for(".list_items", edition=edition.id))
    return render_template(
        "catalog/confirm.html", title=_("发布清单版本"),
        message=_("发布后“%(t)s”（共 %(n)s 项）将成为现行清单并向社会公开，且不能再修改。确定发布吗？",
                  t=edition.title, n=len(edition.items)),
        button=_("确认发布"), cancel=url_for(".list_items", edition=edition.id))


@bp.route("/editions/<int:edition_id>/delete", methods=["GET", "POST"])
@login_required
def delete_edition(edition_id: int):
    """Confirm, then delete a draft edition."""
    edition = services.get_edition(edition_id)
    _require(can_edit_editions(current_user))
    services._ensure_draft_edition(edition)
    if request.method == "POST":
        title = edition.title
        services.delete_edition(edition)
        flash(_("已删除草稿“%(t)s”。", t=title), "success")
        return redirect(url_for(".list_editions"))
    return render_template(
        "catalog/confirm.html", title=_("删除草稿版本"),
        message=_("将删除草稿“%(t)s”及其中的 %(n)s 个事项。已发布的版本不受影响。确定删除吗？",
                  t=edition.title, n=len(edition.items)),
        button=_("确认删除"), danger=True, cancel=url_for(".list_items", edition=edition.id))


# -- items ----------------------------------------------------------------------------------------


def _item_form(edition: ListEdition, item: CheckItem | None, values: dict, errors: dict, status: int = 200):
    return render_template("catalog/item_form.html", edition=edition, item=item, values=values,
                           errors=errors, departments=_departments(), object_types=list(ObjectType),
                           methods=list(CheckMethod)), status


@bp.route("/editions/<int:edition_id>/items/new", methods=["GET", "POST"])
@login_required
def new_item(edition_id: int):
    """Add an item to a draft edition."""
    edition = services.get_edition(edition_id)
    _require(can_edit_items(current_user))
    services._ensure_draft_edition(edition)
    if request.method == "POST":
        values = _form_values(request.form, ITEM_MULTI_FIELDS)
        try:
            data = services.clean_item_data(values)
            _require(can_edit_department_data(current_user, data.initiating_department_id))
            item = services.create_item(edition, data)
        except ValidationFailed as err:
            return _item_form(edition, None, values, err.errors, 422)
        flash(_("已添加事项“%(n)s”。", n=item.name), "success")
        return redirect(url_for(".item_detail", item_id=item.id))
    values: dict[str, Any] = {"methods": [CheckMethod.ONSITE.value], "frequency": _("每年1次"),
                              "times_per_year": "1", "cooperating_department_ids": []}
    if current_user.department_id and not can_edit_editions(current_user):
        values["initiating_department_id"] = str(current_user.department_id)
    return _item_form(edition, None, values, {})


@bp.get("/items/<int:item_id>")
@login_required
def item_detail(item_id: int):
    """All fields of an item, its checklists per department, its other editions and its history."""
    item = services.get_item(item_id)
    checklists = []
    for dept in item.departments:
        checklists.append({
            "department": dept,
            "current": services.current_template(item, dept),
            "latest": services.latest_template(item, dept),
            "can_edit": can_edit_template_of(current_user, dept.id),
        })
    editions = list(db.session.execute(
        select(CheckItem).join(ListEdition).where(CheckItem.key_id == item.key_id)
        .order_by(ListEdition.number.desc())
    ).scalars())
    return render_template("catalog/item_detail.html", item=item, checklists=checklists,
                           editions=editions, history=history("check_item", item.id),
                           can_edit=item.edition.is_draft and can_edit_item(current_user, item))


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit_item(item_id: int):
    """Edit an item of a draft edition (its code stays)."""
    item = services.get_item(item_id)
    _require(can_edit_item(current_user, item))
    services._ensure_draft_edition(item.edition)
    if request.method == "POST":
        values = _form_values(request.form, ITEM_MULTI_FIELDS)
        values["code"] = item.code
        try:
            data = services.clean_item_data(values)
            _require(can_edit_department_data(current_user, data.initiating_department_id))
            expected = int(values["row_version"]) if str(values.get("row_version", "")).isdigit() else None
            services.update_item(item, data, expected_version=expected)
        except ValidationFailed as err:
            return _item_form(item.edition, item, values, err.errors, 422)
        flash(_("已保存事项“%(n)s”。", n=item.name), "success")
        return redirect(url_for(".item_detail", item_id=item.id))
    values = {
        "code": item.code, "seq": str(item.seq), "domain": item.domain, "name": item.name,
        "content": item.content, "legal_basis": item.legal_basis, "object_scope": item.object_scope,
        "object_type": item.object_type.value, "initiating_department_id": str(item.initiating_department_id),
        "cooperating_department_ids": [str(d.id) for d in item.cooperating_departments],
        "methods": list(item.methods), "default_ratio": str(item.default_ratio.normalize()),
        "frequency": item.frequency, "times_per_year": str(item.times_per_year or ""),
        "row_version": str(item.row_version),
    }
    return _item_form(item.edition, item, values, {})


@bp.route("/items/<int:item_id>/delete", methods=["GET", "POST"])
@login_required
def delete_item(item_id: int):
    """Confirm, then remove an item from a draft edition."""
    item = services.get_item(item_id)
    _require(can_edit_item(current_user, item))
    services._ensure_draft_edition(item.edition)
    edition_id = item.edition_id
    if request.method == "POST":
        name = item.name
        services.delete_item(item)
        flash(_("已从草稿中删除事项“%(n)s”。", n=name), "success")
        return redirect(url_for(".list_items", edition=edition_id))
    return render_template(
        "catalog/confirm.html", title=_("删除事项"),
        message=_("将从草稿版本中删除事项“%(n)s”（编码 %(c)s）。已发布版本和该事项的检查表不受影响。确定删除吗？",
                  n=item.name, c=item.code),
        button=_("确认删除"), danger=True, cancel=url_for(".item_detail", item_id=item.id))


# -- checklists -----------------------------------------------------------------------------------


@bp.post("/items/<int:item_id>/checklists")
@login_required
def create_checklist(item_id: int):
    """Start a department's checklist for an item (version 1, draft)."""
    item = services.get_item(item_id)
    dept_id = request.form.get("department_id", type=int)
    _require(dept_id is not None and can_edit_template_of(current_user, dept_id))
    template = services.create_template(item, dept_id, title=request.form.get("title"))
    flash(_("已新建检查表草稿。请添加检查问题。"), "success")
    return redirect(url_for(".checklist_detail", template_id=template.id))


def _template_context(template) -> dict[str, Any]:
    versions = services.template_versions(template.item_key_id, template.department_id)
    can_edit = can_edit_template_of(current_user, template.department_id)
    return {
        "template": template,
        "item": services.item_for_template(template),
        "versions": versions,
        "has_draft": any(v.status is Status.DRAFT for v in versions),
        "can_edit": can_edit,
        "editable": can_edit and template.is_draft and not template.used,
        "history": history("checklist_template", template.id),
    }


@bp.get("/checklists/<int:template_id>")
@login_required
def checklist_detail(template_id: int):
    """A checklist version: questions in order, editor buttons on a draft, versions, history."""
    template = services.get_template(template_id)
    return render_template("catalog/checklist.html", errors={},
                           values={"title": template.title}, **_template_context(template))


@bp.post("/checklists/<int:template_id>")
@login_required
def update_checklist(template_id: int):
    """Rename a draft version."""
    template = services.get_template(template_id)
    _require(can_edit_template_of(current_user, template.department_id))
    values = _form_values(request.form)
    try:
        services.update_template(template, title=values.get("title"))
    except ValidationFailed as err:
        return render_template("catalog/checklist.html", errors=err.errors, values=values,
                               **_template_context(template)), 422
    flash(_("已保存。"), "success")
    return redirect(url_for(".checklist_detail", template_id=template.id))


@bp.get("/checklists/<int:template_id>/preview")
@login_required
def checklist_preview(template_id: int):
    """The checklist as the inspector will see it on site (a form that submits nowhere)."""
    template = services.get_template(template_id)
    return render_template("catalog/checklist_preview.html", template=template,
                           item=services.item_for_template(template))


def _question_form(template, question, values, errors, status=200):
    return render_template("catalog/question_form.html", template=template, question=question,
                           values=values, errors=errors, kinds=list(QuestionType)), status


@bp.route("/checklists/<int:template_id>/questions/new", methods=["GET", "POST"])
@login_required
def new_question(template_id: int):
    """Add a question at the end of a draft version."""
    template = services.get_template(template_id)
    _require(can_edit_template_of(current_user, template.department_id))
    services._ensure_template_editable(template)
    if request.method == "POST":
        values = _form_values(request.form)
        try:
            services.add_question(template, services.clean_question_data(values))
        except ValidationFailed as err:
            return _question_form(template, None, values, err.errors, 422)
        flash(_("已添加检查问题。"), "success")
        return redirect(url_for(".checklist_detail", template_id=template.id))
    return _question_form(template, None, {"kind": QuestionType.YES_NO_NA.value, "required": "1"}, {})


@bp.route("/checklists/<int:template_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@login_required
def edit_question(template_id: int, question_id: int):
    """Edit a question of a draft version."""
    template = services.get_template(template_id)
    _require(can_edit_template_of(current_user, template.department_id))
    question = services.get_question(template, question_id)
    services._ensure_template_editable(template)
    if request.method == "POST":
        values = _form_values(request.form)
        try:
            services.update_question(question, services.clean_question_data(values))
        except ValidationFailed as err:
            return _question_form(template, question, values, err.errors, 422)
        flash(_("已保存检查问题。"), "success")
        return redirect(url_for(".checklist_detail", template_id=template.id))
    values = {
        "kind": question.kind.value, "text": question.text, "required": "1" if question.required else "",
        "help_text": question.help_text or "", "legal_basis": question.legal_basis or "",
        "options": "\n".join(question.options or []), "unit": question.unit or "",
        "min_value": "" if question.min_value is None else str(question.min_value.normalize()),
        "max_value": "" if question.max_value is None else str(question.max_value.normalize()),
    }
    return _question_form(template, question, values, {})


@bp.post("/checklists/<int:template_id>/questions/<int:question_id>/move")
@login_required
def move_question(template_id: int, question_id: int):
    """Move a question one place up or down (``direction`` = up | down)."""
    template = services.get_template(template_id)
    _require(can_edit_template_of(current_user, template.department_id))
    question = services.get_question(template, question_id)
    services.move_question(question, request.form.get("direction", ""))
    return redirect(url_for(".checklist_detail", template_id=template.id) + f"#q{question.id}")


@bp.post("/checklists/<int:template_id>/questions/<int:question_id>/delete")
@login_required
def delete_question(template_id: int, question_id: int):
    """Delete a question of a draft version."""
    template = services.get_template(template_id)
    _require(can_edit_template_of(current_user, template.department_id))
    question = services.get_question(template, question_id)
    services.delete_question(question)
    flash(_("已删除检查问题。"), "success")
    return redirect(url_for(".checklist_detail", template_id=template.id))


@bp.route("/checklists/<int:template_id>/publish", methods=["GET", "POST"])
@login_required
def publish_checklist(template_id: int):
    """Confirm, then publish a draft version."""
    template = services.get_template(template_id)
    _require(can_edit_template_of(current_user, template.department_id))
    services._ensure_template_editable(template)
    if request.method == "POST":
        services.publish_template(template)
        flash(_("已发布检查表第 %(v)s 版。", v=template.version), "success")
        return redirect(url_for(".checklist_detail", template_id=template.id))
    return render_template(
        "catalog/confirm.html", title=_("发布检查表"),
        message=_("发布后“%(t)s”第 %(v)s 版（%(n)s 个问题）将用于新的抽查任务，且不能再修改。确定发布吗？",
                  t=template.title, v=template.version, n=len(template.questions)),
        button=_("确认发布"), cancel=url_for(".checklist_detail", template_id=template.id))


@bp.post("/checklists/<int:template_id>/new-version")
@login_required
def new_checklist_version(template_id: int):
    """Copy a published version into a new draft (version + 1)."""
    template = services.get_template(template_id)
    _require(can_edit_template_of(current_user, template.department_id))
    if template.is_draft:
        raise Conflict("template_is_draft", _("这已经是草稿版本，可以直接编辑。"))
    new = services.new_template_version(template)
    flash(_("已新建第 %(v)s 版草稿。", v=new.version), "success")
    return redirect(url_for(".checklist_detail", template_id=new.id))


@bp.route("/checklists/<int:template_id>/delete", methods=["GET", "POST"])
@login_required
def delete_checklist(template_id: int):
    """Confirm, then delete a draft version."""
    template = services.get_template(template_id)
    _require(can_edit_template_of(current_user, template.department_id))
    services._ensure_template_editable(template)
    item = services.item_for_template(template)
    if request.method == "POST":
        services.delete_template(template)
        flash(_("已删除检查表草稿。"), "success")
        return redirect(url_for(".item_detail", item_id=item.id) if item else url_for(".list_items"))
    return render_template(
        "catalog/confirm.html", title=_("删除检查表草稿"),
        message=_("将删除“%(t)s”第 %(v)s 版草稿及其 %(n)s 个问题。确定删除吗？",
                  t=template.title, v=template.version, n=len(template.questions)),
        button=_("确认删除"), danger=True, cancel=url_for(".checklist_detail", template_id=template.id))


# -- the public list (no login) -------------------------------------------------------------------


def _public_edition() -> tuple[ListEdition | None, list[ListEdition]]:
    published = [e for e in services.list_editions() if e.status is Status.PUBLISHED]
    wanted = _int_arg("edition")
    if wanted is None:
        return (published[0] if published else None), published
    for e in published:
        if e.number == wanted:
            return e, published
    raise NotFound("edition_not_found", _("找不到该清单版本。"))


@public_bp.get("/public/check-items")
def public_list():
    """The published list (current edition, or ``?edition=<number>``) and the edition history."""
    edition, published = _public_edition()
    return render_template("catalog/public_list.html", edition=edition, published=published,
                           current=published[0] if published else None)


@public_bp.get("/api/public/check-items")
def public_list_json():
    """JSON of the published list: ``{"edition": {...} | null, "items": [...], "editions": [...]}``.

    Only public fields: no ids, no drafts, no internal data. 404 for an unknown ``?edition=``."""
    edition, published = _public_edition()
    body = PublicListSchema().dump({"edition": edition, "items": edition.items if edition else [],
                                    "editions": published})
    return jsonify(body)
