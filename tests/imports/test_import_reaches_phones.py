"""An object import that changes an object's registration data stamps its visits, so that the
phones' next pull brings the change (the ORM does it for a form edit: server/sync/changes.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.core.models import utcnow
from server.extensions import db
from server.registry.models import InspectedObject
from server.teams.models import Team
from server.visits.models import Visit

from .conftest import csv_bytes, object_row, valid_code


def test_an_import_that_changes_an_object_stamps_its_visits(departments, import_file, make_task):
    assert import_file("objects", "a.csv", csv_bytes([object_row(1), object_row(2)])).created_count == 2
    objs = {o.code: o for o in db.session.execute(select(InspectedObject)).scalars()}
    task = make_task(departments["market"])
    team = Team(task_id=task.id, number=0)
    db.session.add(team)
    db.session.flush()
    long_ago = utcnow() - timedelta(days=3)
    changed, untouched = (Visit(task_id=task.id, object_id=objs[valid_code(n)].id, team_id=team.id,
                                changed_at=long_ago) for n in (1, 2))
    db.session.add_all([changed, untouched])
    db.session.commit()

    job = import_file("objects", "b.csv", csv_bytes([object_row(1, 地址="武陟县新址路8号", 经营高峰时段="11:00-13:00"),
                                                     object_row(2)]))
    assert job.updated_count == 1 and job.unchanged_count == 1
    db.session.expire_all()
    assert db.session.get(Visit, changed.id).changed_at > long_ago + timedelta(days=2)
    assert db.session.get(Visit, untouched.id).changed_at < long_ago + timedelta(seconds=1)
