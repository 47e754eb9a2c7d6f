"""Teams after the draw: listing, conflict-of-interest declarations, replacements [000#16, 003#14]
and the end of the visits (which lifts confidentiality). Services only flush; the request commits.

Replacement rules: a drawn member is replaced only on request (by the member, the team leader or
the initiating department's users) with a reason and an explanation; a department head of the
*member's* department decides; the approver picks the substitute among qualified inspectors of the
same department — no lottery. The draw record is never touched: the change lives in the team tables
and in the task's audit history, and is filed with the joint office (``filed_at``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_

from ..audit.services import record, snapshot
from ..auth.roles import Role
from ..core.errors import Conflict, DomainError, Forbidden, NotFound
from ..core.models import utcnow
from ..extensions import db
from ..planning.models import Task, TaskDepartment, TaskStatus
from ..registry.models import InspectedObject, Inspector, InspectorStatus
from ..visits.models import Visit
from .access import inspector_of, is_task_initiator, user_bureau_id
from .models import (
    ConflictDeclaration,
    MemberSource,
    ReplacementReason,
    ReplacementRequest,
    ReplacementStatus,
    Team,
    TeamMember,
)

REASON_LABELS = {
    ReplacementReason.RECUSAL: _l("回避"),
    ReplacementReason.JOB_CHANGE: _l("岗位调整"),
    ReplacementReason.WORK_CONFLICT: _l("工作冲突"),
    ReplacementReason.HEALTH: _l("健康原因"),
}

STATUS_LABELS = {
    ReplacementStatus.PENDING: _l("待审批"),
    ReplacementStatus.APPROVED: _l("已批准"),
    ReplacementStatus.REJECTED: _l("已驳回"),
}

#: task states in which teams exist and may still change
_OPEN_TEAM_STATES = (TaskStatus.INSPECTORS_DRAWN,)

MAX_RELATION = 500
MAX_TEXT = 2000


# -- lookups ---------------------------------------------------------------------------------------


def get_task(task_id: int) -> Task:
    """Return the task; raise NotFound ``task_not_found`` (404)."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound("task_not_found", _("找不到该抽查任务。"))
    return task


def get_member(member_id: int, task: Task | None = None) -> TeamMember:
    """Return the team member (of ``task`` if given); raise NotFound ``member_not_found``."""
    member = db.session.get(TeamMember, member_id)
    if member is None or (task is not None and member.task_id != task.id):
        raise NotFound("member_not_found", _("找不到该检查组成员。"))
    return member


def get_replacement(request_id: int) -> ReplacementRequest:
    """Return the replacement request; raise NotFound ``replacement_not_found``."""
    req = db.session.get(ReplacementRequest, request_id)
    if req is None:
        raise NotFound("replacement_not_found", _("找不到该人员调整申请。"))
    return req


def list_teams(task: Task, visible: set[int] | None) -> list[Team]:
    """Return the task's teams by number, only those in ``visible`` unless it is None."""
    stmt = db.select(Team).where(Team.task_id == task.id).order_by(Team.number)
    if visible is not None:
        if not visible:
            return []
        stmt = stmt.where(Team.id.in_(visible))
    return list(db.session.execute(stmt).scalars())


def visits_by_team(team_ids: list[int]) -> dict[int, list[Visit]]:
    """Return each team's visits (with their objects), ordered by object name."""
    out: dict[int, list[Visit]] = defaultdict(list)
    if not team_ids:
        return out
    rows = db.session.execute(
        db.select(Visit).join(InspectedObject, Visit.object_id == InspectedObject.id)
        .where(Visit.team_id.in_(team_ids)).order_by(InspectedObject.name, Visit.id)
    ).scalars()
    for visit in rows:
        out[visit.team_id].append(visit)
    return out


