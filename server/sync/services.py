"""Pull: the visits of the user's teams changed since a cursor, as the field app stores them."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import text

from ..catalog.models import ChecklistQuestion
from ..core.models import utcnow
from ..extensions import db
from ..fieldwork import reference
from ..fieldwork.models import RecordStatus
from ..fieldwork.services import records_of_visits, writable_departments
from ..planning.models import TaskStatus
from ..review.models import ResultStatus, SectionResult
from ..review.services import result_due_json
from ..rules import services as rules_services
from ..teams.access import inspector_of
from ..visits.models import VisitStatus
from ..visits.services import AssignedVisit, log_assignments_view, visits_for_user
from . import cursor as cursor_mod


def _num(value) -> float | None:
    return float(value) if value is not None else None


def _assigned(user) -> list[AssignedVisit]:
    """Return the user's visits that are still assigned (not withdrawn, task not cancelled)."""
    return [a for a in visits_for_user(user)
            if a.visit.status is not VisitStatus.WITHDRAWN and a.task.status is not TaskStatus.CANCELLED]


def _questions(template_ids: set[int]) -> dict[int, list[ChecklistQuestion]]:
    out: dict[int, list[ChecklistQuestion]] = defaultdict(list)
    if template_ids:
        for q in db.session.execute(db.select(ChecklistQuestion)
                                    .where(ChecklistQuestion.template_id.in_(template_ids))
                                    .order_by(ChecklistQuestion.position, ChecklistQuestion.id)).scalars():
            out[q.template_id].append(q)
    return out


def _attention(row, returned: dict[int, str | None]) -> dict[str, str] | None:
    """Why the team must look at a held version (a conflict kept for the leader, a version its
    department's reviewer returned), or None. ``returned``: record id → the reviewer's comment."""
    if row.id in returned:
        return {"code": "returned", "message": returned[row.id] or _("该部门审核人员已退回本部门记录，请修改后重新提交。")}
    if row.status is RecordStatus.CONFLICT:
        return {"code": "stale_version", "message": _(
            "该版本基于第 %(b)s 版修改，而服务器当时已是第 %(s)s 版：已保留为冲突版本，请组长核对。",
            b=row.base_version, s=row.server_version)}
    return None


def _section_results(visit_ids: list[int]) -> dict[tuple[int, int], SectionResult]:
    """The current review row of each (visit, department) of these visits (one query)."""
    if not visit_ids:
        return {}
    return {(r.visit_id, r.department_id): r for r in db.session.execute(
        db.select(SectionResult).where(SectionResult.visit_id.in_(visit_ids))).scalars()}


def _review(result: SectionResult | None, version: int | None,
            returned_record: dict[str, Any] | None = None) -> dict[str, Any] | None:
    if result is None:
        return None
    out = {"status": result.status.value, "comment": result.review_comment, "decided_at": result.reviewed_at,
           "version": version}
    if result.status is ResultStatus.RETURNED:
        out["returned_record"] = returned_record
    return out


def _writer_departments(a: AssignedVisit, inspector_id: int | None, results_entry_rule: str | None) -> set[int]:
    """The departments whose section the inspector may write on this visit:
    ``fieldwork.services.writable_departments``, the rule ``check_can_write`` applies (minus the
    recusal check, which only stops the write), over the members and items already loaded."""
    if inspector_id is None or results_entry_rule is None:
        return set()
    mine = {d.id for m, _i, d in a.members if m.inspector_id == inspector_id}
    return writable_departments(mine, a.task.initiating_department_id, {ai.department.id for ai in a.items},
                                results_entry_rule)


def _returned_record(row) -> dict[str, Any] | None:
    """The content of the version a reviewer returned, for the phone to correct it from."""
    if row is None:
        return None
    return {"uuid": row.uuid, "version": row.version, "content": row.content, "photos": list(row.photos or [])}


def _hhmm(value) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _schedule(visit) -> dict[str, Any]:
    return {"scheduled_on": visit.scheduled_on, "window_start": _hhmm(visit.window_start),
            "window_end": _hhmm(visit.window_end), "route_order": visit.route_order, "note": visit.schedule_note}


def _result_due(visit) -> dict[str, Any] | None:
    """The visit's result-entry deadline {date, provisional, reason} (20 working days after the
    visit [000#20]), or None before the visit: ``review.services.result_due_json`` (the reason of a
    provisional date comes from the loaded calendar, cached per request: no query per visit), with
    the date as a date for the schema."""
    due = result_due_json(visit)
    return None if due is None else {**due, "date": visit.result_due}


