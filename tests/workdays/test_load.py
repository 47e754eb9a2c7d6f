"""Loading a year's arrangement: every rule refused with nothing stored; the 2026 example file
reproduces the package's 2026; replacing needs replace=True; previous-December days."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.extensions import db
from server.workdays import services
from server.workdays.models import CalendarDay, CalendarYear, DayKind
from tests.workdays.conftest import EXAMPLE_2026, TEST_2027


def _with(**changes):
    data = json.loads(json.dumps(TEST_2027))
    data.update(changes)
    return data


def _holidays(*entries):
    return _with(holidays=list(entries))


BAD_FILES = {
    "year_too_early": (_with(year=1999), "1999"),
    "year_too_late": (_with(year=2101), "2101"),
    "year_missing": ({"notice": "x", "holidays": TEST_2027["holidays"]}, "年份"),
    "year_not_a_number": (_with(year="二〇二七"), "年份"),
    "date_outside_year": (_holidays({"name": "元旦", "off": ["2027-01-01", "2028-01-01"]}), "2028-01-01"),
    "previous_year_too_early": (_holidays({"name": "元旦", "off": ["2026-12-01", "2027-01-01"]}), "2026-12-01"),
    "previous_year_not_december": (_holidays({"name": "元旦", "off": ["2025-12-31", "2027-01-01"]}), "2025-12-31"),
    "workday_on_a_weekday": (_holidays({"name": "春节", "off": ["2027-02-08"], "work": ["2027-02-22"]}), "不是周末"),
    "both_holiday_and_workday": (_holidays({"name": "春节", "off": [{"from": "2027-02-06", "to": "2027-02-13"}],
                                            "work": ["2027-02-13"]}), "既是放假日又是调休上班日"),
    "duplicate_date": (_holidays({"name": "元旦", "off": ["2027-01-01"]}, {"name": "春节", "off": ["2027-01-01"]}),
                       "重复"),
    "no_holidays": (_with(holidays=[]), "没有任何节假日"),
    "holiday_without_days": (_holidays({"name": "元旦", "off": []}), "没有放假日期"),
    "only_workdays": (_holidays({"name": "春节", "work": ["2027-02-20"]}), "没有放假日期"),
    "bad_date": (_holidays({"name": "春节", "off": ["2027-02-30"]}), "2027-02-30"),
    "not_iso_date": (_holidays({"name": "春节", "off": ["2027/02/06"]}), "YYYY-MM-DD"),
    "reversed_range": (_holidays({"name": "春节", "off": [{"from": "2027-02-13", "to": "2027-02-06"}]}), "早于"),
    "range_too_long": (_holidays({"name": "春节", "off": [{"from": "2027-01-01", "to": "2027-03-01"}]}), "超过"),
    "unknown_key": (_holidays({"name": "春节", "of": ["2027-02-06"]}), "of"),
    "no_name": (_holidays({"off": ["2027-02-08"]}), "名称"),
    "entry_not_object": (_holidays("春节"), "对象"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_each_rule_refuses_the_file_and_stores_nothing(app, counts, case):
    data, fragment = BAD_FILES[case]
    before = counts()
    with pytest.raises(services.CalendarFileError) as err:
        services.load_year(data, None, "bad.json")
    db.session.rollback()
    assert any(fragment in message for message in err.value.errors), err.value.errors
    assert err.value.status == 422
    assert counts() == before
    assert db.session.get(CalendarYear, 2027) is None


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "内容为空"), ("   \n", "内容为空"), ("{\"year\": 2027,", "不是有效的 JSON"), ("[1, 2]", "最外层"),
    ("x" * (services.MAX_FILE_BYTES + 1), "内容过大"),
])
def test_text_that_is_not_an_arrangement_is_refused(app, text, fragment):
    with pytest.raises(services.CalendarFileError) as err:
        services.parse_arrangement_text(text)
    assert fragment in err.value.errors[0]


def test_several_problems_are_all_listed(app):
    data = _holidays({"name": "春节", "off": ["2027-02-30", "2028-01-01"], "work": ["2027-02-22"]})
    with pytest.raises(services.CalendarFileError) as err:
        services.load_year(data, None, "bad.json")
    assert len(err.value.errors) == 3


def test_a_loaded_year_is_refused_without_replace_and_replaced_with_it(app, counts, remove_year):
    example = json.loads(EXAMPLE_2026.read_text(encoding="utf-8"))
    before = counts()
    with pytest.raises(services.CalendarFileError) as err:
        services.load_year(example, None, EXAMPLE_2026.name)
    db.session.rollback()
    assert err.value.code == "calendar_year_loaded" and err.value.status == 409
    assert "replace" in err.value.errors[0]
    assert counts() == before

    result = services.load_year(example, None, EXAMPLE_2026.name, replace=True)
    db.session.commit()
    assert result["replaced"] and result["year"] == 2026
    row = db.session.get(CalendarYear, 2026)
    assert (row.source, row.notice) == (EXAMPLE_2026.name, "国办发明电〔2025〕7号")
    entry = db.session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
    assert (entry.action, entry.entity_type, entry.entity_id) == ("calendar.load", "calendar_year", "2026")
    assert entry.before["source"].startswith("chinese-calendar")
    assert entry.after == {"year": 2026, "holidays": 33, "workdays": 6, "source": EXAMPLE_2026.name,
                           "notice": "国办发明电〔2025〕7号"}


def test_the_2026_example_file_reproduces_the_package(app, remove_year):
    """docs/calendar-2026.example.json, typed from the notice, loaded where 2026 was removed, gives the
    same exceptions as chinese-calendar's 2026 and the same working days all year."""
    from chinese_calendar import constants

    remove_year(2026)
    services.load_year(json.loads(EXAMPLE_2026.read_text(encoding="utf-8")), None, EXAMPLE_2026.name)
    db.session.commit()
    stored = {(d.day, d.kind) for d in db.session.execute(
        select(CalendarDay).where(CalendarDay.year == 2026)).scalars()}
    package = ({(d, DayKind.HOLIDAY) for d in constants.holidays if d.year == 2026}
               | {(d, DayKind.WORKDAY) for d in constants.workdays if d.year == 2026 and d.weekday() >= 5})
    assert stored == package
    # what matters for deadlines: weekday holidays and weekend workdays (19 and 6 in the notice)
    assert len({d for d, k in stored if k is DayKind.HOLIDAY and d.weekday() < 5}) == 19
    assert {d for d, k in stored if k is DayKind.WORKDAY} == {
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)}
    cal = services.calendar()
    d = date(2026, 1, 1)
    while d.year == 2026:
        package_workday = (d in constants.workdays) or (d.weekday() < 5 and d not in constants.holidays)
        assert cal.is_workday(d) == package_workday, d
        d += timedelta(days=1)


