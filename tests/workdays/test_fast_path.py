"""The bisect over the array of working days gives the same answers as the day-by-day loop."""

from __future__ import annotations

from datetime import date, timedelta

from server.workdays.services import add_workdays, calendar


def test_array_answers_equal_the_naive_loop_for_every_start_day(app):
    cal = calendar()
    start, end = date(2003, 6, 1), date(2029, 1, 31)  # from before the first loaded year to past the last
    d = start
    checked = 0
    while d <= end:
        for n in (0, 1, 2, 7, 20, 45):
            assert cal.nth_after(d, n) == cal.nth_after_naive(d, n), (d, n)
            checked += 1
        d += timedelta(days=3)
    assert checked > 15_000


def test_far_outside_the_array_falls_back_to_the_loop(app):
    cal = calendar()
    for d, n in ((date(1990, 12, 28), 20), (date(2099, 12, 30), 300), (date(2010, 5, 1), 900)):
        assert cal.nth_after(d, n) == cal.nth_after_naive(d, n)
        assert add_workdays(d, n).date == cal.nth_after_naive(d, n)


def test_repeated_calls_reuse_the_calendar_until_it_changes(app, arrangement_2027):
    from server.extensions import db
    from server.workdays.services import load_year

    first = calendar()
    assert calendar() is first
    # 100,000 deadlines as the statistics page asks for them: one calendar, memoised answers
    days = [date(2025, 1, 1) + timedelta(days=i % 700) for i in range(100_000)]
    results = [add_workdays(d, 20) for d in days]
    assert results[0] is results[700] and calendar() is first  # the memoised answer itself
    load_year(arrangement_2027, None, "t.json")
    db.session.commit()
    assert calendar() is not first and 2027 in calendar().years
