"""The rules screen: everyone logged in may read the rules in force; the system administrator and
the joint office may change them (every change audited as ``rules.update``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..audit.services import history
from ..auth.roles import Role
from ..core.errors import DomainError
from ..extensions import db
from . import services

bp = Blueprint("rules", __name__, template_folder="templates")

#: who may change the rules (everyone logged in may read them: they are not confidential)
RULE_EDITORS = (Role.SYSTEM_ADMIN, Role.JOINT_OFFICE)


def can_edit_rules(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(*RULE_EDITORS))


def _render(form: dict, errors: dict, status: int = 200):
    from ..auth.models import User

    rows = services.settings_rows()
    ids = {r.updated_by_id for r in rows.values() if r.updated_by_id}
    names = dict(db.session.execute(db.select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return render_template(
        "rules/rules.html", form=form, errors=errors, keys=services.RULE_KEYS, labels=services.RULE_LABELS,
        choices=services.CHOICES, ranges=services.COUNT_RANGES, rows=rows, names=names,
        can_edit=can_edit_rules(current_user), history=history(*services.AUDIT_ENTITY, limit=20),
    ), status


@bp.get("/admin/rules")
@login_required
def show_rules():
    """The rules in force, with who changed each and when; a form for those who may change them."""
    values = services.rule_values()
    return _render({k: services.display_value(k, v) for k, v in values.items()}, {})


@bp.post("/admin/rules")
@login_required
def update_rules():
    """Change the rules: all or nothing; bad input re-renders the form with the input kept (422)."""
    if not can_edit_rules(current_user):
        abort(403)
    posted = {k: (request.form.get(k) or "").strip() for k in services.RULE_KEYS if k in request.form}
    form = {**{k: services.display_value(k, v) for k, v in services.rule_values().items()}, **posted}
    try:
        changed = services.update_rules(posted, user_id=current_user.id)
    except DomainError as err:
        db.session.rollback()
        fields = (err.details or {}).get("fields") or {(err.details or {}).get("field") or "_form": err.message}
        return _render(form, dict(fields), err.status)
    if changed:
        flash(_("已保存 %(n)s 项规则的修改，下一次保存任务或抽取时生效。", n=len(changed)), "success")
    else:
        flash(_("规则没有变化。"), "info")
    return redirect(url_for(".show_rules"))
