"""Consolidation and review (issue 8 §2–3): the visit's stage after the field records, the team
leader's consolidation, each department's accept/return, deadlines and the overdue lists.

Services only flush; the request commits. Every change is audited on the *visit* (entity
``visit``), so that the confidentiality rule of ``teams.access.audit_entry_scope`` applies to it
(a reviewer's comment may name the object).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, false, func, or_, select, true

from ..audit.services import Change, record, record_many
from ..auth.roles import Role
from ..core.errors import Conflict, DomainError, Forbidden, NotFound
from ..core.models import utcnow
from ..extensions import db
from ..org.models import Department
from ..planning.models import Task, TaskDepartment, TaskStatus
from ..registry.models import InspectedObject
from ..teams.access import INITIATOR_ROLES, inspector_of, is_team_leader, user_bureau_id
from ..teams.models import TeamMember
from ..visits.models import Visit, VisitItem, VisitStage, VisitStatus
from ..workdays import services as workdays
from .models import Consolidation, ResultStatus, ReviewDecision, SectionResult

#: the order of the stages (a stage is "later" than those before it)
STAGE_ORDER = [VisitStage.PLANNED, VisitStage.SCHEDULED, VisitStage.VISITED, VisitStage.CONSOLIDATED,
               VisitStage.RETURNED, VisitStage.REVIEWED, VisitStage.PUBLISHED]
#: the longest comment / summary kept
MAX_TEXT = 2000
REVIEWER_ROLES = (Role.REVIEWER, Role.DEPT_HEAD)


def stage_rank(stage: VisitStage) -> int:
    return STAGE_ORDER.index(stage)


def stage_label(stage: VisitStage | str) -> str:
    value = stage.value if isinstance(stage, VisitStage) else stage
    return {
        "planned": _("待安排"), "scheduled": _("已排期"), "visited": _("已检查待汇总"),
        "consolidated": _("已汇总待审核"), "returned": _("已退回修改"), "reviewed": _("已审核"),
        "published": _("已公示"),
    }.get(value, value)


def status_label(status: ResultStatus | str) -> str:
    value = status.value if isinstance(status, ResultStatus) else status
    return {"pending_review": _("待审核"), "accepted": _("已审核通过"), "returned": _("已退回修改"),
            "published": _("已公示")}.get(value, value)


# -- the visit date and the result deadline ------------------------------------------------------


def parse_instant(value: Any) -> datetime | None:
    """Parse an ISO 8601 instant as the phone writes it (``2026-12-02T02:00:00.000Z``); None when
    missing, unparseable or without a time zone."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment


def _first_finished_arrival(visit_id: int, department_id: int) -> datetime | None:
    from ..fieldwork.models import RecordStatus, VisitRecord

    return db.session.execute(select(func.min(VisitRecord.created_at)).where(
        VisitRecord.visit_id == visit_id, VisitRecord.department_id == department_id,
        VisitRecord.status == RecordStatus.STORED, VisitRecord.finished.is_(True))).scalar()


def visit_date(visit: Visit, latest: dict) -> date:
    """The day of the visit: the Beijing date of the earliest check-in among the latest finished
    sections; a section whose check-in is missing, unparseable or in the future counts with the
    server's arrival of its first finished version."""
    now = utcnow()
    moments = []
    for (vid, dept), row in latest.items():
        if vid != visit.id or not row.finished:
            continue
        check_in = (row.content or {}).get("check_in") if isinstance(row.content, dict) else None
        moment = parse_instant(check_in.get("at")) if isinstance(check_in, dict) else None
        if moment is None or moment > now:
            moment = _first_finished_arrival(visit.id, dept) or row.created_at or now
        moments.append(moment)
    return workdays.beijing_date(min(moments) if moments else now)


def _deadline_json(d: date | None, provisional: bool, computed: workdays.Deadline | None = None) -> dict | None:
    if d is None:
        return None
    reason = None
    if provisional:
        reason = computed.reason if computed is not None and computed.date == d \
            else workdays.provisional_reason([d.year])
    return {"date": d.isoformat(), "provisional": bool(provisional), "reason": reason}


def result_due_json(visit: Visit) -> dict | None:
    if visit.result_due is None:
        return None
    computed = workdays.result_due(visit.visited_on) if visit.result_due_provisional and visit.visited_on else None
    return _deadline_json(visit.result_due, visit.result_due_provisional, computed)


def referral_due_json(sr: SectionResult) -> dict | None:
    if sr.referral_due is None:
        return None
    computed = workdays.referral_due(sr.entered_on) if sr.referral_due_provisional and sr.entered_on else None
    return _deadline_json(sr.referral_due, sr.referral_due_provisional, computed)


def section_result_due_json(sr: SectionResult) -> dict | None:
    computed = workdays.result_due(sr.visited_on) if sr.result_due_provisional else None
    return _deadline_json(sr.result_due, sr.result_due_provisional, computed)


