"""Statistics page ``/stats`` and its XLSX export ``/stats.xlsx`` (issue 8 §6)."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

from flask import Blueprint, abort, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..core.xlsx import defuse_formulas
from . import services
from .services import StatsInputError

bp = Blueprint("stats", __name__, template_folder="templates")


def _require_access() -> None:
    if not services.may_view(current_user):
        abort(403)


def bars(items: list[tuple[str, float, str]], *, maximum: float | None = None,
         line: float | None = None, line_label: str = "") -> dict[str, Any]:
    """Geometry of a horizontal bar chart (label line above each bar, value at its end): a viewBox
    320 wide scales down to a 360 px screen. ``line``: a vertical marker (e.g. a minimum ratio)."""
    top = max([v for _l, v, _t in items] + [line or 0, maximum or 0]) or 1
    width = 230.0
    rows = []
    for i, (label, value, text) in enumerate(items):
        rows.append({"label": label, "text": text, "y": 8 + i * 40, "w": round(width * value / top, 1)})
    return {"rows": rows, "height": 16 + len(items) * 40, "scale": width,
            "line_x": round(width * line / top, 1) if line is not None else None, "line_label": line_label}


def _charts(stats: services.Stats) -> dict[str, Any]:
    charts: dict[str, Any] = {}
    cats = [c for c in stats.categories if c["count"]]
    if cats:
        charts["categories"] = bars([(c["label"], c["count"], str(c["count"])) for c in cats])
    rates = [(r.department.short_name or r.department.name, float(r.on_time_rate or 0) * 100,
              services.percent_text(r.on_time_rate)) for r in stats.departments if r.due]
    if rates:
        charts["on_time"] = bars(rates, maximum=100)
    if stats.risk is not None:
        risk = [r for r in stats.risk if r.candidates]
        if risk:
            top = max([float(r.share or 0) for r in risk] + [float(r.minimum or 0) for r in risk]) or 1
            charts["risk"] = [{"row": r, "w": round(190 * float(r.share or 0) / top, 1),
                               "line_x": round(190 * float(r.minimum) / top, 1) if r.minimum is not None else None,
                               "y": 8 + i * 40} for i, r in enumerate(risk)]
            charts["risk_height"] = 16 + len(risk) * 40
    return charts


def _render(filters_raw: dict[str, str], *, stats: services.Stats | None = None, errors=None, status: int = 200):
    return render_template("stats/index.html", stats=stats, errors=errors or {}, raw=filters_raw,
                           departments=services.selectable_departments(current_user),
                           global_view=services.sees_all_departments(current_user),
                           charts=_charts(stats) if stats else {}, pct=services.percent_text,
                           stage_columns=services.STAGE_COLUMNS), status


def _raw() -> dict[str, str]:
    return {k: (request.args.get(k) or "").strip() for k in ("year", "department", "task", "from", "to")}


def _filters():
    """The request's filters, or the page with the errors beside the form (nothing computed)."""
    _require_access()
    try:
        return services.parse_filters(request.args, current_user), None
    except StatsInputError as err:
        return None, _render(_raw(), errors=err.errors, status=err.status)


@bp.get("/stats")
@login_required
def index():
    """The statistics for the chosen year, department, task and visit dates."""
    filters, refused = _filters()
    if refused is not None:
        return refused
    stats = services.compute(filters, current_user)
    raw = _raw()
    raw["year"] = str(filters.year)
    if filters.department is not None:
        raw["department"] = str(filters.department.id)
    return _render(raw, stats=stats)


