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

The same rule, per datum, for what is not a list page: ``may_see_audit_entry`` says whether a viewer
may see an audit entry's content (audit screens and every page's history redact the rest, the rows
stay untouched), ``confidential_audit_clause`` keeps searches on hidden fields from revealing such
entries, and ``can_see_risk_class`` guards the registry's internal credit-risk class.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..audit.services import record
from ..auth.roles import Role
from ..extensions import db
from ..org.models import Department
from ..planning.models import Task, TaskDepartment, TaskStatus
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


def leader_team_ids(user: Any, team_ids: Iterable[int] | None = None) -> set[int]:
    """Return the ids of the teams the user is the *active* leader of (``TeamMember.is_leader`` and
    ``active``, through the inspector linked to the login), optionally among ``team_ids``. One query."""
    inspector = inspector_of(user)
    if inspector is None:
        return set()
    stmt = db.select(TeamMember.team_id).where(TeamMember.inspector_id == inspector.id,
                                               TeamMember.is_leader.is_(True), TeamMember.active.is_(True))
    if team_ids is not None:
        stmt = stmt.where(TeamMember.team_id.in_(list(team_ids)))
    return set(db.session.execute(stmt).scalars())


def is_team_leader(user: Any, team_id: int) -> bool:
    """True when the user is the active leader of the team (the one rule for a leader's rights)."""
    return team_id in leader_team_ids(user, [team_id])


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


# -- one rule, per datum: audit entries, history rows, the credit-risk class ------------------------------

#: roles with a need to see the registry's internal credit-risk class (filter, column, export): the
#: master-data editors, the initiating roles and the auditors — not inspectors, reviewers or heads,
#: so that nobody rebuilds a task's lists from the class and the per-stratum counts
RISK_CLASS_READERS = (Role.SYSTEM_ADMIN, Role.JOINT_OFFICE, Role.DEPT_ADMIN, Role.TASK_INITIATOR, Role.AUDITOR)

#: planning actions on a task that carry no list (everything else recorded on a task is treated as
#: confidential while its visits are not over: team.*, conflict flags, replacements, confidential
#: views — whose actor is a member —, and whatever new list-bearing action is added later)
PLANNING_TASK_ACTIONS = ("task.create", "task.update", "task.submit", "task.accept", "task.return",
                         "task.dispatch", "task.add_to_plan", "task.status", "task.draw_commit",
                         "task.import_candidates", "task.visits_create",
                         # the joint office's acknowledgement of a filing: written without names
                         "team.filing_acknowledged")


def can_see_risk_class(user: Any) -> bool:
    """True for the roles that may filter, see and export the internal credit-risk class."""
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and user.has_role(*RISK_CLASS_READERS))


def _cache() -> dict:
    """A per-request cache (``g``), or a throwaway dict outside a request/app context."""
    from flask import g, has_app_context

    if not has_app_context():
        return {}
    if "_confidential_cache" not in g:
        g._confidential_cache = {}
    return g._confidential_cache


def _open_tasks() -> list[Task]:
    return list(db.session.execute(db.select(Task).where(Task.status != TaskStatus.VISITS_OVER)).scalars())


def hidden_task_ids(user: Any) -> frozenset[int]:
    """Ids of the tasks, visits not over, whose lists the user may not see *in full* (teams of which
    the user sees only some count as hidden here). Cached per request."""
    cache = _cache()
    key = ("hidden", getattr(user, "id", None))
    if key not in cache:
        if getattr(user, "is_authenticated", False) and user.has_role(Role.AUDITOR):
            cache[key] = frozenset()  # the auditors see every list
        else:
            cache[key] = _hidden_open_task_ids(user)
    return cache[key]


