"""Fixtures for the rules tests: the planning and draws factories, and a logged-in user per role."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.extensions import db
from tests.draws.conftest import bulk_objects, draw_objects, past_check  # noqa: F401
from tests.planning.conftest import depts, edition, users  # noqa: F401


@pytest.fixture
def login_as(make_user, auth):
    """Create a user with ``roles`` (and department) and log in as them."""

    def login(username: str, *roles, department=None):
        user = make_user(username, roles=roles, department=department)
        auth.login(username)
        return user

    return login


def audit_count(action: str) -> int:
    from server.audit.models import AuditEntry

    return db.session.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == action)).scalar_one()


def settings_count() -> int:
    from server.rules.models import RuleSetting

    return db.session.execute(select(func.count()).select_from(RuleSetting)).scalar_one()
