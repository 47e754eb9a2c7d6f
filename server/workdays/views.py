"""The working-day calendar page ``/admin/calendar``: everyone logged in may read it (the calendar is
public information); the joint office and the system administrator may load or replace a year."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..audit.services import history
from ..auth.roles import Role
from ..extensions import db
from . import services
from .cli import MAX_N

bp = Blueprint("workdays", __name__, template_folder="templates")

#: who may load or replace a year
CALENDAR_EDITORS = (Role.SYSTEM_ADMIN, Role.JOINT_OFFICE)


def can_edit_calendar(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(*CALENDAR_EDITORS))


def _year_arg(errors: dict) -> int:
    """The year to show: ``?year=`` when valid, else this year (Beijing)."""
    raw = (request.args.get("year") or "").strip()
    if raw:
        if raw.isdigit() and services.MIN_YEAR <= int(raw) <= services.MAX_YEAR:
            return int(raw)
        errors["year"] = _("年份应是 %(min)s 到 %(max)s 之间的整数，例如 2026。", min=services.MIN_YEAR,
                           max=services.MAX_YEAR)
    return services.beijing_today().year


def _calculator(errors: dict) -> tuple[dict, services.Deadline | None]:
    """The "N 个工作日后" form (GET ``from`` and ``n``)."""
    form = {"from": (request.args.get("from") or "").strip(), "n": (request.args.get("n") or "").strip()}
    if not form["from"] and not form["n"]:
        return {"from": services.beijing_today().isoformat(), "n": str(services.RESULT_WORKDAYS)}, None
    start = count = None
    try:
        start = date.fromisoformat(form["from"])
    except ValueError:
        errors["from"] = _("请填写有效日期，格式 YYYY-MM-DD，例如 2026-09-30。")
    if form["n"].isdigit() and 0 <= int(form["n"]) <= MAX_N:
        count = int(form["n"])
    else:
        errors["n"] = _("请填写 0 到 %(max)s 之间的整数，例如 20。", max=MAX_N)
    if start is None or count is None:
        return form, None
    return form, services.add_workdays(start, count)


def _render(upload: dict | None = None, upload_errors: list[str] | None = None, status: int = 200):
    errors: dict = {}
    year = _year_arg(errors)
    calc_form, result = _calculator(errors)
    if errors and status == 200:
        status = 400
    years = services.loaded_years()
    sources: dict[str, list[int]] = {}
    for y in years:
        sources.setdefault(y.source, []).append(y.year)
    months = [(m, services.month_grid(year, m)) for m in range(1, 13)]
    return render_template(
        "workdays/calendar.html", year=year, info=services.calendar_year_info(year), years=years, sources=list(sources.items()),
        missing=services.missing_years(), months=months, errors=errors, calc=calc_form, result=result,
        can_edit=can_edit_calendar(current_user), upload=upload or {"text": "", "replace": False},
        upload_errors=upload_errors or [], today=services.beijing_today(), max_n=MAX_N,
        history=history(services.CALENDAR_AUDIT_ENTITY, year, limit=10) if can_edit_calendar(current_user) else [],
        weekday=services.weekday_zh, weekday_heads=[_("一"), _("二"), _("三"), _("四"), _("五"), _("六"), _("日")],
        example_year=max([services.beijing_today().year + 1, *[y.year + 1 for y in years]]),
    ), status


@bp.get("/admin/calendar")
@login_required
def admin():
    """Loaded and missing years, a year as twelve month grids, the calculator, the upload form."""
    return _render()


@bp.post("/admin/calendar")
@login_required
def load():
    """Load (or, with the box ticked, replace) a year from an uploaded file or pasted text; on any
    error nothing is stored and the form comes back with the errors and the text kept (422/409)."""
    if not can_edit_calendar(current_user):
        abort(403)
    text = request.form.get("text") or ""
    replace = request.form.get("replace") == "yes"
    source = _("页面粘贴")
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = upload.read(services.MAX_FILE_BYTES + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _render({"text": text, "replace": replace},
                           [_("上传的文件不是 UTF-8 编码的文本：请另存为 UTF-8 的 JSON 文件后再上传。")], 422)
        source = upload.filename[:200]
    try:
        result = services.load_year(services.parse_arrangement_text(text), current_user, source, replace=replace)
    except services.CalendarFileError as err:
        db.session.rollback()
        services.forget_cache()
        return _render({"text": text, "replace": replace}, err.errors, err.status)
    verb = _("已替换") if result["replaced"] else _("已载入")
    flash(_("%(verb)s %(year)s 年的节假日安排：%(h)s 天放假，%(w)s 天调休上班。跨入该年的期限已按新安排重新计算。",
            verb=verb, year=result["year"], h=result["holidays"], w=result["workdays"]), "success")
    return redirect(url_for(".admin", year=result["year"]))
