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
from ..visits.models import Visit, VisitStatus
from .access import (
    inspector_of,
    is_participating_head,
    is_task_initiator,
    user_bureau_id,
    visible_team_ids,
)
from .models import (
    ConflictDeclaration,
    MemberSource,
    MissingRecordReason,
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
MAX_MISSING_REASON = 500


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


def can_explain_missing_records(user, task: Task) -> bool:
    """Who may give the reason for a visit without a finished record: the task's initiators and the
    initiating department's head (the joint office may declare the visits over only once every visit
    has its record: it may not see the object list before then)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_task_initiator(user, task) or _is_initiating_head(user, task)


def visits_without_record(task: Task) -> list[tuple[Visit, Team]]:
    """Return (visit, team) for each of the task's visits that lacks a finished record (not ``done``;
    a withdrawn visit needs none), by team number then object name."""
    rows = db.session.execute(
        db.select(Visit, Team).join(Team, Visit.team_id == Team.id)
        .join(InspectedObject, Visit.object_id == InspectedObject.id)
        .where(Visit.task_id == task.id, Visit.status.not_in([VisitStatus.DONE, VisitStatus.WITHDRAWN]))
        .order_by(Team.number, InspectedObject.name, Visit.id)
    ).all()
    return [(v, t) for v, t in rows]


def missing_record_reasons(task: Task) -> dict[int, MissingRecordReason]:
    """Return the reasons recorded at the end of the visits, by visit id."""
    rows = db.session.execute(db.select(MissingRecordReason).where(MissingRecordReason.task_id == task.id)).scalars()
    return {r.visit_id: r for r in rows}


def _missing_details(user, task: Task, missing: list[tuple[Visit, Team]]) -> list[dict]:
    """The refused visits as the user may see them: object names and codes only for those who may
    see every team's list [004§8(三)]; otherwise the visit ids and team numbers."""
    names = visible_team_ids(user, task) is None
    out = []
    for visit, team in missing:
        row = {"visit_id": visit.id, "team": team.number + 1, "status": visit.status.value}
        if names:
            row.update(object=visit.object.name, code=visit.object.code)
        out.append(row)
    return out


