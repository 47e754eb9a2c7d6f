"""Chinese working days (issue 8 §3): ``add_workdays`` and the two legal deadlines.

"N working days after D" is the N-th working day strictly after D (D itself never counts,
whether or not it is a working day). A working day is Monday–Friday unless the loaded calendar
says ``holiday``, or a Saturday/Sunday the calendar says ``workday`` (调休). Days of a year
that is not loaded follow the weekly rule only, and a deadline that needed one of them is
*provisional*, with the reason — never a silent guess.

The calendar is read once per change (a fingerprint of ``calendar_years`` is checked per call,
one small query, cached per request) into sorted arrays, so a deadline is a bisect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import func

from ..extensions import db
from .models import CalendarDay, CalendarYear, DayKind

BEIJING = ZoneInfo("Asia/Shanghai")
#: results within 20 working days of the check [000#20, 002#16, 003#19, 004§7(五)]
RESULT_WORKDAYS = 20
#: referrals within 7 working days of the result [000#20(三)]
REFERRAL_WORKDAYS = 7

_signals = Namespace()
#: sent (with ``years=[…]``) after a year's arrangement is loaded or replaced: stored provisional
#: deadlines are recomputed by the receivers (review, follow-up)
calendar_changed = _signals.signal("calendar-changed")


@dataclass(frozen=True)
class Deadline:
    date: date
    provisional: bool = False
    #: why it is provisional (zh-CN, shown beside the date), else None
    reason: str | None = None

    def as_json(self) -> dict:
        return {"date": self.date.isoformat(), "provisional": self.provisional, "reason": self.reason}


def beijing_date(moment: datetime) -> date:
    """Return the calendar date in Beijing of an aware datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).date()


def beijing_today() -> date:
    return datetime.now(BEIJING).date()


@dataclass(frozen=True)
class _Calendar:
    years: frozenset[int]
    holidays: frozenset[date]
    workdays: frozenset[date]  # 调休 working weekends

    def is_workday(self, d: date) -> bool:
        if d in self.holidays:
            return False
        if d in self.workdays:
            return True
        return d.weekday() < 5


_process_cache: dict[tuple, _Calendar] = {}


def _fingerprint() -> tuple:
    count, latest, total = db.session.execute(db.select(
        func.count(CalendarYear.year), func.max(CalendarYear.loaded_at),
        db.select(func.count()).select_from(CalendarDay).scalar_subquery())).one()
    return (count, str(latest), total)


def calendar() -> _Calendar:
    """Return the loaded calendar (cached per process, re-read when the tables change)."""
    cache = g.setdefault("_workdays_cal", None) if has_app_context() else None
    if cache is not None:
        return cache
    key = _fingerprint()
    cal = _process_cache.get(key)
    if cal is None:
        years = frozenset(db.session.execute(db.select(CalendarYear.year)).scalars())
        hol, work = set(), set()
        for day, kind in db.session.execute(db.select(CalendarDay.day, CalendarDay.kind)):
            (hol if kind is DayKind.HOLIDAY else work).add(day)
        cal = _Calendar(years, frozenset(hol), frozenset(work))
        _process_cache.clear()
        _process_cache[key] = cal
    if has_app_context():
        g._workdays_cal = cal
    return cal


def forget_cache() -> None:
    """Drop the cached calendar (after loading a year in this request)."""
    _process_cache.clear()
    if has_app_context():
        g.pop("_workdays_cal", None)


def is_workday(d: date) -> bool:
    return calendar().is_workday(d)


def add_workdays(start: date, n: int) -> Deadline:
    """Return the N-th working day after ``start`` (N ≥ 0; N = 0 returns ``start``)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    cal = calendar()
    d, left = start, n
    # whole weeks would be faster, but holidays make them irregular; N is small (≤ a few hundred)
    while left:
        d += timedelta(days=1)
        if cal.is_workday(d):
            left -= 1
    missing = sorted({y for y in range(start.year, d.year + 1) if y not in cal.years}
                     if n else ({start.year} - cal.years))
    if not missing:
        return Deadline(d)
    years = "、".join(str(y) for y in missing)
    return Deadline(d, True, _("%(years)s 年的节假日安排尚未载入（国务院办公厅通知发布后由联席办载入），"
                               "暂按周末双休推算，载入后自动更正。", years=years))


def result_due(visited_on: date) -> Deadline:
    return add_workdays(visited_on, RESULT_WORKDAYS)


def referral_due(result_on: date) -> Deadline:
    return add_workdays(result_on, REFERRAL_WORKDAYS)


def seed_from_package(years: list[int] | None = None, *, replace: bool = False) -> list[int]:
    """Load the years the ``chinese-calendar`` package knows (or only ``years``) that are not
    loaded yet (all of them with ``replace``); return the years loaded. Flushes only."""
    import chinese_calendar
    from chinese_calendar import constants

    known: dict[int, list[tuple[date, DayKind, str | None]]] = {}
    for day, name in constants.holidays.items():
        known.setdefault(day.year, []).append((day, DayKind.HOLIDAY, _holiday_zh(name)))
    for day, name in constants.workdays.items():
        if day.weekday() >= 5:
            known.setdefault(day.year, []).append((day, DayKind.WORKDAY, _holiday_zh(name)))
    have = set(db.session.execute(db.select(CalendarYear.year)).scalars())
    wanted = sorted(years if years is not None else known)
    loaded = []
    version = getattr(chinese_calendar, "__version__", "?")
    for year in wanted:
        if year not in known or (year in have and not replace):
            continue
        if year in have:
            db.session.execute(db.delete(CalendarDay).where(CalendarDay.year == year))
            db.session.execute(db.delete(CalendarYear).where(CalendarYear.year == year))
        db.session.add(CalendarYear(year=year, source=f"chinese-calendar {version}"))
        db.session.flush()
        # a weekend "holiday" changes nothing, but is kept so the year reads like the notice
        db.session.add_all([CalendarDay(day=d, year=year, kind=k, name=n) for d, k, n in known[year]])
        loaded.append(year)
    db.session.flush()
    forget_cache()
    return loaded


_HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def _holiday_zh(name: str | None) -> str | None:
    if name is None:
        return None
    return _HOLIDAY_NAMES.get(name, name)[:50]
