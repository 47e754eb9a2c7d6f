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

import json
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import current_app, g, has_app_context
from flask.globals import _cv_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func

from ..audit.services import record
from ..core.errors import DomainError
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


#: how far before and after the loaded years the working-day array reaches (weekly rule there)
_ARRAY_MARGIN_YEARS = 2


class _Calendar:
    """The loaded calendar, read once per change: the exceptions as sets, and every working day
    from two years before the first loaded year to two years after the last one as a sorted array
    of ordinals, so "the N-th working day after D" is one bisect and one index."""

    __slots__ = ("years", "holidays", "workdays", "_first", "_last", "_ords", "_memo")

    def __init__(self, years: frozenset[int], holidays: frozenset[date], workdays: frozenset[date]):
        self.years = years
        self.holidays = holidays
        self.workdays = workdays
        low = (min(years) if years else 2000) - _ARRAY_MARGIN_YEARS
        high = (max(years) if years else 2000) + _ARRAY_MARGIN_YEARS
        self._first = date(low, 1, 1).toordinal()
        self._last = date(high, 12, 31).toordinal()
        hol = {d.toordinal() for d in holidays}
        work = {d.toordinal() for d in workdays}
        first_weekday = date(low, 1, 1).weekday()
        self._ords = array("l", (
            o for o in range(self._first, self._last + 1)
            if o not in hol and (o in work or (first_weekday + o - self._first) % 7 < 5)))
        #: (start ordinal, n) -> (result date, missing years): visits share few dates
        self._memo: dict[tuple[int, int], tuple[date, tuple[int, ...], Deadline | None]] = {}

    def is_workday(self, d: date) -> bool:
        if d in self.holidays:
            return False
        if d in self.workdays:
            return True
        return d.weekday() < 5

    def nth_after(self, start: date, n: int) -> date:
        """The N-th working day strictly after ``start`` (``start`` itself for N = 0)."""
        if n == 0:
            return start
        o = start.toordinal()
        if self._first - 1 <= o <= self._last:
            i = bisect_right(self._ords, o) + n - 1
            if i < len(self._ords):
                return date.fromordinal(self._ords[i])
        return self.nth_after_naive(start, n)

    def nth_after_naive(self, start: date, n: int) -> date:
        """The same, one day at a time (outside the array, and the reference for the tests)."""
        d, left = start, n
        while left:
            d += timedelta(days=1)
            if self.is_workday(d):
                left -= 1
        return d

    def count(self, start: date, n: int) -> tuple[date, tuple[int, ...], Deadline | None]:
        """Return (the N-th working day after ``start``, the years counted through that are not
        loaded, the final Deadline when none is missing)."""
        key = (start.toordinal(), n)
        hit = self._memo.get(key)
        if hit is None:
            end = self.nth_after(start, n)
            # the days counted are start+1 … end (none for N = 0: then only start's own year matters)
            first_year = (start + timedelta(days=1)).year if n else start.year
            missing = tuple(y for y in range(first_year, end.year + 1) if y not in self.years)
            hit = self._memo[key] = (end, missing, None if missing else Deadline(end))
            if len(self._memo) > 100_000:
                self._memo.clear()
        return hit


_process_cache: dict[tuple, _Calendar] = {}


def _fingerprint() -> tuple:
    count, latest, total = db.session.execute(db.select(
        func.count(CalendarYear.year), func.max(CalendarYear.loaded_at),
        db.select(func.count()).select_from(CalendarDay).scalar_subquery())).one()
    return (count, str(latest), total)


def calendar() -> _Calendar:
    """Return the loaded calendar (cached per process, re-read when the tables change; checked once
    per request or CLI command)."""
    ctx = _cv_app.get(None)  # the app context, without the LocalProxy (this runs 100,000 times a page)
    if ctx is not None:
        cache = ctx.g.__dict__.get("_workdays_cal")
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
    if ctx is not None:
        ctx.g._workdays_cal = cal
    return cal


def forget_cache() -> None:
    """Drop the cached calendar (after loading a year in this request)."""
    _process_cache.clear()
    if has_app_context():
        g.pop("_workdays_cal", None)


def is_workday(d: date) -> bool:
    return calendar().is_workday(d)