def my_assignments(user) -> list[tuple[Task, Team, TeamMember, list[Visit]]]:
    """Return (task, team, my membership, visits) for every team the user is an active member of,
    newest task period first."""
    inspector = inspector_of(user)
    if inspector is None:
        return []
    rows = db.session.execute(
        db.select(TeamMember, Team, Task).join(Team, TeamMember.team_id == Team.id)
        .join(Task, TeamMember.task_id == Task.id)
        .where(TeamMember.inspector_id == inspector.id, TeamMember.active.is_(True))
        .order_by(Task.period_start.desc(), Task.id, Team.number)
    ).all()
    visits = visits_by_team([team.id for _m, team, _t in rows])
    return [(task, team, member, visits.get(team.id, [])) for member, team, task in rows]


# -- end of the visits -------------------------------------------------------------------------------


def _is_initiating_head(user, task: Task) -> bool:
    return user.has_role(Role.DEPT_HEAD) and user_bureau_id(user) == task.initiating_department_id


def can_mark_visits_over(user, task: Task) -> bool:
    """The initiating department's task users (initiators, admins, head; the task's creator) or the
    joint office. Plain inspectors of the initiating department may not."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.has_role(Role.JOINT_OFFICE) or is_task_initiator(user, task) or _is_initiating_head(user, task)


def mark_visits_over(task: Task, user) -> Task:
    """Mark the task's visits as over: the lists stop being confidential.

    Raises Forbidden ``visits_over_forbidden`` (403) for anyone but the initiating department's users
    or the joint office, Conflict ``visits_over_too_early`` (409) before the inspectors are drawn.
    """
    if not can_mark_visits_over(user, task):
        raise Forbidden("visits_over_forbidden", _("只有发起部门的用户或联席办可以宣布检查结束。"))
    if task.status is TaskStatus.VISITS_OVER:
        raise Conflict("visits_already_over", _("该任务已宣布检查结束。"))
    if task.status is not TaskStatus.INSPECTORS_DRAWN:
        raise Conflict("visits_over_too_early", _("尚未抽取检查人员并完成匹配，不能宣布检查结束。"))
    before = {"status": task.status.value, "visits_over_at": None}
    task.status = TaskStatus.VISITS_OVER
    task.visits_over_at = utcnow()
    db.session.flush()
    record("task.visits_over", "task", task.id, before=before,
           after={"status": task.status.value, "visits_over_at": task.visits_over_at.isoformat()})
    return task


# -- conflict-of-interest declarations ---------------------------------------------------------------


def search_objects(q: str, limit: int = 20) -> list[InspectedObject]:
    """Return objects whose name contains ``q`` or whose code starts with it (at most ``limit``)."""
    q = (q or "").strip()
    if len(q) < 2:
        return []
    like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(db.session.execute(
        db.select(InspectedObject)
        .where(or_(InspectedObject.name.ilike(f"%{like}%", escape="\\"),
                   InspectedObject.code.like(f"{like.upper()}%", escape="\\")))
        .order_by(InspectedObject.name).limit(limit)
    ).scalars())


def require_inspector(user) -> Inspector:
    """Return the inspector linked to the user; raise Forbidden ``not_an_inspector`` (403)."""
    inspector = inspector_of(user)
    if inspector is None:
        raise Forbidden("not_an_inspector", _("您的账号未关联执法检查人员，不能申报利益冲突。"))
    return inspector


def declare_conflict(user, *, object_id: int | str | None, relation: str | None) -> ConflictDeclaration:
    """Record the user's inspector's declared relation to an object; flag their memberships in open
    teams that visit it. Raises DomainError ``relation_required`` / ``object_required`` (400),
    Conflict ``declaration_exists`` (409)."""
    inspector = require_inspector(user)
    relation = (relation or "").strip()
    obj = None
    try:
        obj = db.session.get(InspectedObject, int(object_id)) if object_id not in (None, "") else None
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        raise DomainError("object_required", _("请先搜索并选择检查对象。"), field="object_id")
    if not relation:
        raise DomainError("relation_required", _("请说明与该检查对象的关系（如亲属关系、曾在该单位任职等）。"),
                          field="relation")
    if len(relation) > MAX_RELATION:
        raise DomainError("relation_too_long", _("关系说明不能超过 %(n)s 个字。", n=MAX_RELATION), field="relation")
    existing = db.session.execute(db.select(ConflictDeclaration).where(
        ConflictDeclaration.inspector_id == inspector.id, ConflictDeclaration.object_id == obj.id,
        ConflictDeclaration.withdrawn_at.is_(None))).scalar_one_or_none()
    if existing is not None:
        raise Conflict("declaration_exists", _("您已申报过与该检查对象的利益冲突；如需修改请先撤回原申报。"),
                       field="object_id")
    decl = ConflictDeclaration(inspector_id=inspector.id, object_id=obj.id, relation=relation,
                               declared_by_id=user.id)
    db.session.add(decl)
    db.session.flush()
    record("conflict.declare", "inspector", inspector.id, after=snapshot(decl),
           note=f"{obj.code} {obj.name}")
    refresh_conflict_flags(inspector_id=inspector.id)
    return decl


def list_declarations(inspector_ids: list[int] | None = None, *, department_id: int | None = None,
                      include_withdrawn: bool = True):
    """Return a select of declarations (newest first) of the given inspectors or department."""
    stmt = (db.select(ConflictDeclaration)
            .join(Inspector, ConflictDeclaration.inspector_id == Inspector.id)
            .order_by(ConflictDeclaration.declared_at.desc(), ConflictDeclaration.id.desc()))
    if inspector_ids is not None:
        stmt = stmt.where(ConflictDeclaration.inspector_id.in_(inspector_ids))
    if department_id is not None:
        stmt = stmt.where(Inspector.department_id == department_id)
    if not include_withdrawn:
        stmt = stmt.where(ConflictDeclaration.withdrawn_at.is_(None))
    return stmt


def declaration_rows(decls) -> list[tuple[ConflictDeclaration, Inspector, InspectedObject]]:
    """Return (declaration, inspector, object) for each declaration, in order (two queries)."""
    decls = list(decls)
    inspectors = {i.id: i for i in db.session.execute(
        db.select(Inspector).where(Inspector.id.in_({d.inspector_id for d in decls}))).scalars()}
    objects = {o.id: o for o in db.session.execute(
        db.select(InspectedObject).where(InspectedObject.id.in_({d.object_id for d in decls}))).scalars()}
    return [(d, inspectors[d.inspector_id], objects[d.object_id]) for d in decls]


def withdraw_declaration(user, declaration_id: int) -> ConflictDeclaration:
    """Withdraw the user's own declaration. Raises NotFound (404) for another inspector's one and
    Conflict ``declaration_withdrawn`` (409) if already withdrawn."""
    inspector = require_inspector(user)
    decl = db.session.get(ConflictDeclaration, declaration_id)
    if decl is None or decl.inspector_id != inspector.id:
        raise NotFound("declaration_not_found", _("找不到该利益冲突申报。"))
    if decl.withdrawn_at is not None:
        raise Conflict("declaration_withdrawn", _("该申报已撤回。"))
    before = snapshot(decl)
    decl.withdrawn_at = utcnow()
    db.session.flush()
    record("conflict.withdraw", "inspector", inspector.id, before=before, after=snapshot(decl))
    refresh_conflict_flags(inspector_id=inspector.id)
    return decl


def refresh_conflict_flags(*, task: Task | None = None, inspector_id: int | None = None) -> int:
    """Set ``conflict_flag`` on the active members (of ``task`` or of ``inspector_id``, in tasks whose
    visits are not over) who declared a relation to an object their team visits; clear it where no
    such declaration remains. Each change is audited on the task. Return how many flags changed.

    The draw engine calls this after matching (``refresh_conflict_flags(task=task)``)."""
    stmt = (db.select(TeamMember).join(Task, TeamMember.task_id == Task.id)
            .where(TeamMember.active.is_(True), Task.status != TaskStatus.VISITS_OVER))
    if task is not None:
        stmt = stmt.where(TeamMember.task_id == task.id)
    if inspector_id is not None:
        stmt = stmt.where(TeamMember.inspector_id == inspector_id)
    members = list(db.session.execute(stmt).scalars())
    if not members:
        return 0
    hits = db.session.execute(
        db.select(TeamMember.id, InspectedObject.code, ConflictDeclaration.relation)
        .join(Visit, Visit.team_id == TeamMember.team_id)
        .join(ConflictDeclaration, (ConflictDeclaration.inspector_id == TeamMember.inspector_id)
              & (ConflictDeclaration.object_id == Visit.object_id))
        .join(InspectedObject, InspectedObject.id == Visit.object_id)
        .where(TeamMember.id.in_([m.id for m in members]), ConflictDeclaration.withdrawn_at.is_(None))
        .order_by(InspectedObject.code)
    ).all()
    notes: dict[int, list[str]] = defaultdict(list)
    for member_id, code, relation in hits:
        # the same wording as the draw engine's flag at matching, so a refresh changes nothing there
        notes[member_id].append(_("申报与 %(code)s 存在利害关系（%(rel)s），需申请回避并替换。", code=code, rel=relation))
    changed = 0
    for m in members:
        flag = m.id in notes
        note = "；".join(notes[m.id]) if flag else None
        if m.conflict_flag == flag and m.conflict_note == note:
            continue
        before = {"conflict_flag": m.conflict_flag, "conflict_note": m.conflict_note}
        m.conflict_flag, m.conflict_note = flag, note
        changed += 1
        record("team.conflict_flag", "task", m.task_id, before={"member_id": m.id, **before},
               after={"member_id": m.id, "conflict_flag": flag, "conflict_note": note})
    db.session.flush()
    return changed


# -- replacement ---------------------------------------------------------------------------------------


def can_request_replacement(user, member: TeamMember) -> bool:
    """The member themself, their team's leader, or the task's initiators."""
    if not getattr(user, "is_authenticated", False):
        return False
    task = db.session.get(Task, member.task_id)
    if is_task_initiator(user, task) or _is_initiating_head(user, task):
        return True
    inspector = inspector_of(user)
    if inspector is None:
        return False
    if inspector.id == member.inspector_id:
        return True
    leader = member.team.leader
    return leader is not None and leader.inspector_id == inspector.id


def request_replacement(user, member: TeamMember, *, reason: str | None, explanation: str | None
                        ) -> ReplacementRequest:
    """File a replacement request for an active member. Raises Forbidden ``replacement_request_forbidden``
    (403), DomainError ``reason_required`` / ``explanation_required`` (400), Conflict
    ``member_inactive`` / ``replacement_pending`` / ``task_not_open`` (409)."""
    if not can_request_replacement(user, member):
        raise Forbidden("replacement_request_forbidden",
                        _("只有该检查人员本人、组长或任务发起部门的用户可以申请调整。"))
    task = db.session.get(Task, member.task_id)
    if task.status not in _OPEN_TEAM_STATES:
        raise Conflict("task_not_open", _("该任务当前状态下不能调整检查人员。"))
    if not member.active:
        raise Conflict("member_inactive", _("该成员已被替换，不能再申请调整。"))
    try:
        reason_enum = ReplacementReason(reason) if reason else None
    except ValueError:
        reason_enum = None
    if reason_enum is None:
        raise DomainError("reason_required", _("请选择调整原因（回避、岗位调整、工作冲突或健康原因）。"), field="reason")
    explanation = (explanation or "").strip()
    if not explanation:
        raise DomainError("explanation_required", _("请填写情况说明，写明需要调整的具体原因。"), field="explanation")
    if len(explanation) > MAX_TEXT:
        raise DomainError("explanation_too_long", _("情况说明不能超过 %(n)s 个字。", n=MAX_TEXT), field="explanation")
    pending = db.session.execute(db.select(ReplacementRequest.id).where(
        ReplacementRequest.member_id == member.id, ReplacementRequest.status == ReplacementStatus.PENDING)
    ).first()
    if pending is not None:
        raise Conflict("replacement_pending", _("该成员已有待审批的调整申请，请等待审批结果。"))
    req = ReplacementRequest(task_id=task.id, member_id=member.id, reason=reason_enum, explanation=explanation,
                             requested_by_id=user.id)
    db.session.add(req)
    db.session.flush()
    record("team.replacement_requested", "task", task.id, after=snapshot(req),
           note=f"{member.inspector.name}")
    return req


def can_decide_replacement(user, req: ReplacementRequest) -> bool:
    """Only a department head of the member's own department."""
    if not getattr(user, "is_authenticated", False) or not user.has_role(Role.DEPT_HEAD):
        return False
    return user_bureau_id(user) == req.member.department_id


