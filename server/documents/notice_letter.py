"""The notice letter (部门联合检查告知书) of an announced visit as a PDF.

Before an announced on-site check the team tells the party in writing when it will come and what
to prepare [000#20(二)], its rights and obligations [001#14(二)]. When the check or its items must
not be disclosed, no notice is given and no letter is issued [000#20(二), 001#14(二)]: an
unannounced task gets 409 ``unannounced_task`` and no PDF. A party may ask for an inspector with a
conflict of interest to be replaced (回避) [003#14, 000#16]; inspectors show their certificates.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table
from sqlalchemy import select

from ..catalog.models import CheckItem
from ..core.errors import Conflict
from ..extensions import db
from ..org.models import Department
from ..planning.models import Task, TaskDepartment
from ..registry.models import Inspector
from ..teams.models import Team, TeamMember
from ..visits.models import Visit, VisitItem
from .common import (
    MARGIN,
    PAGE,
    WIDTH,
    beijing,
    clean,
    cn_date,
    grid_style,
    hhmm,
    keep_headings,
    markup,
    numbered_canvas,
    para,
    styles,
)
from .fonts import cjk_font

TITLE = "市场监管领域部门联合检查告知书"


def ensure_announced(task: Task) -> None:
    """Raise 409 ``unannounced_task`` for a task whose checks must not be announced."""
    if task.unannounced:
        raise Conflict("unannounced_task", _(
            "该任务为不事先告知的检查，不得向检查对象透露检查情况，不发放联合检查告知书。"))


def available(task: Task) -> bool:
    """True when a notice letter may be offered for the task's visits (announced tasks only)."""
    return not task.unannounced


