"""Follow-up details: every form error at once (with the stable ``target_required`` code), the typed text
kept when someone else changed the follow-up meanwhile, the badge counted (not loaded) once per request, and
``workdays_between`` (two bisects) against the day-by-day count."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from server.extensions import db
from server.followup.models import FollowUp, FollowUpStatus
from tests.followup.conftest import counts


def test_all_create_errors_at_once_with_the_target_required_code(fw, make_result, login):
    from server.core.errors import ValidationFailed
    from server.followup import services

    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.create(fw.reviewer_a, sr, "transfer", "", "", "  ")
    assert exc.value.code == "target_required" and exc.value.status == 422
    assert set(exc.value.errors) == {"target_department_id", "matter"}
    with pytest.raises(ValidationFailed) as exc:
        services.create(fw.reviewer_a, sr, "judiciary", "", "", "")
    assert exc.value.code == "target_required" and set(exc.value.errors) == {"target_name", "matter"}
    with pytest.raises(ValidationFailed) as exc:
        services.create(fw.reviewer_a, sr, "case_filed", "", "", "")
    assert exc.value.code == "invalid_input"
    db.session.rollback()
    resp = client.post(f"/results/{sr.id}/follow-ups/new",
                       data={"kind": "referral", "target_department_id": "", "target_name": "", "matter": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "必须指定接收部门" in html and "请写明移送或处置的事项" in html
    resp = client.post(f"/results/{sr.id}/follow-ups/new", headers={"Accept": "application/json"},
                       data={"kind": "referral", "target_department_id": "", "target_name": "", "matter": "x"})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "target_required"
    assert counts() == before


def test_a_follow_up_closed_meanwhile_keeps_the_typed_note_and_says_why(fw, make_result, login, set_today):
    set_today(date(2026, 12, 4))
    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    assert client.post(f"/results/{sr.id}/follow-ups/new",
                       data={"kind": "case_filed", "matter": "立案查处"}).status_code == 303
    fu = db.session.execute(db.select(FollowUp)).scalar_one()
    # a colleague closes it while this user is typing a progress note
    other = login(fw.head_a)
    assert other.post(f"/follow-ups/{fu.id}/close", data={"done_on": "2026-12-04", "outcome": "已立案"}).status_code == 303
    client = login(fw.reviewer_a)
    before = counts()
    resp = client.post(f"/follow-ups/{fu.id}/progress", data={"note": "已调取监控录像，待询问当事人"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert 'data-error-code="follow_up_closed"' in html and "已办结，不能再更改" in html
    assert "已调取监控录像，待询问当事人" in html and "已立案" in html  # the typed note, and the page as it is now
    resp = client.post(f"/follow-ups/{fu.id}/reopen", data={"reopen_note": "误办结"})
    assert resp.status_code == 303
    client = login(fw.reviewer_b)
    assert client.post(f"/follow-ups/{fu.id}/close", data={"outcome": "x"}).status_code == 403  # not visible
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).status is FollowUpStatus.IN_PROGRESS
    assert counts()["follow_ups"] == before["follow_ups"]


def test_the_receiving_department_closing_gets_the_page_with_its_text(fw, make_result, login, set_today):
    set_today(date(2026, 12, 4))
    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    client.post(f"/results/{sr.id}/follow-ups/new",
                data={"kind": "transfer", "target_department_id": str(fw.c.id), "matter": "转办"})
    fu = db.session.execute(db.select(FollowUp)).scalar_one()
    client = login(fw.reviewer_c)
    resp = client.post(f"/follow-ups/{fu.id}/close", data={"done_on": "2026-12-04", "outcome": "我方已处理完毕"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 403 and 'data-error-code="not_your_follow_up"' in html and "我方已处理完毕" in html


def test_the_badge_is_counted_once_per_request_without_a_limit(fw, make_result, login, set_today, app):
    from flask import g

    from server.followup import services

    set_today(date(2026, 12, 11))
    for visit in (fw.v_z, fw.v_a, fw.v_other):
        make_result(visit, fw.a, entered_on=date(2026, 12, 2))
    with app.test_request_context():
        assert services.reminder_count(fw.reviewer_a) == 3 == len(services.pending_results(fw.reviewer_a))
        assert len(services.pending_results(fw.reviewer_a, limit=2)) == 2
        g._followups_due = (fw.reviewer_a.id, 99)  # cached for the request
        assert services.reminder_count(fw.reviewer_a) == 99
        assert services.reminder_count(fw.reviewer_b) == 0  # another user: not the cached count


def test_workdays_between_matches_the_day_by_day_count(app):
    from server.workdays.services import calendar, workdays_between

    cal = calendar()

    def naive(start: date, end: date) -> int:
        return sum(1 for i in range(1, (end - start).days + 1) if cal.is_workday(start + timedelta(days=i)))

    first, last = date.fromordinal(cal._first), date.fromordinal(cal._last)
    starts = [date(2026, 9, 30), date(2026, 10, 1), date(2026, 12, 11), date(2026, 12, 31), first, last,
              first - timedelta(days=40), last - timedelta(days=3), date(1990, 5, 5)]
    for start in starts:
        for span in (0, 1, 2, 6, 7, 8, 15, 30, 400, 3000):
            end = start + timedelta(days=span)
            assert workdays_between(start, end) == naive(start, end), (start, end)
        assert workdays_between(start, start - timedelta(days=5)) == 0
    # 2026 National Day: 10/8, 10/9, 10/10 (Sat, a working day), 10/12 … 10/15
    assert workdays_between(date(2026, 9, 30), date(2026, 10, 15)) == 7
