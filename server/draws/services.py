"""The draws of a task (spec draw-v2 for every new draw; stored draw-v1 records stay valid and
verifiable): commit a nonce, draw with the witnesses' entropy, void.

Flow for each kind (objects, then inspectors):

1. ``commit_*_draw`` fixes the candidates and stores a fresh nonce; only its commitment is shown;
2. ``perform_draw`` records the people present and their entropy, computes the record with
   :func:`spec.build_record` and stores it — final at once, no preview, no re-roll;
3. ``void_draw`` abandons a committed draw with a reason (kept, shown as voided).

Concurrency: every step first locks the task row (``SELECT … FOR UPDATE`` on PostgreSQL; on
SQLite a no-op UPDATE takes the database's write lock before anything is read), then re-reads the
draw. The partial unique index ``uq_draws_task_kind_live`` is the last line of defence. A loser
gets ``Conflict("draw_exists")`` (409).

Services only flush; the request (or CLI command) commits.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, exists, insert, select, text, type_coerce, update
from sqlalchemy.exc import IntegrityError

from ..audit.services import Change, current_actor, record, record_many
from ..auth.roles import Role
from ..core.errors import Conflict, DomainError, NotFound
from ..core.models import utcnow
from ..extensions import db
from ..org.models import Department
from ..planning.models import Acceptance, Task, TaskCheckItem, TaskDepartment, TaskStatus
from ..registry.models import InspectedObject, Inspector, InspectorExpertise, InspectorStatus
from ..teams.models import ConflictDeclaration, MemberSource, Team, TeamMember
from ..visits.models import Visit, VisitItem, VisitStatus
from . import spec
from .candidates import (
    CandidateSet,
    RegistryState,
    build_candidates,
    check_registry_confirmation,
    fetch_raw,
    values_in,
)
from .models import Draw, DrawCandidates, DrawKind, DrawSelection, DrawStatus

#: roles of the initiating department that run its draws (system administrators always may)
OPERATOR_ROLES = (Role.TASK_INITIATOR, Role.DEPT_ADMIN)

#: the three people who must run a draw together [003#16]: (form key, role as recorded)
REQUIRED_WITNESSES = (("operator", "承办"), ("technical", "技术操作"), ("supervisor", "监督"))
REQUIRED_LABELS = {"operator": _l("承办人员"), "technical": _l("技术操作人员"), "supervisor": _l("监督人员")}
#: optional representatives who may witness [003#16]
REPRESENTATIVE_ROLES = ("市场主体代表", "行业协会代表", "纪检部门代表", "新闻媒体代表")
REPRESENTATIVE_LABELS = {
    "市场主体代表": _l("市场主体代表"), "行业协会代表": _l("行业协会代表"),
    "纪检部门代表": _l("纪检部门代表"), "新闻媒体代表": _l("新闻媒体代表"),
}
MAX_ENTROPY = 500
MAX_NAME = 100
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


# -- lookups and access -----------------------------------------------------------------------


def get_task(task_id: int) -> Task:
    """Return the task or raise NotFound (404)."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound("task_not_found", _("找不到该抽查任务。"))
    return task


def get_draw(draw_id: int) -> Draw:
    """Return the draw or raise NotFound (404)."""
    draw = db.session.get(Draw, draw_id)
    if draw is None:
        raise NotFound("draw_not_found", _("找不到该抽取记录。"))
    return draw


def task_draws(task: Task) -> list[Draw]:
    """Return every draw of the task (voided ones included), oldest first."""
    return list(db.session.execute(select(Draw).where(Draw.task_id == task.id).order_by(Draw.id)).scalars())


def live_draw(task: Task, kind: DrawKind) -> Draw | None:
    """Return the task's committed or final draw of ``kind``, if any."""
    return db.session.execute(
        select(Draw).where(Draw.task_id == task.id, Draw.kind == kind, Draw.status != DrawStatus.VOIDED)
    ).scalar_one_or_none()


