"""Deadlines in Chinese working days across the 2025 and 2026 National Day and Spring Festival
holidays. Every expectation below is counted by hand from the State Council's notices (quoted in
the comments: 国办发明电〔2024〕12号 for 2025, 国办发明电〔2025〕7号 for 2026), day by day, NOT
from the code under test. "N working days after D" = the N-th working day strictly after D.

2025 春节: 1/28 (Tue) – 2/4 (Tue) off; 1/26 (Sun) and 2/8 (Sat) worked.
2025 国庆节、中秋节: 10/1 (Wed) – 10/8 (Wed) off; 9/28 (Sun) and 10/11 (Sat) worked.
2026 元旦: 1/1 (Thu) – 1/3 (Sat) off; 1/4 (Sun) worked.
2026 春节: 2/15 (Sun) – 2/23 (Mon) off; 2/14 (Sat) and 2/28 (Sat) worked.
2026 中秋节: 9/25 (Fri) – 9/27 (Sun) off.  2026 国庆节: 10/1 (Thu) – 10/7 (Wed) off; 9/20 (Sun)
and 10/10 (Sat) worked.
"""

from __future__ import annotations

from datetime import date

import pytest

from server.workdays.services import add_workdays, referral_due, result_due

D = date.fromisoformat

RESULT_CASES = [
    # 2025-09-26 Fri, before 2025 国庆: 1 9/28 Sun(调休) 2 9/29 3 9/30 | 10/1–10/8 off | 4 10/9 5 10/10
    # 6 10/11 Sat(调休) 7 10/13 8 10/14 9 10/15 10 10/16 11 10/17 12 10/20 13 10/21 14 10/22 15 10/23
    # 16 10/24 17 10/27 18 10/28 19 10/29 20 10/30
    ("2025-09-26", "2025-10-30"),
    # 2025-09-30 Tue: | 10/1–10/8 off | 1 10/9 2 10/10 3 10/11 Sat 4 10/13 5 10/14 6 10/15 7 10/16
    # 8 10/17 9 10/20 10 10/21 11 10/22 12 10/23 13 10/24 14 10/27 15 10/28 16 10/29 17 10/30
    # 18 10/31 19 11/3 20 11/4
    ("2025-09-30", "2025-11-04"),
    # 2025-10-03 Fri, during 国庆 (the visit day never counts): 10/4–10/8 off, then as above from
    # 10/9 = 1 … 11/4 = 20
    ("2025-10-03", "2025-11-04"),
    # 2025-01-24 Fri, before 2025 春节: 1 1/26 Sun(调休) 2 1/27 | 1/28–2/4 off | 3 2/5 4 2/6 5 2/7
    # 6 2/8 Sat(调休) 7 2/10 8 2/11 9 2/12 10 2/13 11 2/14 12 2/17 13 2/18 14 2/19 15 2/20 16 2/21
    # 17 2/24 18 2/25 19 2/26 20 2/27
    ("2025-01-24", "2025-02-27"),
    # 2025-01-27 Mon: | 1/28–2/4 off | 1 2/5 2 2/6 3 2/7 4 2/8 Sat 5 2/10 6 2/11 7 2/12 8 2/13
    # 9 2/14 10 2/17 11 2/18 12 2/19 13 2/20 14 2/21 15 2/24 16 2/25 17 2/26 18 2/27 19 2/28 20 3/3
    ("2025-01-27", "2025-03-03"),
    # 2026-02-13 Fri, before 2026 春节: 1 2/14 Sat(调休) | 2/15–2/23 off | 2 2/24 3 2/25 4 2/26
    # 5 2/27 6 2/28 Sat(调休) 7 3/2 8 3/3 9 3/4 10 3/5 11 3/6 12 3/9 13 3/10 14 3/11 15 3/12
    # 16 3/13 17 3/16 18 3/17 19 3/18 20 3/19
    ("2026-02-13", "2026-03-19"),
    # 2026-02-14 Sat, a 调休 working Saturday (visit that day): | 2/15–2/23 off | 1 2/24 2 2/25
    # 3 2/26 4 2/27 5 2/28 Sat 6 3/2 7 3/3 8 3/4 9 3/5 10 3/6 11 3/9 12 3/10 13 3/11 14 3/12
    # 15 3/13 16 3/16 17 3/17 18 3/18 19 3/19 20 3/20
    ("2026-02-14", "2026-03-20"),
    # 2026-09-18 Fri: 1 9/20 Sun(调休) 2 9/21 3 9/22 4 9/23 5 9/24 | 9/25–9/27 中秋 off | 6 9/28
    # 7 9/29 8 9/30 | 10/1–10/7 off | 9 10/8 10 10/9 11 10/10 Sat(调休) 12 10/12 13 10/13 14 10/14
    # 15 10/15 16 10/16 17 10/19 18 10/20 19 10/21 20 10/22
    ("2026-09-18", "2026-10-22"),
    # 2026-09-30 Wed: | 10/1–10/7 off | 1 10/8 2 10/9 3 10/10 Sat 4 10/12 5 10/13 6 10/14 7 10/15
    # 8 10/16 9 10/19 10 10/20 11 10/21 12 10/22 13 10/23 14 10/26 15 10/27 16 10/28 17 10/29
    # 18 10/30 19 11/2 20 11/3
    ("2026-09-30", "2026-11-03"),
    # 2026-10-09 Fri: 1 10/10 Sat(调休) 2 10/12 3 10/13 4 10/14 5 10/15 6 10/16 7 10/19 8 10/20
    # 9 10/21 10 10/22 11 10/23 12 10/26 13 10/27 14 10/28 15 10/29 16 10/30 17 11/2 18 11/3
    # 19 11/4 20 11/5
    ("2026-10-09", "2026-11-05"),
]