def _mark_visited(visit: Visit, latest: dict) -> list[Change]:
    before = {"stage": visit.stage.value, "visited_on": visit.visited_on.isoformat() if visit.visited_on else None}
    visit.visited_on = visit_date(visit, latest)
    due = workdays.result_due(visit.visited_on)
    visit.result_due, visit.result_due_provisional = due.date, due.provisional
    visit.stage = VisitStage.VISITED
    return [Change("visit.visited", "visit", visit.id, before=before, after={
        "stage": visit.stage.value, "visited_on": visit.visited_on.isoformat(),
        "result_due": due.date.isoformat(), "provisional": due.provisional})]


def returned_results(visit_id: int) -> list[SectionResult]:
    return list(db.session.execute(select(SectionResult).where(
        SectionResult.visit_id == visit_id, SectionResult.status == ResultStatus.RETURNED)).scalars())


def _corrected(visit: Visit, latest: dict, returned: list[SectionResult] | None = None) -> bool:
    """True when every returned section has a finished version newer than the one returned
    (``returned``: the visit's returned results when the caller already has them)."""
    if returned is None:
        returned = returned_results(visit.id)
    return bool(returned) and all(
        (visit.id, sr.department_id) in latest and latest[(visit.id, sr.department_id)].finished
        and latest[(visit.id, sr.department_id)].id != sr.record_id for sr in returned)


def after_section_stored(visit: Visit, row: Any, latest: dict | None = None) -> list[Change]:
    """The stage after a stored version (fieldwork.services.store_record calls it): a visit that
    became done is ``visited`` (date and deadline set); a returned visit whose returned sections all
    have a corrected finished version is ``visited`` again (ready to consolidate); an unfinished
    version before the consolidation puts a ``visited`` visit back to where it was. ``latest``: the
    visit's ``latest_versions`` when the caller already has them."""
    from ..fieldwork.services import latest_versions

    if visit.status is VisitStatus.WITHDRAWN:
        return []
    if visit.status is VisitStatus.DONE:
        if latest is None:
            latest = latest_versions([visit.id])
        if stage_rank(visit.stage) < stage_rank(VisitStage.VISITED):
            return _mark_visited(visit, latest)
        if visit.stage is VisitStage.RETURNED and row.finished and _corrected(visit, latest):
            visit.stage = VisitStage.VISITED
            return [Change("visit.corrected", "visit", visit.id, before={"stage": "returned"},
                           after={"stage": "visited", "record_id": row.id, "department_id": row.department_id})]
        return []
    # no section result at all (so none returned either): not consolidated yet
    if visit.stage is VisitStage.VISITED and db.session.execute(select(func.count(SectionResult.id)).where(
            SectionResult.visit_id == visit.id)).scalar_one() == 0:
        back = VisitStage.SCHEDULED if visit.scheduled_on else VisitStage.PLANNED
        visit.stage = back
        return [Change("visit.stage", "visit", visit.id, before={"stage": "visited"}, after={"stage": back.value})]
    return []


def check_section_open(visit: Visit, department_id: int) -> None:
    """Raise Conflict ``section_locked`` when the department's section was consolidated and not
    returned: its result is with the reviewer, a new version from the phone is refused."""
    sr = db.session.execute(select(SectionResult).where(
        SectionResult.visit_id == visit.id, SectionResult.department_id == department_id)).scalar_one_or_none()
    if sr is not None and sr.status is not ResultStatus.RETURNED:
        raise Conflict("section_locked", _(
            "该部门的检查记录已由组长汇总（%(status)s），不能再提交新版本。如需更正，请联系本部门审核人员退回后再修改。",
            status=status_label(sr.status)), status_code=sr.status.value)


# -- consolidation -------------------------------------------------------------------------------


def is_active_leader(user: Any, visit: Visit) -> bool:
    """True when the user is the visit team's active leader (the rule in teams.access)."""
    return is_team_leader(user, visit.team_id)


def department_names(ids: set[int] | list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Department.id, Department.name).where(Department.id.in_(set(ids)))).all())


@dataclass
class Blocker:
    department_id: int
    department: str
    reasons: list[str] = field(default_factory=list)

    def text(self) -> str:
        return f"{self.department}：{'；'.join(self.reasons)}"


def _blockers(visit: Visit, departments: set[int], latest: dict, conflicts: dict[tuple[int, int], int],
              stored: set[str], names: dict[int, str]) -> list[Blocker]:
    out = []
    for dept in sorted(departments):
        reasons = []
        row = latest.get((visit.id, dept))
        if row is None:
            reasons.append(_("尚未同步任何记录"))
        elif not row.finished:
            reasons.append(_("最新版本（第 %(v)s 版）尚未完成", v=row.version))
        newest_conflict = conflicts.get((visit.id, dept))
        if newest_conflict is not None and (row is None or newest_conflict > row.id):
            reasons.append(_("有比最新版本更新的冲突版本，须先在手机上核对后重新提交"))
        if row is not None:
            missing = set(row.photos) - stored
            if missing:
                reasons.append(_("%(n)s 张照片尚未上传", n=len(missing)))
        if reasons:
            out.append(Blocker(dept, names.get(dept, str(dept)), reasons))
    return out


