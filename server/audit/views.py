"""The audit log screen (auditor, system admin, joint office) and the helpers behind the reusable
``audit/_history.html`` partial that every detail page includes."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..auth.roles import AUDIT_READERS, roles_required
from ..core.errors import NotFound
from ..core.pagination import paginate
from ..extensions import db
from .models import AuditEntry
from .services import verify_chain

bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")

ENTITY_LABELS = {
    "user": _l("用户"),
    "department": _l("部门"),
    "check_item": _l("抽查事项"),
    "checklist": _l("检查表"),
    "checklist_template": _l("检查表"),
    "object": _l("检查对象"),
    "inspected_object": _l("检查对象"),
    "inspector": _l("执法检查人员"),
    "import": _l("导入"),
    "import_job": _l("导入"),
}
VERB_LABELS = {
    "create": _l("新建"),
    "update": _l("修改"),
    "delete": _l("删除"),
    "disable": _l("停用"),
    "enable": _l("启用"),
    "deactivate": _l("停用"),
    "activate": _l("启用"),
    "login": _l("登录"),
    "logout": _l("退出登录"),
    "login_failed": _l("登录失败"),
    "password_change": _l("修改密码"),
    "password_reset": _l("重置密码"),
    "sessions_revoke": _l("退出其他设备"),
    "import": _l("导入"),
    "export": _l("导出"),
    "publish": _l("发布"),
}
FIELD_LABELS = {
    "name": _l("名称"),
    "display_name": _l("姓名"),
    "username": _l("用户名"),
    "department_id": _l("部门"),
    "roles": _l("角色"),
    "active": _l("启用"),
    "phone": _l("电话"),
    "code": _l("编码"),
    "short_name": _l("简称"),
    "level": _l("层级"),
    "kind": _l("类型"),
    "region": _l("行政区划"),
    "parent_id": _l("上级部门"),
}
#: fields that change on every write and say nothing to the reader
NOISE_FIELDS = {"updated_at"}


#: verbs that read complete on their own (no entity noun appended)
STANDALONE_VERBS = {"login", "logout", "login_failed", "password_change", "password_reset",
                    "sessions_revoke"}


def action_label(action: str) -> str:
    """Return a Chinese label for an action code like ``user.create`` (the code itself if unknown)."""
    entity, _sep, verb = (action or "").partition(".")
    if verb not in VERB_LABELS:
        return action
    noun = ENTITY_LABELS.get(entity)
    if noun is None or verb in STANDALONE_VERBS:
        return str(VERB_LABELS[verb])
    return f"{VERB_LABELS[verb]}{noun}"


def format_value(value: Any) -> str:
    """Return a short human-readable rendering of a before/after value (autoescaped by Jinja)."""
    if value is None:
        return _("（空）")
    if value is True:
        return _("是")
    if value is False:
        return _("否")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def changes_of(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """Return the changed fields of an entry as (label, before, after), in a stable order."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    keys = [k for k in after if k not in NOISE_FIELDS]
    keys += [k for k in before if k not in after and k not in NOISE_FIELDS]
    return [(str(FIELD_LABELS.get(k, k)), before.get(k), after.get(k)) for k in keys]


def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)


@bp.app_template_filter("audit_action")
def _audit_action_filter(action: str) -> str:
    return action_label(action)


@bp.app_template_filter("audit_value")
def _audit_value_filter(value: Any) -> str:
    return format_value(value)


@bp.app_template_global("audit_changes")
def _audit_changes_global(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    return changes_of(entry)


def _local_day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def _parse_day(raw: str | None, errors: dict, field: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = _("日期格式应为 年-月-日，例如 2024-03-31。")
        return None


@bp.get("/")
@roles_required(*AUDIT_READERS)
def list_entries():
    """List audit entries, newest first, filtered by action, entity, actor and date range."""
    args = request.args
    f = {k: (args.get(k) or "").strip() for k in ("action", "entity_type", "entity_id", "actor", "from", "to")}
    errors: dict[str, str] = {}
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if f["action"]:
        stmt = stmt.where(AuditEntry.action.startswith(f["action"], autoescape=True))
    if f["entity_type"]:
        stmt = stmt.where(AuditEntry.entity_type == f["entity_type"])
    if f["entity_id"]:
        stmt = stmt.where(AuditEntry.entity_id == f["entity_id"])
    if f["actor"]:
        stmt = stmt.where(AuditEntry.actor_name.contains(f["actor"], autoescape=True))
    day_from = _parse_day(f["from"], errors, "from")
    day_to = _parse_day(f["to"], errors, "to")
    if day_from and day_to and day_from > day_to:
        errors["to"] = _("结束日期不能早于开始日期。")
    elif not errors:
        if day_from:
            stmt = stmt.where(AuditEntry.at >= _local_day_bounds(day_from)[0])
        if day_to:
            stmt = stmt.where(AuditEntry.at < _local_day_bounds(day_to)[1])
    entity_types = db.session.execute(
        select(AuditEntry.entity_type).distinct().order_by(AuditEntry.entity_type)
    ).scalars().all()
    page = paginate(stmt)
    return render_template("audit/list.html", page=page, f=f, errors=errors, entity_types=entity_types,
                           entity_labels=ENTITY_LABELS), (400 if errors else 200)


@bp.get("/<int:entry_id>")
@roles_required(*AUDIT_READERS)
def show_entry(entry_id: int):
    """Show one entry: before and after side by side, its hash and the previous entry's hash.

    Raises NotFound (404) for an unknown id."""
    entry = db.session.get(AuditEntry, entry_id)
    if entry is None:
        raise NotFound("audit_entry_not_found", _("找不到该审计记录。"))
    neighbours = {
        "prev": db.session.execute(select(AuditEntry.id).where(AuditEntry.seq == entry.seq - 1)).scalar(),
        "next": db.session.execute(select(AuditEntry.id).where(AuditEntry.seq == entry.seq + 1)).scalar(),
    }
    return render_template("audit/detail.html", e=entry, neighbours=neighbours, pretty_json=pretty_json,
                           entity_labels=ENTITY_LABELS)


@bp.post("/verify")
@roles_required(*AUDIT_READERS)
def verify():
    """Recompute the whole hash chain and show OK or the first entry that does not fit."""
    result = verify_chain()
    bad_entry_id = result.bad_id
    return render_template("audit/verify.html", result=result, bad_entry_id=bad_entry_id)
