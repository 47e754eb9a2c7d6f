"""The record form (市场监管领域部门联合抽查情况记录表 / 实地检查表) of one visit as a PDF [000#20,
001#14, 003#18]: the task, the inspected party, the team, the check-in, every department's items
with answers, results, problems, handling and legal basis, findings and measures, photo thumbnails
with their times and SHA-256, the party's signature (or stamp, refusal statement, or absence),
every inspector's signature, the leader's consolidation and each department's review.

Printed in Chinese whatever the interface language: it is the legal document. It uses the latest
stored version of each department's section, or the versions the leader consolidated when a
consolidation exists; the footer names each section's version and content SHA-256.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Image as RLImage
from reportlab.platypus import SimpleDocTemplate, Spacer, Table
from sqlalchemy import select

from ..auth.models import User
from ..catalog.models import ChecklistQuestion
from ..core.errors import NotFound
from ..extensions import db
from ..fieldwork import photos as photo_files
from ..fieldwork import reference
from ..fieldwork import services as field_services
from ..fieldwork.models import Photo, RecordStatus, VisitRecord
from ..fieldwork.reference import (
    ANSWER_LABELS,
    FOLLOW_UP_LABELS,
    MEASURE_FORM_LABELS,
    MEASURE_LABELS,
    METHOD_LABELS,
    NOTICE_LABELS,
)
from ..org.models import Department
from ..planning.models import Task
from ..registry.models import Inspector
from ..review.models import Consolidation, ResultStatus, SectionResult
from ..teams.models import Team, TeamMember
from ..visits.models import Visit
from .common import (
    MARGIN,
    PAGE,
    WIDTH,
    beijing,
    clean,
    cn_date,
    data_url_image,
    grid_style,
    hhmm,
    keep_headings,
    kv_table,
    markup,
    numbered_canvas,
    para,
    styles,
)
from .fonts import cjk_font

TITLE = "市场监管领域部门联合抽查情况记录表"
PURPOSE_LABELS = {"evidence": "现场照片", "question": "检查内容照片", "stamp": "盖章记录表", "witness": "见证照片"}
REVIEW_LABELS = {ResultStatus.PENDING: "待审核", ResultStatus.ACCEPTED: "已审核通过",
                 ResultStatus.RETURNED: "已退回修改", ResultStatus.PUBLISHED: "已公示"}
PHOTO_COLS = 4


@dataclass
class Section:
    department: Department
    record: VisitRecord
    content: dict[str, Any]
    items: list[dict[str, Any]]
    result: SectionResult | None
    #: every photo hash the content names, in order, without repeats
    refs: list[str] = field(default_factory=list)
    #: the hashes of the photos taken for each question (answer key → hashes)
    by_ref: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class FormData:
    visit: Visit
    task: Task
    team: Team
    obj: Any
    members: list[tuple[TeamMember, Inspector, Department | None]]
    sections: list[Section]
    consolidation: Consolidation | None
    photos: dict[str, Photo]
    users: dict[int, User]
    results: dict[str, str]
    generated_at: datetime
    #: departments with items in the visit but no stored section yet
    missing: list[Department] = field(default_factory=list)
    photo_numbers: dict[str, int] = field(default_factory=dict)


# -- gathering -----------------------------------------------------------------------------------------


def result_labels() -> dict[str, str]:
    """Chinese labels of every result code ever offered (deactivated ones included)."""
    return {code: option.label for code, option in reference.result_option_map().items()}


def _chosen_records(visit: Visit) -> tuple[Consolidation | None, dict[int, VisitRecord]]:
    """The consolidated versions when the leader consolidated, else the latest stored ones."""
    cons = db.session.execute(select(Consolidation).where(Consolidation.visit_id == visit.id)
                              .order_by(Consolidation.round.desc()).limit(1)).scalar_one_or_none()
    chosen: dict[int, VisitRecord] = {}
    if cons is not None and cons.record_ids:
        ids = {int(rid) for rid in cons.record_ids.values()}
        for r in db.session.execute(select(VisitRecord).where(VisitRecord.id.in_(ids))).scalars():
            chosen[r.department_id] = r
    latest = field_services.latest_versions([visit.id])
    for (_vid, dept_id), r in latest.items():
        chosen.setdefault(dept_id, r)  # a section the consolidation does not name (none normally)
    return cons, chosen


def gather(visit: Visit) -> FormData:
    """Read everything the form prints. Raises NotFound ``no_record`` when no section is stored."""
    cons, chosen = _chosen_records(visit)
    if not chosen:
        raise NotFound("no_record", _("该检查对象尚无已同步的检查记录，无法生成记录表。请待检查人员同步记录后再试。"))
    task = db.session.get(Task, visit.task_id)
    team = db.session.get(Team, visit.team_id)
    items = field_services.section_items(visit)
    dept_ids = set(items) | set(chosen)
    members = db.session.execute(select(TeamMember, Inspector).join(Inspector, Inspector.id == TeamMember.inspector_id)
                                 .where(TeamMember.team_id == visit.team_id)
                                 .order_by(TeamMember.is_leader.desc(), TeamMember.id)).all()
    dept_ids |= {m.department_id for m, _i in members}
    departments = {d.id: d for d in db.session.execute(select(Department).where(Department.id.in_(dept_ids))).scalars()}
    results = {r.department_id: r for r in db.session.execute(
        select(SectionResult).where(SectionResult.visit_id == visit.id)).scalars()}
    order = sorted(chosen, key=lambda d: (d != task.initiating_department_id, d))
    sections = []
    for d in order:
        content = chosen[d].content if isinstance(chosen[d].content, dict) else {}
        sections.append(Section(departments[d], chosen[d], content, items.get(d, []), results.get(d),
                                refs=_photo_refs(content), by_ref=_photos_by_ref(content)))
    shas: set[str] = set()
    for s in sections:
        shas |= set(s.refs)
        shas |= set(s.record.photos or [])
    stored = {p.sha256: p for p in db.session.execute(select(Photo).where(Photo.sha256.in_(shas))).scalars()} if shas else {}
    user_ids = {r.reviewed_by_id for r in results.values() if r.reviewed_by_id}
    if cons is not None:
        user_ids.add(cons.consolidated_by_id)
    users = {u.id: u for u in db.session.execute(select(User).where(User.id.in_(user_ids))).scalars()} if user_ids else {}
    return FormData(visit=visit, task=task, team=team, obj=visit.object,
                    members=[(m, i, departments.get(m.department_id)) for m, i in members
                             if m.active or any(str(i.id) in _d(s.content.get("inspectors")) for s in sections)],
                    sections=sections, consolidation=cons, photos=stored, users=users, results=result_labels(),
                    generated_at=datetime.now(UTC),
                    missing=[departments[dp] for dp in sorted(items, key=lambda dp: (dp != task.initiating_department_id, dp))
                             if dp not in chosen and dp in departments])


def _d(value: Any) -> dict[str, Any]:
    """The value when it is an object, else an empty one (old-format records are loose)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _photo_refs(content: dict[str, Any]) -> list[str]:
    """Every photo hash the content names, in order, without repeats."""
    out: list[str] = []
    for p in _list(content.get("photos")):
        if isinstance(p, dict) and isinstance(p.get("sha256"), str):
            out.append(p["sha256"])
    business = content.get("business") or {}
    if isinstance(business, dict):
        if isinstance(business.get("stamp_photo"), str):
            out.append(business["stamp_photo"])
        refusal = business.get("refusal") or {}
        if isinstance(refusal, dict) and isinstance(refusal.get("witness_photo"), str):
            out.append(refusal["witness_photo"])
    return list(dict.fromkeys(s for s in out if s))