def _newest_conflicts(visit_ids: list[int]) -> dict[tuple[int, int], int]:
    """The id of the newest conflict version per (visit, department) of these visits (one query)."""
    from ..fieldwork.models import RecordStatus, VisitRecord

    if not visit_ids:
        return {}
    return {(vid, dept): rid for vid, dept, rid in db.session.execute(
        select(VisitRecord.visit_id, VisitRecord.department_id, func.max(VisitRecord.id))
        .where(VisitRecord.visit_id.in_(visit_ids), VisitRecord.status == RecordStatus.CONFLICT)
        .group_by(VisitRecord.visit_id, VisitRecord.department_id))}


def _stored_of(latest: dict, stored: set[str] | None) -> set[str]:
    from ..fieldwork.services import stored_photos

    if stored is not None:
        return stored
    return stored_photos([sha for row in latest.values() for sha in row.photos])


def unsynced_sections(visit: Visit, *, latest: dict | None = None, departments: set[int] | None = None,
                      stored: set[str] | None = None) -> list[Blocker]:
    """Return what keeps each department's section from being consolidated: no finished latest
    stored version, a conflict version newer than the latest stored one, photos not arrived.

    What the caller already read may be passed: ``latest`` (``latest_versions([visit.id])``),
    ``departments`` (``section_departments(visit)``), ``stored`` (the stored hashes among the
    photos of the latest versions, or more)."""
    from ..fieldwork.services import latest_versions, section_departments

    if departments is None:
        departments = section_departments(visit)
    if latest is None:
        latest = latest_versions([visit.id])
    latest = {key: row for key, row in latest.items() if key[0] == visit.id}
    return _blockers(visit, departments, latest, _newest_conflicts([visit.id]), _stored_of(latest, stored),
                     department_names(departments))


def unsynced_sections_many(visits: list[Visit]) -> dict[int, tuple[list[Blocker], bool]]:
    """``unsynced_sections`` and ``ready_to_consolidate`` of many visits at once: visit id →
    (blockers, ready), with a fixed number of queries whatever the number of visits."""
    from ..fieldwork.services import latest_versions

    ids = [v.id for v in visits]
    if not ids:
        return {}
    departments: dict[int, set[int]] = defaultdict(set)
    for vid, dept in db.session.execute(select(VisitItem.visit_id, VisitItem.department_id)
                                        .where(VisitItem.visit_id.in_(ids)).distinct()):
        departments[vid].add(dept)
    latest = latest_versions(ids)
    conflicts = _newest_conflicts(ids)
    stored = _stored_of(latest, None)
    names = department_names({d for depts in departments.values() for d in depts})
    returned: dict[int, list[SectionResult]] = defaultdict(list)
    returned_visits = [v.id for v in visits if v.stage is VisitStage.RETURNED]
    if returned_visits:
        for sr in db.session.execute(select(SectionResult).where(
                SectionResult.visit_id.in_(returned_visits), SectionResult.status == ResultStatus.RETURNED)).scalars():
            returned[sr.visit_id].append(sr)
    out = {}
    for visit in visits:
        blockers = _blockers(visit, departments.get(visit.id, set()), latest, conflicts, stored, names)
        ready = not blockers and ready_to_consolidate(visit, latest=latest, returned=returned.get(visit.id, []))
        out[visit.id] = (blockers, ready)
    return out


def ready_to_consolidate(visit: Visit, *, latest: dict | None = None,
                         returned: list[SectionResult] | None = None) -> bool:
    """True when the leader may consolidate (the sections aside): visited, or returned with a
    corrected finished version of every returned section. ``latest`` / ``returned``: the visit's
    latest versions / returned results when the caller already has them."""
    from ..fieldwork.services import latest_versions

    if visit.status is VisitStatus.WITHDRAWN:
        return False
    if visit.stage is VisitStage.VISITED:
        return True
    if visit.stage is not VisitStage.RETURNED:
        return False
    return _corrected(visit, latest if latest is not None else latest_versions([visit.id]), returned)


def _problem_codes() -> set[str]:
    from ..fieldwork import reference

    return {o.code for o in reference.result_options(include_inactive=True) if o.problem}


def result_codes_of(visit: Visit, department_id: int, content: dict) -> list[str]:
    """The result codes of the section's items, in item order."""
    results = content.get("results") if isinstance(content, dict) else None
    if not isinstance(results, dict):
        return []
    items = db.session.execute(select(VisitItem.check_item_id).where(
        VisitItem.visit_id == visit.id, VisitItem.department_id == department_id).order_by(VisitItem.id)).scalars()
    codes = []
    for item_id in items:
        entry = results.get(str(item_id))
        if isinstance(entry, dict) and isinstance(entry.get("code"), str):
            codes.append(entry["code"])
    return codes


