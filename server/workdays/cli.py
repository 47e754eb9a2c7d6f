"""``flask calendar …``: count working days, show a year, load a year's arrangement, seed from the
chinese-calendar package. Writes are audited with the actor ``cli``; bad input → a message on
stderr, nothing stored, exit code 2."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

from ..audit.services import record, set_actor
from ..extensions import db
from . import services

calendar_cli = AppGroup("calendar", help="The Chinese working-day calendar (holidays and 调休).")

#: the largest N the calculator accepts (about four years of working days)
MAX_N = 1000


def _fail(message: str, code: int = 2) -> None:
    click.echo(message, err=True)
    raise SystemExit(code)


@calendar_cli.command("add-workdays", context_settings={"ignore_unknown_options": True})  # N may be "-1"
@click.argument("start")
@click.argument("n")
def add_workdays_command(start: str, n: str) -> None:
    """Print the date N working days after START (YYYY-MM-DD); "（暂定）" and the reason when a
    year it counts through is not loaded."""
    try:
        day = date.fromisoformat(start.strip())
    except ValueError:
        _fail(_("“%(value)s”不是有效日期，请写作 YYYY-MM-DD，例如 2025-09-30。", value=start))
    try:
        count = int(n.strip())
    except ValueError:
        count = None
    if count is None or not 0 <= count <= MAX_N:
        _fail(_("“%(value)s”不是有效的工作日数，请写 0 到 %(max)s 之间的整数，例如 20。", value=n, max=MAX_N))
    deadline = services.add_workdays(day, count)
    if deadline.provisional:
        click.echo(f"{deadline.date.isoformat()}{_('（暂定）')}")
        click.echo(deadline.reason)
    else:
        click.echo(deadline.date.isoformat())


@calendar_cli.command("show")
@click.argument("year", type=int)
def show_command(year: int) -> None:
    """List a loaded year's exceptions to the weekly rule (放假 / 调休上班)."""
    info = services.calendar_year_info(year)
    if not info["loaded"]:
        _fail(_("%(year)s 年未载入：跨入 %(year)s 年的期限将显示为暂定。用 flask calendar load FILE 载入国务院办公厅的通知。",
                year=year), 1)
    click.echo(_("%(year)s 年：%(h)s 天放假（其中 %(wh)s 天是周一至周五），%(w)s 天调休上班；来源 %(source)s%(notice)s",
                 year=year, h=info["holidays"], wh=info["weekday_holidays"], w=info["workdays"],
                 source=info["source"], notice=f"，{info['notice']}" if info["notice"] else ""))
    for d in info["days"]:
        mark = _("休") if d.kind is services.DayKind.HOLIDAY else _("班")
        click.echo(f"{d.day.isoformat()} {services.weekday_zh(d.day)} {mark} {d.name or ''}".rstrip())


@calendar_cli.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace the year if it is already loaded.")
def load_command(file: Path, replace: bool) -> None:
    """Load one year's arrangement from a JSON file (format: docs/calendar.md)."""
    set_actor(None, "cli")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        _fail(_("无法读取 %(file)s（应为 UTF-8 编码的 JSON 文件）：%(err)s", file=file, err=err))
    try:
        result = services.load_year(services.parse_arrangement_text(text), None, file.name, replace=replace)
    except services.CalendarFileError as err:
        db.session.rollback()
        services.forget_cache()
        click.echo(_("未载入任何内容。%(file)s 有以下问题：", file=file.name), err=True)
        for message in err.errors:
            click.echo(f"- {message}", err=True)
        raise SystemExit(2) from err
    db.session.commit()
    verb = _("已替换") if result["replaced"] else _("已载入")
    click.echo(_("%(verb)s %(year)s 年的节假日安排：%(h)s 天放假，%(w)s 天调休上班（%(notice)s，来源 %(source)s）。",
                 verb=verb, year=result["year"], h=result["holidays"], w=result["workdays"],
                 notice=result["notice"] or _("未注明通知文号"), source=result["source"]))


@calendar_cli.command("seed")
@click.option("--year", type=int, default=None, help="Only this year.")
@click.option("--replace", is_flag=True, help="Replace years already loaded.")
def seed_command(year: int | None, replace: bool) -> None:
    """Load the years the chinese-calendar package knows (those not loaded yet, or all with --replace)."""
    set_actor(None, "cli")
    befores = {y.year: services.year_counts(y.year) for y in services.loaded_years()}
    loaded = services.seed_from_package([year] if year is not None else None, replace=replace)
    if year is not None and not loaded:
        db.session.rollback()
        if year in befores:
            _fail(_("%(year)s 年已载入，未作更改（要用 chinese-calendar 的数据替换，请加 --replace）。", year=year), 1)
        _fail(_("chinese-calendar 包没有 %(year)s 年的数据：请在国务院办公厅的通知发布后用 flask calendar load FILE 载入。",
                year=year), 1)
    for y in loaded:
        record("calendar.load", services.CALENDAR_AUDIT_ENTITY, y, before=befores.get(y),
               after=services.year_counts(y), note="chinese-calendar")
    if loaded:
        services.calendar_changed.send(current_app._get_current_object(), years=loaded)
    db.session.commit()
    if loaded:
        click.echo(_("已从 chinese-calendar 载入：%(years)s", years="、".join(str(y) for y in loaded)))
    else:
        click.echo(_("没有要载入的年份（chinese-calendar 知道的年份都已载入；要替换请加 --replace）。"))