def _photos_by_ref(content: dict[str, Any]) -> dict[str, list[str]]:
    """The hashes of the photos the content ties to a question, by the question's answer key."""
    by_ref: dict[str, list[str]] = defaultdict(list)
    for p in _list(content.get("photos")):
        if isinstance(p, dict) and isinstance(p.get("sha256"), str) and p.get("ref"):
            by_ref[str(p["ref"])].append(p["sha256"])
    return dict(by_ref)


# -- rendering -----------------------------------------------------------------------------------------


def _answer_text(q: ChecklistQuestion, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return ANSWER_LABELS.get(value, value)
    if isinstance(value, list):
        return "、".join(clean(v) for v in value) or "—"
    if isinstance(value, (int, float)):
        return f"{value}{q.unit or ''}"
    return clean(value)


def _header(d: FormData, st: dict) -> list:
    task, obj, visit = d.task, d.obj, d.visit
    notices = {clean(s.content.get("notice")) for s in d.sections if s.content.get("notice")}
    if task.unannounced:
        notice = NOTICE_LABELS["unannounced"]
    elif notices:
        notice = "；".join(NOTICE_LABELS.get(n, n) for n in sorted(notices))
    else:
        notice = "事先告知（告知书送达情况未记录）"
    party = next((s.content.get("party") for s in d.sections if isinstance(s.content.get("party"), dict)
                  and clean(s.content["party"].get("liaison_name"))), None) or {}
    liaison = clean(party.get("liaison_name"))
    phone = clean(party.get("liaison_phone"))
    schedule = ""
    if visit.scheduled_on:
        schedule = cn_date(visit.scheduled_on)
        if visit.window_start or visit.window_end:
            schedule += f" {hhmm(visit.window_start)}–{hhmm(visit.window_end)}"
    out: list = [
        markup(TITLE, st["title"]),
        markup("（实地检查表）", st["subtitle"]),
        kv_table([
            ("任务名称", task.name),
            ("任务编号", task.code),
            ("检查期间", f"{cn_date(task.period_start)} 至 {cn_date(task.period_end)}"),
            ("告知方式", notice),
            ("计划检查日期", schedule or "—"),
            ("被检查对象", obj.name),
            ("统一社会信用代码", obj.code),
            ("住所（经营场所）", obj.address),
            ("法定代表人（负责人）", obj.legal_representative),
            ("联络人及电话", f"{liaison or '—'}　{phone}".strip()),
        ], st, label_w=36 * mm),
        markup("检查组", st["h2"]),
    ]
    leader = next((i.name for m, i, _dp in d.members if m.is_leader and m.active), "—")
    rows = [[para(h, st["label"]) for h in ("姓名", "部门", "执法证号", "职责")]]
    for m, i, dept in d.members:
        role = "组长" if m.is_leader else "组员"
        if not m.active:
            role += "（已更换）"
        rows.append([para(i.name, st["base"]), para(dept.name if dept else "", st["base"]),
                     para(i.certificate_no, st["base"]), para(role, st["base"])])
    team_table = Table(rows, colWidths=[34 * mm, 70 * mm, 46 * mm, WIDTH - 150 * mm], repeatRows=1, splitInRow=1)
    team_table.setStyle(grid_style(header=True))
    out += [para(f"第 {d.team.number + 1} 组　组长：{leader}", st["base"]), Spacer(1, 2 * mm), team_table]
    # the check-in of each section (the phones check in separately)
    out.append(markup("签到时间与地点", st["h2"]))
    rows = [[para(h, st["label"]) for h in ("部门", "签到时间（北京时间）", "位置")]]
    for s in d.sections:
        ci = s.content.get("check_in") if isinstance(s.content.get("check_in"), dict) else {}
        gps = ci.get("gps") if isinstance(ci.get("gps"), dict) else None
        if gps:
            acc = gps.get("accuracy_m")
            place = f"纬度 {gps.get('lat')}，经度 {gps.get('lng')}（精度 ±{acc if acc is not None else '?'} 米）"
        elif ci.get("gps_error"):
            place = f"未能定位：{clean(ci.get('gps_error'))}"
        else:
            place = "未记录位置"
        rows.append([para(s.department.name, st["base"]), para(beijing(ci.get("at"), seconds=True), st["base"]),
                     para(place, st["base"])])
    table = Table(rows, colWidths=[50 * mm, 45 * mm, WIDTH - 95 * mm], repeatRows=1, splitInRow=1)
    table.setStyle(grid_style(header=True))
    out.append(table)
    return out


def _number_photos(d: FormData) -> None:
    n = 0
    for s in d.sections:
        for sha in s.refs:
            if sha not in d.photo_numbers:
                n += 1
                d.photo_numbers[sha] = n


def _item_block(d: FormData, s: Section, it: dict[str, Any], n: int, st: dict) -> list:
    c = s.content
    r = _d(c.get("results")).get(str(it["id"])) or {}
    if not isinstance(r, dict):
        r = {}
    code = clean(r.get("code"))
    out: list = [markup(f"检查事项 {n}：{_esc(it['name'])}", st["h3"])]
    out.append(kv_table([
        ("检查依据", it.get("legal_basis")),
        ("检查方式", METHOD_LABELS.get(clean(r.get("method")), clean(r.get("method")))),
        ("检查结果", d.results.get(code, code)),
        ("发现的问题", r.get("problems")),
        ("处理情况", r.get("handling")),
        ("法律依据", r.get("legal_basis")),
        ("后续处理措施", FOLLOW_UP_LABELS.get(clean(r.get("follow_up")), clean(r.get("follow_up")))),
    ], st))
    if it["questions"]:
        answers = _d(c.get("answers"))
        rows = [[para("检查内容", st["label"]), para("记录", st["label"])]]
        for q in it["questions"]:
            key = f"{it['id']}-{q.id}"
            text = _answer_text(q, answers.get(key))
            refs = [d.photo_numbers[sha] for sha in s.by_ref.get(key, ()) if sha in d.photo_numbers]
            if refs:
                text += "（见照片 " + "、".join(f"#{n}" for n in refs) + "）"
            rows.append([para(q.text, st["base"]), para(text, st["base"])])
        table = Table(rows, colWidths=[WIDTH * 0.6, WIDTH * 0.4], repeatRows=1, splitInRow=1)
        table.setStyle(grid_style(header=True))
        out += [Spacer(1, 2 * mm), table]
    return out


def _esc(value: Any) -> str:
    return escape(clean(value))


def _photo_cell(d: FormData, sha: str, meta: dict[str, Any], st: dict) -> list:
    col_w = WIDTH / PHOTO_COLS - 6
    cell: list = []
    photo = d.photos.get(sha)
    thumb = photo_files.thumb_path(sha) if photo is not None else None
    if thumb is not None and thumb.is_file():
        # scaled to the box from the thumbnail's own JPEG header, which RLImage reads anyway (not
        # Photo.width/height: those are the original's size before its EXIF rotation is applied)
        cell.append(RLImage(str(thumb), width=col_w, height=32 * mm, kind="proportional"))
    elif photo is not None:
        cell.append(para("缩略图缺失（原图已存档）", st["small"]))
    else:
        cell.append(para("照片尚未上传", st["warn"]))
    purpose = PURPOSE_LABELS.get(clean(meta.get("purpose")), clean(meta.get("purpose")) or "照片")
    lines = [f"#{d.photo_numbers.get(sha, '?')} {purpose}", f"拍摄：{beijing(meta.get('captured_at'))}"]
    if photo is not None:
        lines.append(f"上传：{beijing(photo.created_at)}")
    cell.append(para("\n".join(lines), st["small"]))
    cell.append(para(f"SHA-256 {sha[:16]}", st["small"]))
    cell.append(para(f"{sha[:32]}\n{sha[32:]}", st["tiny"]))
    return cell


def _photos_block(d: FormData, s: Section, st: dict) -> list:
    metas: dict[str, dict[str, Any]] = {}
    for p in _list(s.content.get("photos")):
        if isinstance(p, dict) and isinstance(p.get("sha256"), str):
            metas.setdefault(p["sha256"], p)
    for sha in s.refs:
        metas.setdefault(sha, {"purpose": "stamp" if sha == _d(s.content.get("business")).get("stamp_photo")
                               else "witness"})
    out: list = [markup(f"现场照片（{len(metas)} 张，缩略图；原图按 SHA-256 存档）", st["h3"])]
    if not metas:
        return out + [para("无照片", st["muted"])]
    cells = [_photo_cell(d, sha, meta, st) for sha, meta in metas.items()]
    rows = [cells[i:i + PHOTO_COLS] for i in range(0, len(cells), PHOTO_COLS)]
    rows[-1] += [""] * (PHOTO_COLS - len(rows[-1]))
    table = Table(rows, colWidths=[WIDTH / PHOTO_COLS] * PHOTO_COLS)
    table.setStyle(grid_style())
    return out + [table]


def _confirmation_block(d: FormData, s: Section, st: dict) -> list:
    c = s.content
    party = c.get("party") if isinstance(c.get("party"), dict) else {}
    b = c.get("business") if isinstance(c.get("business"), dict) else {}
    mode = clean(b.get("mode"))
    out: list = [markup("被检查对象意见与确认", st["h3"]), kv_table([
        ("联络人", party.get("liaison_name")),
        ("联系电话", party.get("liaison_phone")),
        ("被检查对象意见", party.get("opinion")),
    ], st)]
    if mode == "signature":
        out.append(kv_table([
            ("确认方式", "当场签字确认"),
            ("签字人", f"{clean(b.get('name')) or '—'}（{clean(b.get('role')) or '—'}）"),
            ("签字时间", beijing(b.get("signed_at"))),
            ("签字", data_url_image(b.get("signature"), 60 * mm, 25 * mm, st)),
        ], st))
    elif mode == "stamp":
        sha = clean(b.get("stamp_photo"))
        out.append(kv_table([
            ("确认方式", "在纸质记录表上盖章"),
            ("盖章时间", beijing(b.get("stamp_at"))),
            ("盖章照片", f"见照片 #{d.photo_numbers[sha]}（SHA-256 {sha[:16]}）" if sha in d.photo_numbers
             else "缺少盖章照片"),
        ], st))
    elif mode == "refusal":
        rf = b.get("refusal") if isinstance(b.get("refusal"), dict) else {}
        witness = clean(rf.get("witness_name")) or "无"
        wsha = clean(rf.get("witness_photo"))
        if wsha in d.photo_numbers:
            witness += f"（见照片 #{d.photo_numbers[wsha]}）"
        signer = ""
        if rf.get("inspector_id"):
            signer = next((i.name for _m, i, _dp in d.members if i.id == rf.get("inspector_id")), "")
        out += [Spacer(1, 2 * mm), markup("被检查对象拒绝签字（盖章）情况说明", st["warn"])]
        out.append(kv_table([
            ("确认方式", "拒绝签字（盖章），由检查人员签字说明"),
            ("拒签理由", rf.get("reason")),
            ("时间", beijing(rf.get("at"))),
            ("地点", rf.get("place")),
            ("见证人", witness),
            ("情况说明", rf.get("statement")),
            ("检查人员签字", [data_url_image(rf.get("inspector_signature"), 60 * mm, 25 * mm, st),
                          para(f"{signer}　{beijing(rf.get('inspector_signed_at'))}".strip(), st["small"])]),
        ], st))
    elif mode == "absent":
        n_photos = len([p for p in _list(c.get("photos")) if isinstance(p, dict) and p.get("purpose") == "evidence"])
        out.append(kv_table([
            ("确认方式", "无法联系（无人在场），无签字，无拒签说明"),
            ("取证说明", c.get("evidence_notes")),
            ("取证照片", f"{n_photos} 张（见上方照片）"),
        ], st))
    else:
        out.append(para("被检查对象确认：尚未填写", st["warn"]))
    return out


def _inspectors_block(d: FormData, s: Section, st: dict) -> list:
    signed = s.content.get("inspectors") if isinstance(s.content.get("inspectors"), dict) else {}
    names = {str(i.id): (i.name, dept.name if dept else "") for _m, i, dept in d.members}
    rows = [[para(h, st["label"]) for h in ("检查人员", "签字", "签字时间")]]
    for iid, sig in sorted(signed.items(), key=lambda kv: kv[0]):
        sig = sig if isinstance(sig, dict) else {}
        name, dept = names.get(iid, (clean(sig.get("name")) or iid, ""))
        rows.append([para(f"{name}\n{dept}".strip(), st["base"]),
                     data_url_image(sig.get("signature"), 50 * mm, 18 * mm, st),
                     para(beijing(sig.get("signed_at")), st["base"])])
    for _m, i, _dept in d.members:  # an active member who has not signed is shown as such
        if _m.active and str(i.id) not in signed:
            rows.append([para(i.name, st["base"]), para("未签字", st["warn"]), para("—", st["base"])])
    table = Table(rows, colWidths=[50 * mm, 80 * mm, WIDTH - 130 * mm], repeatRows=1, splitInRow=1)
    table.setStyle(grid_style(header=True))
    return [markup("检查人员签字", st["h3"]), table]


def _section_block(d: FormData, s: Section, index: int, st: dict) -> list:
    c, r = s.content, s.record
    out: list = [markup(f"{_cn_number(index)}、{_esc(s.department.name)}", st["h2"])]
    meta = f"记录第 {r.version} 版 · 提交于 {beijing(r.created_at)}"
    if r.late:
        meta += " · 迟交"
    if not r.finished:
        meta += " · 未完成（草稿）"
    if r.status is RecordStatus.CONFLICT:
        meta += " · 冲突版本"
    out.append(para(meta, st["muted"]))
    if c.get("schema") != 2:
        out.append(para("该版本为旧格式记录（schema 1），以下仅列出可识别的内容。", st["warn"]))
    notice = clean(c.get("notice"))
    out.append(para(f"告知情况：{NOTICE_LABELS.get(notice, notice) or '—'}", st["base"]))
    for n, it in enumerate(s.items, start=1):
        out += _item_block(d, s, it, n, st)
    measures = c.get("measures") if isinstance(c.get("measures"), dict) else {}
    taken = [f"{MEASURE_LABELS.get(k, k)}（{MEASURE_FORM_LABELS.get(clean(m.get('form')), clean(m.get('form'))) or '方式未填'}）"
             for k, m in sorted(measures.items()) if isinstance(m, dict) and m.get("on")]
    out += [markup("发现的问题与采取的措施", st["h3"]), kv_table([
        ("发现的问题（总述）", c.get("findings")),
        ("采取的措施", "；".join(taken) or "未采取措施"),
        ("取证说明", c.get("evidence_notes")),
        ("备注", c.get("notes")),
    ], st)]
    out += _photos_block(d, s, st)
    out += _confirmation_block(d, s, st)
    out += _inspectors_block(d, s, st)
    return out


def _review_block(d: FormData, st: dict) -> list:
    out: list = [markup("组长汇总与部门审核", st["h2"])]
    cons = d.consolidation
    if cons is None:
        out.append(kv_table([("组长汇总", "未汇总")], st))
    else:
        who = d.users.get(cons.consolidated_by_id)
        out.append(kv_table([
            ("组长汇总意见", cons.summary or "—"),
            ("汇总人与时间", f"{who.display_name if who else cons.consolidated_by_id}　{beijing(cons.consolidated_at)}"
                        f"（第 {cons.round} 轮）"),
        ], st))
    rows = [[para(h, st["label"]) for h in ("部门", "审核状态", "审核人与时间", "意见")]]
    for s in d.sections:
        res = s.result
        if res is None:
            rows.append([para(s.department.name, st["base"]), para("未审核", st["base"]), para("—", st["base"]),
                         para("—", st["base"])])
            continue
        status = REVIEW_LABELS.get(res.status, res.status.value)
        if res.entered_late:
            status += "（逾期录入）"
        who = d.users.get(res.reviewed_by_id) if res.reviewed_by_id else None
        when = f"{who.display_name if who else '—'}　{beijing(res.reviewed_at)}" if res.reviewed_at else "—"
        rows.append([para(s.department.name, st["base"]), para(status, st["base"]), para(when, st["base"]),
                     para(res.review_comment, st["base"])])
    table = Table(rows, colWidths=[45 * mm, 30 * mm, 50 * mm, WIDTH - 125 * mm], repeatRows=1, splitInRow=1)
    table.setStyle(grid_style(header=True))
    out += [Spacer(1, 2 * mm), table]
    # the versions printed, with their full content hashes
    rows = [[para(h, st["label"]) for h in ("部门", "版本", "记录内容 SHA-256")]]
    for s in d.sections:
        rows.append([para(s.department.name, st["base"]), para(f"第 {s.record.version} 版", st["base"]),
                     para(s.record.content_sha256, st["small"])])
    table = Table(rows, colWidths=[45 * mm, 20 * mm, WIDTH - 65 * mm], repeatRows=1)
    table.setStyle(grid_style(header=True))
    out += [markup("本表所依据的记录版本", st["h3"]), table]
    return out


def _cn_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    return str(n)


def render(d: FormData) -> bytes:
    """Return the PDF of the gathered form."""
    st = styles()
    font = cjk_font().name
    _number_photos(d)
    footer_lines = [f"{s.department.name} 第 {s.record.version} 版 SHA-256 {s.record.content_sha256}"
                    for s in d.sections]
    generated = f"生成时间 {beijing(d.generated_at, seconds=True)}（北京时间）· {d.task.code}"
    bottom = MARGIN + (len(footer_lines) + 1) * 7.5

    def draw_footer(canvas: Any, page: int, total: int) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.HexColor("#333333"))
        canvas.drawRightString(PAGE[0] - MARGIN, MARGIN - 6, f"第 {page} 页 共 {total} 页")
        canvas.drawString(MARGIN, MARGIN - 6, generated)
        canvas.setFont(font, 6)
        y = MARGIN + 3
        for line in reversed(footer_lines):
            canvas.drawString(MARGIN, y, line)
            y += 7.5
        canvas.setStrokeColor(colors.HexColor("#999999"))
        canvas.setLineWidth(0.4)
        canvas.line(MARGIN, y, PAGE[0] - MARGIN, y)
        canvas.setFont(font, 7)
        canvas.drawRightString(PAGE[0] - MARGIN, PAGE[1] - MARGIN + 12, f"{TITLE} · {d.obj.name}"[:80])
        canvas.restoreState()

    story: list = _header(d, st)
    for n, s in enumerate(d.sections, start=1):
        story += _section_block(d, s, n, st)
    for n, dept in enumerate(d.missing, start=len(d.sections) + 1):
        story += [markup(f"{_cn_number(n)}、{_esc(dept.name)}", st["h2"]),
                  para("该部门尚未同步检查记录。", st["warn"])]
    story += _review_block(d, st)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + 6,
                            bottomMargin=bottom + 4, title=f"{TITLE} {d.obj.name}", author=d.task.code,
                            subject=TITLE, creator="Spotcheck")
    doc.build(keep_headings([f for f in story if f is not None]), canvasmaker=numbered_canvas(draw_footer))
    return buf.getvalue()


def build(visit: Visit) -> bytes:
    return render(gather(visit))


def filename(visit: Visit) -> str:
    return f"记录表-{visit.object.name}-{visit.id}.pdf"

