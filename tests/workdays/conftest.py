"""Fixtures for the working-day calendar: row counts, an invented 2027 arrangement, removing a year."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_2026 = ROOT / "docs" / "calendar-2026.example.json"

#: an INVENTED 2027 arrangement for the tests (the real notice is not in the package): 元旦 Friday
#: 2027-01-01 to Sunday 01-03 without 调休; 春节 Saturday 02-06 to Saturday 02-13, Saturday 02-20 worked
TEST_2027 = {
    "year": 2027,
    "notice": "测试用（虚构）",
    "holidays": [
        {"name": "元旦", "off": [{"from": "2027-01-01", "to": "2027-01-03"}]},
        {"name": "春节", "off": [{"from": "2027-02-06", "to": "2027-02-13"}], "work": ["2027-02-20"]},
    ],
}


@pytest.fixture
def arrangement_2027():
    return copy.deepcopy(TEST_2027)


@pytest.fixture
def counts(app):
    """Return a function giving (calendar years, calendar days, audit entries) now."""
    from server.audit.models import AuditEntry
    from server.workdays.models import CalendarDay, CalendarYear

    def count():
        return tuple(db.session.execute(select(func.count()).select_from(m)).scalar()
                     for m in (CalendarYear, CalendarDay, AuditEntry))

    return count


@pytest.fixture
def remove_year(app):
    """Delete a loaded year (as if the package had never had it)."""
    from server.workdays.models import CalendarDay, CalendarYear
    from server.workdays.services import forget_cache

    def remove(year: int) -> None:
        db.session.execute(db.delete(CalendarDay).where(CalendarDay.year == year))
        db.session.execute(db.delete(CalendarYear).where(CalendarYear.year == year))
        db.session.commit()
        forget_cache()

    return remove


@pytest.fixture
def joint_office(make_user, auth):
    """A logged-in joint-office user (may load a year)."""
    from server.auth.roles import Role

    user = make_user("joint", roles=(Role.JOINT_OFFICE,))
    auth.login("joint")
    return user
