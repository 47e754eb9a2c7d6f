"""Follow-up of problems found (issue 8 §5) [000#23, 001#16, 002#17]: referrals to the department with
jurisdiction (移送), transfers to another department (转办), referrals of suspected crimes to the judiciary
(移送司法机关), entry in the abnormal list (列入经营异常名录) and a case filed (立案查处) — each tracked to
closure, with reminders for what is due soon.

Referrals are due 7 working days after the result [000#20(三)]: ``due_on`` is the result's
``referral_due`` (provisional when it ran past the loaded calendar years). Services only flush.

Who (``department`` = the user's bureau):

* create / close: the result's department — its reviewers, heads, department administrators and task
  initiators; the result must be accepted and have found a problem;
* progress (acknowledge, a note): the same, and the receiving department (转办 inbox);
* see: the two departments; the joint office and auditors see every department — but before the task's
  visits are over only those the list rule allows (``teams.access``), the result's own reviewers and heads,
  and the receiving department to which the matter was handed over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, false, func, or_, select, true

from ..audit.services import record
from ..auth.roles import Role
from ..core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..core.forms import optional_date as _date_or_none
from ..core.forms import text as _text
from ..core.models import utcnow
from ..extensions import db
from ..org.models import Department
from ..planning.models import Task, TaskStatus
from ..registry.models import InspectedObject
from ..review.models import ResultStatus, SectionResult
from ..teams.access import hidden_task_ids, user_bureau_id, visible_team_ids
from ..visits.models import Visit
from ..workdays.services import (
    Deadline,
    add_workdays,
    beijing_date,
    beijing_today,
    referral_due,
    workdays_between,
)
from .models import FollowUp, FollowUpEvent, FollowUpKind, FollowUpStatus

KIND_LABELS = {
    FollowUpKind.REFERRAL: _l("移送"),
    FollowUpKind.TRANSFER: _l("转办"),
    FollowUpKind.JUDICIARY: _l("移送司法机关"),
    FollowUpKind.ABNORMAL_LIST: _l("列入经营异常名录"),
    FollowUpKind.CASE_FILED: _l("立案查处"),
}
STATUS_LABELS = {
    FollowUpStatus.OPEN: _l("待办理"),
    FollowUpStatus.IN_PROGRESS: _l("办理中"),
    FollowUpStatus.CLOSED: _l("已办结"),
}
#: kinds handed to another department of ours
DEPARTMENT_KINDS = (FollowUpKind.REFERRAL, FollowUpKind.TRANSFER)
#: roles of the result's department who act on its follow-ups
ACTING_ROLES = (Role.REVIEWER, Role.DEPT_HEAD, Role.DEPT_ADMIN, Role.TASK_INITIATOR)
#: roles who see every department's follow-ups (read only)
OVERSEEING_ROLES = (Role.JOINT_OFFICE, Role.AUDITOR)
#: the reminder horizon: due within this many working days
SOON_WORKDAYS = 3
MATTER_MAX = 4000
OUTCOME_MAX = 4000
NOTE_MAX = 2000
REFERENCE_MAX = 200
TARGET_NAME_MAX = 200
RESULT_DONE = (ResultStatus.ACCEPTED, ResultStatus.PUBLISHED)


# -- who ------------------------------------------------------------------------------------------------


def _authenticated(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def may_use(user: Any) -> bool:
    """True for the roles that have the follow-up screens at all."""
    return _authenticated(user) and user.has_role(*ACTING_ROLES, *OVERSEEING_ROLES)


def sees_all_departments(user: Any) -> bool:
    return _authenticated(user) and user.has_role(*OVERSEEING_ROLES)


def _task_lists_visible(user: Any, task_id: int, team_id: int) -> bool:
    task = db.session.get(Task, task_id)
    if task is None or task.status is TaskStatus.VISITS_OVER:
        return True
    teams = visible_team_ids(user, task)
    return teams is None or team_id in teams


def _result_reviewer(user: Any, department_id: int) -> bool:
    return user.has_role(Role.REVIEWER, Role.DEPT_HEAD) and user_bureau_id(user) == department_id


def can_act_on_result(user: Any, sr: SectionResult) -> bool:
    """May ``user`` create a follow-up of (and close those of) this result?"""
    if not _authenticated(user) or not user.has_role(*ACTING_ROLES) or user_bureau_id(user) != sr.department_id:
        return False
    if _result_reviewer(user, sr.department_id):
        return True
    team_id = db.session.execute(select(Visit.team_id).where(Visit.id == sr.visit_id)).scalar()
    return _task_lists_visible(user, sr.task_id, team_id)


def can_view(user: Any, fu: FollowUp) -> bool:
    if not may_use(user):
        return False
    bureau = user_bureau_id(user)
    if bureau is not None and bureau == fu.target_department_id and user.has_role(*ACTING_ROLES):
        return True  # handed over to them: the matter is theirs now
    if bureau == fu.department_id and _result_reviewer(user, fu.department_id):
        return True
    if not (sees_all_departments(user) or (bureau == fu.department_id and user.has_role(*ACTING_ROLES))):
        return False
    team_id = db.session.execute(select(Visit.team_id).where(Visit.id == fu.visit_id)).scalar()
    return _task_lists_visible(user, fu.task_id, team_id)


def can_close(user: Any, fu: FollowUp, *, visible: bool | None = None) -> bool:
    """``visible``: ``can_view(user, fu)`` when the caller has it already (the detail page)."""
    if not (can_view(user, fu) if visible is None else visible):
        return False
    return user.has_role(*ACTING_ROLES) and user_bureau_id(user) == fu.department_id


def can_progress(user: Any, fu: FollowUp, *, visible: bool | None = None) -> bool:
    if not (can_view(user, fu) if visible is None else visible):
        return False
    bureau = user_bureau_id(user)
    return (user.has_role(*ACTING_ROLES) and bureau is not None
            and bureau in (fu.department_id, fu.target_department_id))


def _scope_clause(user: Any, model=FollowUp):
    """SQL condition: the rows of ``model`` (FollowUp or SectionResult) the user may see in lists (a subset
    of what ``can_view`` allows: a task whose lists the user sees only in part counts as hidden here)."""
    if not may_use(user):
        return false()
    bureau = user_bureau_id(user)
    hidden = sorted(hidden_task_ids(user))
    listed = model.task_id.not_in(hidden) if hidden else true()
    parts = []
    if sees_all_departments(user):
        parts.append(listed)
    if bureau is not None and user.has_role(*ACTING_ROLES):
        parts.append(and_(model.department_id == bureau, listed))
        if user.has_role(Role.REVIEWER, Role.DEPT_HEAD):
            parts.append(model.department_id == bureau)
        if model is FollowUp:
            parts.append(FollowUp.target_department_id == bureau)
    return or_(false(), *parts)


# -- due dates ------------------------------------------------------------------------------------------


def result_date(sr: SectionResult) -> date:
    """The day the result was formed: the day its department accepted it (Beijing date)."""
    if sr.entered_on is not None:
        return sr.entered_on
    if sr.reviewed_at is not None:
        return beijing_date(sr.reviewed_at)
    return beijing_today()


def result_referral_due(sr: SectionResult) -> Deadline:
    """The result's referral deadline (7 working days after the result [000#20(三)])."""
    if sr.referral_due is not None and not sr.referral_due_provisional:
        return Deadline(sr.referral_due)
    return referral_due(result_date(sr))