def _hidden_open_task_ids(user: Any) -> frozenset[int]:
    """``visible_team_ids(user, t) is not None`` over every open task, in two queries whatever the
    number of tasks (this runs on every page, for the navigation's badges): a task is seen in full
    by its initiators and the heads of its participating departments; everybody else — members of
    one of its teams included — sees it at most in part."""
    rows = db.session.execute(db.select(Task.id, Task.created_by_id, Task.initiating_department_id)
                              .where(Task.status != TaskStatus.VISITS_OVER)).all()
    if not getattr(user, "is_authenticated", False):
        return frozenset(r.id for r in rows)
    bureau = user_bureau_id(user)
    initiator_roles = user.has_role(*INITIATOR_ROLES)
    headed: set[int] = set()
    if bureau is not None and user.has_role(Role.DEPT_HEAD):
        headed = set(db.session.execute(db.select(TaskDepartment.task_id).where(
            TaskDepartment.department_id == bureau)).scalars())
    return frozenset(r.id for r in rows if not (
        (r.created_by_id is not None and r.created_by_id == user.id)
        or (initiator_roles and bureau is not None and bureau == r.initiating_department_id)
        or r.id in headed))


def hidden_record_task_ids(user: Any) -> frozenset[int]:
    """Ids of the tasks, visits not over, whose draws' full record (seed, nonce, per-stratum counts,
    ratios) the user may not see. Cached per request."""
    cache = _cache()
    key = ("hidden_record", getattr(user, "id", None))
    if key not in cache:
        if getattr(user, "is_authenticated", False) and user.has_role(Role.AUDITOR):
            cache[key] = frozenset()
        else:
            cache[key] = frozenset(t.id for t in _open_tasks() if not can_view_full_record(user, t))
    return cache[key]


def _member_team(member_id: Any) -> int | None:
    if not isinstance(member_id, int):
        return None
    return db.session.execute(db.select(TeamMember.team_id).where(TeamMember.id == member_id)).scalar()


def _task_entry_team(entry: Any) -> int | None:
    """The team an entry recorded on a task is about, where it says (a member id), else None."""
    for side in (entry.after, entry.before):
        if not isinstance(side, dict):
            continue
        member = side.get("member")
        if isinstance(member, dict) and isinstance(member.get("team_id"), int):
            return member["team_id"]
        team = _member_team(side.get("member_id"))
        if team is not None:
            return team
    return None


def audit_entry_scope(entry: Any) -> tuple[str, int | None, int | None] | None:
    """Say what confidential datum an audit entry carries: ``(kind, task_id, team_id)`` with kind
    ``"lists"`` (object/team lists of a task; team_id when the entry is about one team), ``"record"``
    (a draw's seed, nonce, per-stratum counts), ``"conflict"`` (a declaration: an inspector and an
    object code, belonging to no task) or ``"user_views"`` (a user's downloads of their assignments,
    task_id None: see ``may_see_audit_entry``). ``None`` = nothing confidential."""
    from ..draws.models import Draw
    from ..fieldwork.models import VisitRecord
    from ..teams.models import ReplacementRequest, Team
    from ..visits.models import Visit

    etype, action = entry.entity_type, entry.action or ""
    try:
        eid = int(entry.entity_id)
    except (TypeError, ValueError):
        eid = None
    if action.startswith("conflict."):
        return ("conflict", None, None)
    if etype == "task":
        if action in PLANNING_TASK_ACTIONS:
            return None
        return ("lists", eid, _task_entry_team(entry))
    if eid is None:
        return None
    if etype == "team":
        task_id = db.session.execute(db.select(Team.task_id).where(Team.id == eid)).scalar()
        return ("lists", task_id, eid)
    if etype == "draw":
        return ("record", db.session.execute(db.select(Draw.task_id).where(Draw.id == eid)).scalar(), None)
    if etype == "replacement_request":
        row = db.session.execute(db.select(ReplacementRequest.task_id, TeamMember.team_id)
                                 .join(TeamMember, ReplacementRequest.member_id == TeamMember.id)
                                 .where(ReplacementRequest.id == eid)).first()
        return ("lists", row[0], row[1]) if row else ("lists", None, None)
    if etype == "visit":
        row = db.session.execute(db.select(Visit.task_id, Visit.team_id).where(Visit.id == eid)).first()
        return ("lists", row[0], row[1]) if row else ("lists", None, None)
    if etype == "visit_record":
        row = db.session.execute(db.select(Visit.task_id, Visit.team_id)
                                 .join(VisitRecord, VisitRecord.visit_id == Visit.id)
                                 .where(VisitRecord.id == eid)).first()
        return ("lists", row[0], row[1]) if row else ("lists", None, None)
    if etype == "user" and action == "task.view_confidential":
        return ("user_views", None, None)
    return None