def workdays_between(start: date, end: date) -> int:
    """How many working days in (start, end] (0 when ``end <= start``): two bisects in the calendar's
    sorted array of working days, the weekly rule day by day for the part outside it."""
    if end <= start:
        return 0
    cal = calendar()
    s, e = start.toordinal(), end.toordinal()
    low, high = cal._first - 1, cal._last  # the array holds every working day of (low, high]
    n = 0
    if s < low:  # before the array
        stop = min(e, low)
        n += sum(1 for o in range(s + 1, stop + 1) if cal.is_workday(date.fromordinal(o)))
        s = stop
    if e > high:  # after the array
        first = max(s, high)
        n += sum(1 for o in range(first + 1, e + 1) if cal.is_workday(date.fromordinal(o)))
        e = first
    if s < e:
        n += bisect_right(cal._ords, e) - bisect_right(cal._ords, s)
    return n


def provisional_reason(missing: tuple[int, ...] | list[int]) -> str:
    years = "、".join(str(y) for y in missing)
    return _("%(years)s 年的节假日安排尚未载入（国务院办公厅通知发布后由联席办载入），"
             "暂按周末双休推算，载入后自动更正。", years=years)


def add_workdays(start: date, n: int) -> Deadline:
    """Return the N-th working day after ``start`` (N ≥ 0; N = 0 returns ``start``)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    end, missing, final = calendar().count(start, n)
    if final is not None:
        return final
    return Deadline(end, True, provisional_reason(missing))


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


# -- loading a year's arrangement (flask calendar load, the calendar page) ---------------------

#: the years a file may describe
MIN_YEAR, MAX_YEAR = 2000, 2100
#: a notice for year Y may list days of late December of Y-1 (e.g. the 2019 notice: 2018-12-29
#: 调休上班, 2018-12-31 放假): they belong to Y's file and row, with their own dates
PREVIOUS_DECEMBER_FROM = 15
#: the longest range {"from", "to"} accepted (the longest holiday so far is 9 days)
MAX_RANGE_DAYS = 31
MAX_FILE_BYTES = 200_000
CALENDAR_AUDIT_ENTITY = "calendar_year"


class CalendarFileError(DomainError):
    """A file or pasted text that cannot be loaded; ``errors`` lists every problem found."""

    status = 422

    def __init__(self, errors: list[str], *, code: str = "invalid_calendar", status: int | None = None):
        message = _("节假日安排有 %(n)s 处错误，未载入任何内容：", n=len(errors)) + "；".join(errors)
        super().__init__(code, message, status=status, errors=errors)
        self.errors = errors


@dataclass
class Arrangement:
    """One year's arrangement, validated: (date, kind, holiday name) per day, as the notice lists them."""

    year: int
    notice: str | None
    days: list[tuple[date, DayKind, str]]

    @property
    def holiday_count(self) -> int:
        return sum(1 for _d, k, _n in self.days if k is DayKind.HOLIDAY)

    @property
    def workday_count(self) -> int:
        return sum(1 for _d, k, _n in self.days if k is DayKind.WORKDAY)


_WEEKDAYS = (_l("周一"), _l("周二"), _l("周三"), _l("周四"), _l("周五"), _l("周六"), _l("周日"))


def weekday_zh(d: date) -> str:
    """The weekday's short name (周一 … 周日; Mon … Sun in English)."""
    return str(_WEEKDAYS[d.weekday()])


