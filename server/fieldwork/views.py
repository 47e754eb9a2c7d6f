"""The back office's view of a visit as the field app syncs it: records by department with their
versions, conflicts flagged, photos with hashes, signatures or the refusal statement."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from ..audit.models import AuditEntry
from ..core.errors import Forbidden
from ..extensions import db
from ..org.models import Department
from ..planning.models import Task
from ..teams.access import log_confidential_view, visible_team_ids
from ..teams.models import Team
from ..visits.models import Visit
from ..workdays.services import beijing_today
from . import reference, services
from .models import Photo, RecordStatus

bp = Blueprint("fieldwork", __name__, template_folder="templates")

DATA_IMAGE_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/webp;base64,")


def can_view_visit(user: Any, visit: Visit) -> bool:
    """True when the confidentiality rules let the user see this visit's team (teams/access.py)."""
    task = db.session.get(Task, visit.task_id)
    visible = visible_team_ids(user, task)
    return visible is None or visit.team_id in visible


@bp.app_template_filter("data_image")
def _is_data_image(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(DATA_IMAGE_PREFIXES)


def _history(visit: Visit, record_ids: list[int]) -> list[AuditEntry]:
    conds = [(AuditEntry.entity_type == "visit") & (AuditEntry.entity_id == str(visit.id))]
    if record_ids:
        conds.append((AuditEntry.entity_type == "visit_record")
                     & AuditEntry.entity_id.in_([str(i) for i in record_ids]))
    return list(db.session.execute(select(AuditEntry).where(or_(*conds))
                                   .order_by(AuditEntry.seq.desc()).limit(200)).scalars())


@bp.get("/visits/<int:visit_id>")
@login_required
def show_visit(visit_id: int):
    """The visit's sync state and records as they arrive, its stage, deadlines and review. 403 for
    users the confidentiality rules keep out (a team member sees their own team's visits only; a
    department's reviewer/head sees their department's consolidated section only); every view is
    logged."""
    return render_visit(services.get_visit(visit_id))


def render_visit(visit: Visit, **forms: Any):
    """Render the visit page; ``forms``: a refused consolidation or review, with what was typed
    (``consolidate_error``/``consolidate_form``, ``review_error``/``review_form``)."""
    from ..review import services as review
    from ..review.models import Consolidation, ReviewDecision, SectionResult

    scope = None  # None = every section
    if not can_view_visit(current_user, visit):
        scope = review.reviewer_departments(current_user, visit)
        if not scope:
            raise Forbidden("lists_confidential", _("检查结束前，检查对象和检查组信息只对任务发起人、本组成员、相关部门负责人和审计人员开放。"))
    task = db.session.get(Task, visit.task_id)
    team = db.session.get(Team, visit.team_id)
    log_confidential_view(task, f"visit:{visit.id}")
    rows = services.records_of_visits([visit.id])[visit.id]
    section_dept_ids = services.section_departments(visit)
    dept_ids = section_dept_ids | {r.department_id for r in rows}
    if scope is not None:
        dept_ids &= scope
        rows = [r for r in rows if r.department_id in scope]
    departments = {d.id: d for d in db.session.execute(select(Department).where(Department.id.in_(dept_ids))).scalars()}
    shas = {s for r in rows for s in r.photos}
    stored = {p.sha256: p for p in db.session.execute(select(Photo).where(Photo.sha256.in_(shas))).scalars()} if shas else {}
    by_dept: dict[int, list] = defaultdict(list)
    for r in sorted(rows, key=lambda r: r.id, reverse=True):
        by_dept[r.department_id].append((r, services.receipt(r, set(stored))))
    latest = services.latest_versions([visit.id])
    items = _section_items(visit)
    results = {sr.department_id: sr for sr in db.session.execute(
        select(SectionResult).where(SectionResult.visit_id == visit.id)).scalars()}
    decisions: dict[int, list] = defaultdict(list)
    for dec in db.session.execute(select(ReviewDecision).where(ReviewDecision.visit_id == visit.id)
                                  .order_by(ReviewDecision.id.desc())).scalars():
        decisions[dec.department_id].append(dec)
    sections = [{
        "department": departments.get(d), "rows": by_dept.get(d, []), "latest": latest.get((visit.id, d)),
        "conflicts": sum(1 for r, _rc in by_dept.get(d, []) if r.status is RecordStatus.CONFLICT),
        "check_items": items.get(d, []), "result": results.get(d),
        "result_due": review.section_result_due_json(results[d]) if d in results else None,
        "referral_due": review.referral_due_json(results[d]) if d in results else None,
        "may_review": d in results and review.may_review(current_user, results[d]),
        "decisions": decisions.get(d, []) if scope is None or d in scope else [],
    } for d in sorted(dept_ids)]
    consolidations = list(db.session.execute(select(Consolidation).where(Consolidation.visit_id == visit.id)
                                             .order_by(Consolidation.round.desc())).scalars())
    is_leader = review.is_active_leader(current_user, visit)
    leader = None
    if is_leader and (visit.status.value != "planned" or forms.get("consolidate_error")):
        # what this page already read: the latest versions, the sections, the photos of every row
        # (all rows unless the view is scoped to a reviewer's departments)
        blockers = review.unsynced_sections(visit, latest=latest, departments=section_dept_ids,
                                            stored=set(stored) if scope is None else None)
        leader = {"blockers": blockers, "ready": not blockers and review.ready_to_consolidate(visit, latest=latest)}
    return render_template("fieldwork/visit.html", visit=visit, task=task, team=team, sections=sections,
                           photos=stored, history=_history(visit, [r.id for r in rows]),
                           history_title=_("同步与变更历史"), labels=_labels(),
                           result_due=review.result_due_json(visit), consolidations=consolidations,
                           leader=leader, scoped=scope is not None,
                           today=beijing_today(), **forms)


def _section_items(visit: Visit) -> dict[int, list[dict[str, Any]]]:
    """Return each department's check items of the visit with their questions' answer keys and
    texts, in the order the phone shows them."""
    return {d: [{"id": it["id"], "name": it["name"],
                 "questions": [(f"{it['id']}-{q.id}", q.text) for q in it["questions"]]} for it in items]
            for d, items in services.section_items(visit).items()}


def _labels() -> dict[str, dict[str, str]]:
    """Labels of the record's codes (every result ever offered, deactivated ones included)."""
    return {
        "results": {o.code: o.label for o in reference.result_options(include_inactive=True)},
        "methods": reference.METHOD_LABELS,
        "follow_ups": reference.FOLLOW_UP_LABELS,
        "notice": {k: _(v) for k, v in reference.NOTICE_LABELS.items()},
        "measures": {k: _(v) for k, v in reference.MEASURE_LABELS.items()},
        "forms": {k: _(v) for k, v in reference.MEASURE_FORM_LABELS.items()},
        "answers": {k: _(v) for k, v in reference.ANSWER_LABELS.items()},
    }
