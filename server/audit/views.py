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
from ..teams.access import can_see_risk_class, confidential_audit_clause, may_see_audit_entry
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
    "check_list_edition": _l("清单版本"),
    "annual_plan": _l("年度计划"),
    "task": _l("抽查任务"),
    "draw": _l("抽取"),
    "team": _l("检查组"),
    "visit": _l("检查安排"),
    "visit_record": _l("检查记录"),
    "photo": _l("照片"),
    "conflict": _l("利益冲突申报"),
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
#: the registry's internal credit-risk class (``can_see_risk_class``)
RISK_FIELDS = {"risk_class"}


#: whole-action labels, for actions that do not read well as verb + noun
ACTION_LABELS = {
    "object.code_exception": _l("接受校验位例外代码"),
    "import_job.rejected": _l("导入被拒绝（未作任何更改）"),
    "import_job.done": _l("导入完成"),
    "object.import_create": _l("批量导入新建检查对象"),
    "inspector.import_create": _l("批量导入新建执法检查人员"),
    "task.view_confidential": _l("查看保密名单"),
    "task.dispatch": _l("下派任务"),
    "task.submit": _l("提交任务待确认"),
    "task.accept": _l("确认参加任务"),
    "task.return": _l("退回任务"),
    "task.status": _l("任务状态变更"),
    "task.import_candidates": _l("导入候选名单"),
    "task.add_to_plan": _l("任务列入年度计划"),
    "task.draw_commit": _l("生成抽取承诺值"),
    "task.visits_create": _l("生成检查安排"),
    "task.visits_over": _l("确认检查结束"),
    "draw.commit": _l("生成抽取承诺值"),
    "draw.final": _l("完成抽取（结果锁定）"),
    "draw.registry_confirm": _l("确认名录库状态（抽取前）"),
    "draw.void": _l("作废未完成的抽取"),
    "draw.view_record": _l("查看完整抽取记录"),
    "team.create": _l("组建检查组"),
    "team.replacement_requested": _l("申请更换检查人员"),
    "team.replacement_approved": _l("批准更换检查人员"),
    "team.replacement_rejected": _l("驳回更换申请"),
    "team.member_replaced": _l("检查人员已更换（已备案）"),
    "team.conflict_flag": _l("标记利益冲突（需回避）"),
    "team.filing_acknowledged": _l("联席办已阅人员调整备案"),
    "team.expert_added": _l("选派专家加入检查组"),
    "visit.missing_record_reason": _l("说明无检查记录的原因"),
    "conflict.declare": _l("申报利益冲突"),
    "conflict.withdraw": _l("撤回利益冲突申报"),
    "visit_record.store": _l("收到现场检查记录"),
    "visit_record.conflict": _l("收到冲突的检查记录版本"),
    "visit.status": _l("检查状态变更"),
    "visit.visited": _l("检查完成（确定检查日期和结果录入期限）"),
    "visit.stage": _l("检查办理阶段变更"),
    "visit.corrected": _l("收到退回部分的更正版本"),
    "visit.consolidate": _l("组长汇总检查记录"),
    "visit.reviewed": _l("各部门检查结果均已审核"),
    "section.accept": _l("审核通过本部门检查结果"),
    "section.return": _l("退回本部门检查结果修改"),
    "visit.schedule": _l("安排检查日程"),
    "photo.store": _l("收到现场照片"),
    "checklist_template.mark_used": _l("检查表版本已被任务使用（锁定）"),
    "checklist_template.new_version": _l("新建检查表版本"),
    "checklist_template.question_add": _l("添加检查问题"),
    "checklist_template.question_update": _l("修改检查问题"),
    "checklist_template.question_move": _l("调整检查问题顺序"),
    "checklist_template.question_delete": _l("删除检查问题"),
    "follow_up.create": _l("登记后续处置"),
    "follow_up.progress": _l("登记后续处置进展"),
    "follow_up.close": _l("后续处置办结"),
    "follow_up.reopen": _l("重新打开后续处置"),
    "follow_up.due_recomputed": _l("重新计算后续处置期限"),
    "calendar.load": _l("载入一年的节假日安排（工作日历）"),
}

#: verbs that read complete on their own (no entity noun appended)
STANDALONE_VERBS = {"login", "logout", "login_failed", "password_change", "password_reset",
                    "sessions_revoke"}


def action_label(action: str) -> str:
    """Return a Chinese label for an action code like ``user.create`` (the code itself if unknown)."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
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


@bp.app_template_global("audit_visible")
def _audit_visible_global(entry: AuditEntry) -> bool:
    """May the current user see this entry's content? (``server.teams.access.may_see_audit_entry``)"""
    from flask_login import current_user

    return may_see_audit_entry(current_user, entry)


@bp.app_template_global("audit_changes")
def _audit_changes_global(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """The changes shown in a history row; the internal credit-risk class only to whom may see it."""
    from flask_login import current_user

    changes = changes_of(entry)
    if not can_see_risk_class(current_user):
        hidden = {str(FIELD_LABELS.get(k, k)) for k in RISK_FIELDS}
        changes = [c for c in changes if c[0] not in hidden]
    return changes


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
    if f["actor"] or f["entity_id"]:
        # the actor and the entity id of a confidential entry are not shown to whom may not see it:
        # a search on them must not tell that such an entry matched
        from flask_login import current_user

        hidden = confidential_audit_clause(current_user)
        if hidden is not None:
            stmt = stmt.where(~hidden)
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
    from flask_login import current_user

    visible = may_see_audit_entry(current_user, entry)
    # the hash of a confidential entry could be checked against guesses of its content: shown only
    # to whom may see the content (also as the next entry's "previous hash")
    prev = db.session.get(AuditEntry, neighbours["prev"]) if neighbours["prev"] else None
    prev_visible = prev is None or may_see_audit_entry(current_user, prev)
    return render_template("audit/detail.html", e=entry, neighbours=neighbours, pretty_json=pretty_json,
                           entity_labels=ENTITY_LABELS, visible=visible, prev_visible=prev_visible)


@bp.post("/verify")
@roles_required(*AUDIT_READERS)
def verify():
    """Recompute the whole hash chain and show OK or the first entry that does not fit."""
    result = verify_chain()
    bad_entry_id = result.bad_id
    return render_template("audit/verify.html", result=result, bad_entry_id=bad_entry_id)