def parse_arrangement_text(text: str) -> dict:
    """Parse the JSON text of a year's arrangement (see docs/calendar.md); CalendarFileError if it
    is not JSON or not an object."""
    if text is None or not text.strip():
        raise CalendarFileError([_("内容为空：请粘贴或上传一年的节假日安排（JSON 格式，见 docs/calendar.md）。")])
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise CalendarFileError([_("内容过大（超过 %(kb)s KB）：一年的节假日安排只有几十行。", kb=MAX_FILE_BYTES // 1000)])
    try:
        data = json.loads(text)
    except ValueError as err:
        line = getattr(err, "lineno", None)
        raise CalendarFileError([_("不是有效的 JSON（第 %(line)s 行附近：%(msg)s）。请检查引号、逗号和括号。",
                                   line=line or "?", msg=getattr(err, "msg", str(err)))]) from err
    if not isinstance(data, dict):
        raise CalendarFileError([_("最外层应是一个对象 {\"year\": …, \"notice\": …, \"holidays\": […]}。")])
    return data


def _parse_date(value, where: str, errors: list[str]) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        errors.append(_("%(where)s：“%(value)s”不是日期，应写作 YYYY-MM-DD（例如 2027-02-06）。",
                        where=where, value=value))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(_("%(where)s：“%(value)s”不是有效日期，应写作 YYYY-MM-DD（例如 2027-02-06）。",
                        where=where, value=value))
        return None


def _expand(items, where: str, errors: list[str]) -> list[date]:
    """Dates and ranges {"from": …, "to": …} → the list of days (in order, duplicates kept)."""
    if items is None:
        return []
    if not isinstance(items, list):
        errors.append(_("%(where)s 应是日期的列表，例如 [\"2027-02-06\", {\"from\": \"2027-02-07\", \"to\": \"2027-02-12\"}]。",
                        where=where))
        return []
    out: list[date] = []
    for item in items:
        if isinstance(item, dict):
            unknown = set(item) - {"from", "to"}
            if unknown or "from" not in item or "to" not in item:
                errors.append(_("%(where)s：日期范围应写作 {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"}。",
                                where=where))
                continue
            first = _parse_date(item["from"], where, errors)
            last = _parse_date(item["to"], where, errors)
            if first is None or last is None:
                continue
            if last < first:
                errors.append(_("%(where)s：范围 %(a)s 至 %(b)s 的结束日期早于开始日期。", where=where,
                                a=first.isoformat(), b=last.isoformat()))
                continue
            if (last - first).days + 1 > MAX_RANGE_DAYS:
                errors.append(_("%(where)s：范围 %(a)s 至 %(b)s 超过 %(max)s 天，请检查日期。", where=where,
                                a=first.isoformat(), b=last.isoformat(), max=MAX_RANGE_DAYS))
                continue
            out.extend(first + timedelta(days=i) for i in range((last - first).days + 1))
        else:
            d = _parse_date(item, where, errors)
            if d is not None:
                out.append(d)
    return out


def validate_arrangement(data: dict) -> Arrangement:
    """Check a year's arrangement (the JSON object) against every rule; return it normalised, or
    raise CalendarFileError listing every problem."""
    errors: list[str] = []
    unknown = set(data) - {"year", "notice", "holidays", "source"}
    if unknown:
        errors.append(_("不认识的字段：%(keys)s（只允许 year、notice、holidays）。",
                        keys="、".join(sorted(str(k) for k in unknown))))
    year = data.get("year")
    if isinstance(year, str) and year.strip().isdigit():
        year = int(year.strip())
    if not isinstance(year, int) or isinstance(year, bool):
        errors.append(_("缺少年份：请写 \"year\": 2027 这样的整数。"))
        year = None
    elif not MIN_YEAR <= year <= MAX_YEAR:
        errors.append(_("年份 %(year)s 不在 %(min)s–%(max)s 之间。", year=year, min=MIN_YEAR, max=MAX_YEAR))
        year = None
    notice = data.get("notice")
    if notice is not None and (not isinstance(notice, str) or len(notice.strip()) > 200):
        errors.append(_("notice（通知文号）应是不超过 200 字的文字，例如 \"国办发明电〔2026〕7号\"。"))
        notice = None
    notice = (notice or "").strip() or None
    holidays = data.get("holidays")
    if not isinstance(holidays, list) or not holidays:
        errors.append(_("没有任何节假日：\"holidays\" 应列出通知中的每个节日及其放假、调休上班日期。"))
        holidays = []
    seen: dict[date, tuple[DayKind, str]] = {}
    days: list[tuple[date, DayKind, str]] = []
    for i, entry in enumerate(holidays, start=1):
        if not isinstance(entry, dict):
            errors.append(_("第 %(i)s 个节日应是一个对象 {\"name\": …, \"off\": […], \"work\": […]}。", i=i))
            continue
        bad = set(entry) - {"name", "off", "work"}
        if bad:
            errors.append(_("第 %(i)s 个节日有不认识的字段：%(keys)s（只允许 name、off、work）。", i=i,
                            keys="、".join(sorted(str(k) for k in bad))))
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 50:
            errors.append(_("第 %(i)s 个节日缺少名称（name，例如 春节，不超过 50 字）。", i=i))
            name = _("第 %(i)s 个节日", i=i)
        name = name.strip()
        off = _expand(entry.get("off"), _("%(name)s 的放假日期", name=name), errors)
        work = _expand(entry.get("work"), _("%(name)s 的调休上班日期", name=name), errors)
        if entry.get("off") in (None, []):  # (dates that did not parse are reported as such)
            errors.append(_("%(name)s 没有放假日期（off）。", name=name))
        for kind, dates in ((DayKind.HOLIDAY, off), (DayKind.WORKDAY, work)):
            for d in dates:
                if year is not None and not _in_notice_year(d, year):
                    errors.append(_("%(d)s 不在 %(year)s 年内（只允许 %(year)s 年的日期，以及通知列出的上一年 12 月 %(day)s 日及以后的日期）。",
                                    d=d.isoformat(), year=year, day=PREVIOUS_DECEMBER_FROM))
                    continue
                if kind is DayKind.WORKDAY and d.weekday() < 5:
                    errors.append(_("%(d)s（%(w)s）不是周末：调休上班日只能是周六或周日，工作日本来就上班。",
                                    d=d.isoformat(), w=weekday_zh(d)))
                    continue
                if d in seen:
                    other_kind, other_name = seen[d]
                    if other_kind is not kind:
                        errors.append(_("%(d)s 既是放假日又是调休上班日（%(a)s、%(b)s），请核对通知。",
                                        d=d.isoformat(), a=other_name, b=name))
                    else:
                        errors.append(_("%(d)s 重复列出（%(a)s、%(b)s），每个日期只能写一次。",
                                        d=d.isoformat(), a=other_name, b=name))
                    continue
                seen[d] = (kind, name)
                days.append((d, kind, name))
    if not errors and not any(k is DayKind.HOLIDAY for _d, k, _n in days):
        errors.append(_("没有任何放假日期：一年的安排至少有一个节假日。"))
    if errors:
        raise CalendarFileError(errors)
    days.sort(key=lambda t: t[0])
    return Arrangement(year=year, notice=notice, days=days)


def _in_notice_year(d: date, year: int) -> bool:
    return d.year == year or (d.year == year - 1 and d.month == 12 and d.day >= PREVIOUS_DECEMBER_FROM)


def year_counts(year: int) -> dict | None:
    """The audit snapshot of a loaded year (None when not loaded)."""
    row = db.session.get(CalendarYear, year)
    if row is None:
        return None
    kinds = list(db.session.execute(db.select(CalendarDay.kind).where(CalendarDay.year == year)).scalars())
    return {"year": year, "holidays": sum(1 for k in kinds if k is DayKind.HOLIDAY),
            "workdays": sum(1 for k in kinds if k is DayKind.WORKDAY), "source": row.source, "notice": row.notice}


def load_year(arrangement: dict | Arrangement, user=None, source: str = "", *, replace: bool = False) -> dict:
    """Validate and store one year's arrangement (replacing a loaded year only with ``replace``),
    audit ``calendar.load``, drop the cache and send ``calendar_changed`` (years=[year]).

    Nothing is stored when anything is wrong (CalendarFileError lists every problem; 409
    ``calendar_year_loaded`` when the year is loaded and ``replace`` is not given). Flushes only.
    Returns {"year", "holidays", "workdays", "replaced", "kept"} (``kept``: previous-December days
    already stored, identically, with the previous year's arrangement)."""
    arr = arrangement if isinstance(arrangement, Arrangement) else validate_arrangement(arrangement)
    year = arr.year
    before = year_counts(year)
    if before is not None and not replace:
        raise CalendarFileError(
            [_("%(year)s 年的安排已经载入（来源：%(source)s）。如要用这份文件替换，请勾选“替换已载入的年份”"
               "（命令行加 --replace）。", year=year, source=before["source"])],
            code="calendar_year_loaded", status=409)
    # a previous-December day may already be stored with the previous year's row
    stored = {d: (y, k) for d, y, k in db.session.execute(
        db.select(CalendarDay.day, CalendarDay.year, CalendarDay.kind)
        .where(CalendarDay.day.in_([d for d, _k, _n in arr.days]), CalendarDay.year != year))}
    errors, kept = [], []
    for d, kind, _name in arr.days:
        if d in stored:
            other_year, other_kind = stored[d]
            if other_kind is kind:
                kept.append(d)
            else:
                errors.append(_("%(d)s 在已载入的 %(other)s 年安排中是“%(was)s”，这份文件写的是“%(now)s”：请先核对并更正 %(other)s 年。",
                                d=d.isoformat(), other=other_year, was=kind_label(other_kind), now=kind_label(kind)))
    if errors:
        raise CalendarFileError(errors)
    source = (source or "").strip()[:200] or _("上传的文件")
    if before is not None:
        db.session.execute(db.delete(CalendarDay).where(CalendarDay.year == year))
        db.session.execute(db.delete(CalendarYear).where(CalendarYear.year == year))
        db.session.flush()
    db.session.add(CalendarYear(year=year, source=source, notice=arr.notice,
                                loaded_by_id=getattr(user, "id", None)))
    db.session.flush()
    db.session.add_all([CalendarDay(day=d, year=year, kind=k, name=n) for d, k, n in arr.days if d not in kept])
    db.session.flush()
    after = year_counts(year)
    record("calendar.load", CALENDAR_AUDIT_ENTITY, year, before=before, after=after,
           note=_("替换已载入的年份") if before is not None else None)
    changed()
    calendar_changed.send(current_app._get_current_object(), years=[year])
    return {"year": year, "holidays": arr.holiday_count, "workdays": arr.workday_count,
            "replaced": before is not None, "kept": kept, "notice": arr.notice, "source": source}


def changed() -> None:
    """Forget the cached calendar after a change in this transaction."""
    forget_cache()


def kind_label(kind: DayKind) -> str:
    return _("放假") if kind is DayKind.HOLIDAY else _("调休上班")


# -- what the calendar page shows -----------------------------------------------------------------


def loaded_years() -> list[CalendarYear]:
    return list(db.session.execute(db.select(CalendarYear).order_by(CalendarYear.year)).scalars())


def missing_years(today: date | None = None) -> list[int]:
    """Years between the first loaded one and next year that are not loaded (a deadline that
    counts through them is provisional)."""
    today = today or beijing_today()
    have = {y.year for y in loaded_years()}
    last = max([today.year + 1, *have])
    first = min(have) if have else today.year
    return [y for y in range(first, last + 1) if y not in have]


def calendar_year_info(year: int) -> dict:
    """A year as the page shows it: loaded or not, source, notice, who loaded it, and its
    exceptions grouped by holiday (in the order of the notice)."""
    from ..auth.models import User

    row = db.session.get(CalendarYear, year)
    days = list(db.session.execute(
        db.select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)).scalars())
    groups: dict[str, dict] = {}
    for d in days:
        name = d.name or _("未命名")
        group = groups.setdefault(name, {"name": name, "off": [], "work": []})
        (group["off"] if d.kind is DayKind.HOLIDAY else group["work"]).append(d.day)
    loaded_by = None
    if row is not None and row.loaded_by_id:
        loaded_by = db.session.execute(db.select(User.display_name).where(User.id == row.loaded_by_id)).scalar()
    return {
        "year": year, "loaded": row is not None,
        "source": row.source if row else None, "notice": row.notice if row else None,
        "loaded_at": row.loaded_at if row else None, "loaded_by": loaded_by,
        "holidays": sum(1 for d in days if d.kind is DayKind.HOLIDAY),
        "workdays": sum(1 for d in days if d.kind is DayKind.WORKDAY),
        "weekday_holidays": sum(1 for d in days if d.kind is DayKind.HOLIDAY and d.day.weekday() < 5),
        "groups": sorted(groups.values(), key=lambda g: (g["off"] or g["work"])[0]), "days": days,
    }


def month_grid(year: int, month: int) -> list[list[dict | None]]:
    """The weeks of a month, Monday first; each day {"date", "kind", "name", "workday"} where kind
    is "holiday" (休), "workday" (班, a 调休 weekend), "weekend" or "weekday"; None pads the weeks."""
    cal = calendar()
    names = {}
    first = date(year, month, 1)
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    for d, name in db.session.execute(db.select(CalendarDay.day, CalendarDay.name)
                                      .where(CalendarDay.day >= first, CalendarDay.day <= last)):
        names[d] = name
    weeks: list[list[dict | None]] = []
    week: list[dict | None] = [None] * first.weekday()
    d = first
    while d <= last:
        if d in cal.holidays:
            kind = "holiday"
        elif d in cal.workdays:
            kind = "workday"
        else:
            kind = "weekend" if d.weekday() >= 5 else "weekday"
        week.append({"date": d, "kind": kind, "name": names.get(d), "workday": cal.is_workday(d)})
        if len(week) == 7:
            weeks.append(week)
            week = []
        d += timedelta(days=1)
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    return weeks