@bp.get("/stats.xlsx")
@login_required
def export():
    """The same figures as a workbook: one sheet per table, the filters on the first sheet."""
    filters, refused = _filters()
    if refused is not None:
        return refused
    stats = services.compute(filters, current_user)
    data = workbook(stats)
    name = f"spotcheck-stats-{filters.year}.xlsx"
    response = send_file(BytesIO(data), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- XLSX --------------------------------------------------------------------------------------------

PCT = "0.0%"


def _num(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _sheet(wb, title: str, headers: list[str], rows: list[list[Any]], percent_cols: set[int] = frozenset(),
           widths: list[int] | None = None):
    from openpyxl.styles import Alignment, Font

    ws = wb.create_sheet(title)
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        ws.append([_num(v) for v in row])
        defuse_formulas(ws[ws.max_row])  # names and labels typed by users stay text
    for col in percent_cols:
        for (cell,) in ws.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
            cell.number_format = PCT
    from openpyxl.utils import get_column_letter

    for i, header in enumerate(headers):
        ws.column_dimensions[get_column_letter(i + 1)].width = (widths[i] if widths and i < len(widths)
                                                                else max(10, len(header) * 2 + 2))
    ws.freeze_panes = "A2"
    return ws


def workbook(stats: services.Stats) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("概览")
    ws.append([_("双随机、一公开联合抽查统计")])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("统计日期"), stats.today.isoformat()])
    for label, value in stats.filters.describe():
        ws.append([label, value])
        defuse_formulas(ws[ws.max_row])
    ws.append([])
    t = stats.totals
    start = ws.max_row + 1
    ws.append([_("指标"), _("数值")])
    ws.cell(row=start, column=1).font = Font(bold=True)
    ws.cell(row=start, column=2).font = Font(bold=True)
    summary = [
        (_("任务数"), t["tasks"]), (_("牵头任务"), t["led"]), (_("牵头的联合任务"), t["joint_led"]),
        (_("联合抽查占比"), t["joint_share"]), (_("检查对象（户次）"), t["visits_total"]),
        (_("已完成检查"), t["visits_done"]), (_("已录入结果"), t["entered"]),
        (_("按时录入率"), t["on_time_rate"]), (_("逾期未录入"), t["overdue"]),
        (_("待办移送"), t["fu_open"]), (_("已办结移送"), t["fu_closed"]), (_("逾期移送"), t["fu_overdue"]),
    ]
    for label, value in summary:
        ws.append([label, _num(value)])
        if label in (_("联合抽查占比"), _("按时录入率")):
            ws.cell(row=ws.max_row, column=2).number_format = PCT
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 40

    dept_headers = [_("部门"), _("牵头任务"), _("牵头的联合任务"), _("联合抽查占比"), _("参与他部门任务"),
                    _("检查对象（户次）"), _("待排期"), _("已排期"), _("已检查"), _("已汇总"), _("已审核"),
                    _("已录入结果"), _("按时录入"), _("应录入结果"), _("按时录入率"), _("逾期未录入"),
                    _("待办移送"), _("已办结移送"), _("逾期移送")]
    _sheet(wb, _("各部门"), dept_headers, [
        [r.department.name, r.led, r.joint_led, r.joint_share, r.joined, r.visits_total,
         *[r.visits[k] for k in services.STAGE_COLUMNS], r.entered, r.on_time, r.due, r.on_time_rate, r.overdue,
         r.fu_open, r.fu_closed, r.fu_overdue] for r in stats.departments],
        percent_cols={3, 14}, widths=[30] + [12] * 18)
    if stats.tasks is not None:
        _sheet(wb, _("各任务"), [_("任务编号"), _("任务名称"), _("联合任务"), _("检查对象（户次）"), _("已完成检查"),
                                _("已录入结果"), _("按时录入"), _("应录入结果"), _("按时录入率"), _("逾期未录入"),
                                _("待办移送"), _("逾期移送")],
               [[r.task.code, r.task.name, _("是") if r.joint else _("否"), r.visits_total, r.visits_done,
                 r.entered, r.on_time, r.due, r.on_time_rate, r.overdue, r.fu_open, r.fu_overdue]
                for r in stats.tasks], percent_cols={8}, widths=[20, 36] + [12] * 10)
    _sheet(wb, _("结果分类"), [_("结果代码"), _("检查结果"), _("结果数"), _("占已录入结果")],
           [[c["code"], c["label"], c["count"], c["share"]] for c in stats.categories],
           percent_cols={3}, widths=[20, 40, 12, 14])
    if stats.risk is not None:
        _sheet(wb, _("风险等级（内部）"), [_("风险等级"), _("候选对象"), _("抽取对象"), _("抽取比例"), _("最低比例"),
                                       _("是否达标")],
               [[r.label, r.candidates, r.drawn, r.share, r.minimum,
                 "—" if r.met is None else (_("达标") if r.met else _("未达标"))] for r in stats.risk],
               percent_cols={3, 4}, widths=[18, 12, 12, 12, 12, 12])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
