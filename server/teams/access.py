"""Who may see a task's object list and team lists [004§8(三)].

Before the visits are over (task status ``visits_over``) neither the object list nor the inspector
list may leak. Until then only these back-office users see them:

* the task's initiators: its creator, and task initiators / department administrators of the
  initiating department (a unit's user counts for its bureau);
* department heads (``dept_head``) of the task's participating departments;
* auditors (``auditor``);
* the teams' members — a user linked to an inspector (``Inspector.user_id``) who is an *active*
  member of a team of the task — and they see **their own team only**.

Deliberately refused before the visits are over, unless they also hold one of the roles above:
``system_admin`` (administers accounts, not lists), ``joint_office``, ``reviewer``, plain
``inspector``s who are not in the task, and users of other departments. After the visits are over
every back-office (logged-in) user may see the lists; the public only ever sees the redacted
record.

Object lists: when ``visible_team_ids`` returns a set, show only the objects visited by those
teams (a member sees the objects of their own team only).

Every confidential view must call ``log_confidential_view(task, what)``.
"""

from __future__ import annotations

from typing import Any

from ..audit.services import record
from ..auth.roles import Role
from ..extensions import db
from ..org.models import Department
from ..planning.models import Task, TaskStatus
from ..registry.models import Inspector
from .models import TeamMember

#: roles of the initiating department who count as the task's initiators
INITIATOR_ROLES = (Role.TASK_INITIATOR, Role.DEPT_ADMIN)


def user_bureau_id(user: Any) -> int | None:
    """Return the id of the department (bureau) the user belongs to; a unit maps to its bureau."""
    if user is None or not getattr(user, "is_authenticated", False) or user.department_id is None:
        return None
    dept = db.session.get(Department, user.department_id)
    return dept.bureau.id if dept is not None else None


def is_task_initiator(user: Any, task: Task) -> bool:
    """True for the task's creator and the initiating department's task initiators / admins."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if task.created_by_id is not None and task.created_by_id == user.id:
        return True
    return user.has_role(*INITIATOR_ROLES) and user_bureau_id(user) == task.initiating_department_id


def is_participating_head(user: Any, task: Task) -> bool:
    """True for a department head of one of the task's participating departments."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role(Role.DEPT_HEAD):
        return False
    bureau = user_bureau_id(user)
    return bureau is not None and bureau in {d.department_id for d in task.departments}


def inspector_of(user: Any) -> Inspector | None:
    """Return the inspector linked to the user's login, if any."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.execute(db.select(Inspector).where(Inspector.user_id == user.id)).scalar_one_or_none()


def member_team_ids(user: Any, task: Task) -> set[int]:
    """Return the ids of the task's teams the user is an active member of (via their inspector)."""
    inspector = inspector_of(user)
    if inspector is None:
        return set()
    rows = db.session.execute(
        db.select(TeamMember.team_id).where(
            TeamMember.task_id == task.id, TeamMember.inspector_id == inspector.id, TeamMember.active.is_(True)
        )
    ).scalars()
    return set(rows)


def visible_team_ids(user: Any, task: Task) -> set[int] | None:
    """Return which teams' lists the user may see: ``None`` = all teams, a set = only those
    (possibly empty = none)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    if task.status is TaskStatus.VISITS_OVER:
        return None
    if is_task_initiator(user, task) or is_participating_head(user, task) or user.has_role(Role.AUDITOR):
        return None
    return member_team_ids(user, task)


def can_view_task_lists(user: Any, task: Task) -> bool:
    """True when the user may see (at least part of) the task's object list and team lists."""
    visible = visible_team_ids(user, task)
    return visible is None or bool(visible)


def log_confidential_view(task: Task, what: str) -> None:
    """Record an audit entry ``task.view_confidential`` saying what was viewed (flushed only)."""
    record("task.view_confidential", "task", task.id, after={"what": what, "status": task.status.value})


def can_view_full_record(user: Any, task: Task) -> bool:
    """True for those entitled to a draw's full record (seed, nonce, strata, per-stratum counts and
    ratios, keys): the auditors and the task's initiators. Everybody else sees at most the totals and
    commitments, and after the visits the public record (spec draw-v2 §6)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.has_role(Role.AUDITOR) or is_task_initiator(user, task)
