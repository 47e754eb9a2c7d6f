"""Visit records from the field app: idempotent, append-only versions of one department's section.

The rules follow ODK Central's submissions: a record is keyed by a device-made UUID; the same
record resent is a no-op that returns the same receipt; the same UUID with other content, or an
edit of a stale version, is a 409 with a stable code — and the stale version is *kept* (status
``conflict``) for the team leader, never dropped. Services only flush; the request commits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from ..audit.services import Change, record_many
from ..core.errors import Conflict, DomainError, Forbidden, NotFound
from ..core.models import utcnow
from ..extensions import db
from ..planning.models import Task, TaskStatus
from ..registry.models import Inspector
from ..rules import services as rules_services
from ..teams.models import ConflictDeclaration, TeamMember
from ..visits.models import Visit, VisitItem, VisitStatus
from .models import Photo, RecordPhoto, RecordStatus, VisitRecord
from .validation import record_errors


def canonical_json(value: Any) -> bytes:
    """Return the canonical JSON encoding used for hashes: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class RecordInput:
    """One version of a section as the phone sent it (already validated at the API edge)."""

    uuid: str
    department_id: int
    base_version: int
    content: dict[str, Any]
    photos: list[str]
    finished: bool = False
    device_id: str | None = None
    saved_at: str | None = None

    def fingerprint(self, visit_id: int) -> str:
        """SHA-256 over everything that makes this version (``device_id``/``saved_at`` excluded:
        they are informational and may differ on a resend)."""
        return sha256_hex(canonical_json({
            "visit_id": visit_id, "department_id": self.department_id, "base_version": self.base_version,
            "content": self.content, "photos": self.photos, "finished": self.finished,
        }))


def get_visit(visit_id: int) -> Visit:
    """Return the visit or raise NotFound ``visit_not_found`` (404)."""
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        raise NotFound("visit_not_found", _("找不到该检查对象的检查记录（编号 %(id)s）。请同步后重试。", id=visit_id))
    return visit