def test_weekend_holidays_are_allowed_and_stored(app, arrangement_2027):
    services.load_year(arrangement_2027, None, "t.json")
    db.session.commit()
    sunday = db.session.get(CalendarDay, date(2027, 1, 3))
    assert sunday.kind is DayKind.HOLIDAY and sunday.name == "元旦" and sunday.year == 2027


def test_previous_december_days_belong_to_the_notice_year(app):
    """A notice for Y may list days of late December of Y-1 (the 2019 notice did): they are stored
    with Y's row, with their own dates, and count from then on."""
    data = _holidays(
        # invented: 元旦 2026-12-31 (Thu) to 2027-01-03 off, Sunday 2026-12-27 worked
        {"name": "元旦", "off": ["2026-12-31", {"from": "2027-01-01", "to": "2027-01-03"}], "work": ["2026-12-27"]},
    )
    # before: 2026-12-24 Thu → 1 12/25 Fri 2 12/28 Mon 3 12/29
    assert services.add_workdays(date(2026, 12, 24), 3).date == date(2026, 12, 29)
    services.load_year(data, None, "t.json")
    db.session.commit()
    day = db.session.get(CalendarDay, date(2026, 12, 27))
    assert (day.year, day.kind) == (2027, DayKind.WORKDAY)
    # after: 1 12/25 Fri 2 12/27 Sun(调休) 3 12/28 Mon
    assert services.add_workdays(date(2026, 12, 24), 3).date == date(2026, 12, 28)
    # 2026-12-29 Tue → 1 12/30 | 12/31–1/3 off | 2 1/4
    assert services.add_workdays(date(2026, 12, 29), 2) == services.Deadline(date(2027, 1, 4))
    # replacing 2027 removes the December days with it
    services.load_year(_with(), None, "t2.json", replace=True)
    db.session.commit()
    assert db.session.get(CalendarDay, date(2026, 12, 27)) is None


def test_previous_december_day_stored_differently_by_the_previous_year_is_refused(app, counts, remove_year):
    remove_year(2026)
    services.load_year({"year": 2026, "holidays": [{"name": "测试", "off": ["2026-12-27"]}]}, None, "2026.json")
    db.session.commit()
    before = counts()
    with pytest.raises(services.CalendarFileError) as err:
        services.load_year(_holidays({"name": "元旦", "off": ["2027-01-01"], "work": ["2026-12-27"]}), None, "t.json")
    db.session.rollback()
    assert "2026-12-27" in err.value.errors[0] and counts() == before
    # the same day with the same kind is kept where it is
    result = services.load_year(_holidays({"name": "元旦", "off": ["2026-12-27", "2027-01-01"]}), None, "t.json")
    db.session.commit()
    assert result["kept"] == [date(2026, 12, 27)] and db.session.get(CalendarDay, date(2026, 12, 27)).year == 2026


def test_load_sends_calendar_changed_and_audits(app, arrangement_2027, counts):
    received = []
    before = counts()
    with services.calendar_changed.connected_to(lambda sender, **kw: received.append(kw["years"])):
        services.load_year(arrangement_2027, None, "t.json")
    db.session.commit()
    assert received == [[2027]]
    assert counts() == (before[0] + 1, before[1] + 12, before[2] + 1)
    entry = db.session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
    assert entry.action == "calendar.load" and entry.before is None
    assert entry.after == {"year": 2027, "holidays": 11, "workdays": 1, "source": "t.json", "notice": "测试用（虚构）"}


def test_page_helpers(app, arrangement_2027):
    info = services.calendar_year_info(2026)
    assert info["loaded"] and info["holidays"] == 33 and info["workdays"] == 6
    assert [g["name"] for g in info["groups"]][:2] == ["元旦", "春节"]
    assert not services.calendar_year_info(2027)["loaded"]
    assert 2027 in services.missing_years(date(2026, 12, 2))
    weeks = services.month_grid(2026, 10)
    cells = {c["date"]: c for w in weeks for c in w if c}
    assert len(cells) == 31 and all(len(w) == 7 for w in weeks)
    assert weeks[0][:3] == [None, None, None]  # 2026-10-01 is a Thursday
    assert cells[date(2026, 10, 1)]["kind"] == "holiday" and cells[date(2026, 10, 1)]["name"] == "国庆节"
    assert cells[date(2026, 10, 10)]["kind"] == "workday" and cells[date(2026, 10, 10)]["workday"]
    assert cells[date(2026, 10, 11)]["kind"] == "weekend"
    assert cells[date(2026, 10, 12)]["kind"] == "weekday"
    services.load_year(arrangement_2027, None, "t.json")
    db.session.commit()
    assert 2027 not in services.missing_years(date(2026, 12, 2))
