"""The rules a FINISHED field record must satisfy (docs/field-record.md), checked on every push.

:func:`record_errors` returns ``{path: Chinese message}`` (empty: the record may be stored). Paths
are those of the content, e.g. ``results.12.legal_basis``, ``business.signature``,
``inspectors.7.signature``, ``notice``, ``party.liaison_phone``; the phone shows each message next
to its field. A draft is only type-checked (:func:`server.fieldwork.record_schema.type_errors`).
"""

from __future__ import annotations

import math
from typing import Any

from flask_babel import gettext as _

from ..catalog.models import ChecklistQuestion, QuestionType
from ..extensions import db
from ..planning.models import Task
from ..registry.models import Inspector
from ..teams.models import TeamMember
from ..visits.models import Visit, VisitItem
from . import reference
from .record_schema import content_schema_version, type_errors


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, (list, dict)) and not value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        n = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return n if math.isfinite(n) else None


def record_errors(visit: Visit, department_id: int, content: dict[str, Any], *, finished: bool) -> dict[str, str]:
    """Return the field errors of one version of a section (``{}`` when it may be stored).

    Every version is type-checked; a finished one must also be schema 2 and complete."""
    detail = type_errors(content)
    if detail:
        return {path: _("格式无效（%(detail)s）。请更新现场检查应用后重试。", detail=msg) for path, msg in detail.items()}
    if not finished:
        return {}
    if content_schema_version(content) != 2:
        return {"schema": _("完成的检查记录须使用新版记录格式（schema 2）。请更新现场检查应用，打开该记录检查后重新完成。")}
    return _finished_errors(visit, department_id, content)


def _finished_errors(visit: Visit, department_id: int, c: dict[str, Any]) -> dict[str, str]:
    e: dict[str, str] = {}
    task = db.session.get(Task, visit.task_id)
    options = reference.result_option_map()
    methods = {code for code, _label in reference.METHOD_OPTIONS}
    follow_ups = {code for code, _label in reference.FOLLOW_UP_OPTIONS}
    photos = c.get("photos") or []
    has_evidence = bool(photos) or not _blank(c.get("evidence_notes"))

    if not (c.get("check_in") or {}).get("at"):
        e["check_in"] = _("请先签到（记录到达时间和位置）。")
    notice = c.get("notice")
    if task is not None and task.unannounced:
        if notice != "unannounced":
            e["notice"] = _("本任务不得事先告知：告知情况只能是“未事先告知”。")
    elif notice not in ("served", "not_served"):
        e["notice"] = _("请选择是否已送达告知书（本任务可事先告知）。")

    items = db.session.execute(db.select(VisitItem).where(
        VisitItem.visit_id == visit.id, VisitItem.department_id == department_id).order_by(VisitItem.id)).scalars().all()
    questions: dict[int, list[ChecklistQuestion]] = {}
    tpl_ids = {i.template_id for i in items if i.template_id}
    if tpl_ids:
        for q in db.session.execute(db.select(ChecklistQuestion).where(ChecklistQuestion.template_id.in_(tpl_ids))
                                    .order_by(ChecklistQuestion.position, ChecklistQuestion.id)).scalars():
            questions.setdefault(q.template_id, []).append(q)
    results = c.get("results") or {}
    answers = c.get("answers") or {}
    chosen = []
    for item in items:
        key = str(item.check_item_id)
        r = results.get(key) or {}
        opt = options.get(r.get("code") or "")
        path = f"results.{key}"
        if not r.get("code"):
            e[f"{path}.code"] = _("请选择检查结果。")
            continue
        if opt is None:
            e[f"{path}.code"] = _("检查结果“%(code)s”不在结果列表中。请同步后重新选择。", code=r.get("code"))
            continue
        if not opt.active:
            e[f"{path}.code"] = _("检查结果“%(label)s”已停用。请同步后重新选择。", label=opt.label)
            continue
        chosen.append(opt)
        if not opt.no_check:
            if not r.get("method"):
                e[f"{path}.method"] = _("请选择检查方式。")
        if r.get("method") and r.get("method") not in methods:
            e[f"{path}.method"] = _("检查方式“%(code)s”无效。请重新选择。", code=r.get("method"))
        if r.get("follow_up") and r.get("follow_up") not in follow_ups:
            e[f"{path}.follow_up"] = _("后续处理措施“%(code)s”无效。请重新选择。", code=r.get("follow_up"))
        if opt.problem:
            if _blank(r.get("problems")):
                e[f"{path}.problems"] = _("发现问题时必须填写发现的问题。")
            if _blank(r.get("handling")):
                e[f"{path}.handling"] = _("发现问题时必须填写处理情况。")
            if _blank(r.get("legal_basis")):
                e[f"{path}.legal_basis"] = _("发现问题时必须填写法律依据。")
            if r.get("follow_up") in (None, "", "none"):
                e[f"{path}.follow_up"] = _("发现问题时请选择后续处理措施。")
        if opt.no_check:
            continue  # unreachable/uncooperative: no full checklist, evidence instead [000#21]
        for q in questions.get(item.template_id, []) if item.template_id else []:
            akey = f"{item.check_item_id}-{q.id}"
            apath = f"answers.{akey}"
            value = answers.get(akey)
            if q.kind is QuestionType.PHOTO:
                if q.required and not any(isinstance(p, dict) and p.get("ref") == akey for p in photos):
                    e[apath] = _("“%(q)s”必须拍照。", q=q.text)
                continue
            if _blank(value):
                if q.required:
                    e[apath] = _("“%(q)s”为必填项。", q=q.text)
                continue
            if q.kind is QuestionType.NUMBER:
                n = _number(value)
                if n is None:
                    e[apath] = _("“%(q)s”请输入数字。", q=q.text)
                elif q.min_value is not None and n < float(q.min_value):
                    e[apath] = _("“%(q)s”不能小于 %(n)s。", q=q.text, n=q.min_value.normalize())
                elif q.max_value is not None and n > float(q.max_value):
                    e[apath] = _("“%(q)s”不能大于 %(n)s。", q=q.text, n=q.max_value.normalize())
    if any(o.no_check for o in chosen) and not has_evidence:
        e["evidence_notes"] = _("无法联系或不配合检查时，请拍照或写明取证情况。")
    for code, m in (c.get("measures") or {}).items():
        if (m or {}).get("on") and not (m or {}).get("form"):
            e[f"measures.{code}.form"] = _("请选择措施的形式（书面、口头或移动端打印）。")

    all_absent = bool(items) and len(chosen) == len(items) and all(o.party_absent for o in chosen)
    _business_errors(c.get("business") or {}, all_absent, has_evidence, visit, e)
    _inspector_errors(c.get("inspectors") or {}, visit, e)
    return e


