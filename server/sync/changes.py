"""Keep ``Visit.changed_at`` honest for the pull cursor.

A visit's payload also shows its team (members, leader) and its object's registration data; a
change there must reach the phones, so it stamps the visits concerned with the server clock.
Registered once per process (mapper events are global), on import of :mod:`server.sync`.
"""

from __future__ import annotations

from sqlalchemy import event, update

from ..core.models import utcnow
from ..registry.models import InspectedObject
from ..teams.models import TeamMember
from ..visits.models import Visit


def _touch_team(mapper, connection, member: TeamMember) -> None:
    connection.execute(update(Visit.__table__).where(Visit.__table__.c.team_id == member.team_id)
                       .values(changed_at=utcnow()))


def _touch_object(mapper, connection, obj: InspectedObject) -> None:
    connection.execute(update(Visit.__table__).where(Visit.__table__.c.object_id == obj.id)
                       .values(changed_at=utcnow()))


def register() -> None:
    for cls, fn, events in ((TeamMember, _touch_team, ("after_insert", "after_update", "after_delete")),
                            (InspectedObject, _touch_object, ("after_update",))):
        for name in events:
            if not event.contains(cls, name, fn):
                event.listen(cls, name, fn)