_UNSET: Any = object()


def due_deadline(fu: FollowUp, sr: SectionResult | None = _UNSET) -> Deadline:
    """The follow-up's due date with the reason when provisional (recomputed for the reason only;
    ``sr``: its result when the caller loaded it)."""
    if not fu.due_provisional:
        return Deadline(fu.due_on)
    if sr is _UNSET:
        sr = db.session.get(SectionResult, fu.section_result_id)
    computed = referral_due(result_date(sr)) if sr is not None else Deadline(fu.due_on, True, None)
    return Deadline(fu.due_on, True, computed.reason or _("日历尚未载入，暂按周末双休推算。"))


def soon_limit(today: date | None = None) -> date:
    return add_workdays(today or beijing_today(), SOON_WORKDAYS).date


def overdue_workdays(fu: FollowUp, today: date | None = None) -> int:
    if fu.status is FollowUpStatus.CLOSED:
        return 0
    return workdays_between(fu.due_on, today or beijing_today())


def recompute_provisional(years: list[int] | None = None) -> int:
    """Recompute the provisional due dates (after a calendar year was loaded); return how many changed."""
    changed = 0
    rows = db.session.execute(select(FollowUp, SectionResult)
                              .join(SectionResult, SectionResult.id == FollowUp.section_result_id)
                              .where(FollowUp.due_provisional.is_(True))).all()
    for fu, sr in rows:
        due = referral_due(result_date(sr))
        if (due.date, due.provisional) != (fu.due_on, fu.due_provisional):
            before = {"due_on": fu.due_on.isoformat(), "due_provisional": fu.due_provisional}
            fu.due_on, fu.due_provisional = due.date, due.provisional
            record("follow_up.due_recomputed", "follow_up", fu.id, before=before,
                   after={"due_on": due.date.isoformat(), "due_provisional": due.provisional},
                   note=_("节假日安排载入后重新计算期限"))
            changed += 1
    db.session.flush()
    return changed


