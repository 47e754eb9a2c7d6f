"""Schedules fixtures: the assignments fixture of tests/visits (task 2026-12, team 1 led by
insp_a1 with insp_b1, team 2 led by insp_a2) plus an initiator and an auditor."""

from __future__ import annotations

import pytest

from server.auth.roles import Role
from tests.visits.conftest import assigned, login  # noqa: F401  (shared fixtures)


@pytest.fixture
def sched(assigned, make_user):  # noqa: F811
    assigned.initiator = make_user("initiator_a", roles=(Role.TASK_INITIATOR,), department=assigned.a)
    assigned.auditor = make_user("auditor", roles=(Role.AUDITOR,))
    return assigned


def put_schedule(client, visit_id: int, **body):
    full = {"scheduled_on": None, "window_start": None, "window_end": None, "route_order": None, "note": None}
    full.update(body)
    return client.put(f"/api/visits/{visit_id}/schedule", json=full)