def _team(visit: Visit) -> list[tuple[TeamMember, Inspector]]:
    return list(db.session.execute(db.select(TeamMember, Inspector).join(Inspector, Inspector.id == TeamMember.inspector_id)
                                   .where(TeamMember.team_id == visit.team_id, TeamMember.active.is_(True))
                                   .order_by(TeamMember.id)).all())


def _business_errors(b: dict, all_absent: bool, has_evidence: bool, visit: Visit, e: dict[str, str]) -> None:
    mode = b.get("mode")
    refusal = b.get("refusal") or {}
    if all_absent and mode != "absent":
        e["business.mode"] = _("所有事项的结果都是“无法联系”时，被检查对象确认须选“无法联系（无人在场）”，不得填写拒签说明。")
        return
    if mode == "absent":
        if not all_absent:
            e["business.mode"] = _("只有所有事项的结果都是“无法联系”时，才能选择“无法联系（无人在场）”。")
        if not has_evidence:
            e["evidence_notes"] = _("无法联系（无人在场）须拍照或写明取证情况。")
        if b.get("signature"):
            e["business.signature"] = _("无人在场时不能有被检查对象签字。")
        if refusal.get("inspector_signature"):
            e["business.refusal.inspector_signature"] = _("无人在场时不是拒绝签字：请删除拒签说明上的签字。")
    elif mode == "signature":
        if _blank(b.get("name")):
            e["business.name"] = _("请填写签字人姓名。")
        if _blank(b.get("role")):
            e["business.role"] = _("请填写签字人职务。")
        if not b.get("signature"):
            e["business.signature"] = _("请被检查对象签字。")
    elif mode == "stamp":
        if not b.get("stamp_photo"):
            e["business.stamp_photo"] = _("请拍摄加盖公章的纸质记录表。")
    elif mode == "refusal":
        if _blank(refusal.get("reason")):
            e["business.refusal.reason"] = _("请填写拒绝签字的理由。")
        if _blank(refusal.get("at")):
            e["business.refusal.at"] = _("请填写拒签的时间。")
        if _blank(refusal.get("place")):
            e["business.refusal.place"] = _("请填写拒签的地点。")
        if _blank(refusal.get("statement")):
            e["business.refusal.statement"] = _("请填写拒签情况说明。")
        if not refusal.get("inspector_signature"):
            e["business.refusal.inspector_signature"] = _("检查人员须在拒签说明上签字。")
        signer = refusal.get("inspector_id")
        if signer is not None and signer not in {i.id for _m, i in _team(visit)}:
            e["business.refusal.inspector_id"] = _("拒签说明须由本检查组的检查人员签字。")
    else:
        e["business.mode"] = _("请选择被检查对象确认方式：签字、盖章、拒绝签字或无法联系（无人在场）。")


def _inspector_errors(signatures: dict, visit: Visit, e: dict[str, str]) -> None:
    for _member, inspector in _team(visit):
        entry = signatures.get(str(inspector.id)) or {}
        if not entry.get("signature"):
            e[f"inspectors.{inspector.id}.signature"] = _("%(name)s 尚未签字。", name=inspector.name)