def active_membership(user: Any, visit: Visit) -> TeamMember | None:
    """Return the user's active membership of the visit's team, if any."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.execute(db.select(TeamMember).join(Inspector, Inspector.id == TeamMember.inspector_id).where(
        Inspector.user_id == user.id, TeamMember.team_id == visit.team_id,
        TeamMember.active.is_(True))).scalar_one_or_none()


def has_declared_conflict(inspector_id: int, object_id: int) -> bool:
    """True when the inspector declared a conflict of interest with the object (not withdrawn)."""
    return db.session.execute(db.select(ConflictDeclaration.id).where(
        ConflictDeclaration.inspector_id == inspector_id, ConflictDeclaration.object_id == object_id,
        ConflictDeclaration.withdrawn_at.is_(None)).limit(1)).first() is not None


def writable_departments(member_department_ids: set[int] | list[int], initiating_department_id: int | None,
                         section_department_ids: set[int] | list[int], results_entry_rule: str) -> set[int]:
    """The departments whose section a team member may write on a visit (pure: no query).

    ``member_department_ids``: the departments the member represents in the visit's team (none: not
    an active member). By default (谁检查、谁录入) a member writes the sections of those departments;
    under the rule 谁主导、谁填报 (``results_entry_rule`` = ``RESULTS_BY_LEAD_DEPARTMENT``) a member
    of the leading (initiating) department writes every section of the visit
    (``section_department_ids``, only read under that rule) and the others none. The recusal
    check is not part of it: it stops the write, not what the phone is shown."""
    mine = set(member_department_ids)
    if not mine:
        return set()
    if results_entry_rule == rules_services.RESULTS_BY_LEAD_DEPARTMENT:
        return set(section_department_ids) if initiating_department_id in mine else set()
    return mine


def check_can_write(user: Any, visit: Visit, department_id: int) -> TeamMember:
    """Return the user's membership when they may write ``department_id``'s section of the visit.

    Raises Forbidden ``not_team_member`` (not an active member of the visit's team), ``recused``
    (the member declared a conflict of interest with the visit's object and must be replaced first
    [003#14]), ``other_department`` (谁检查、谁录入: a section of a department they do not represent
    in the team, or no section of this visit) or ``not_results_entrant`` (谁主导、谁填报: the
    deployment lets only the leading department's members enter results). The rule itself is
    ``writable_departments`` (the pull shows the phone the same)."""
    member = active_membership(user, visit)
    if member is None:
        raise Forbidden("not_team_member", _("您不是该检查组的在岗成员，不能提交此检查记录。如已被替换，请联系组长。"))
    if has_declared_conflict(member.inspector_id, visit.object_id):
        raise Forbidden("recused", _(
            "您已申报与该检查对象存在利害关系，须回避：在被替换之前不能填写或提交该对象的检查记录。"
            "请联系组长和本部门负责人办理人员替换。"))
    rule = rules_services.get_rules().results_entry
    lead = rule == rules_services.RESULTS_BY_LEAD_DEPARTMENT
    initiating = db.session.get(Task, visit.task_id).initiating_department_id if lead else None
    sections = section_departments(visit) if lead else set()
    if department_id in writable_departments({member.department_id}, initiating, sections, rule):
        return member
    if lead and member.department_id != initiating:
        raise Forbidden("not_results_entrant", _(
            "按本地规则（谁主导、谁填报），检查结果由牵头部门的检查人员统一填报。请把检查情况交给组长录入。"))
    if lead:
        raise Forbidden("other_department", _("该部门在本次检查中没有检查事项，不能为其填写检查内容。"))
    raise Forbidden("other_department", _("您只能填写本部门（您在检查组中代表的部门）的检查内容。"))


def check_record(visit: Visit, data: RecordInput) -> None:
    """Raise DomainError ``record_invalid`` (422, ``details.fields`` = {path: message}) when the
    version breaks the field record's rules: every version is type-checked, a finished one must
    be complete (docs/field-record.md). Nothing is stored then."""
    errors = record_errors(visit, data.department_id, data.content, finished=data.finished)
    if errors:
        first = next(iter(errors.values()))
        raise DomainError("record_invalid", _("检查记录未通过校验（%(n)s 处）：%(first)s 请在手机上改正后重新提交，记录不会丢失。",
                                              n=len(errors), first=first), status=422, fields=errors)


def find_record(uuid: str) -> VisitRecord | None:
    return db.session.execute(db.select(VisitRecord).where(VisitRecord.uuid == uuid)).scalar_one_or_none()


def current_version(visit_id: int, department_id: int) -> int:
    """Return the latest stored version of a section (0 when nothing is stored yet)."""
    return db.session.execute(db.select(func.coalesce(func.max(VisitRecord.version), 0)).where(
        VisitRecord.visit_id == visit_id, VisitRecord.department_id == department_id,
        VisitRecord.status == RecordStatus.STORED)).scalar_one()


def store_record(user: Any, visit: Visit, data: RecordInput) -> tuple[VisitRecord, bool]:
    """Store one version and return ``(row, created)``; a resend of a known UUID with the same
    request returns the existing row with ``created=False``.

    A version whose ``base_version`` is not the section's current version is kept with status
    ``conflict`` (the caller answers 409 ``stale_version`` and commits). Raises Conflict
    ``idempotency_mismatch`` (same UUID, other content), ``section_locked`` (the section was
    consolidated by the leader and is not returned: it is with its reviewer, issue 8) or
    ``in_progress`` (a concurrent request is storing the same UUID or the same next version: retry).
    A stored version also moves the visit's stage (``review.services.after_section_stored``)."""
    fingerprint = data.fingerprint(visit.id)
    # one round trip for both: is this UUID known, and the section's current version
    known = db.select(VisitRecord.id).where(VisitRecord.uuid == data.uuid).scalar_subquery()
    latest = db.select(func.coalesce(func.max(VisitRecord.version), 0)).where(
        VisitRecord.visit_id == visit.id, VisitRecord.department_id == data.department_id,
        VisitRecord.status == RecordStatus.STORED).scalar_subquery()
    existing_id, current = db.session.execute(db.select(known, latest)).one()
    if existing_id is not None:
        existing = db.session.get(VisitRecord, existing_id)
        if existing.request_sha256 != fingerprint:
            raise Conflict("idempotency_mismatch", _(
                "该记录编号已用于另一份内容。同一编号只能提交同一内容；修改后的内容请作为新版本保存。"),
                uuid=data.uuid)
        return existing, False
    from ..review.services import after_section_stored, check_section_open

    # a consolidated section is with its reviewer: new versions only once it is returned (issue 8)
    check_section_open(visit, data.department_id)
    check_record(visit, data)  # after the resend check: a stored version always gets its receipt
    stale = data.base_version != current
    # the visits are over: the record is kept and flagged for the leader (迟交), never dropped
    late = db.session.execute(db.select(Task.status).where(Task.id == visit.task_id)).scalar_one() \
        is TaskStatus.VISITS_OVER
    row = VisitRecord(
        uuid=data.uuid, visit_id=visit.id, department_id=data.department_id, base_version=data.base_version,
        version=None if stale else current + 1, server_version=current,
        status=RecordStatus.CONFLICT if stale else RecordStatus.STORED,
        content=data.content, content_sha256=sha256_hex(canonical_json(data.content)),
        request_sha256=fingerprint, photos=list(data.photos), finished=data.finished,
        device_id=data.device_id, saved_at=data.saved_at, late=late, created_by_id=user.id, created_at=utcnow(),
    )
    seen: set[str] = set()
    for sha in data.photos:
        if sha not in seen:
            seen.add(sha)
            row.photo_links.append(RecordPhoto(sha256=sha, position=len(seen) - 1))
    db.session.add(row)
    try:
        db.session.flush()  # no savepoint: on a collision the whole request is answered 409 and rolled back
    except IntegrityError as exc:  # the unique uuid or (visit, department, version): a racing request
        db.session.rollback()
        raise Conflict("in_progress", _("该记录正在由另一请求保存，请稍后重试。"), uuid=data.uuid) from exc
    changes = [Change("visit_record.conflict" if stale else "visit_record.store", "visit_record", row.id, after={
        "uuid": row.uuid, "visit_id": row.visit_id, "department_id": row.department_id,
        "base_version": row.base_version, "version": row.version, "server_version": row.server_version,
        "status": row.status.value, "content_sha256": row.content_sha256, "photos": row.photos,
        "finished": row.finished, "device_id": row.device_id, "late": row.late,
    }, note=_("版本冲突：已保留，待组长处理") if stale else (_("迟交：检查结束后才提交") if late else None))]
    visit.changed_at = utcnow()  # other phones of the team learn the new version on their next pull
    if not stale:
        # one read of the section versions for both the status and the stage (none when an
        # unfinished version leaves an in-progress visit where it is)
        latest = latest_versions([visit.id]) if _status_may_change(visit, data.finished) else None
        changes += update_visit_status(visit, data.finished, latest=latest)
        # stage visited / back to visited after a return
        changes += after_section_stored(visit, row, latest=latest)
    # The audit goes last: it takes the chain's lock (held until the commit), so everything else
    # of this write is done before, and the caller commits right after.
    record_many(changes)
    return row, True


def section_departments(visit: Visit) -> set[int]:
    """Return the departments that check something during the visit."""
    return set(db.session.execute(db.select(VisitItem.department_id).where(VisitItem.visit_id == visit.id)
                                  .distinct()).scalars())


def section_items(visit: Visit) -> dict[int, list[dict[str, Any]]]:
    """Return each department's check items of the visit, in the order the phone shows them, as
    ``{"id", "name", "legal_basis", "questions": [ChecklistQuestion, …]}`` (two queries)."""
    from ..catalog.models import CheckItem, ChecklistQuestion

    rows = db.session.execute(db.select(VisitItem, CheckItem).join(CheckItem, CheckItem.id == VisitItem.check_item_id)
                              .where(VisitItem.visit_id == visit.id).order_by(VisitItem.id)).all()
    tpl_ids = {vi.template_id for vi, _ci in rows if vi.template_id}
    questions: dict[int, list[ChecklistQuestion]] = {}
    if tpl_ids:
        for q in db.session.execute(db.select(ChecklistQuestion).where(ChecklistQuestion.template_id.in_(tpl_ids))
                                    .order_by(ChecklistQuestion.position, ChecklistQuestion.id)).scalars():
            questions.setdefault(q.template_id, []).append(q)
    out: dict[int, list[dict[str, Any]]] = {}
    for vi, ci in rows:
        out.setdefault(vi.department_id, []).append({"id": ci.id, "name": ci.name, "legal_basis": ci.legal_basis,
                                                     "questions": questions.get(vi.template_id, [])})
    return out


def latest_versions(visit_ids: list[int]) -> dict[tuple[int, int], VisitRecord]:
    """Return the latest stored row per (visit, department)."""
    if not visit_ids:
        return {}
    latest = (db.select(VisitRecord.visit_id, VisitRecord.department_id,
                        func.max(VisitRecord.version).label("v"))
              .where(VisitRecord.visit_id.in_(visit_ids), VisitRecord.status == RecordStatus.STORED)
              .group_by(VisitRecord.visit_id, VisitRecord.department_id).subquery())
    rows = db.session.execute(db.select(VisitRecord).join(latest, (VisitRecord.visit_id == latest.c.visit_id)
                              & (VisitRecord.department_id == latest.c.department_id)
                              & (VisitRecord.version == latest.c.v))).scalars()
    return {(r.visit_id, r.department_id): r for r in rows}


def _status_may_change(visit: Visit, stored_finished: bool | None) -> bool:
    """False when ``update_visit_status`` keeps the visit as it is without reading its sections."""
    if visit.status is VisitStatus.WITHDRAWN:
        return False
    return not (stored_finished is False and visit.status is VisitStatus.IN_PROGRESS)


def update_visit_status(visit: Visit, stored_finished: bool | None = None,
                        latest: dict[tuple[int, int], VisitRecord] | None = None) -> list[Change]:
    """Move the visit to ``in_progress`` once a record is stored and to ``done`` when every
    participating department's latest version is finished (a withdrawn visit is left alone).
    ``stored_finished``: whether the version just stored is finished (an unfinished one keeps an
    ``in_progress`` visit where it is, without reading the other sections). ``latest``: the
    visit's ``latest_versions`` when the caller already has them.

    Return the audit entry of the change (none when nothing changed) for the caller to record."""
    if not _status_may_change(visit, stored_finished):
        return []
    if latest is None:
        latest = latest_versions([visit.id])
    if not latest:
        return []
    departments = section_departments(visit) or {d for _v, d in latest}
    done = all((visit.id, d) in latest and latest[(visit.id, d)].finished for d in departments)
    new = VisitStatus.DONE if done else VisitStatus.IN_PROGRESS
    if new is visit.status:
        return []
    before = visit.status.value
    visit.status = new
    return [Change("visit.status", "visit", visit.id, before={"status": before}, after={"status": new.value})]


def stored_photos(shas: list[str]) -> set[str]:
    """Return which of these hashes have a stored photo."""
    if not shas:
        return set()
    return set(db.session.execute(db.select(Photo.sha256).where(Photo.sha256.in_(set(shas)))).scalars())


def receipt(row: VisitRecord, stored: set[str] | None = None) -> dict[str, Any]:
    """Return the receipt of a stored or conflicting row (``complete``: every photo has arrived).

    For a conflict, ``version`` is the server's version it collided with (edit on top of that)."""
    stored = stored_photos(row.photos) if stored is None else stored
    photos = [{"sha256": s, "stored": s in stored} for s in dict.fromkeys(row.photos)]
    return {
        "record_id": row.id, "uuid": row.uuid, "visit_id": row.visit_id, "department_id": row.department_id,
        "version": row.version if row.version is not None else row.server_version,
        "base_version": row.base_version, "status": row.status.value, "content_sha256": row.content_sha256,
        "photos": photos, "complete": all(p["stored"] for p in photos), "late": bool(row.late),
    }


def records_of_visits(visit_ids: list[int]) -> dict[int, list[VisitRecord]]:
    """Return every row of these visits, by visit, oldest first."""
    out: dict[int, list[VisitRecord]] = {v: [] for v in visit_ids}
    if not visit_ids:
        return out
    for r in db.session.execute(db.select(VisitRecord).where(VisitRecord.visit_id.in_(visit_ids))
                                .order_by(VisitRecord.id)).scalars():
        out[r.visit_id].append(r)
    return out