def _on_calendar_changed(sender: Any = None, **kwargs: Any) -> None:
    recompute_provisional(kwargs.get("years"))


# -- writes ---------------------------------------------------------------------------------------------


def _state(fu: FollowUp) -> dict[str, Any]:
    """What the audit keeps (no object name, no matter text: the lists stay confidential)."""
    return {"section_result_id": fu.section_result_id, "kind": fu.kind.value, "status": fu.status.value,
            "department_id": fu.department_id, "target_department_id": fu.target_department_id,
            "due_on": fu.due_on.isoformat(), "due_provisional": fu.due_provisional,
            "done_on": fu.done_on.isoformat() if fu.done_on else None, "reference": fu.reference}


def get_result(section_result_id: int) -> SectionResult:
    sr = db.session.get(SectionResult, section_result_id)
    if sr is None:
        raise NotFound("not_found", _("没有找到该检查结果。"))
    return sr


def check_result(user: Any, sr: SectionResult) -> None:
    """Raise unless ``user`` may add a follow-up to ``sr`` now."""
    if not can_act_on_result(user, sr):
        raise Forbidden("other_department_result",
                        _("只有该检查结果所属部门的审核人员、部门负责人、部门管理员或任务发起人可以登记后续处置。"))
    if sr.status not in RESULT_DONE:
        raise Conflict("result_not_accepted", _("该部门的检查结果尚未审核通过，审核通过后才能登记后续处置。"))
    if not sr.problem:
        raise Conflict("no_problem_found",
                       _("该检查结果未发现问题，无需移送或立案。如确有问题，请先退回修改检查结果。"))


def parse_kind(value: Any) -> FollowUpKind | None:
    try:
        return FollowUpKind(str(value or ""))
    except ValueError:
        return None


