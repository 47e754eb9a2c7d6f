"""Assignments: the visits (object × team, with each department's items) an inspector downloads.

An inspector sees only the visits of the teams they are an *active* member of [004§8(三)]."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..audit.services import record
from ..catalog.models import CheckItem, ChecklistTemplate
from ..extensions import db
from ..org.models import Department
from ..planning.models import Task
from ..registry.models import InspectedObject, Inspector
from ..teams.access import inspector_of
from ..teams.models import Team, TeamMember
from .models import Visit, VisitItem


@dataclass
class AssignedItem:
    item: VisitItem
    check_item: CheckItem
    department: Department
    template: ChecklistTemplate | None


@dataclass
class AssignedVisit:
    visit: Visit
    task: Task
    team: Team
    object: InspectedObject
    members: list[tuple[TeamMember, Inspector, Department]] = field(default_factory=list)
    items: list[AssignedItem] = field(default_factory=list)

    @property
    def leader(self) -> tuple[TeamMember, Inspector, Department] | None:
        return next((m for m in self.members if m[0].is_leader), None)


def visits_for_user(user) -> list[AssignedVisit]:
    """Return the visits of the teams the user is an active member of, ordered by task period
    then object name; [] for a user who is no member (or has no inspector). Loads in five queries."""
    inspector = inspector_of(user)
    if inspector is None:
        return []
    my_teams = db.select(TeamMember.team_id).where(TeamMember.inspector_id == inspector.id,
                                                   TeamMember.active.is_(True))
    rows = db.session.execute(
        db.select(Visit, Task, Team, InspectedObject)
        .join(Task, Visit.task_id == Task.id).join(Team, Visit.team_id == Team.id)
        .join(InspectedObject, Visit.object_id == InspectedObject.id)
        .where(Visit.team_id.in_(my_teams))
        .order_by(Task.period_start, Task.period_end, Task.id, InspectedObject.name, Visit.id)
    ).all()
    out = [AssignedVisit(visit=v, task=t, team=team, object=o) for v, t, team, o in rows]
    if not out:
        return out
    team_ids = {a.team.id for a in out}
    members: dict[int, list] = defaultdict(list)
    for m, i, d in db.session.execute(
        db.select(TeamMember, Inspector, Department)
        .join(Inspector, TeamMember.inspector_id == Inspector.id)
        .join(Department, TeamMember.department_id == Department.id)
        .where(TeamMember.team_id.in_(team_ids), TeamMember.active.is_(True))
        .order_by(TeamMember.is_leader.desc(), Department.id, TeamMember.id)
    ).all():
        members[m.team_id].append((m, i, d))
    items: dict[int, list[AssignedItem]] = defaultdict(list)
    for vi, ci, d, tpl in db.session.execute(
        db.select(VisitItem, CheckItem, Department, ChecklistTemplate)
        .join(CheckItem, VisitItem.check_item_id == CheckItem.id)
        .join(Department, VisitItem.department_id == Department.id)
        .outerjoin(ChecklistTemplate, VisitItem.template_id == ChecklistTemplate.id)
        .where(VisitItem.visit_id.in_([a.visit.id for a in out]))
        .order_by(Department.id, VisitItem.id)
    ).all():
        items[vi.visit_id].append(AssignedItem(vi, ci, d, tpl))
    for a in out:
        a.members = members.get(a.team.id, [])
        a.items = items.get(a.visit.id, [])
    return out


def log_assignments_view(user, visits: list[AssignedVisit], what: str = "api.me.visits") -> None:
    """Record one confidential-view entry for one download of the user's assignments."""
    if not visits:
        return
    record("task.view_confidential", "user", user.id,
           after={"what": what, "task_ids": sorted({a.task.id for a in visits}),
                  "visit_count": len(visits)})
