"""The result list screen (检查结果代码): everyone logged in reads the list; the system
administrator and the joint office add a result (e.g. Zhejiang's 已关闭停业/注销/迁出), change its
labels and order, deactivate or reactivate it. Codes are never deleted. Every change is audited."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..audit.models import AuditEntry
from ..auth.roles import Role
from ..core.errors import DomainError
from ..extensions import db
from . import reference

bp = Blueprint("results", __name__, template_folder="templates")

#: who may change the result list
RESULT_EDITORS = (Role.SYSTEM_ADMIN, Role.JOINT_OFFICE)
FORM_FIELDS = ("code", "label_zh", "label_en", "problem", "no_check", "party_absent")


def _can_edit() -> bool:
    return bool(current_user.is_authenticated and current_user.has_role(*RESULT_EDITORS))


def _history() -> list[AuditEntry]:
    return list(db.session.execute(db.select(AuditEntry).where(AuditEntry.entity_type == "result_code")
                                   .order_by(AuditEntry.seq.desc()).limit(50)).scalars())


def _render(form: dict, errors: dict, status: int = 200, edit: dict | None = None):
    return render_template("fieldwork/result_codes.html", rows=reference.list_result_codes(), form=form,
                           errors=errors, edit=edit or {}, can_edit=_can_edit(), history=_history(),
                           history_title=_("结果列表变更历史")), status


def _fields(err: DomainError) -> dict[str, str]:
    return dict((err.details or {}).get("fields") or {"_form": err.message})


@bp.get("/admin/result-codes")
@login_required
def list_result_codes():
    """The result list with its flags; editors get the add form. The first visit of an editor
    seeds the ten standard results when the list is empty."""
    if _can_edit() and reference.ensure_default_result_codes():
        db.session.commit()
    return _render({}, {})[0]


@bp.post("/admin/result-codes")
@login_required
def add_result_code():
    """Add a result; bad input re-renders the list with the form as typed (422/409)."""
    if not _can_edit():
        abort(403)
    form = {k: (request.form.get(k) or "").strip() for k in FORM_FIELDS}
    try:
        row = reference.add_result_code(form["code"], form["label_zh"], form["label_en"], problem=form["problem"],
                                        no_check=form["no_check"], party_absent=form["party_absent"])
    except DomainError as err:
        db.session.rollback()
        return _render(form, _fields(err), err.status)
    flash(_("已添加检查结果“%(label)s”（%(code)s）。", label=row.label_zh, code=row.code), "success")
    return redirect(url_for("results.list_result_codes"))


@bp.post("/admin/result-codes/<code>")
@login_required
def update_result_code(code: str):
    """Change a result's labels and order, or (``active`` = 0/1) deactivate / reactivate it."""
    if not _can_edit():
        abort(403)
    row = reference.get_result_code(code)
    try:
        if "active" in request.form:
            wanted = request.form.get("active")
            if wanted not in ("0", "1"):
                abort(400)
            reference.set_result_code_active(row, wanted == "1")
            flash(_("已启用“%(label)s”。", label=row.label_zh) if wanted == "1"
                  else _("已停用“%(label)s”：手机上不再提供，已有记录保持不变。", label=row.label_zh), "success")
        else:
            edit = {k: (request.form.get(k) or "").strip() for k in ("label_zh", "label_en", "position")}
            try:
                reference.update_result_code(row, label_zh=edit["label_zh"], label_en=edit["label_en"],
                                             position=edit["position"])
            except DomainError as err:
                db.session.rollback()
                return _render({}, {f"{code}.{k}": v for k, v in _fields(err).items()}, err.status,
                               edit={code: edit})
            flash(_("已保存“%(label)s”。", label=row.label_zh), "success")
    except DomainError as err:
        db.session.rollback()
        return _render({}, {"_form": err.message}, err.status)
    return redirect(url_for("results.list_result_codes"))