def create(user: Any, sr: SectionResult, kind: Any, target_department_id: Any, target_name: Any,
           matter: Any) -> FollowUp:
    """Register a follow-up of an accepted result with a problem (flush only)."""
    check_result(user, sr)
    errors: dict[str, str] = {}
    kind = kind if isinstance(kind, FollowUpKind) else parse_kind(kind)
    if kind is None:
        errors["kind"] = _("请选择处置方式（移送、转办、移送司法机关、列入经营异常名录或立案查处）。")
    target_id: int | None = None
    raw_target = _text(target_department_id)
    if raw_target:
        try:
            target_id = int(raw_target)
        except ValueError:
            errors["target_department_id"] = _("请从列表中选择接收部门。")
    name = _text(target_name)
    matter_text = _text(matter)
    if not matter_text:
        errors["matter"] = _("请写明移送或处置的事项和理由（发现的问题、涉及的检查事项、依据）。")
    elif len(matter_text) > MATTER_MAX:
        errors["matter"] = _("事项说明最多 %(n)s 字，请精简。", n=MATTER_MAX)
    if len(name) > TARGET_NAME_MAX:
        errors["target_name"] = _("接收机关名称最多 %(n)s 字。", n=TARGET_NAME_MAX)
    target_missing = False
    if kind in DEPARTMENT_KINDS:
        if target_id is None and "target_department_id" not in errors:
            target_missing = True
            errors["target_department_id"] = _("移送（转办）必须指定接收部门：请选择有管辖权的部门后再提交。")
        elif target_id is not None:
            dept = db.session.get(Department, target_id)
            if dept is None or not dept.active:
                errors["target_department_id"] = _("接收部门不存在或已停用，请重新选择。")
            elif dept.bureau.id == sr.department_id:
                errors["target_department_id"] = _("不能移送给本部门。属于本部门职责的，请选择“立案查处”或“列入经营异常名录”。")
            else:
                target_id = dept.bureau.id
    elif kind is FollowUpKind.JUDICIARY:
        target_id = None
        if not name:
            target_missing = True
            errors["target_name"] = _("移送司法机关必须写明接收机关（如 武陟县公安局、武陟县人民检察院）。")
    elif kind is not None:  # abnormal list, case filed: the own department
        target_id, name = None, ""
    if errors:
        failed = ValidationFailed(errors)
        if target_missing:  # the stable code the API and the PWA match on (still 422, every field listed)
            failed.code = "target_required"
        raise failed
    due = result_referral_due(sr)
    fu = FollowUp(section_result_id=sr.id, visit_id=sr.visit_id, task_id=sr.task_id, object_id=sr.object_id,
                  department_id=sr.department_id, kind=kind, target_department_id=target_id,
                  target_name=name or None, matter=matter_text, due_on=due.date, due_provisional=due.provisional,
                  status=FollowUpStatus.OPEN, created_by_id=user.id)
    db.session.add(fu)
    db.session.flush()
    db.session.add(FollowUpEvent(follow_up_id=fu.id, status=FollowUpStatus.OPEN, note=matter_text, by_id=user.id))
    record("follow_up.create", "follow_up", fu.id, after=_state(fu))
    db.session.flush()
    return fu


def get(follow_up_id: int) -> FollowUp:
    fu = db.session.get(FollowUp, follow_up_id)
    if fu is None:
        raise NotFound("not_found", _("没有找到该后续处置。"))
    return fu


def _refuse_closed(fu: FollowUp) -> None:
    if fu.status is FollowUpStatus.CLOSED:
        raise Conflict("follow_up_closed", _("该后续处置已办结，不能再更改。如需继续办理，请重新打开。"))


def progress(user: Any, fu: FollowUp, note: Any, status: FollowUpStatus = FollowUpStatus.IN_PROGRESS) -> FollowUp:
    """Add a progress note (the receiving department's acknowledgement included); flush only."""
    if not can_progress(user, fu):
        raise Forbidden("not_your_follow_up", _("只有负责办理的部门或接收部门可以登记进展。"))
    _refuse_closed(fu)
    text = _text(note)
    if not text:
        raise ValidationFailed({"note": _("请写明办理进展（如：已接收、已立案、已送达）。")})
    if len(text) > NOTE_MAX:
        raise ValidationFailed({"note": _("进展说明最多 %(n)s 字。", n=NOTE_MAX)})
    if status is FollowUpStatus.CLOSED:
        raise ValidationFailed({"status": _("办结请使用“办结”表单并写明结果。")})
    before = _state(fu)
    fu.status = status
    fu.changed_at = utcnow()
    db.session.add(FollowUpEvent(follow_up_id=fu.id, status=status, note=text, by_id=user.id))
    db.session.flush()
    after = _state(fu)
    after["by_department_id"] = user_bureau_id(user)
    record("follow_up.progress", "follow_up", fu.id, before={"status": before["status"]},
           after={"status": after["status"], "by_department_id": after["by_department_id"]})
    return fu