def can_operate(user: Any, task: Task) -> bool:
    """True for the initiating department's task initiators and administrators, and system admins."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(Role.SYSTEM_ADMIN):
        return True
    if not user.has_role(*OPERATOR_ROLES) or user.department_id is None:
        return False
    dept = db.session.get(Department, user.department_id)
    return dept is not None and dept.bureau.id == task.initiating_department_id


def department_names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    return {k: v for k, v in rows}


# -- locking ----------------------------------------------------------------------------------


def lock_task(task_id: int) -> Task:
    """Serialise draws of one task: lock its row and return it freshly loaded.

    PostgreSQL: ``SELECT … FOR UPDATE`` (a second operator waits, then sees the first one's draw).
    SQLite: a no-op UPDATE of the row takes the database's write lock before anything else is read
    in this transaction, with the same effect.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = select(Task).where(Task.id == task_id).with_for_update()
    else:
        t = Task.__table__.c
        db.session.execute(update(Task.__table__).where(t.id == task_id).values(id=t.id))
        stmt = select(Task).where(Task.id == task_id)
    task = db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if task is None:
        raise NotFound("task_not_found", _("找不到该抽查任务。"))
    return task


def _draw_task_id(draw_id: int) -> int:
    """The task of a draw, without loading the draw (its candidates may be a million ids)."""
    task_id = db.session.execute(select(Draw.task_id).where(Draw.id == draw_id)).scalar_one_or_none()
    if task_id is None:
        raise NotFound("draw_not_found", _("找不到该抽取记录。"))
    return task_id


def draw_task(draw_id: int) -> Task:
    """Return the task of a draw (404 if the draw is unknown) without loading the draw."""
    return get_task(_draw_task_id(draw_id))


def _fresh_draw(draw_id: int) -> Draw:
    draw = db.session.execute(
        select(Draw).where(Draw.id == draw_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if draw is None:
        raise NotFound("draw_not_found", _("找不到该抽取记录。"))
    return draw


def _kind_label(kind: DrawKind) -> str:
    return _("检查对象") if kind is DrawKind.OBJECTS else _("检查人员")


def _draw_exists(kind: DrawKind) -> Conflict:
    return Conflict("draw_exists", _("本任务的%(kind)s已经抽取，结果已锁定，不能再次抽取。", kind=_kind_label(kind)))


def _refuse_live(task: Task, kind: DrawKind) -> None:
    draw = live_draw(task, kind)
    if draw is None:
        return
    if draw.status is DrawStatus.FINAL:
        raise _draw_exists(kind)
    raise Conflict("draw_exists", _(
        "本任务已有一个已公布承诺值、尚未抽取的%(kind)s抽取（编号 %(id)s）。请在该抽取页面完成抽取，"
        "或先作废后再重新生成。", kind=_kind_label(kind), id=draw.id), draw_id=draw.id)


def _flush_new_draw(draw: Draw) -> None:
    db.session.add(draw)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # the partial unique index: another operator won the race
        raise _draw_exists(draw.kind) from exc


# -- preconditions ----------------------------------------------------------------------------


def not_accepted_departments(task: Task) -> list[str]:
    """Return the names of participating departments that have not accepted the task."""
    pending = [td.department_id for td in task.departments if td.acceptance is not Acceptance.ACCEPTED]
    names = department_names(pending) if pending else {}
    return [names.get(i, str(i)) for i in pending]


def ensure_ready_for_objects(task: Task) -> None:
    """Raise 409 unless every participating department accepted and no objects were drawn."""
    if task.status in (TaskStatus.OBJECTS_DRAWN, TaskStatus.INSPECTORS_DRAWN, TaskStatus.VISITS_OVER):
        raise _draw_exists(DrawKind.OBJECTS)
    pending = not_accepted_departments(task)
    if pending:
        raise Conflict("task_not_accepted", _(
            "以下参与部门尚未确认本任务：%(names)s。请待所有参与部门确认后再抽取。", names="、".join(pending)),
            departments=pending)
    if task.status is not TaskStatus.ACCEPTED:
        raise Conflict("task_not_accepted", _("任务当前状态不能抽取检查对象：需要各部门确认后的任务。"),
                       departments=[])
    if not task.strata:
        raise DomainError("no_strata", _("任务没有设置抽取比例，请先在任务中设置分层比例。"), status=422)


def ensure_ready_for_inspectors(task: Task) -> None:
    """Raise 409 unless the task's objects draw is final and no inspectors were drawn."""
    if task.status in (TaskStatus.INSPECTORS_DRAWN, TaskStatus.VISITS_OVER):
        raise _draw_exists(DrawKind.INSPECTORS)
    if task.status is not TaskStatus.OBJECTS_DRAWN:
        raise Conflict("objects_not_drawn", _("请先完成检查对象的抽取，再抽取检查人员。"))
    if (task.teams_count or 0) < 1:
        raise DomainError("bad_teams", _("任务的检查小组数至少为 1。"), status=422)
    if all(td.department_id != task.initiating_department_id for td in task.departments):
        raise DomainError("no_lead_department", _("发起部门不在任务的参与部门中，无法产生组长。请先修改任务。"),
                          status=422)


# -- objects: prepare and commit --------------------------------------------------------------


def prepare_object_draw(task: Task) -> CandidateSet:
    """Return the candidates per stratum and the excluded objects with the reason (nothing is
    stored). Raises 409 when the task is not ready for an objects draw."""
    ensure_ready_for_objects(task)
    return build_candidates(task)


def commit_object_draw(task: Task, *, registry: RegistryState | None = None) -> Draw:
    """Fix the candidates, store a new nonce and return the committed draw (only the nonce's
    commitment may be shown). ``registry`` is the registries' state the initiator confirmed
    (``candidates.registry_state`` as shown to them [000#11]); it is stamped on the draw. Raises
    422 ``registry_not_confirmed`` without it, 409 ``registry_changed`` when the registries changed
    since, 409 ``task_not_accepted`` or ``draw_exists`` (a committed or final draw of this kind
    exists already)."""
    task = lock_task(task.id)
    _refuse_live(task, DrawKind.OBJECTS)
    ensure_ready_for_objects(task)
    state = check_registry_confirmation(task, registry)
    cands = build_candidates(task)
    draw = _commit(task, DrawKind.OBJECTS, cands.strata, cands.excluded)
    draw.registry_as_of = state.as_of_datetime
    draw.registry_object_count = state.object_count
    draw.registry_inspector_count = state.inspector_count
    draw.registry_confirmed_by_id = current_actor().id
    draw.registry_confirmed_at = utcnow()
    db.session.flush()
    record("draw.registry_confirm", "draw", draw.id, after={
        "registry_as_of": state.as_of, "objects": state.object_count, "inspectors": state.inspector_count})
    return draw


def _commit(task: Task, kind: DrawKind, strata: list[dict[str, Any]],
            exclusions: list[dict[str, Any]] | None) -> Draw:
    try:  # names, ratios and counts (ids are unique by the registry's constraints)
        spec.check_strata([spec.Stratum(name=s["name"], ids=(), ratio=s.get("ratio"), count=s.get("count"))
                           for s in strata])
    except spec.DrawInputError as exc:
        raise DomainError(f"draw_{exc.code}", _("抽取参数无效：%(msg)s。请检查任务的分层比例。", msg=str(exc)),
                          status=422) from exc
    nonce = spec.new_nonce()
    draw = Draw(task_id=task.id, kind=kind, status=DrawStatus.COMMITTED, nonce=nonce,
                nonce_commitment=spec.nonce_commitment(nonce), exclusions=exclusions,
                created_by_id=current_actor().id, created_at=utcnow())
    _flush_new_draw(draw)
    # stored once, never rewritten: the record composes its ids from here (Core insert: the ~25 MB
    # text is not kept in the session)
    db.session.execute(insert(DrawCandidates.__table__).values(
        draw_id=draw.id, strata=canonical_json(strata).decode("utf-8")))
    # totals only: per-stratum counts would betray the risk classes before the visits (draw-v2)
    record("draw.commit", "draw", draw.id, after={
        "task_id": task.id, "kind": kind.value, "spec": spec.SPEC, "nonce_commitment": draw.nonce_commitment,
        "candidates_total": sum(len(s["ids"]) for s in strata),
        "excluded": len(exclusions or []),
    })
    record("task.draw_commit", "task", task.id, after={"draw_id": draw.id, "kind": kind.value,
                                                       "nonce_commitment": draw.nonce_commitment})
    return draw


# -- inspectors: pools and commit -------------------------------------------------------------


@dataclass
class Pool:
    """The qualified inspectors of one participating department for a task."""

    task_department: TaskDepartment
    name: str
    #: certificate numbers, ordered
    ids: list[str]
    needed: int

    @property
    def shortfall(self) -> int:
        return max(0, self.needed - len(self.ids))


def _ordered_departments(task: Task) -> list[TaskDepartment]:
    """The initiating department first, then the others in the task's order."""
    tds = list(task.departments)
    return sorted(tds, key=lambda td: (td.department_id != task.initiating_department_id, td.id))


def _pool_ids(task: Task, td: TaskDepartment) -> list[str]:
    i = Inspector.__table__.c
    conds = [
        i.department_id == td.department_id,
        type_coerce(i.status, String) == InspectorStatus.ON_DUTY.value,
        i.certificate_no.is_not(None),
        # experts are chosen as supplements (选派), never drawn from the ordinary pool [002#9, 004§5]
        i.is_expert.is_(False),
        (i.qualification_valid_from.is_(None)) | (i.qualification_valid_from <= task.period_start),
        (i.qualification_valid_until.is_(None)) | (i.qualification_valid_until >= task.period_end),
    ]
    units = [int(u) for u in (td.unit_ids or [])]
    if units:
        stations = [u for u in units if u != 0]
        unit_cond = i.unit_id.in_(stations) if stations else None
        if 0 in units:
            hq = i.unit_id.is_(None)
            unit_cond = hq if unit_cond is None else (unit_cond | hq)
        conds.append(unit_cond)
    e = InspectorExpertise.__table__.c
    for tag in sorted(set(td.required_expertise or [])):
        conds.append(exists().where(e.inspector_id == i.id, e.tag == tag))
    stmt = select(i.certificate_no).where(*conds).order_by(i.certificate_no)
    return list(db.session.execute(stmt).scalars())


def inspector_pools(task: Task) -> list[Pool]:
    """Return per participating department (initiator first) the certificate numbers of the on-duty
    inspectors qualified for the whole visit period, with all the required expertise, within the
    chosen units, and how many are needed (teams × members per team)."""
    tds = _ordered_departments(task)
    names = department_names([td.department_id for td in tds])
    return [Pool(task_department=td, name=names[td.department_id], ids=_pool_ids(task, td),
                 needed=task.teams_count * td.members_per_team) for td in tds]


def prepare_inspector_draw(task: Task) -> list[Pool]:
    """Return the pools (nothing stored). Raises 409 when the objects are not drawn yet."""
    ensure_ready_for_inspectors(task)
    return inspector_pools(task)


def commit_inspector_draw(task: Task) -> Draw:
    """Fix the pools and store a new nonce; return the committed draw. Raises 422
    ``inspector_shortfall`` with the shortfall per department when too few are qualified."""
    task = lock_task(task.id)
    _refuse_live(task, DrawKind.INSPECTORS)
    ensure_ready_for_inspectors(task)
    pools = inspector_pools(task)
    short = [p for p in pools if p.shortfall]
    if short:
        parts = "；".join(_("%(dept)s 需要 %(needed)s 人，符合条件 %(have)s 人，缺 %(short)s 人",
                           dept=p.name, needed=p.needed, have=len(p.ids), short=p.shortfall) for p in short)
        raise DomainError("inspector_shortfall", _(
            "符合条件的检查人员不足：%(parts)s。请补充人员、放宽单位范围或专长要求，或减少小组数/每组人数。",
            parts=parts), status=422,
            shortfall={p.name: {"needed": p.needed, "available": len(p.ids), "short": p.shortfall} for p in short})
    strata = [{"name": p.name, "count": p.needed, "ids": p.ids} for p in pools]
    return _commit(task, DrawKind.INSPECTORS, strata, None)


# -- witnesses --------------------------------------------------------------------------------


def clean_witnesses(required: dict[str, str], representatives: list[dict[str, str]] | None = None
                    ) -> list[dict[str, str]]:
    """Return the witnesses as recorded: the three required people, then any representatives.

    ``required`` maps ``operator``/``technical``/``supervisor`` to a name; each representative is
    ``{"role", "name", "organisation"}`` (rows without a name are ignored). Raises 422
    ``witnesses_missing`` with ``fields`` naming what is wrong.
    """
    errors: dict[str, str] = {}
    out: list[dict[str, str]] = []
    for key, role in REQUIRED_WITNESSES:
        name = (required.get(key) or "").strip()
        if not name:
            errors[key] = _("请填写%(who)s的姓名。", who=REQUIRED_LABELS[key])
        elif len(name) > MAX_NAME:
            errors[key] = _("姓名过长（最多 %(n)s 个字）。", n=MAX_NAME)
        else:
            out.append({"name": name, "role": role})
    for k, rep in enumerate(representatives or []):
        name = (rep.get("name") or "").strip()
        if not name:
            continue
        role = (rep.get("role") or "").strip()
        if role not in REPRESENTATIVE_ROLES:
            errors[f"rep_{k}"] = _("请选择代表的身份。")
            continue
        entry = {"name": name[:MAX_NAME], "role": role}
        org = (rep.get("organisation") or "").strip()
        if org:
            entry["organisation"] = org[:200]
        out.append(entry)
    if errors:
        raise DomainError("witnesses_missing", _(
            "抽取须由承办人员、技术操作人员和监督人员共同实施：%(msgs)s", msgs="".join(errors.values())),
            status=422, fields=errors)
    return out


# -- perform ----------------------------------------------------------------------------------


def perform_draw(draw_id: int, *, witnesses: list[dict[str, str]], witness_entropy: str) -> Draw:
    """Draw now: compute and store the record; the draw is final at once.

    ``witnesses`` come from :func:`clean_witnesses`. Raises 409 ``draw_exists`` when the draw is
    already final (e.g. another operator pressed "draw" first), ``draw_voided`` when it was voided,
    and 422 ``entropy_too_long``.
    """
    entropy = spec.normalise_entropy(witness_entropy)
    if len(entropy) > MAX_ENTROPY:
        raise DomainError("entropy_too_long", _("现场随机输入最多 %(n)s 个字符。", n=MAX_ENTROPY),
                          status=422, field="witness_entropy")
    task = lock_task(_draw_task_id(draw_id))
    draw = _fresh_draw(draw_id)
    if draw.status is DrawStatus.FINAL:
        raise _draw_exists(draw.kind)
    if draw.status is DrawStatus.VOIDED:
        raise Conflict("draw_voided", _("该抽取已作废，不能再抽取。请重新生成承诺值。"))
    if draw.kind is DrawKind.OBJECTS:
        ensure_ready_for_objects(task)
    else:
        ensure_ready_for_inspectors(task)

    strata = [spec.Stratum(name=s["name"], ids=tuple(s["ids"]), ratio=s.get("ratio"), count=s.get("count"))
              for s in candidate_strata(draw)]
    inputs = spec.DrawInputs(task=task.code, kind=draw.kind.value, strata=strata, nonce=draw.nonce,
                             witness_entropy=entropy, version=spec.SPEC)
    if draw.kind is DrawKind.INSPECTORS:
        inputs.teams = task.teams_count
        inputs.lead_stratum = department_names([task.initiating_department_id])[task.initiating_department_id]
        inputs.objects = selected_object_codes(task)
    now = utcnow()
    rec = spec.build_record(inputs, created_at=now.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
                            witnesses=witnesses)
    # the candidates are stored once (DrawCandidates, fixed at the commitment): the stored record
    # leaves their ids out, and the record's own record_sha256 (draw-v2: canonical JSON, keys
    # sorted, without that field) seals both together
    draw.record_sha256 = rec["record_sha256"]
    draw.record = canonical_json(record_without_ids(rec)).decode("utf-8")
    draw.witnesses = witnesses
    draw.witness_entropy = rec["witness_entropy"]
    draw.candidates_digest = rec["candidates_digest"]
    draw.seed = rec["seed"]
    draw.drawn_at = now
    draw.status = DrawStatus.FINAL
    before_status = task.status
    if draw.kind is DrawKind.OBJECTS:
        _store_selection(draw, task, rec)
        task.status = TaskStatus.OBJECTS_DRAWN
    else:
        _create_teams_and_visits(task, rec)
        task.status = TaskStatus.INSPECTORS_DRAWN
    db.session.flush()
    # the hash-chained log commits to the record before any visit (draw-v2); nothing confidential:
    # no nonce, seed, names, ids or per-stratum counts — totals and commitments only
    record("draw.final", "draw", draw.id, after={
        "task_id": task.id, "kind": draw.kind.value, "spec": rec["spec"],
        "candidates_total": sum(len(s["ids"]) for s in rec["strata"]),
        "selected_total": sum(len(s["selected"]) for s in rec["strata"]),
        "nonce_commitment": draw.nonce_commitment, "record_sha256": draw.record_sha256,
    })
    record("task.status", "task", task.id, before={"status": before_status.value},
           after={"status": task.status.value}, note=f"draw {draw.id} ({draw.kind.value})")
    return draw


def _object_ids(codes: list[str]) -> dict[str, int]:
    if not codes:
        return {}
    o = InspectedObject.__table__.c
    return {code: oid for code, oid in fetch_raw(select(o.code, o.id).where(values_in(o.code, codes)))}


#: the locked list in one statement: the selected codes travel as one parameter and are joined to
#: the registry in the database (no round trip of object ids through Python)
_SELECTION_SQL = {
    "postgresql": (
        "INSERT INTO draw_selections (draw_id, task_id, object_id, stratum, position) "
        "SELECT :draw_id, :task_id, o.id, u.stratum, u.position - 1 "
        "FROM unnest(CAST(:codes AS text[]), CAST(:strata AS text[])) WITH ORDINALITY AS u(code, stratum, position) "
        # LATERAL with LIMIT 1: one unique-index probe per selected code; without the LIMIT the
        # planner flattens the subquery into a hash join over a scan of the whole registry
        "JOIN LATERAL (SELECT id FROM inspected_objects WHERE code = u.code LIMIT 1) o ON true"),
    "sqlite": (
        "INSERT INTO draw_selections (draw_id, task_id, object_id, stratum, position) "
        "SELECT :draw_id, :task_id, o.id, json_extract(j.value, '$[1]'), CAST(j.key AS INTEGER) "
        "FROM json_each(:rows) AS j JOIN inspected_objects o ON o.code = json_extract(j.value, '$[0]')"),
}


def _store_selection(draw: Draw, task: Task, rec: dict[str, Any]) -> None:
    """Write the locked list: one DrawSelection per selected object, position = record order."""
    pairs = [(code, s["name"]) for s in rec["strata"] for code in s["selected"]]
    if not pairs:
        return
    dialect = db.session.get_bind().dialect.name
    params: dict[str, Any] = {"draw_id": draw.id, "task_id": task.id}
    if dialect in _SELECTION_SQL:
        if dialect == "postgresql":
            params.update(codes=[c for c, _s in pairs], strata=[s for _c, s in pairs])
        else:
            params["rows"] = json.dumps(pairs, ensure_ascii=False)
        written = db.session.execute(text(_SELECTION_SQL[dialect]), params).rowcount
    else:  # any other database: look the ids up, then insert
        ids = _object_ids([c for c, _s in pairs])
        rows = [{**params, "object_id": ids[c], "stratum": s, "position": k}
                for k, (c, s) in enumerate(pairs) if c in ids]
        db.session.execute(insert(DrawSelection.__table__), rows)
        written = len(rows)
    if written != len(pairs):
        raise Conflict("objects_missing", _("部分被抽中的检查对象已不在名录库中，无法锁定名单。请作废本次抽取后重新生成。"))


def selected_object_codes(task: Task) -> list[str]:
    """The codes of the task's locked object list, in the objects record's order."""
    ds = DrawSelection.__table__.c
    o = InspectedObject.__table__.c
    return list(db.session.execute(
        select(o.code).select_from(DrawSelection.__table__).join(InspectedObject.__table__, o.id == ds.object_id)
        .where(ds.task_id == task.id).order_by(ds.position)
    ).scalars())


def _create_teams_and_visits(task: Task, rec: dict[str, Any]) -> None:
    """Create the teams and members (leader flagged, declared conflicts flagged) and one visit per
    matched object with every check item of the task."""
    certs = [c for t in rec["assignment"].values() for c in t["members"]]
    i = Inspector.__table__.c
    by_cert: dict[str, tuple[int, int]] = {
        cert: (iid, dept) for cert, iid, dept in fetch_raw(
            select(i.certificate_no, i.id, i.department_id).where(values_in(i.certificate_no, certs)))}
    ds = DrawSelection.__table__.c
    o = InspectedObject.__table__.c
    obj_ids: dict[str, int] = {code: oid for code, oid in db.session.execute(
        select(o.code, o.id).select_from(DrawSelection.__table__).join(InspectedObject.__table__, o.id == ds.object_id)
        .where(ds.task_id == task.id))}

    # declared conflicts of interest (not withdrawn) between drawn inspectors and drawn objects
    cd = ConflictDeclaration.__table__.c
    member_ids = [v[0] for v in by_cert.values()]
    conflicts: dict[tuple[int, int], str] = {}
    if member_ids and obj_ids:
        for k in range(0, len(member_ids), 900):
            for iid, oid, relation in db.session.execute(
                    select(cd.inspector_id, cd.object_id, cd.relation).where(
                        cd.inspector_id.in_(member_ids[k:k + 900]), cd.withdrawn_at.is_(None))):
                conflicts[(iid, oid)] = relation
    code_of = {v: c for c, v in obj_ids.items()}

    teams = [Team(task_id=task.id, number=int(n)) for n in sorted(rec["assignment"], key=int)]
    db.session.add_all(teams)
    db.session.flush()
    team_id = {t.number: t.id for t in teams}
    member_rows, visit_rows, changes = [], [], []
    for n, entry in rec["assignment"].items():
        tid = team_id[int(n)]
        team_objects = {obj_ids[c] for c in entry["objects"]}
        for cert in entry["members"]:
            iid, dept = by_cert[cert]
            notes = [_("申报与 %(code)s 存在利害关系（%(rel)s），需申请回避并替换。", code=code_of[oid], rel=rel)
                     for (ci, oid), rel in conflicts.items() if ci == iid and oid in team_objects]
            member_rows.append({
                "team_id": tid, "task_id": task.id, "inspector_id": iid, "department_id": dept,
                "is_leader": cert == entry["leader"], "active": True, "source": MemberSource.DRAWN,
                "conflict_flag": bool(notes), "conflict_note": "；".join(notes) or None,
            })
        for code in entry["objects"]:
            visit_rows.append({"task_id": task.id, "object_id": obj_ids[code], "team_id": tid,
                               "status": VisitStatus.PLANNED, "changed_at": utcnow()})
        # totals only: members, certificate numbers and object codes are confidential before the visits
        changes.append(Change("team.create", "team", tid, after={
            "task_id": task.id, "number": int(n), "members": len(entry["members"]),
            "objects": len(entry["objects"])}))
    if member_rows:
        db.session.execute(insert(TeamMember), member_rows)
    visit_ids: list[int] = []
    if visit_rows:
        visit_ids = [r[0] for r in db.session.execute(insert(Visit).returning(Visit.id), visit_rows).all()]
    items = _visit_item_templates(task)
    item_rows = [{"visit_id": vid, "department_id": dept, "check_item_id": item, "template_id": tpl}
                 for vid in visit_ids for dept, item, tpl in items]
    if item_rows:
        db.session.execute(insert(VisitItem), item_rows)
    changes.append(Change("task.visits_create", "task", task.id,
                          after={"visits": len(visit_rows), "items_per_visit": len(items),
                                 "conflicts_flagged": sum(1 for m in member_rows if m["conflict_flag"])}))
    record_many(changes)


def _visit_item_templates(task: Task) -> list[tuple[int, int, int | None]]:
    """(department, check item, checklist version) for each check item of the task; a missing
    version is the department's current published checklist, and each version used is marked."""
    from ..catalog.models import CheckItem, ChecklistTemplate
    from ..catalog.services import current_template, mark_template_used

    out = []
    for tci in db.session.execute(select(TaskCheckItem).where(TaskCheckItem.task_id == task.id)
                                  .order_by(TaskCheckItem.id)).scalars():
        template = db.session.get(ChecklistTemplate, tci.template_id) if tci.template_id else None
        if template is None:
            item = db.session.get(CheckItem, tci.check_item_id)
            template = current_template(item, tci.department_id) if item is not None else None
        if template is not None:
            try:
                mark_template_used(template)
            except DomainError:
                template = None  # an unpublished version cannot be used; the visit has no checklist yet
        out.append((tci.department_id, tci.check_item_id, template.id if template else None))
    return out


# -- void -------------------------------------------------------------------------------------


def void_draw(draw_id: int, *, reason: str) -> Draw:
    """Abandon a committed draw, keeping it visible with who and why. Raises 422
    ``void_reason_required`` and 409 ``draw_not_voidable`` (a final draw is never voided)."""
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise DomainError("void_reason_required", _("请填写作废原因。"), status=422, field="reason")
    lock_task(_draw_task_id(draw_id))
    draw = _fresh_draw(draw_id)
    if draw.status is not DrawStatus.COMMITTED:
        raise Conflict("draw_not_voidable", _("只有尚未抽取的承诺可以作废；已完成或已作废的抽取不能作废。"))
    actor = current_actor()
    draw.status = DrawStatus.VOIDED
    draw.voided_by_id = actor.id
    draw.voided_at = utcnow()
    draw.void_reason = reason[:1000]
    db.session.flush()
    record("draw.void", "draw", draw.id, before={"status": "committed"},
           after={"status": "voided", "reason": draw.void_reason, "nonce_commitment": draw.nonce_commitment})
    return draw


# -- records ----------------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """The canonical JSON of a record (or candidate list) as UTF-8: compact, non-ASCII as is, keys in
    insertion order — byte for byte ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``
    (tests/draws/test_record_storage.py proves it), written by orjson, ~5× faster on a 25 MB
    candidate list."""
    return orjson.dumps(value)


def _candidates_text(draw_id: int) -> str | None:
    return db.session.execute(
        select(DrawCandidates.strata).where(DrawCandidates.draw_id == draw_id)).scalar_one_or_none()


def candidate_strata(draw: Draw) -> list[dict[str, Any]]:
    """The candidates fixed at the commitment: [{"name", "ratio"|"count", "ids"}] in the task's order."""
    body = _candidates_text(draw.id)
    return orjson.loads(body) if body else []


def record_without_ids(rec: dict[str, Any]) -> dict[str, Any]:
    """The record as stored in ``Draw.record``: every field, but no candidate ``ids`` in the strata."""
    out = dict(rec)
    out["strata"] = [{k: v for k, v in s.items() if k != "ids"} for s in rec["strata"]]
    return out


def _compose(stored: dict[str, Any], candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """Put the candidates' ids back into the stored record, in the spec's field order."""
    if len(stored.get("strata", [])) != len(candidates):
        return stored  # cannot be the sealed record; the hash check refuses it
    rec = dict(stored)
    strata = []
    for entry, cand in zip(stored["strata"], candidates, strict=True):
        if cand.get("name") != entry.get("name"):
            return stored  # likewise: these candidates are not the ones drawn
        out: dict[str, Any] = {}
        for key, value in entry.items():
            if key == "selected":
                out["ids"] = cand.get("ids", [])
            out[key] = value
        strata.append(out)
    rec["strata"] = strata
    return rec


def record_parts(draw: Draw) -> tuple[dict[str, Any], bytes]:
    """Return the full record (draw-v1 or draw-v2) of a final draw and its JSON bytes, composed from
    the stored record and the candidates and checked against the SHA-256 taken at the draw.

    Raises 404 ``record_not_ready`` before the draw is final and 500 ``draw_record_altered`` when
    the stored evidence no longer matches that hash (nothing stored may change after a draw).
    """
    if draw.status is not DrawStatus.FINAL or not draw.record:
        raise NotFound("record_not_ready", _("该抽取尚未完成，没有抽取记录。"))
    return _sealed(draw.id, draw.status, draw.record, _candidates_text(draw.id), draw.record_sha256)


def _sealed(draw_id: int, status: DrawStatus, stored: str | None, candidates: str | None,
            sha: str | None) -> tuple[dict[str, Any], bytes]:
    if status is not DrawStatus.FINAL or not stored:
        raise NotFound("record_not_ready", _("该抽取尚未完成，没有抽取记录。"))
    try:
        rec = _compose(orjson.loads(stored), orjson.loads(candidates) if candidates else [])
        body = canonical_json(rec)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, AttributeError, KeyError, TypeError) as exc:
        raise _altered(draw_id) from exc
    if not sha or _seal(rec, body) != sha:
        raise _altered(draw_id)
    return rec, body


def _seal(rec: dict[str, Any], body: bytes) -> str | None:
    """The hash a stored record was sealed with: draw-v2 its ``record_sha256`` (which must also be
    the record's own field); draw-v1 the SHA-256 of its compact JSON in field order (``body``)."""
    if rec.get("spec") == spec.SPEC_V2:
        own = spec.record_sha256(rec)
        return own if rec.get("record_sha256") == own else None
    return hashlib.sha256(body).hexdigest()


def _altered(draw_id: int) -> DomainError:
    return DomainError("draw_record_altered", _(
        "抽取记录（编号 %(id)s）与抽取时保存的校验值不一致：存储的记录或候选名单被改动过。"
        "请勿使用该记录，并立即报告系统管理员和审计人员。", id=draw_id), status=500, draw_id=draw_id)


def draw_record(draw: Draw) -> dict[str, Any]:
    """Return the full record of a final draw (composed and checked, see ``record_parts``)."""
    return record_parts(draw)[0]


def full_record(draw: Draw) -> dict[str, Any]:
    """Return the full record and log the view. Raises 404 before the draw is final. Only for
    those ``teams.access.can_view_full_record`` allows (the view checks it)."""
    rec = draw_record(draw)
    record("draw.view_record", "draw", draw.id, after={"what": "full_record"})
    return rec


def public_record(draw: Draw) -> dict[str, Any]:
    """Return the public record (draw-v2 §6, for v1 and v2 records alike); 404 until the task's
    visits are over."""
    task = db.session.get(Task, draw.task_id)
    if draw.status is not DrawStatus.FINAL or not draw.record or task is None \
            or task.status is not TaskStatus.VISITS_OVER:
        raise NotFound("record_not_public", _("检查结束前抽取记录不公开。"))
    return spec.public_record(draw_record(draw))


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


def export_records(directory: Path) -> list[Path]:
    """Write every final draw's full record as ``<task code>-<kind>.json`` (its canonical JSON, the
    bytes whose hash was sealed at the draw); return the paths. Raises 500 ``draw_record_altered``
    at the first stored record that no longer matches its hash."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    rows = db.session.execute(
        select(Draw.id, Task.code, Draw.kind).join(Task, Task.id == Draw.task_id)
        .where(Draw.status == DrawStatus.FINAL).order_by(Task.code, Draw.kind)
    ).all()
    for draw_id, code, kind in rows:  # one draw (up to ~25 MB of candidates) in memory at a time
        d = Draw.__table__.c
        status, stored, sha = db.session.execute(
            select(d.status, d.record, d.record_sha256).where(d.id == draw_id)).one()
        body = _sealed(draw_id, DrawStatus(status), stored, _candidates_text(draw_id), sha)[1]
        (path := directory / f"{_safe(code)}-{kind.value}.json").write_bytes(body)
        paths.append(path)
    return paths


# -- result views -----------------------------------------------------------------------------


def object_labels(codes: list[str]) -> dict[str, str]:
    """Return {code: name} for the given object codes."""
    if not codes:
        return {}
    o = InspectedObject.__table__.c
    return {code: name for code, name in fetch_raw(select(o.code, o.name).where(values_in(o.code, codes)))}


def inspector_labels(certs: list[str]) -> dict[str, tuple[str, str]]:
    """Return {certificate: (name, department name)}."""
    i = Inspector.__table__.c
    d = Department.__table__.c
    if not certs:
        return {}
    return {cert: (name, dept) for cert, name, dept in fetch_raw(
        select(i.certificate_no, i.name, d.name).join(Department.__table__, d.id == i.department_id)
        .where(values_in(i.certificate_no, certs)))}


def team_overview(task: Task) -> list[dict[str, Any]]:
    """Return the task's teams with members (leader first, conflict flags) and visits."""
    teams = list(db.session.execute(select(Team).where(Team.task_id == task.id).order_by(Team.number)).scalars())
    visits: dict[int, list[Visit]] = defaultdict(list)
    for v in db.session.execute(select(Visit).where(Visit.task_id == task.id).order_by(Visit.id)).scalars():
        visits[v.team_id].append(v)
    return [{"team": t, "members": sorted(t.members, key=lambda m: (not m.is_leader, m.id)),
             "visits": visits[t.id]} for t in teams]