def consolidate(user: Any, visit: Visit, summary: str | None) -> Consolidation:
    """The team leader takes every department's latest finished section into the final record.

    403 ``not_team_leader``; 409 ``section_unsynced`` (``details.departments``: [{department_id,
    department, reasons}]); 409 ``not_ready_to_consolidate`` (the stage is not visited, or returned
    without a corrected version); 422 ``summary_too_long``. Nothing is changed on a refusal."""
    from ..fieldwork.services import latest_versions, section_departments

    if not is_active_leader(user, visit):
        raise Forbidden("not_team_leader", _("只有本检查组在岗的组长可以汇总检查记录。"))
    summary = (summary or "").strip() or None
    if summary and len(summary) > MAX_TEXT:
        raise DomainError("summary_too_long", _("汇总意见不能超过 %(n)s 字。", n=MAX_TEXT), status=422,
                          fields={"summary": _("汇总意见不能超过 %(n)s 字。", n=MAX_TEXT)})
    task = db.session.get(Task, visit.task_id)
    if task.status is TaskStatus.CANCELLED or visit.status is VisitStatus.WITHDRAWN:
        raise Conflict("not_ready_to_consolidate", _("该任务已取消或该检查已撤回，不能汇总。"))
    latest = latest_versions([visit.id])
    section_depts = section_departments(visit)
    blockers = unsynced_sections(visit, latest=latest, departments=section_depts)
    if blockers:
        raise Conflict("section_unsynced", _(
            "以下部门的检查记录尚未同步完成，暂不能汇总：%(list)s。请相关检查人员在手机上完成并同步后再汇总。",
            list="；".join(b.text() for b in blockers)),
            departments=[{"department_id": b.department_id, "department": b.department, "reasons": b.reasons}
                         for b in blockers])
    if not ready_to_consolidate(visit, latest=latest):
        raise Conflict("not_ready_to_consolidate", _(
            "当前阶段（%(stage)s）不能汇总：只有已检查待汇总、或退回后已收到更正版本的检查可以汇总。",
            stage=stage_label(visit.stage)), stage=visit.stage.value)
    departments = sorted(section_depts)
    last_round = db.session.execute(select(func.max(Consolidation.round)).where(
        Consolidation.visit_id == visit.id)).scalar() or 0
    cons = Consolidation(visit_id=visit.id, round=last_round + 1, summary=summary, consolidated_by_id=user.id,
                         consolidated_at=utcnow(),
                         record_ids={str(d): latest[(visit.id, d)].id for d in departments})
    db.session.add(cons)
    db.session.flush()
    existing = {sr.department_id: sr for sr in db.session.execute(
        select(SectionResult).where(SectionResult.visit_id == visit.id)).scalars()}
    problems = _problem_codes()
    kept = []
    for d in departments:
        row = latest[(visit.id, d)]
        sr = existing.get(d)
        if sr is not None and sr.status is ResultStatus.ACCEPTED and sr.record_id == row.id:
            sr.consolidation_id = cons.id
            kept.append(d)
            continue
        codes = result_codes_of(visit, d, row.content)
        if sr is None:
            sr = SectionResult(visit_id=visit.id, department_id=d, task_id=visit.task_id, object_id=visit.object_id,
                               consolidation_id=cons.id, record_id=row.id, visited_on=visit.visited_on,
                               result_due=visit.result_due)
            db.session.add(sr)
        sr.consolidation_id = cons.id
        sr.record_id = row.id
        sr.status = ResultStatus.PENDING
        sr.result_codes = codes
        sr.problem = any(c in problems for c in codes)
        sr.visited_on = visit.visited_on
        sr.result_due = visit.result_due
        sr.result_due_provisional = visit.result_due_provisional
        sr.entered_on = None
        sr.entered_late = False
        sr.referral_due = None
        sr.referral_due_provisional = False
        sr.reviewed_by_id = None
        sr.reviewed_at = None
        sr.review_comment = None
    before = visit.stage.value
    visit.stage = VisitStage.CONSOLIDATED
    visit.changed_at = utcnow()
    db.session.flush()
    record("visit.consolidate", "visit", visit.id, before={"stage": before}, after={
        "stage": visit.stage.value, "round": cons.round, "record_ids": cons.record_ids,
        "kept_accepted": kept, "summary_length": len(summary or "")})
    return cons


# -- review --------------------------------------------------------------------------------------