def close(user: Any, fu: FollowUp, done_on: Any, reference: Any, outcome: Any) -> FollowUp:
    """Close a follow-up: done on ``done_on`` with the outcome (and a reference); flush only. Closing an
    abnormal-list entry marks the object as listed (an audited change of the object)."""
    if not can_close(user, fu):
        raise Forbidden("not_your_follow_up", _("只有负责办理的部门（检查结果所属部门）可以办结。"))
    _refuse_closed(fu)
    errors: dict[str, str] = {}
    day = _date_or_none(done_on)
    sr = db.session.get(SectionResult, fu.section_result_id)
    start = result_date(sr) if sr is not None else None
    today = beijing_today()
    if day is None:
        errors["done_on"] = _("请填写办结日期（格式 2026-10-12）。")
    elif day > today:
        errors["done_on"] = _("办结日期不能晚于今天（%(today)s）。", today=today.isoformat())
    elif start is not None and day < start:
        errors["done_on"] = _("办结日期不能早于检查结果形成之日（%(d)s）。", d=start.isoformat())
    ref = _text(reference)
    if len(ref) > REFERENCE_MAX:
        errors["reference"] = _("文号最多 %(n)s 字。", n=REFERENCE_MAX)
    text = _text(outcome)
    if not text:
        errors["outcome"] = _("请写明办理结果（如：对方已接收、已立案、已列入经营异常名录）。")
    elif len(text) > OUTCOME_MAX:
        errors["outcome"] = _("办理结果最多 %(n)s 字。", n=OUTCOME_MAX)
    if errors:
        raise ValidationFailed(errors)
    before = _state(fu)
    fu.status = FollowUpStatus.CLOSED
    fu.done_on, fu.reference, fu.outcome = day, ref or None, text
    fu.closed_at, fu.closed_by_id = utcnow(), user.id
    db.session.add(FollowUpEvent(follow_up_id=fu.id, status=FollowUpStatus.CLOSED, note=text, by_id=user.id))
    db.session.flush()
    b, a = before, _state(fu)
    record("follow_up.close", "follow_up", fu.id, before={k: b[k] for k in ("status", "done_on", "reference")},
           after={k: a[k] for k in ("status", "done_on", "reference")})
    if fu.kind is FollowUpKind.ABNORMAL_LIST:
        obj = db.session.get(InspectedObject, fu.object_id)
        if obj is not None and not obj.abnormal_list:
            obj.abnormal_list = True
            obj.updated_at = utcnow()
            db.session.flush()
            record("object.update", "object", obj.id, before={"abnormal_list": False},
                   after={"abnormal_list": True}, note=_("后续处置 #%(id)s 办结：列入经营异常名录", id=fu.id))
    return fu


def reopen(user: Any, fu: FollowUp, note: Any) -> FollowUp:
    """Reopen a closed follow-up (a mistaken closure); the abnormal-list flag stays as it is."""
    if not can_close(user, fu):
        raise Forbidden("not_your_follow_up", _("只有负责办理的部门（检查结果所属部门）可以重新打开。"))
    if fu.status is not FollowUpStatus.CLOSED:
        raise Conflict("follow_up_open", _("该后续处置尚未办结。"))
    text = _text(note)
    if not text:
        raise ValidationFailed({"reopen_note": _("请写明重新打开的原因。")})
    fu.status = FollowUpStatus.IN_PROGRESS
    fu.closed_at = fu.closed_by_id = None
    db.session.add(FollowUpEvent(follow_up_id=fu.id, status=FollowUpStatus.IN_PROGRESS, note=text, by_id=user.id))
    db.session.flush()
    record("follow_up.reopen", "follow_up", fu.id, before={"status": "closed"}, after={"status": fu.status.value},
           note=text[:200])
    return fu