def _task_visible(user: Any, task_id: int | None, team_id: int | None) -> bool:
    if task_id is None:
        # unresolvable (e.g. a row of a deleted object): visible only to whom every open list is
        return not hidden_task_ids(user)
    task = db.session.get(Task, task_id)
    if task is None:
        return not hidden_task_ids(user)
    visible = visible_team_ids(user, task)
    return visible is None or (team_id is not None and team_id in visible)


def may_see_audit_entry(user: Any, entry: Any) -> bool:
    """THE rule for audit entries and history rows: may ``user`` see this entry's content (actor,
    entity id, note, before/after)? Everybody may see that an entry exists (time and action).

    * lists of a task (team.*, replacements, conflict flags, visits, records, confidential views):
      ``visible_team_ids`` — all teams, or the entry's own team for a member;
    * a draw's entries: ``can_view_full_record`` (seed, nonce, per-stratum counts) until the visits
      are over;
    * conflict declarations and a user's assignment downloads carry an inspector with an object code
      or task ids: shown only when the viewer may see every open task's lists (or it is their own),
      so that whether an entry is redacted says nothing about any task."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    cache = _cache()
    key = ("entry", getattr(user, "id", None), entry.id)
    if key in cache:
        return cache[key]
    scope = audit_entry_scope(entry)
    if scope is None:
        ok = True
    else:
        kind, task_id, team_id = scope
        if kind == "lists":
            ok = _task_visible(user, task_id, team_id)
        elif kind == "record":
            ok = task_id is None or task_id not in hidden_record_task_ids(user)
        elif kind == "user_views":
            ok = entry.entity_id == str(user.id) or not hidden_task_ids(user)
        else:  # conflict
            own = inspector_of(user)
            ok = (own is not None and entry.entity_id == str(own.id)) or not hidden_task_ids(user)
    cache[key] = ok
    return ok


def confidential_audit_clause(user: Any):
    """A SQL condition matching the audit entries that may carry content the user may not see (a
    superset of those ``may_see_audit_entry`` refuses: partly visible tasks count as hidden), or
    ``None`` when there are none. Searches on a hidden field (actor, entity id) exclude them, so a
    search never tells that a redacted entry matched."""
    from sqlalchemy import String, and_, cast, false, or_, select

    from ..audit.models import AuditEntry as A
    from ..draws.models import Draw
    from ..fieldwork.models import VisitRecord
    from ..teams.models import ReplacementRequest, Team
    from ..visits.models import Visit

    hidden = sorted(hidden_task_ids(user))
    hidden_record = sorted(hidden_record_task_ids(user))
    parts = []
    if hidden:
        parts += [
            and_(A.entity_type == "task", A.entity_id.in_([str(t) for t in hidden]),
                 A.action.not_in(PLANNING_TASK_ACTIONS)),
            and_(A.entity_type == "team",
                 A.entity_id.in_(select(cast(Team.id, String)).where(Team.task_id.in_(hidden)))),
            and_(A.entity_type == "replacement_request",
                 A.entity_id.in_(select(cast(ReplacementRequest.id, String))
                                 .where(ReplacementRequest.task_id.in_(hidden)))),
            and_(A.entity_type == "visit",
                 A.entity_id.in_(select(cast(Visit.id, String)).where(Visit.task_id.in_(hidden)))),
            and_(A.entity_type == "visit_record",
                 A.entity_id.in_(select(cast(VisitRecord.id, String))
                                 .join(Visit, VisitRecord.visit_id == Visit.id)
                                 .where(Visit.task_id.in_(hidden)))),
            A.action.startswith("conflict."),
            and_(A.entity_type == "user", A.action == "task.view_confidential"),
        ]
    if hidden_record:
        parts.append(and_(A.entity_type == "draw",
                          A.entity_id.in_(select(cast(Draw.id, String)).where(Draw.task_id.in_(hidden_record)))))
    if not parts:
        return None
    return or_(false(), *parts)