def mark_visits_over(task: Task, user, reasons: dict[int, str] | None = None) -> Task:
    """Mark the task's visits as over: the lists stop being confidential.

    Every visit must have a finished record (status ``done``; withdrawn visits need none) unless the
    task's initiator gives, in ``reasons`` (visit id → text), why that visit has none (企业已注销、
    无法联系已取证 …); the reasons are stored (``missing_record_reasons``) and audited.

    Raises Forbidden ``visits_over_forbidden`` (403) for anyone but the initiating department's users
    or the joint office; Conflict ``visits_over_too_early`` (409) before the inspectors are drawn;
    Conflict ``visits_unrecorded`` (409, ``details.visits`` = the visits still lacking a record and
    a reason) while any visit lacks both; DomainError ``missing_reason_too_long`` (400, ``field`` =
    ``reason_<visit id>``) for a reason over 500 characters. Nothing is changed on a refusal.
    """
    if not can_mark_visits_over(user, task):
        raise Forbidden("visits_over_forbidden", _("只有发起部门的用户或联席办可以宣布检查结束。"))
    if task.status is TaskStatus.VISITS_OVER:
        raise Conflict("visits_already_over", _("该任务已宣布检查结束。"))
    if task.status is not TaskStatus.INSPECTORS_DRAWN:
        raise Conflict("visits_over_too_early", _("尚未抽取检查人员并完成匹配，不能宣布检查结束。"))
    missing = visits_without_record(task)
    explained: dict[int, str] = {}
    if missing and can_explain_missing_records(user, task):
        given = {str(k): (v or "").strip() for k, v in (reasons or {}).items()}
        for visit, _team in missing:
            text = given.get(str(visit.id), "")
            if len(text) > MAX_MISSING_REASON:
                raise DomainError("missing_reason_too_long",
                                  _("原因说明不能超过 %(n)s 个字，请精简后再提交。", n=MAX_MISSING_REASON),
                                  field=f"reason_{visit.id}")
            if text:
                explained[visit.id] = text
        unexplained = [(v, t) for v, t in missing if v.id not in explained]
        if unexplained:
            raise Conflict("visits_unrecorded",
                           _("还有 %(n)s 个检查对象没有完成的检查记录，不能宣布检查结束。请等待检查记录上传，"
                             "或逐一填写没有记录的原因（如：企业已注销、无法联系已取证）。", n=len(unexplained)),
                           visits=_missing_details(user, task, unexplained))
    elif missing:
        raise Conflict("visits_unrecorded",
                       _("还有 %(n)s 个检查对象没有完成的检查记录，不能宣布检查结束。请等待检查记录上传，"
                         "或由任务发起部门逐一填写没有记录的原因后再宣布。", n=len(missing)),
                       visits=_missing_details(user, task, missing))
    before = {"status": task.status.value, "visits_over_at": None}
    now = utcnow()
    rows = [MissingRecordReason(task_id=task.id, visit_id=visit.id, reason=explained[visit.id],
                                recorded_by_id=getattr(user, "id", None), recorded_at=now)
            for visit, _team in missing]
    db.session.add_all(rows)
    task.status = TaskStatus.VISITS_OVER
    task.visits_over_at = now
    db.session.flush()
    for row in rows:
        record("visit.missing_record_reason", "visit", row.visit_id, after=snapshot(row))
    record("task.visits_over", "task", task.id, before=before,
           after={"status": task.status.value, "visits_over_at": task.visits_over_at.isoformat(),
                  "missing_record_reasons": [{"visit_id": r.visit_id, "reason": r.reason} for r in rows]})
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
    if inspector.is_expert or not inspector.certificate_no:
        # a substitute is chosen among the qualified inspectors [000#16]; experts join only as supplements
        return _("替补人员必须是持有执法证的执法检查人员（专家只能作为补充人员选派）。")
    if not _qualified_over(inspector, task.period_start, task.period_end):
        return _("替补人员的执法资格在任务执行期间（%(start)s 至 %(end)s）内无效。",
                 start=task.period_start.isoformat(), end=task.period_end.isoformat())
    td = _task_department(task, member.department_id)
    missing = sorted(set(td.required_expertise if td else []) - set(inspector.expertise))
    if missing:
        return _("替补人员缺少本任务要求的业务专长：%(tags)s。", tags="、".join(missing))
    if _in_task(task, inspector):
        return _("替补人员已在本任务的检查组中（或曾被替换出本任务）。")
    conflict = _conflicted_object(member.team_id, inspector)
    if conflict is not None:
        return _("替补人员已申报与本组检查对象“%(name)s”存在利益冲突。", name=conflict)
    return None


def _in_task(task: Task, inspector: Inspector) -> bool:
    """True when the inspector is (or was) a member of one of the task's teams."""
    return db.session.execute(db.select(TeamMember.id).where(
        TeamMember.task_id == task.id, TeamMember.inspector_id == inspector.id)).first() is not None


def _conflicted_object(team_id: int, inspector: Inspector) -> str | None:
    """Return the name of an object of the team for which the inspector declared a conflict, if any."""
    row = db.session.execute(
        db.select(InspectedObject.name).join(Visit, Visit.object_id == InspectedObject.id)
        .join(ConflictDeclaration, ConflictDeclaration.object_id == Visit.object_id)
        .where(Visit.team_id == team_id, ConflictDeclaration.inspector_id == inspector.id,
               ConflictDeclaration.withdrawn_at.is_(None))).first()
    return row[0] if row is not None else None