# -- lists and reminders --------------------------------------------------------------------------------


@dataclass
class Filters:
    status: str = ""
    kind: str = ""
    department_id: int | None = None
    overdue: bool = False
    due_soon: bool = False
    q: str = ""

    @classmethod
    def from_args(cls, args) -> Filters:
        dept = args.get("department_id", "")
        return cls(status=args.get("status", ""), kind=args.get("kind", ""),
                   department_id=int(dept) if str(dept).isdigit() else None,
                   overdue=args.get("overdue") == "1", due_soon=args.get("due_soon") == "1",
                   q=(args.get("q") or "").strip()[:100])


def list_stmt(user: Any, f: Filters, today: date | None = None):
    today = today or beijing_today()
    stmt = (select(FollowUp).join(InspectedObject, InspectedObject.id == FollowUp.object_id)
            .join(Task, Task.id == FollowUp.task_id).where(_scope_clause(user)))
    if f.status in {s.value for s in FollowUpStatus}:
        stmt = stmt.where(FollowUp.status == FollowUpStatus(f.status))
    elif f.status == "active":
        stmt = stmt.where(FollowUp.status != FollowUpStatus.CLOSED)
    if parse_kind(f.kind) is not None:
        stmt = stmt.where(FollowUp.kind == parse_kind(f.kind))
    if f.department_id is not None:
        stmt = stmt.where(or_(FollowUp.department_id == f.department_id,
                              FollowUp.target_department_id == f.department_id))
    if f.overdue:
        stmt = stmt.where(FollowUp.status != FollowUpStatus.CLOSED, FollowUp.due_on < today)
    if f.due_soon:
        stmt = stmt.where(FollowUp.status != FollowUpStatus.CLOSED, FollowUp.due_on >= today,
                          FollowUp.due_on <= soon_limit(today))
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(or_(InspectedObject.name.ilike(like), InspectedObject.code.ilike(like),
                              Task.code.ilike(like)))
    return stmt.order_by(FollowUp.status == FollowUpStatus.CLOSED, FollowUp.due_on, FollowUp.id)


def _due_stmt(user: Any, today: date):
    """Open follow-ups the user sees in lists due within 3 working days, and the overdue ones."""
    return select(FollowUp).where(_scope_clause(user), FollowUp.status != FollowUpStatus.CLOSED,
                                  FollowUp.due_on <= soon_limit(today))


def _pending_stmt(user: Any, today: date):
    """Accepted results with a problem and no follow-up yet whose referral deadline is near or past (待移送)."""
    return select(SectionResult).where(
        _scope_clause(user, SectionResult), SectionResult.status.in_(RESULT_DONE), SectionResult.problem.is_(True),
        SectionResult.referral_due.is_not(None), SectionResult.referral_due <= soon_limit(today),
        ~exists().where(FollowUp.section_result_id == SectionResult.id))


def due_soon(user: Any, today: date | None = None) -> list[FollowUp]:
    """Open follow-ups the user sees (own department or targeted to it) due within 3 working days, and
    the overdue ones, soonest first."""
    if not may_use(user):
        return []
    stmt = _due_stmt(user, today or beijing_today()).order_by(FollowUp.due_on, FollowUp.id).limit(200)
    return list(db.session.execute(stmt).scalars())