def build(visit: Visit) -> bytes:
    task = db.session.get(Task, visit.task_id)
    ensure_announced(task)
    team = db.session.get(Team, visit.team_id)
    obj = visit.object
    st = styles()
    font = cjk_font().name
    items = db.session.execute(select(VisitItem, CheckItem, Department)
                               .join(CheckItem, CheckItem.id == VisitItem.check_item_id)
                               .join(Department, Department.id == VisitItem.department_id)
                               .where(VisitItem.visit_id == visit.id).order_by(VisitItem.id)).all()
    task_depts = db.session.execute(select(TaskDepartment, Department)
                                    .join(Department, Department.id == TaskDepartment.department_id)
                                    .where(TaskDepartment.task_id == task.id)
                                    .order_by(TaskDepartment.is_initiator.desc(), Department.id)).all()
    dept_names = [d.name for _td, d in task_depts]
    for _vi, _ci, d in items:
        if d.name not in dept_names:
            dept_names.append(d.name)
    initiator = next((d.name for td, d in task_depts if td.is_initiator), None) or (
        task.initiating_department.name if task.initiating_department else "")
    members = db.session.execute(select(TeamMember, Inspector, Department)
                                 .join(Inspector, Inspector.id == TeamMember.inspector_id)
                                 .join(Department, Department.id == TeamMember.department_id)
                                 .where(TeamMember.team_id == team.id, TeamMember.active.is_(True))
                                 .order_by(TeamMember.is_leader.desc(), TeamMember.id)).all()
    leader = next(((i, d) for m, i, d in members if m.is_leader), None)

    if visit.scheduled_on:
        when = cn_date(visit.scheduled_on)
        if visit.window_start or visit.window_end:
            when += f" {hhmm(visit.window_start) or '—'} 至 {hhmm(visit.window_end) or '—'}"
    else:
        when = f"{cn_date(task.period_start)}至{cn_date(task.period_end)}期间（具体时间另行通知）"

    story: list = [markup(TITLE, st["title"]), Spacer(1, 4 * mm)]
    story.append(para(f"{clean(obj.name)}（统一社会信用代码：{clean(obj.code)}）：", st["plain"]))
    story.append(markup(
        f"根据“双随机、一公开”部门联合抽查工作安排，{escape('、'.join(dept_names))}"
        f"将对你单位开展部门联合检查（任务：{escape(clean(task.name))}，编号 {escape(clean(task.code))}）。"
        f"检查时间：<b>{escape(when)}</b>。现将有关事项告知如下：", st["body"]))
    story.append(markup("一、参加检查的部门", st["h3"]))
    story.append(para("、".join(dept_names), st["plain"]))
    story.append(markup("二、检查事项及依据", st["h3"]))
    rows = [[para(h, st["label"]) for h in ("序号", "检查部门", "检查事项", "检查依据")]]
    for n, (_vi, ci, d) in enumerate(items, start=1):
        rows.append([para(str(n), st["base"]), para(d.name, st["base"]), para(ci.name, st["base"]),
                     para(ci.legal_basis, st["base"])])
    if len(rows) == 1:
        rows.append([para("—", st["base"])] * 4)
    table = Table(rows, colWidths=[12 * mm, 40 * mm, 55 * mm, WIDTH - 107 * mm], repeatRows=1, splitInRow=1)
    table.setStyle(grid_style(header=True))
    story.append(table)
    story.append(markup("三、检查人员", st["h3"]))
    rows = [[para(h, st["label"]) for h in ("姓名", "部门", "执法证号", "职责")]]
    for m, i, d in members:
        rows.append([para(i.name, st["base"]), para(d.name, st["base"]), para(i.certificate_no, st["base"]),
                     para("组长" if m.is_leader else "组员", st["base"])])
    table = Table(rows, colWidths=[32 * mm, 68 * mm, 50 * mm, WIDTH - 150 * mm], repeatRows=1, splitInRow=1)
    table.setStyle(grid_style(header=True))
    story.append(table)
    story.append(markup("四、配合检查的要求", st["h3"]))
    for line in (
        "1. 请你单位法定代表人（负责人）或其委托人员在检查时在场，如实回答询问，配合检查人员查阅、复制有关资料，"
        "不得拒绝、阻碍检查。",
        "2. 请提前准备营业执照、许可证件、与上述检查事项有关的台账、票据、合同等资料。",
        "3. 检查结束后，请在检查记录表上签字或盖章确认；拒绝签字或盖章的，由检查人员如实记录。",
    ):
        story.append(para(line, st["plain"]))
    story.append(markup("五、你单位的权利", st["h3"]))
    for line in (
        "1. 检查人员应当出示执法证件；未出示的，你单位有权拒绝检查。",
        "2. 认为检查人员与你单位有利害关系、可能影响公正检查的，有权申请其回避。",
        "3. 对检查情况有权陈述意见，并可在检查记录表上写明你单位的意见。",
        "4. 检查结果将依法通过国家企业信用信息公示系统公示；对公示结果有异议的，可依法提出。",
    ):
        story.append(para(line, st["plain"]))
    story.append(markup("六、联系方式", st["h3"]))
    if leader:
        li, ld = leader
        contact = f"检查组组长：{clean(li.name)}（{clean(ld.name)}）"
        if clean(li.phone):
            contact += f"，联系电话：{clean(li.phone)}"
    else:
        contact = "检查组组长：—"
    story.append(para(contact, st["plain"]))
    story.append(Spacer(1, 12 * mm))
    sign = Table([
        [para("被检查对象签收：\n\n\n签收人：　　　　　　日期：", st["plain"]),
         para(f"{initiator}（盖章）\n\n\n{cn_date(datetime.now(UTC).date())}", st["plain"])],
    ], colWidths=[WIDTH / 2, WIDTH / 2])
    sign.setStyle(grid_style())
    story.append(sign)
    story.append(Spacer(1, 4 * mm))
    story.append(para("本告知书一式两份，被检查对象和检查组各执一份。", st["muted"]))

    generated = f"生成时间 {beijing(datetime.now(UTC), seconds=True)}（北京时间）· {task.code}"

    def footer(canvas: Any, page: int, total: int) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.HexColor("#333333"))
        canvas.drawString(MARGIN, MARGIN - 6, generated)
        canvas.drawRightString(PAGE[0] - MARGIN, MARGIN - 6, f"第 {page} 页 共 {total} 页")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + 4,
                            bottomMargin=MARGIN + 8, title=f"{TITLE} {obj.name}", author=task.code, subject=TITLE,
                            creator="Spotcheck")
    doc.build(keep_headings(story), canvasmaker=numbered_canvas(footer))
    return buf.getvalue()


def filename(visit: Visit) -> str:
    return f"告知书-{visit.object.name}-{visit.id}.pdf"