def visit_payloads(visits: list[AssignedVisit], inspector_id: int | None = None) -> list[dict[str, Any]]:
    """Return the payload of each visit (see ``VisitPayloadSchema``): task, team, the object's
    pre-check information (never the risk class), each department's checklists with their questions,
    and the records the server already holds.

    A returned section carries the returned version's content (``review.returned_record``) only
    for ``inspector_id`` when they may write that section (``_writer_departments``); null for
    everyone else. The content comes from the rows already read for ``records`` (no extra query)."""
    questions = _questions({ai.template.id for a in visits for ai in a.items if ai.template})
    records = records_of_visits([a.visit.id for a in visits])
    reviews = _section_results([a.visit.id for a in visits])
    row_of = {r.id: r for rows in records.values() for r in rows}
    version_of = {r.id: r.version for r in row_of.values()}
    # the versions a reviewer returned, with the comment: shown on the phone as "审核退回"
    returned = {r.record_id: r.review_comment for r in reviews.values() if r.status is ResultStatus.RETURNED}
    entry_rule = rules_services.get_rules().results_entry if returned and inspector_id is not None else None
    # reference data of the record (docs/field-record.md): the same for every visit of this pull
    results = [o.payload() for o in reference.result_options()] if visits else []
    methods, follow_ups = reference.method_options(), reference.follow_up_options()
    out = []
    for a in visits:
        leader = a.leader
        writable = _writer_departments(a, inspector_id, entry_rule) if returned else set()
        sections: dict[int, dict[str, Any]] = {}
        for ai in a.items:
            if ai.department.id not in sections:
                result = reviews.get((a.visit.id, ai.department.id))
                content = None
                if result is not None and result.status is ResultStatus.RETURNED and ai.department.id in writable:
                    content = _returned_record(row_of.get(result.record_id))
                sections[ai.department.id] = {
                    "department_id": ai.department.id, "department": ai.department.name, "items": [],
                    "review": _review(result, version_of.get(result.record_id) if result else None, content)}
            section = sections[ai.department.id]
            tpl = ai.template
            section["items"].append({
                "check_item_id": ai.check_item.id, "name": ai.check_item.name,
                "legal_basis": ai.check_item.legal_basis,
                "template": None if tpl is None else {
                    "id": tpl.id, "version": tpl.version, "title": tpl.title,
                    "questions": [{
                        "id": q.id, "position": q.position, "kind": q.kind.value, "text": q.text,
                        "required": q.required, "help_text": q.help_text, "legal_basis": q.legal_basis,
                        "options": q.options, "unit": q.unit, "min": _num(q.min_value), "max": _num(q.max_value),
                    } for q in questions.get(tpl.id, [])],
                },
            })
        obj = a.object
        out.append({
            "id": a.visit.id,
            "task": a.task,
            "team": {
                "number": a.team.number + 1,
                "leader": {"inspector_id": leader[1].id, "name": leader[1].name} if leader else None,
                "members": [{"inspector_id": i.id, "name": i.name, "department_id": d.id, "department": d.name}
                            for _m, i, d in a.members],
            },
            "object": {
                "code": obj.code, "name": obj.name, "address": obj.address,
                "legal_representative": obj.legal_representative, "object_type": obj.object_type.value,
                "registration_status": obj.registration_status.value, "abnormal_list": obj.abnormal_list,
                "serious_violation": obj.serious_violation,
                # hours to avoid when scheduling [002#11], e.g. "11:00-13:30, 17:00-20:00"
                "business_peak": obj.business_peak,
                # published results of earlier checks arrive with the results capability
                "previous_results": [],
            },
            "sections": list(sections.values()),
            "status": a.visit.status.value,
            "scheduled_on": a.visit.scheduled_on,  # kept for older app versions: = schedule.scheduled_on
            "schedule": _schedule(a.visit),
            "stage": a.visit.stage.value,
            "result_due": _result_due(a.visit),
            "changed_at": a.visit.changed_at,
            "records": [{"uuid": r.uuid, "department_id": r.department_id, "version": r.version,
                         "status": r.status.value, "finished": r.finished, "late": bool(r.late),
                         "attention": _attention(r, returned)} for r in records.get(a.visit.id, [])],
            "result_options": results, "method_options": methods, "follow_up_options": follow_ups,
        })
    return out


def _log_view(user, changed: list[AssignedVisit]) -> None:
    """Log the confidential view (only when something is delivered).

    SQLite: the audit chain reads the last sequence number before inserting, so two pulls that
    wrote nothing before could read the same number and the loser would fail on the unique seq.
    A no-op UPDATE first takes the database write lock (waiting its turn), which serialises the
    read-then-insert as a record store does. PostgreSQL uses the audit's advisory lock."""
    if not changed:
        return
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE visits SET id = id WHERE 0"))
    log_assignments_view(user, changed, what="api.sync.pull")


def pull(user, raw_cursor: str | None) -> dict[str, Any]:
    """Return ``{cursor, full, visits, withdrawn}`` for the user (see docs/sync-protocol.md).

    ``full`` is true without a cursor or with an unknown one; otherwise ``visits`` holds the visits
    changed since the cursor's watermark or not delivered before, and ``withdrawn`` the ids
    delivered before that are no longer the user's. A non-empty delivery is logged as a
    confidential view."""
    started = utcnow()  # before reading: anything committed later has a later stamp or is re-read
    previous = cursor_mod.decode(raw_cursor, user.id)
    inspector = inspector_of(user)
    assigned = _assigned(user) if inspector is not None else []
    visible = {a.visit.id for a in assigned}
    if previous is None:
        changed, withdrawn = assigned, []
    else:
        changed = [a for a in assigned if a.visit.changed_at > previous.watermark or a.visit.id not in previous.ids]
        withdrawn = sorted(previous.ids - visible)
    overlap = timedelta(seconds=current_app.config.get("SYNC_CURSOR_OVERLAP_SECONDS", 120))
    new_cursor = cursor_mod.Cursor(user_id=user.id, watermark=started - overlap,
                                   seq=(previous.seq + 1) if previous else 1, ids=frozenset(visible))
    _log_view(user, changed)
    return {"cursor": cursor_mod.encode(new_cursor), "full": previous is None,
            "visits": visit_payloads(changed, inspector.id if inspector is not None else None),
            "withdrawn": withdrawn}