def may_review(user: Any, sr: SectionResult) -> bool:
    """Role.REVIEWER or DEPT_HEAD of the section's department (its bureau)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role(*REVIEWER_ROLES):
        return False
    bureau = user_bureau_id(user)
    dept = db.session.get(Department, sr.department_id)
    return bureau is not None and dept is not None and bureau == dept.bureau.id


def get_section_result(section_result_id: int) -> SectionResult:
    sr = db.session.get(SectionResult, section_result_id)
    if sr is None:
        raise NotFound("result_not_found", _("找不到该检查结果（编号 %(id)s）。", id=section_result_id))
    return sr


def review_section(user: Any, sr: SectionResult, decision: str, comment: str | None) -> ReviewDecision:
    """Accept or return one department's section. 403 ``other_department_section``; 422
    ``invalid_decision`` / ``comment_required`` / ``comment_too_long``; 409 ``not_pending``.
    Nothing is changed on a refusal."""
    if not may_review(user, sr):
        raise Forbidden("other_department_section", _(
            "只有该部门的审核人员或部门负责人可以审核本部门的检查结果（谁检查、谁录入）。"))
    if decision not in ("accept", "return"):
        raise DomainError("invalid_decision", _("请选择“审核通过”或“退回修改”。"), status=422,
                          fields={"decision": _("请选择“审核通过”或“退回修改”。")})
    comment = (comment or "").strip() or None
    if decision == "return" and not comment:
        raise DomainError("comment_required", _("退回修改时必须填写退回意见，说明需要检查人员更正什么。"), status=422,
                          fields={"comment": _("请填写退回意见。")})
    if comment and len(comment) > MAX_TEXT:
        raise DomainError("comment_too_long", _("意见不能超过 %(n)s 字。", n=MAX_TEXT), status=422,
                          fields={"comment": _("意见不能超过 %(n)s 字。", n=MAX_TEXT)})
    if sr.status is not ResultStatus.PENDING:
        raise Conflict("not_pending", _("该结果当前为“%(s)s”，只有待审核的结果可以审核。请刷新页面。",
                                        s=status_label(sr.status)), status_code=sr.status.value)
    visit = db.session.get(Visit, sr.visit_id)
    now = utcnow()
    sr.reviewed_by_id, sr.reviewed_at, sr.review_comment = user.id, now, comment
    changes = []
    if decision == "accept":
        sr.status = ResultStatus.ACCEPTED
        sr.entered_on = workdays.beijing_today()
        sr.entered_late = sr.entered_on > sr.result_due
        if sr.problem:
            due = workdays.referral_due(sr.entered_on)
            sr.referral_due, sr.referral_due_provisional = due.date, due.provisional
        changes.append(Change("section.accept", "visit", visit.id, after={
            "section_result_id": sr.id, "department_id": sr.department_id, "record_id": sr.record_id,
            "entered_on": sr.entered_on.isoformat(), "entered_late": sr.entered_late,
            "referral_due": sr.referral_due.isoformat() if sr.referral_due else None, "comment": comment}))
    else:
        sr.status = ResultStatus.RETURNED
        before = visit.stage.value
        visit.stage = VisitStage.RETURNED
        changes.append(Change("section.return", "visit", visit.id, before={"stage": before}, after={
            "section_result_id": sr.id, "department_id": sr.department_id, "record_id": sr.record_id,
            "stage": visit.stage.value, "comment": comment}))
    visit.changed_at = now  # the phones pull the new state (and the comment) on their next sync
    decision_row = ReviewDecision(section_result_id=sr.id, visit_id=visit.id, department_id=sr.department_id,
                                  record_id=sr.record_id, decision=sr.status, comment=comment,
                                  decided_by_id=user.id, decided_at=now)
    db.session.add(decision_row)
    db.session.flush()
    if decision == "accept" and visit.stage in (VisitStage.CONSOLIDATED, VisitStage.VISITED):
        from ..fieldwork.services import section_departments

        statuses = {s.department_id: s.status for s in db.session.execute(
            select(SectionResult).where(SectionResult.visit_id == visit.id)).scalars()}
        departments = section_departments(visit) or set(statuses)
        if all(statuses.get(d) is ResultStatus.ACCEPTED for d in departments) \
                and visit.stage is VisitStage.CONSOLIDATED:
            visit.stage = VisitStage.REVIEWED
            changes.append(Change("visit.reviewed", "visit", visit.id, before={"stage": "consolidated"},
                                  after={"stage": "reviewed"}))
    record_many(changes)
    return decision_row


# -- the calendar changed: recompute provisional deadlines ---------------------------------------


def recompute_provisional(years: list[int] | None = None) -> int:
    """Recompute the provisional result and referral deadlines (visits and section results) whose
    dates touch the loaded ``years`` (all provisional ones when None); return how many changed."""
    wanted = set(years or [])

    def touches(*days: date | None) -> bool:
        return not wanted or any(d is not None and d.year in wanted for d in days)

    changed = 0
    for visit in db.session.execute(select(Visit).where(Visit.result_due_provisional.is_(True),
                                                        Visit.visited_on.is_not(None))).scalars():
        if touches(visit.visited_on, visit.result_due):
            due = workdays.result_due(visit.visited_on)
            if (due.date, due.provisional) != (visit.result_due, visit.result_due_provisional):
                visit.result_due, visit.result_due_provisional = due.date, due.provisional
                changed += 1
    for sr in db.session.execute(select(SectionResult).where(or_(
            SectionResult.result_due_provisional.is_(True), SectionResult.referral_due_provisional.is_(True)))).scalars():
        if sr.result_due_provisional and touches(sr.visited_on, sr.result_due):
            due = workdays.result_due(sr.visited_on)
            if (due.date, due.provisional) != (sr.result_due, sr.result_due_provisional):
                sr.result_due, sr.result_due_provisional = due.date, due.provisional
                if sr.entered_on is not None:
                    sr.entered_late = sr.entered_on > sr.result_due
                changed += 1
        if sr.referral_due_provisional and sr.entered_on and touches(sr.entered_on, sr.referral_due):
            due = workdays.referral_due(sr.entered_on)
            if (due.date, due.provisional) != (sr.referral_due, sr.referral_due_provisional):
                sr.referral_due, sr.referral_due_provisional = due.date, due.provisional
                changed += 1
    db.session.flush()
    return changed


def on_calendar_changed(sender: Any = None, **kwargs: Any) -> None:
    recompute_provisional(kwargs.get("years"))


# -- who sees what -------------------------------------------------------------------------------


def lists_visible_clause(user: Any):
    """SQL condition (over Task and Visit) equal to ``teams.access.visible_team_ids``: the task's
    visits are over, or the user is an initiator, a participating head, an auditor, or an active
    member of the visit's team."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    if user.has_role(Role.AUDITOR):
        return true()
    parts = [Task.status == TaskStatus.VISITS_OVER, Task.created_by_id == user.id]
    bureau = user_bureau_id(user)
    if bureau is not None and user.has_role(*INITIATOR_ROLES):
        parts.append(Task.initiating_department_id == bureau)
    if bureau is not None and user.has_role(Role.DEPT_HEAD):
        parts.append(Task.id.in_(select(TaskDepartment.task_id).where(TaskDepartment.department_id == bureau)))
    inspector = inspector_of(user)
    if inspector is not None:
        parts.append(Visit.team_id.in_(select(TeamMember.team_id).where(
            TeamMember.inspector_id == inspector.id, TeamMember.active.is_(True))))
    return or_(*parts)