def _check_decider(user, req: ReplacementRequest) -> None:
    if not can_decide_replacement(user, req):
        raise Forbidden("replacement_decision_forbidden",
                        _("只有该检查人员所在部门的负责人可以审批人员调整。"))
    if req.status is not ReplacementStatus.PENDING:
        raise Conflict("replacement_decided", _("该申请已经处理，不能重复审批。"))


def _claim(req: ReplacementRequest, status: ReplacementStatus) -> None:
    """Move the request out of PENDING with a conditional UPDATE, so that of two heads deciding at
    the same moment exactly one wins; the other gets Conflict ``replacement_decided`` (409)."""
    result = db.session.execute(
        db.update(ReplacementRequest)
        .where(ReplacementRequest.id == req.id, ReplacementRequest.status == ReplacementStatus.PENDING)
        .values(status=status).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("replacement_decided", _("该申请已经处理，不能重复审批。"))
    req.status = status


def _task_department(task: Task, department_id: int) -> TaskDepartment | None:
    return next((d for d in task.departments if d.department_id == department_id), None)


def _qualified_over(inspector: Inspector, start: date, end: date) -> bool:
    return inspector.qualified_on(start) and inspector.qualified_on(end)


def substitute_problem(req: ReplacementRequest, inspector: Inspector | None) -> str | None:
    """Return why ``inspector`` cannot substitute for the request's member, or None if they can."""
    member = req.member
    task = db.session.get(Task, req.task_id)
    if inspector is None:
        return _("请选择替补人员。")
    if inspector.department_id != member.department_id:
        return _("替补人员必须与被替换人员属于同一部门。")
    if inspector.status is not InspectorStatus.ON_DUTY:
        return _("替补人员不在岗。")
    if not _qualified_over(inspector, task.period_start, task.period_end):
        return _("替补人员的执法资格在任务执行期间（%(start)s 至 %(end)s）内无效。",
                 start=task.period_start.isoformat(), end=task.period_end.isoformat())
    td = _task_department(task, member.department_id)
    missing = sorted(set(td.required_expertise if td else []) - set(inspector.expertise))
    if missing:
        return _("替补人员缺少本任务要求的业务专长：%(tags)s。", tags="、".join(missing))
    in_task = db.session.execute(db.select(TeamMember.id).where(
        TeamMember.task_id == task.id, TeamMember.inspector_id == inspector.id)).first()
    if in_task is not None:
        return _("替补人员已在本任务的检查组中（或曾被替换出本任务）。")
    conflict = db.session.execute(
        db.select(InspectedObject.name).join(Visit, Visit.object_id == InspectedObject.id)
        .join(ConflictDeclaration, ConflictDeclaration.object_id == Visit.object_id)
        .where(Visit.team_id == member.team_id, ConflictDeclaration.inspector_id == inspector.id,
               ConflictDeclaration.withdrawn_at.is_(None))).first()
    if conflict is not None:
        return _("替补人员已申报与本组检查对象“%(name)s”存在利益冲突。", name=conflict[0])
    return None


def substitute_candidates(req: ReplacementRequest) -> list[Inspector]:
    """Return the inspectors the approver may choose from (qualified, same department, not in the
    task, no declared conflict with the team's objects), by name."""
    member = req.member
    task = db.session.get(Task, req.task_id)
    in_task = db.select(TeamMember.inspector_id).where(TeamMember.task_id == task.id)
    rows = db.session.execute(
        db.select(Inspector).where(Inspector.department_id == member.department_id,
                                   Inspector.status == InspectorStatus.ON_DUTY,
                                   Inspector.id.not_in(in_task))
        .order_by(Inspector.name, Inspector.id)
    ).scalars()
    return [i for i in rows if substitute_problem(req, i) is None]


def approve_replacement(user, req: ReplacementRequest, *, substitute_id: int | str | None,
                        note: str | None = None) -> TeamMember:
    """Approve: the member becomes inactive, the chosen substitute joins the same team (as leader if
    the member led it), the change is filed with the joint office and logged on the task. Return the
    new member. Raises Forbidden ``replacement_decision_forbidden`` (403), DomainError
    ``substitute_invalid`` (400), Conflict ``replacement_decided`` (409)."""
    _check_decider(user, req)
    try:
        substitute = db.session.get(Inspector, int(substitute_id)) if substitute_id not in (None, "") else None
    except (TypeError, ValueError):
        substitute = None
    problem = substitute_problem(req, substitute)
    if problem:
        raise DomainError("substitute_invalid", problem, field="substitute_id")
    old = req.member
    before_req = snapshot(req)
    _claim(req, ReplacementStatus.APPROVED)
    new = TeamMember(team_id=old.team_id, task_id=old.task_id, inspector_id=substitute.id,
                     department_id=old.department_id, is_leader=old.is_leader, active=True,
                     source=MemberSource.SUBSTITUTE)
    db.session.add(new)
    db.session.flush()
    old_before = snapshot(old)
    old.active = False
    old.replaced_by_id = new.id
    now = utcnow()
    req.decided_by_id = user.id
    req.decided_at = now
    req.decision_note = (note or "").strip() or None
    req.substitute_inspector_id = substitute.id
    req.filed_at = now
    db.session.flush()
    record("team.member_replaced", "task", old.task_id,
           before={"member": old_before},
           after={"member": snapshot(old), "substitute": snapshot(new), "request_id": req.id,
                  "reason": req.reason.value, "filed_at": now.isoformat()},
           note=_("第 %(n)s 组：%(old)s → %(new)s（已报联席办备案）",
                  n=old.team.number + 1, old=old.inspector.name, new=substitute.name))
    record("team.replacement_approved", "replacement_request", req.id, before=before_req, after=snapshot(req))
    refresh_conflict_flags(inspector_id=substitute.id)
    return new


def reject_replacement(user, req: ReplacementRequest, *, note: str | None) -> ReplacementRequest:
    """Reject with a note. Raises Forbidden (403), DomainError ``note_required`` (400), Conflict (409)."""
    _check_decider(user, req)
    note = (note or "").strip()
    if not note:
        raise DomainError("note_required", _("驳回时请填写审批意见。"), field="note")
    before = snapshot(req)
    _claim(req, ReplacementStatus.REJECTED)
    req.decided_by_id = user.id
    req.decided_at = utcnow()
    req.decision_note = note
    db.session.flush()
    record("team.replacement_rejected", "task", req.task_id, before=before, after=snapshot(req))
    return req


def replacement_queue(user, *, status: ReplacementStatus | None = ReplacementStatus.PENDING):
    """Return a select of the requests the user decides (head of the member's department) or filed,
    oldest pending first."""
    bureau = user_bureau_id(user)
    conds = [ReplacementRequest.requested_by_id == user.id]
    if user.has_role(Role.DEPT_HEAD) and bureau is not None:
        conds.append(TeamMember.department_id == bureau)
    stmt = (db.select(ReplacementRequest).join(TeamMember, ReplacementRequest.member_id == TeamMember.id)
            .where(or_(*conds)).order_by(ReplacementRequest.requested_at, ReplacementRequest.id))
    if status is not None:
        stmt = stmt.where(ReplacementRequest.status == status)
    return stmt


def pending_count(user) -> int:
    """Return how many pending requests the user may decide."""
    bureau = user_bureau_id(user)
    if not user.has_role(Role.DEPT_HEAD) or bureau is None:
        return 0
    return db.session.execute(
        db.select(func.count()).select_from(ReplacementRequest)
        .join(TeamMember, ReplacementRequest.member_id == TeamMember.id)
        .where(TeamMember.department_id == bureau, ReplacementRequest.status == ReplacementStatus.PENDING)
    ).scalar_one()
