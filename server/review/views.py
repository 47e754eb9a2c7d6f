"""Screens of consolidation and review: the queue (``/review``), the overdue lists
(``/review/overdue``) and the two forms posted from the visit page (consolidate; accept/return)."""

from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth.roles import Role
from ..core.errors import DomainError, wants_json
from ..extensions import db
from ..org.models import Department
from ..visits.models import Visit
from ..workdays.services import beijing_today
from . import services
from .models import ResultStatus, SectionResult

bp = Blueprint("review", __name__, template_folder="templates")

OVERVIEW_ROLES = (Role.JOINT_OFFICE, Role.AUDITOR, Role.SYSTEM_ADMIN)


@bp.app_template_filter("stage_label")
def _stage_label(value):
    return services.stage_label(value)


@bp.app_template_filter("result_status_label")
def _status_label(value):
    return services.status_label(value)


def _own_departments(user) -> set[int] | None:
    """The departments whose sections the user reviews (None: not a reviewer/head)."""
    from ..teams.access import user_bureau_id

    if not user.has_role(*services.REVIEWER_ROLES):
        return None
    bureau = user_bureau_id(user)
    return set(services._bureau_departments(bureau)) if bureau is not None else set()


@bp.get("/review")
@login_required
def queue():
    """The user's queue: a reviewer's/head's department sections; a leader's visits to consolidate;
    the joint office's and auditors' counts per department."""
    q = (request.args.get("q") or "").strip()[:100]
    own = _own_departments(current_user)
    pending = returned = accepted = None
    if own is not None:
        base = services.results_query(current_user, q=q or None).where(SectionResult.department_id.in_(own or [-1]))
        pending = services.page_rows(base.where(SectionResult.status == ResultStatus.PENDING)
                                     .order_by(SectionResult.result_due, SectionResult.id),
                                     request.args.get("page", 1, type=int), per_page=25)
        returned = db.session.execute(base.where(SectionResult.status == ResultStatus.RETURNED)
                                      .order_by(SectionResult.result_due).limit(50)).all()
        accepted = db.session.execute(base.where(SectionResult.status == ResultStatus.ACCEPTED,
                                                 SectionResult.reviewed_at >= services.recent_cutoff())
                                      .order_by(SectionResult.reviewed_at.desc()).limit(50)).all()
    leader = services.leader_visits(current_user, q=q or None)
    overview = None
    if current_user.has_role(*OVERVIEW_ROLES) or current_user.has_role(Role.DEPT_HEAD):
        scope = None if current_user.has_role(*OVERVIEW_ROLES) else own
        counts = services.counts_per_department(scope)
        overdue = services.overdue_counts(scope)
        ids = set(counts) | set(overdue)
        names = services.department_names(ids)
        overview = [{"id": d, "name": names.get(d, str(d)), "counts": counts.get(d, {}), "overdue": overdue.get(d, 0)}
                    for d in sorted(ids, key=lambda d: names.get(d, ""))]
    names = services.department_names({row[0].department_id for rows in (pending.items if pending else [], returned or [],
                                                                         accepted or []) for row in rows})
    return render_template("review/queue.html", q=q, pending=pending, returned=returned, accepted=accepted,
                           leader=leader, overview=overview, names=names, is_reviewer=own is not None,
                           today=beijing_today())


@bp.get("/review/overdue")
@login_required
def overdue():
    """Overdue per department [000#29]: the joint office (and auditors) see every department, a
    reviewer/head their own; object names only for those entitled before the visits are over."""
    if current_user.has_role(*OVERVIEW_ROLES):
        scope = None
    else:
        scope = _own_departments(current_user)
        if scope is None:
            raise DomainError("not_reviewer", _("逾期清单供联席办、审计人员和各部门审核人员、负责人查看。"), status=403)
    selected = request.args.get("department_id", type=int)
    if selected and (scope is None or selected in scope):
        scope = {selected}
    rows = services.overdue_rows(current_user, scope)
    late = services.late_entries(current_user, scope)
    referrals = services.overdue_referrals(scope)
    groups: dict[int, list] = defaultdict(list)
    for row in rows:
        groups[row.department_id].append(row)
    late_groups: dict[int, list] = defaultdict(list)
    for row in late:
        late_groups[row[0].department_id].append(row)
    ids = set(groups) | set(late_groups) | set(referrals)
    names = services.department_names(ids)
    departments = [{"id": d, "name": names.get(d, str(d)), "rows": groups.get(d, []),
                    "late": late_groups.get(d, []), "referrals": referrals.get(d, 0)}
                   for d in sorted(ids, key=lambda d: names.get(d, ""))]
    choices = None
    if current_user.has_role(*OVERVIEW_ROLES):
        choices = db.session.execute(select(Department.id, Department.name).where(
            Department.id.in_(select(SectionResult.department_id).distinct())).order_by(Department.name)).all()
    return render_template("review/overdue.html", departments=departments, today=beijing_today(),
                           selected=selected, choices=choices)


@bp.post("/visits/<int:visit_id>/consolidate")
@login_required
def consolidate_visit(visit_id: int):
    from ..fieldwork import services as fieldwork
    from ..fieldwork.views import render_visit

    visit = fieldwork.get_visit(visit_id)
    summary = request.form.get("summary", "")
    try:
        cons = services.consolidate(current_user, visit, summary)
    except DomainError as err:
        db.session.rollback()
        if wants_json():
            raise
        visit = db.session.get(Visit, visit_id)
        return render_visit(visit, consolidate_error=err, consolidate_form={"summary": summary}), err.status
    db.session.commit()
    flash(_("已汇总（第 %(n)s 轮），各部门检查结果已提交审核。", n=cons.round), "success")
    return redirect(url_for("fieldwork.show_visit", visit_id=visit_id))


@bp.post("/results/<int:section_result_id>/review")
@login_required
def decide(section_result_id: int):
    from ..fieldwork.views import render_visit

    sr = services.get_section_result(section_result_id)
    decision = request.form.get("decision", "")
    comment = request.form.get("comment", "")
    visit_id = sr.visit_id
    try:
        services.review_section(current_user, sr, decision, comment)
    except DomainError as err:
        db.session.rollback()
        if err.code == "other_department_section" or wants_json():
            raise
        visit = db.session.get(Visit, visit_id)
        return render_visit(visit, review_error=err, review_form={"id": section_result_id, "decision": decision,
                                                                  "comment": comment}), err.status
    db.session.commit()
    flash(_("已审核通过。") if decision == "accept" else _("已退回修改，检查人员的手机将在下次同步时收到退回意见。"), "success")
    return redirect(url_for("fieldwork.show_visit", visit_id=visit_id) + f"#dept-{sr.department_id}")


from . import api  # noqa: E402,F401  (the JSON routes live on this blueprint)