def pending_results(user: Any, today: date | None = None, *, limit: int = 200) -> list[SectionResult]:
    """Accepted results with a problem and no follow-up yet whose referral deadline is near or past (待移送)."""
    if not may_use(user):
        return []
    stmt = (_pending_stmt(user, today or beijing_today())
            .order_by(SectionResult.referral_due, SectionResult.id).limit(limit))
    return list(db.session.execute(stmt).scalars())


def _count(stmt) -> int:
    return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def reminder_count(user: Any) -> int:
    """The navigation badge (on every page): follow-ups due soon or overdue, plus results awaiting a
    referral; counted once per request."""
    if not may_use(user):
        return 0
    key = getattr(user, "id", None)
    cached = g.get("_followups_due") if has_app_context() else None
    if cached is not None and cached[0] == key:
        return cached[1]
    today = beijing_today()
    n = _count(_due_stmt(user, today)) + _count(_pending_stmt(user, today))
    if has_app_context():
        g._followups_due = (key, n)
    return n


def _by_id(model, ids) -> dict[int, Any]:
    """One query for the rows of ``model`` with these ids."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {o.id: o for o in db.session.execute(select(model).where(model.id.in_(sorted(wanted)))).scalars()}


def rows(fus: list[FollowUp], today: date | None = None) -> list[dict[str, Any]]:
    """What the list rows show, for a page of follow-ups (a few batched queries, not four per row)."""
    today = today or beijing_today()
    objects = _by_id(InspectedObject, (fu.object_id for fu in fus))
    tasks = _by_id(Task, (fu.task_id for fu in fus))
    departments = _by_id(Department, [x for fu in fus for x in (fu.department_id, fu.target_department_id)])
    results = _by_id(SectionResult, (fu.section_result_id for fu in fus if fu.due_provisional))
    limit = soon_limit(today)
    return [{"fu": fu, "object": objects.get(fu.object_id), "task": tasks.get(fu.task_id),
             "department": departments.get(fu.department_id),
             "target": departments.get(fu.target_department_id) if fu.target_department_id else None,
             "due": due_deadline(fu, results.get(fu.section_result_id)), "overdue_days": overdue_workdays(fu, today),
             "due_soon": fu.status is not FollowUpStatus.CLOSED and today <= fu.due_on <= limit}
            for fu in fus]


def row(fu: FollowUp, today: date | None = None) -> dict[str, Any]:
    """What one row (the detail page) shows."""
    return rows([fu], today)[0]


def result_rows(results: list[SectionResult]) -> list[dict[str, Any]]:
    """The 待移送 reminders: each result with its object, task, department and referral deadline."""
    objects = _by_id(InspectedObject, (sr.object_id for sr in results))
    tasks = _by_id(Task, (sr.task_id for sr in results))
    departments = _by_id(Department, (sr.department_id for sr in results))
    return [{"sr": sr, "object": objects.get(sr.object_id), "task": tasks.get(sr.task_id),
             "department": departments.get(sr.department_id), "due": result_referral_due(sr)} for sr in results]


def as_json(fu: FollowUp, today: date | None = None, r: dict[str, Any] | None = None) -> dict[str, Any]:
    """``r``: its row from ``rows`` when the caller built them for a page."""
    r = r or row(fu, today)
    return {"id": fu.id, "section_result_id": fu.section_result_id, "visit_id": fu.visit_id, "task_id": fu.task_id,
            "task_code": r["task"].code if r["task"] else None,
            "object": {"id": fu.object_id, "code": r["object"].code if r["object"] else None,
                       "name": r["object"].name if r["object"] else None},
            "department_id": fu.department_id, "kind": fu.kind.value, "status": fu.status.value,
            "target_department_id": fu.target_department_id, "target_name": fu.target_name,
            "matter": fu.matter, "due_on": r["due"].as_json(), "overdue_workdays": r["overdue_days"],
            "done_on": fu.done_on.isoformat() if fu.done_on else None, "reference": fu.reference,
            "outcome": fu.outcome, "created_at": fu.created_at.isoformat() if fu.created_at else None}