def substitute_candidates(req: ReplacementRequest) -> list[Inspector]:
    """Return the inspectors the approver may choose from (qualified, same department, not in the
    task, no declared conflict with the team's objects), by name."""
    member = req.member
    task = db.session.get(Task, req.task_id)
    in_task = db.select(TeamMember.inspector_id).where(TeamMember.task_id == task.id)
    rows = db.session.execute(
        db.select(Inspector).where(Inspector.department_id == member.department_id,
                                   Inspector.status == InspectorStatus.ON_DUTY,
                                   Inspector.is_expert.is_(False), Inspector.id.not_in(in_task))
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


# -- replacement filings with the joint office (备案) [000#16, 003#14] ----------------------------------------


def can_see_filings(user) -> bool:
    """Only the joint office keeps the filing queue."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(Role.JOINT_OFFICE)


def _require_filings(user) -> None:
    if not can_see_filings(user):
        raise Forbidden("filings_forbidden", _("人员调整备案只对联席办开放。"))


def filing_queue(user, *, show: str = "pending"):
    """Return a select of the approved replacements filed with the joint office: ``pending`` (not yet
    acknowledged, oldest first, the default), ``acknowledged`` or ``all`` (newest first). Raises
    Forbidden ``filings_forbidden`` (403) for anyone but the joint office."""
    _require_filings(user)
    stmt = db.select(ReplacementRequest).where(ReplacementRequest.status == ReplacementStatus.APPROVED,
                                               ReplacementRequest.filed_at.is_not(None))
    if show == "pending":
        return stmt.where(ReplacementRequest.filing_acknowledged_at.is_(None)).order_by(
            ReplacementRequest.filed_at, ReplacementRequest.id)
    if show == "acknowledged":
        stmt = stmt.where(ReplacementRequest.filing_acknowledged_at.is_not(None))
    return stmt.order_by(ReplacementRequest.filed_at.desc(), ReplacementRequest.id.desc())


def filings_awaiting_count(user) -> int:
    """Return how many filings wait for the joint office's acknowledgement (0 for anyone else)."""
    if not can_see_filings(user):
        return 0
    return db.session.execute(
        db.select(func.count()).select_from(ReplacementRequest)
        .where(ReplacementRequest.status == ReplacementStatus.APPROVED, ReplacementRequest.filed_at.is_not(None),
               ReplacementRequest.filing_acknowledged_at.is_(None))
    ).scalar_one()


def filing_rows(user, reqs) -> list[dict]:
    """Return what the joint office may see of each filing: task, department, reason category and
    dates always; the members' names and certificate numbers only where ``server.teams.access``
    allows (after the visits are over) [004§8(三)]. The free-text explanation may name an object, so
    it follows the names."""
    from ..org.models import Department

    reqs = list(reqs)
    tasks = {t.id: t for t in db.session.execute(
        db.select(Task).where(Task.id.in_({r.task_id for r in reqs}))).scalars()}
    depts = {d.id: d for d in db.session.execute(
        db.select(Department).where(Department.id.in_({r.member.department_id for r in reqs}))).scalars()}
    allowed = {tid: visible_team_ids(user, t) is None for tid, t in tasks.items()}
    rows = []
    for r in reqs:
        row = {"req": r, "task": tasks[r.task_id], "department": depts.get(r.member.department_id),
               "team": r.member.team.number + 1, "names_allowed": allowed[r.task_id]}
        if allowed[r.task_id]:
            sub = db.session.get(Inspector, r.substitute_inspector_id) if r.substitute_inspector_id else None
            row.update(old=r.member.inspector, substitute=sub)
        rows.append(row)
    return rows


def acknowledge_filing(user, req: ReplacementRequest) -> ReplacementRequest:
    """The joint office acknowledges (已阅/备案) an approved replacement; audited on the task. Raises
    Forbidden ``filings_forbidden`` (403), Conflict ``filing_not_filed`` (409) for a request that was
    not approved, ``filing_acknowledged`` (409) when already acknowledged."""
    _require_filings(user)
    if req.status is not ReplacementStatus.APPROVED or req.filed_at is None:
        raise Conflict("filing_not_filed", _("该人员调整尚未批准，没有需要备案的内容。"))
    result = db.session.execute(
        db.update(ReplacementRequest)
        .where(ReplacementRequest.id == req.id, ReplacementRequest.filing_acknowledged_at.is_(None))
        .values(filing_acknowledged_at=utcnow(), filing_acknowledged_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("filing_acknowledged", _("该备案已由联席办确认，无需重复操作。"))
    db.session.refresh(req)
    # no names here: the audit log is read by the joint office before the visits are over
    record("team.filing_acknowledged", "task", req.task_id,
           before={"request_id": req.id, "filing_acknowledged_at": None},
           after={"request_id": req.id, "reason": req.reason.value,
                  "filing_acknowledged_at": req.filing_acknowledged_at.isoformat()},
           note=_("联席办已阅并备案（第 %(n)s 组人员调整）", n=req.member.team.number + 1))
    return req


# -- experts chosen as supplements (选派) [002#9, 004§5] ------------------------------------------------------


def can_add_expert(user, task: Task) -> bool:
    """The task's initiators and the heads of its participating departments."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_task_initiator(user, task) or is_participating_head(user, task)


def expert_problem(task: Task, team: Team, inspector: Inspector | None) -> str | None:
    """Return why ``inspector`` cannot join ``team`` as an expert, or None if they can."""
    if inspector is None:
        return _("请选择专家。")
    if not inspector.is_expert:
        return _("“%(name)s”不在专家名录库中：执法检查人员只能通过随机抽取或替补进入检查组。", name=inspector.name)
    if inspector.status is not InspectorStatus.ON_DUTY:
        return _("该专家当前不可用（不在岗）。")
    if _in_task(task, inspector):
        return _("该专家已在本任务的检查组中。")
    conflict = _conflicted_object(team.id, inspector)
    if conflict is not None:
        return _("该专家已申报与本组检查对象“%(name)s”存在利益冲突。", name=conflict)
    return None


def expert_candidates(task: Task) -> list[Inspector]:
    """Return the on-duty experts not yet in the task, by name."""
    in_task = db.select(TeamMember.inspector_id).where(TeamMember.task_id == task.id)
    return list(db.session.execute(
        db.select(Inspector).where(Inspector.is_expert.is_(True), Inspector.status == InspectorStatus.ON_DUTY,
                                   Inspector.id.not_in(in_task))
        .order_by(Inspector.name, Inspector.id)
    ).scalars())


def add_expert(user, task: Task, *, team_id: int | str | None, inspector_id: int | str | None,
               reason: str | None) -> TeamMember:
    """Choose (选派) an expert from the expert registry as a supplement member of one of the task's
    teams, with the reason; audited on the task. Return the new member (source ``expert``).

    Raises Forbidden ``expert_forbidden`` (403); Conflict ``task_not_open`` (409) outside the time
    between the inspector draw and the end of the visits; DomainError ``team_required`` /
    ``expert_invalid`` / ``expert_reason_required`` / ``expert_reason_too_long`` (400, with
    ``field``). Nothing is changed on a refusal."""
    if not can_add_expert(user, task):
        raise Forbidden("expert_forbidden", _("只有任务发起部门的用户或参与部门的负责人可以选派专家。"))
    if task.status not in _OPEN_TEAM_STATES:
        raise Conflict("task_not_open", _("该任务当前状态下不能调整检查组。"))
    try:
        team = db.session.get(Team, int(team_id)) if team_id not in (None, "") else None
    except (TypeError, ValueError):
        team = None
    if team is None or team.task_id != task.id:
        raise DomainError("team_required", _("请选择专家加入的检查组。"), field="team_id")
    try:
        expert = db.session.get(Inspector, int(inspector_id)) if inspector_id not in (None, "") else None
    except (TypeError, ValueError):
        expert = None
    problem = expert_problem(task, team, expert)
    if problem:
        raise DomainError("expert_invalid", problem, field="inspector_id")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("expert_reason_required", _("请填写选派理由（如：需要检测专业支持）。"), field="reason")
    if len(reason) > MAX_MISSING_REASON:
        raise DomainError("expert_reason_too_long", _("选派理由不能超过 %(n)s 个字。", n=MAX_MISSING_REASON),
                          field="reason")
    member = TeamMember(team_id=team.id, task_id=task.id, inspector_id=expert.id,
                        department_id=expert.department_id, is_leader=False, active=True,
                        source=MemberSource.EXPERT, selection_reason=reason)
    db.session.add(member)
    db.session.flush()
    record("team.expert_added", "task", task.id, after={"member": snapshot(member)},
           note=_("第 %(n)s 组：选派专家 %(name)s", n=team.number + 1, name=expert.name))
    refresh_conflict_flags(inspector_id=expert.id)
    return member