def results_visible_clause(user: Any):
    """SQL condition (over SectionResult, Task, Visit): the lists rule, or the reviewer / head of
    the section's own department (entitled to their department's sections)."""
    base = lists_visible_clause(user)
    bureau = user_bureau_id(user)
    if bureau is not None and user.has_role(*REVIEWER_ROLES):
        return or_(base, SectionResult.department_id.in_(_bureau_departments(bureau)))
    return base


def _bureau_departments(bureau: int) -> list[int]:
    """The bureau and its units (a section is a bureau's in practice; units map to it)."""
    from ..org.services import bureau_scope_ids

    return sorted(bureau_scope_ids(bureau))


def reviewer_departments(user: Any, visit: Visit) -> set[int]:
    """The departments of this visit whose sections the user may see as their reviewer / head
    (only once consolidated: a section result exists)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role(*REVIEWER_ROLES):
        return set()
    bureau = user_bureau_id(user)
    if bureau is None:
        return set()
    rows = set(db.session.execute(select(SectionResult.department_id).where(
        SectionResult.visit_id == visit.id)).scalars())
    return rows & set(_bureau_departments(bureau)) if rows else set()


def results_query(user: Any, *, department_id: int | None = None, status: str | None = None,
                  overdue: bool = False, q: str | None = None, today: date | None = None):
    """A select of (SectionResult, Visit, Task, InspectedObject) the user may see, filtered."""
    stmt = (select(SectionResult, Visit, Task, InspectedObject)
            .join(Visit, Visit.id == SectionResult.visit_id)
            .join(Task, Task.id == SectionResult.task_id)
            .join(InspectedObject, InspectedObject.id == SectionResult.object_id)
            .where(results_visible_clause(user)))
    if department_id:
        stmt = stmt.where(SectionResult.department_id == department_id)
    if status:
        try:
            stmt = stmt.where(SectionResult.status == ResultStatus(status))
        except ValueError:
            raise DomainError("invalid_status", _("未知的结果状态：%(s)s。", s=status), status=422) from None
    if overdue:
        stmt = stmt.where(SectionResult.status.in_([ResultStatus.PENDING, ResultStatus.RETURNED]),
                          SectionResult.result_due < (today or workdays.beijing_today()))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(InspectedObject.name.ilike(like), InspectedObject.code.ilike(like),
                              Task.code.ilike(like)))
    return stmt


def section_json(sr: SectionResult, names: dict[int, str]) -> dict:
    return {
        "id": sr.id, "department_id": sr.department_id, "department": names.get(sr.department_id),
        "status": sr.status.value, "record_id": sr.record_id, "result_codes": list(sr.result_codes or []),
        "problem": bool(sr.problem), "visited_on": sr.visited_on.isoformat() if sr.visited_on else None,
        "result_due": section_result_due_json(sr),
        "entered_on": sr.entered_on.isoformat() if sr.entered_on else None, "entered_late": bool(sr.entered_late),
        "referral_due": referral_due_json(sr),
        "reviewed_at": sr.reviewed_at.isoformat() if sr.reviewed_at else None, "review_comment": sr.review_comment,
    }


# -- overdue -------------------------------------------------------------------------------------


@dataclass
class OverdueRow:
    department_id: int
    kind: str  # "unreviewed" (a result not accepted), "not_consolidated" (visited), "never_visited"
    due: date
    visit: Visit
    task: Task
    obj: InspectedObject
    visible: bool
    result: SectionResult | None = None


def never_visited_cutoff(today: date) -> date:
    """The earliest task period end whose never-visited visits are not overdue on ``today``.

    A visit never visited is overdue when ``result_due(period_end) < today``: when the 20 working
    days counted after the period end all fall before today, i.e. the period ended before the 20th
    working day before today. So ``result_due(period_end).date < today`` ⇔ ``period_end < cutoff``
    (``result_due`` never goes down when the period end goes up)."""
    cal = workdays.calendar()
    d, left = today, workdays.RESULT_WORKDAYS
    while left:
        d -= timedelta(days=1)
        if cal.is_workday(d):
            left -= 1
    return d


def _visit_departments():
    """(visit, department) pairs with items, without DISTINCT over the JSON columns (PostgreSQL)."""
    return select(VisitItem.visit_id, VisitItem.department_id).distinct().subquery()


def _overdue_statements(columns_unreviewed: tuple, columns_visit: tuple, departments: set[int] | None,
                        today: date, *, per_department: bool = False) -> list:
    """The three selects of the overdue results (see ``overdue_rows``), with the given columns
    (over SectionResult, Visit, Task, and ``"department_id"`` for the pair's department);
    ``per_department``: grouped by the department."""
    pairs = _visit_departments()

    def cols(spec):
        return [pairs.c.department_id if c == "department_id" else c for c in spec]

    unreviewed = (select(*columns_unreviewed)
                  .join(Visit, Visit.id == SectionResult.visit_id).join(Task, Task.id == SectionResult.task_id)
                  .where(SectionResult.status.in_([ResultStatus.PENDING, ResultStatus.RETURNED]),
                         SectionResult.result_due < today, Task.status != TaskStatus.CANCELLED))
    if departments is not None:
        unreviewed = unreviewed.where(SectionResult.department_id.in_(departments or [-1]))
    # visited, not consolidated after the due date: each department of the visit owes its result
    has_result = select(SectionResult.id).where(SectionResult.visit_id == Visit.id,
                                                SectionResult.department_id == pairs.c.department_id).exists()
    visits = (select(*cols(columns_visit)).select_from(Visit)
              .join(Task, Task.id == Visit.task_id).join(pairs, pairs.c.visit_id == Visit.id))
    if departments is not None:
        visits = visits.where(pairs.c.department_id.in_(departments or [-1]))
    not_consolidated = visits.where(Visit.stage == VisitStage.VISITED, Visit.result_due < today, ~has_result,
                                    Task.status != TaskStatus.CANCELLED)
    # never visited: the task's period ended more than 20 working days ago
    never_visited = visits.where(Task.period_end < never_visited_cutoff(today), Task.status != TaskStatus.CANCELLED,
                                 Visit.stage.in_([VisitStage.PLANNED, VisitStage.SCHEDULED]),
                                 Visit.status != VisitStatus.WITHDRAWN)
    if per_department:
        return [unreviewed.group_by(SectionResult.department_id), not_consolidated.group_by(pairs.c.department_id),
                never_visited.group_by(pairs.c.department_id)]
    return [unreviewed, not_consolidated, never_visited]


def overdue_rows(user: Any, departments: set[int] | None, today: date | None = None) -> list[OverdueRow]:
    """Every overdue result of these departments (None = all) [000#29]: results not accepted after
    their due date, visits visited but not consolidated after it, and visits never visited whose
    task ended more than 20 working days ago. ``visible``: the user may see the object."""
    today = today or workdays.beijing_today()
    vis = lists_visible_clause(user)
    unreviewed, not_consolidated, never_visited = _overdue_statements(
        (SectionResult, Visit, Task, InspectedObject, results_visible_clause(user)),
        (Visit, Task, InspectedObject, "department_id", vis), departments, today)
    unreviewed = unreviewed.join(InspectedObject, InspectedObject.id == SectionResult.object_id)
    not_consolidated = not_consolidated.join(InspectedObject, InspectedObject.id == Visit.object_id)
    never_visited = never_visited.join(InspectedObject, InspectedObject.id == Visit.object_id)
    out: list[OverdueRow] = []
    for sr, visit, task, obj, ok in db.session.execute(unreviewed):
        out.append(OverdueRow(sr.department_id, "unreviewed", sr.result_due, visit, task, obj, bool(ok), sr))
    for visit, task, obj, dept, ok in db.session.execute(not_consolidated):
        out.append(OverdueRow(dept, "not_consolidated", visit.result_due, visit, task, obj, bool(ok)))
    due_of: dict[int, date] = {}
    for visit, task, obj, dept, ok in db.session.execute(never_visited):
        if task.id not in due_of:
            due_of[task.id] = workdays.result_due(task.period_end).date
        out.append(OverdueRow(dept, "never_visited", due_of[task.id], visit, task, obj, bool(ok)))
    out.sort(key=lambda r: (r.department_id, r.due, r.visit.id))
    return out


def overdue_counts(departments: set[int] | None, today: date | None = None) -> dict[int, int]:
    """How many overdue results each department has (``overdue_rows`` counted in SQL, grouped by
    department: three queries whatever the number of rows; no names, safe for every role)."""
    today = today or workdays.beijing_today()
    out: dict[int, int] = defaultdict(int)
    for stmt in _overdue_statements((SectionResult.department_id, func.count(SectionResult.id)),
                                    ("department_id", func.count(Visit.id)), departments, today,
                                    per_department=True):
        for dept, n in db.session.execute(stmt):
            out[dept] += n
    return dict(out)


def late_entries(user: Any, departments: set[int] | None, limit: int = 200) -> list[tuple]:
    """Results accepted after their due date: "逾期录入（视为未完成）" [000#29]."""
    stmt = (select(SectionResult, Visit, Task, InspectedObject, results_visible_clause(user))
            .join(Visit, Visit.id == SectionResult.visit_id).join(Task, Task.id == SectionResult.task_id)
            .join(InspectedObject, InspectedObject.id == SectionResult.object_id)
            .where(SectionResult.entered_late.is_(True)).order_by(SectionResult.entered_on.desc()).limit(limit))
    if departments is not None:
        stmt = stmt.where(SectionResult.department_id.in_(departments or [-1]))
    return list(db.session.execute(stmt).all())


def overdue_referrals(departments: set[int] | None, today: date | None = None) -> dict[int, int]:
    """Open follow-ups past their due date, counted per department."""
    from ..followup.models import FollowUp, FollowUpStatus

    today = today or workdays.beijing_today()
    stmt = (select(FollowUp.department_id, func.count(FollowUp.id))
            .where(FollowUp.status != FollowUpStatus.CLOSED, FollowUp.due_on < today)
            .group_by(FollowUp.department_id))
    if departments is not None:
        stmt = stmt.where(FollowUp.department_id.in_(departments or [-1]))
    return dict(db.session.execute(stmt).all())


def counts_per_department(departments: set[int] | None = None) -> dict[int, dict[str, int]]:
    """Counts of section results per department and status (no names: safe for every role)."""
    stmt = select(SectionResult.department_id, SectionResult.status, func.count(SectionResult.id)) \
        .group_by(SectionResult.department_id, SectionResult.status)
    if departments is not None:
        stmt = stmt.where(SectionResult.department_id.in_(departments or [-1]))
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for dept, status, n in db.session.execute(stmt):
        out[dept][status.value] += n
    late = select(SectionResult.department_id, func.count(SectionResult.id)).where(
        SectionResult.entered_late.is_(True)).group_by(SectionResult.department_id)
    for dept, n in db.session.execute(late):
        if departments is None or dept in departments:
            out[dept]["late"] += n
    return out


def leader_visits(user: Any, q: str | None = None) -> list[tuple[Visit, Task, InspectedObject, list[Blocker], bool]]:
    """Visits of the teams the user leads that wait for the leader: visited (ready), returned, or
    in the field with sections not yet complete (blocked, with why). ``q``: a part of the object's
    name or code or of the task's code (case-insensitive, as ``results_query``). A fixed number of
    queries whatever the number of visits (``unsynced_sections_many``)."""
    inspector = inspector_of(user)
    if inspector is None:
        return []
    teams = select(TeamMember.team_id).where(TeamMember.inspector_id == inspector.id, TeamMember.active.is_(True),
                                             TeamMember.is_leader.is_(True))
    stmt = (select(Visit, Task, InspectedObject).join(Task, Task.id == Visit.task_id)
            .join(InspectedObject, InspectedObject.id == Visit.object_id)
            .where(Visit.team_id.in_(teams), Task.status != TaskStatus.CANCELLED, Visit.status != VisitStatus.WITHDRAWN,
                   or_(Visit.stage.in_([VisitStage.VISITED, VisitStage.RETURNED]),
                       and_(Visit.stage.in_([VisitStage.PLANNED, VisitStage.SCHEDULED]),
                            Visit.status.in_([VisitStatus.IN_PROGRESS, VisitStatus.DONE])))))
    if q and q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(InspectedObject.name.ilike(like), InspectedObject.code.ilike(like),
                              Task.code.ilike(like)))
    rows = db.session.execute(stmt.order_by(Visit.result_due.is_(None), Visit.result_due, Visit.id).limit(200)).all()
    states = unsynced_sections_many([visit for visit, _task, _obj in rows])
    return [(visit, task, obj, *states[visit.id]) for visit, task, obj in rows]


def recent_cutoff(days: int = 30) -> datetime:
    return utcnow() - timedelta(days=days)


@dataclass
class RowPage:
    """A page of multi-entity rows, shaped like Flask-SQLAlchemy's Pagination for the pager macro
    (``db.paginate`` returns only the first entity of a row)."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def page_rows(stmt, page: int | None, per_page: int = 25) -> RowPage:
    page = max(1, page or 1)
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    items = list(db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all())
    return RowPage(items, page, per_page, total)