@pytest.mark.parametrize(("visited", "due"), RESULT_CASES)
def test_result_due_counts_twenty_working_days_across_the_holidays(app, visited, due):
    deadline = result_due(D(visited))
    assert deadline.date == D(due)
    assert not deadline.provisional and deadline.reason is None


REFERRAL_CASES = [
    # result 2026-09-30 Wed: | 10/1–10/7 off | 1 10/8 2 10/9 3 10/10 Sat(调休) 4 10/12 5 10/13
    # 6 10/14 7 10/15  (not 10/13: the 调休 Saturday counts, the seven holidays do not)
    ("2026-09-30", "2026-10-15"),
    # result 2025-09-26 Fri: 1 9/28 Sun(调休) 2 9/29 3 9/30 | 10/1–10/8 off | 4 10/9 5 10/10
    # 6 10/11 Sat(调休) 7 10/13
    ("2025-09-26", "2025-10-13"),
    # result 2026-02-13 Fri: 1 2/14 Sat(调休) | 2/15–2/23 off | 2 2/24 3 2/25 4 2/26 5 2/27
    # 6 2/28 Sat(调休) 7 3/2
    ("2026-02-13", "2026-03-02"),
    # result 2025-12-31 Wed, across 2026 元旦: | 1/1–1/3 off | 1 1/4 Sun(调休) 2 1/5 3 1/6 4 1/7
    # 5 1/8 6 1/9 7 1/12
    ("2025-12-31", "2026-01-12"),
]


@pytest.mark.parametrize(("result_on", "due"), REFERRAL_CASES)
def test_referral_due_counts_seven_working_days(app, result_on, due):
    deadline = referral_due(D(result_on))
    assert deadline.date == D(due)
    assert not deadline.provisional


def test_short_counts_around_the_adjusted_days(app):
    # 2025-09-27 Sat → 1 working day later is 9/28, the 调休 Sunday
    assert add_workdays(D("2025-09-27"), 1).date == D("2025-09-28")
    # 2026-10-09 Fri → 1 working day later is 10/10, the 调休 Saturday
    assert add_workdays(D("2026-10-09"), 1).date == D("2026-10-10")
    # 2026-10-10 Sat (worked) → 10/11 Sun off → 1 is 10/12 Mon
    assert add_workdays(D("2026-10-10"), 1).date == D("2026-10-12")
    # 2025-09-30 → 1 10/9 … 10 10/21 (the CLI's example)
    assert add_workdays(D("2025-09-30"), 10).date == D("2025-10-21")
    # N = 0 is the day itself
    assert add_workdays(D("2026-10-03"), 0).date == D("2026-10-03")
    with pytest.raises(ValueError):
        add_workdays(D("2026-10-03"), -1)


def test_deadline_running_into_a_year_not_loaded_is_provisional_and_says_why(app):
    # 2026-12-15 Tue, 2027 not loaded (weekly rule only): 1 12/16 2 12/17 3 12/18 4 12/21 … 8 12/25
    # 9 12/28 10 12/29 11 12/30 12 12/31 13 1/1/2027 (a Friday; no 元旦 known) 14 1/4 15 1/5 16 1/6
    # 17 1/7 18 1/8 19 1/11 20 1/12
    deadline = result_due(D("2026-12-15"))
    assert deadline.date == D("2027-01-12")
    assert deadline.provisional
    assert "2027" in deadline.reason
    assert deadline.as_json() == {"date": "2027-01-12", "provisional": True, "reason": deadline.reason}
    # a deadline that stays inside 2026 is not provisional: 2026-11-20 Fri → 1 11/23 … 20 12/18
    # (11/23–27 = 1–5, 11/30–12/4 = 6–10, 12/7–11 = 11–15, 12/14–18 = 16–20)
    inside = result_due(D("2026-11-20"))
    assert inside.date == D("2026-12-18") and not inside.provisional


def test_after_loading_2027_the_deadline_follows_the_file_and_is_final(app, arrangement_2027):
    from server.extensions import db
    from server.workdays.services import calendar_changed, load_year

    received = []

    def receiver(sender, **kwargs):
        received.append((sender, kwargs))

    with calendar_changed.connected_to(receiver):
        load_year(arrangement_2027, None, "test-2027.json")
    db.session.commit()
    assert received == [(app, {"years": [2027]})]
    # 2026-12-15 Tue with the (invented) 2027 file, 1/1–1/3 off: 1 12/16 … 12 12/31 | 1/1 Fri off |
    # 13 1/4 14 1/5 15 1/6 16 1/7 17 1/8 18 1/11 19 1/12 20 1/13
    deadline = result_due(D("2026-12-15"))
    assert deadline == result_due(D("2026-12-15"))
    assert (deadline.date, deadline.provisional, deadline.reason) == (D("2027-01-13"), False, None)
    # and the file's 春节 (2/6–2/13 off, Saturday 2/20 worked): 2027-02-05 Fri → 1 2/15 2 2/16
    # 3 2/17 4 2/18 5 2/19 6 2/20 Sat(调休) 7 2/22
    assert referral_due(D("2027-02-05")).date == D("2027-02-22")
    # 2028 is not loaded: a deadline reaching it is provisional and names 2028 only
    late = result_due(D("2027-12-20"))
    assert late.provisional and "2028" in late.reason and "2027" not in late.reason


def test_a_year_before_the_calendar_is_provisional_too(app):
    deadline = add_workdays(D("1999-12-20"), 5)
    assert deadline.provisional and "1999" in deadline.reason
