"""Registry operations: searching, creating and editing objects and inspectors.

Rows are cleaned by :mod:`server.registry.validation` — the same functions the file imports use —
so a value refused in a form is refused in a file too. Services flush; the request or the CLI
command commits. Every change is audit-logged with before/after.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, String, Text, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..audit.services import diff, record, snapshot
from ..auth.roles import Role, can_edit_department_data
from ..core.errors import Conflict, DomainError, Forbidden
from ..core.models import utcnow
from ..extensions import db
from ..org.models import Department, Level
from . import codes, validation
from .models import (
    BIGRAM_FUNCTION,
    CodeKind,
    InspectedObject,
    Inspector,
    InspectorExpertise,
    InspectorStatus,
    ObjectType,
    RegistrationStatus,
    RiskClass,
    object_departments,
)
from .validation import _  # translates inside a request, Chinese elsewhere (CLI, jobs)

#: a search text made of code characters only is a credit-code (prefix) search
CODE_QUERY = re.compile(r"^[0-9A-Za-z]{2,18}$")
MIN_EXCEPTION_REASON = 5
PLACEHOLDER_ATTEMPTS = 8


# -- paging without an exact COUNT over a million rows ------------------------------------------


@dataclass
class Page:
    """One page of a list. ``total`` is exact when known; otherwise ``total_at_least`` is set
    (a capped count: "10,000+")."""

    items: list
    page: int
    per_page: int
    has_next: bool
    total: int | None = None
    total_at_least: int | None = None

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)


def fetch_page(stmt: Select, page: int = 1, per_page: int = 50, *, count_cap: int | None = 10_000) -> Page:
    """Return one page of ``stmt`` (an ordered select of entities).

    The page is found as ids first (``per_page + 1`` of them, to learn whether a next page
    exists), and only those rows are then loaded by primary key: a search that walks the ordered
    name index past many non-matching rows reads the index alone, never the wide table rows.
    The total is exact when this is the last page; otherwise, if ``count_cap`` is set, a count
    that stops after ``count_cap + 1`` rows gives either the exact total or "more than
    ``count_cap``".

    On SQLite (with ``count_cap`` set and the page within the first ``count_cap`` rows) one pass
    fetches the ordered ids of up to ``count_cap + 1`` matches instead, giving the page, the
    next-page flag and the total at once: a name fragment has no index there, so this is one scan
    instead of one for the page and one for the count. On PostgreSQL the indexes make the two
    separate queries cheaper (measured with bench/bench_search.py).
    """
    page = max(1, page)
    offset = (page - 1) * per_page
    entity = stmt.column_descriptions[0]["entity"]
    ids_stmt = stmt.with_only_columns(entity.id)
    one_pass = bool(count_cap) and offset + per_page < count_cap and _dialect() == "sqlite"
    if one_pass:
        all_ids = list(db.session.execute(ids_stmt.limit(count_cap + 1)).scalars())
        window = all_ids[offset:offset + per_page + 1]
    else:
        window = list(db.session.execute(ids_stmt.limit(per_page + 1).offset(offset)).scalars())
    has_next = len(window) > per_page
    result = Page(items=_load_in_order(entity, window[:per_page]), page=page, per_page=per_page,
                  has_next=has_next)
    if one_pass:
        if len(all_ids) <= count_cap:
            result.total = len(all_ids)
        else:
            result.total_at_least = count_cap
    elif not has_next and (result.items or page == 1):
        result.total = offset + len(result.items)
    elif count_cap:
        result.total, result.total_at_least = capped_count(stmt, count_cap)
    return result


def _load_in_order(entity, ids: list[int]) -> list:
    """The rows with ``ids``, in that order (by primary key only: with the search's own
    conditions the planner could walk the whole name index again)."""
    if not ids:
        return []
    loaded = {o.id: o for o in db.session.execute(select(entity).where(entity.id.in_(ids))).scalars()}
    return [loaded[i] for i in ids if i in loaded]


def capped_count(stmt: Select, cap: int) -> tuple[int | None, int | None]:
    """Return ``(total, None)`` when ``stmt`` has at most ``cap`` rows, else ``(None, cap)``."""
    entity = stmt.column_descriptions[0]["entity"]
    inner = stmt.with_only_columns(entity.id).order_by(None).limit(cap + 1).subquery()
    n = db.session.execute(select(func.count()).select_from(inner)).scalar_one()
    return (n, None) if n <= cap else (None, cap)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _contains(column, text: str, *, bigrams: bool = False):
    """Case-insensitive substring match, shaped so that the indexes can serve it.

    A fragment without letters that have a case (Chinese, digits, punctuation) is matched
    case-sensitively, which is the same thing and much cheaper: ``instr`` on SQLite (a scan of the
    narrow name index), ``LIKE`` on PostgreSQL (the trigram index, for 3 characters or more). Other
    fragments use SQLite's LIKE (case-insensitive for ASCII) and PostgreSQL's ILIKE. With
    ``bigrams`` (the object name, see models.POSTGRES_DDL), a 2-character fragment on PostgreSQL
    also gets the equivalent character-pair predicate that its bigram GIN index serves.
    """
    cased = text.lower() != text.upper()
    if _dialect() == "postgresql":
        # The pattern is sent inline, not as a parameter: whether walking the (name, id) index
        # or going through the trigram/bigram index is faster depends on how common the
        # fragment is, which the planner can only estimate from the value itself (a generic plan
        # of a prepared statement — psycopg prepares repeated queries — would guess, and
        # guessing wrong costs seconds). No ESCAPE clause: PostgreSQL's default escape is the
        # backslash, and only a plain pattern lets the planner use the trigram index.
        pattern = literal("%" + _escape_like(text, "\\") + "%", String, literal_execute=True)
        match = column.ilike(pattern) if cased else column.like(pattern)
        if bigrams and len(text) == 2:
            # implied by the match itself: it only adds a way in through the bigram index
            pair = postgresql.array([func.lower(literal(text, Text, literal_execute=True))])
            match = getattr(func, BIGRAM_FUNCTION)(func.lower(column)).op("@>")(pair) & match
        return match
    if not cased:
        return func.instr(column, text) > 0
    return column.like("%" + _escape_like(text, "/") + "%", escape="/")


def _escape_like(text: str, esc: str) -> str:
    return text.replace(esc, esc + esc).replace("%", esc + "%").replace("_", esc + "_")


def _code_prefix(column, prefix: str):
    """Codes starting with ``prefix`` (upper-case letters and digits) as a range that the code's
    unique b-tree serves in code order on both databases (BINARY on SQLite, COLLATE "C" on
    PostgreSQL): ``code >= '9141' AND code < '9142'``."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return (column >= prefix) & (column < upper)


# -- objects: search ---------------------------------------------------------------------------


@dataclass
class ObjectFilters:
    """What the object list can be filtered by. Empty values do not filter."""

    q: str = ""  # name fragment, or a code / code prefix
    region_county: str = ""
    region_town: str = ""
    jurisdiction_level: Level | None = None
    object_type: ObjectType | None = None
    industry: str = ""
    scope: str = ""  # business-scope fragment
    status: RegistrationStatus | None = None
    department_id: int | None = None  # a supervising department
    abnormal: bool = False
    serious: bool = False
    min_complaints: int | None = None
    risk_class: RiskClass | None = None  # internal users only

    def is_empty(self) -> bool:
        return self == ObjectFilters()


def search_objects(filters: ObjectFilters, *, internal: bool = False) -> Select:
    """Return an ordered select of :class:`InspectedObject` matching ``filters``.

    A search text of 2–18 letters/digits searches the code (exact at 18 characters, prefix
    otherwise) and orders by code; any other text is a name fragment, ordered by name. Raises
    :class:`Forbidden` when a risk-class filter is asked for outside ``internal`` use.
    """
    stmt = select(InspectedObject)
    order = [InspectedObject.name, InspectedObject.id]
    q = (filters.q or "").strip()
    if q:
        if CODE_QUERY.match(q):
            code = codes.normalise(q)
            stmt = stmt.where(InspectedObject.code == code if len(code) == 18
                              else _code_prefix(InspectedObject.code, code))
            order = [InspectedObject.code]
        else:
            stmt = stmt.where(_contains(InspectedObject.name, q, bigrams=True))
    if filters.region_county.strip():
        stmt = stmt.where(InspectedObject.region_county == filters.region_county.strip())
    if filters.region_town.strip():
        stmt = stmt.where(InspectedObject.region_town == filters.region_town.strip())
    if filters.jurisdiction_level is not None:
        stmt = stmt.where(InspectedObject.jurisdiction_level == filters.jurisdiction_level)
    if filters.object_type is not None:
        stmt = stmt.where(InspectedObject.object_type == filters.object_type)
    if filters.industry.strip():
        stmt = stmt.where(InspectedObject.industry == filters.industry.strip())
    if filters.scope.strip():
        stmt = stmt.where(_contains(InspectedObject.business_scope, filters.scope.strip()))
    if filters.status is not None:
        stmt = stmt.where(InspectedObject.registration_status == filters.status)
    if filters.department_id is not None:
        stmt = stmt.where(exists().where(
            object_departments.c.object_id == InspectedObject.id,
            object_departments.c.department_id == filters.department_id,
        ))
    if filters.abnormal:
        stmt = stmt.where(InspectedObject.abnormal_list.is_(True))
    if filters.serious:
        stmt = stmt.where(InspectedObject.serious_violation.is_(True))
    if filters.min_complaints:
        stmt = stmt.where(InspectedObject.complaint_count >= filters.min_complaints)
    if filters.risk_class is not None:
        if not internal:
            raise Forbidden("risk_class_internal", _("信用风险分类仅供内部使用，不能据此公开查询。"))
        stmt = stmt.where(InspectedObject.risk_class == filters.risk_class)
    return stmt.order_by(*order)


def get_object(object_id: int) -> InspectedObject | None:
    return db.session.execute(
        select(InspectedObject).where(InspectedObject.id == object_id)
        .options(selectinload(InspectedObject.supervising_departments))
    ).scalar_one_or_none()


# -- objects: create and edit ------------------------------------------------------------------


class ValidationFailed(DomainError):
    """A form or row with errors: ``details["fields"]`` maps field names to messages."""

    status = 422

    def __init__(self, errors: list[validation.RowError]):
        fields: dict[str, list[str]] = {}
        for e in errors:
            fields.setdefault(e.field or "_", []).append(e.message)
        message = _("填写的内容有 %(n)s 处错误，请按提示修改后重新提交。", n=len(errors))
        super().__init__("invalid", message, fields=fields,
                         reasons={e.field or "_": e.reason_code for e in errors})


def _object_state(obj: InspectedObject) -> dict[str, Any]:
    data = snapshot(obj, exclude=("created_at", "updated_at"))
    data["supervising_departments"] = sorted(d.code for d in obj.supervising_departments)
    return data


def _department_index() -> dict[str, Department]:
    return validation.departments_index(list(db.session.execute(select(Department)).scalars()))


def _prepare_row(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    depts = out.get("supervising_departments")
    if isinstance(depts, (list, tuple)):
        out["supervising_departments"] = "；".join(str(d) for d in depts if d)
    return out


def _code_taken(code: str, exclude_id: int | None = None) -> InspectedObject | None:
    stmt = select(InspectedObject).where(InspectedObject.code == code)
    if exclude_id is not None:
        stmt = stmt.where(InspectedObject.id != exclude_id)
    return db.session.execute(stmt).scalar_one_or_none()


def new_placeholder_code() -> str:
    """Return a generated code (``S…``) not used by any object; retries on the unlikely collision."""
    for _attempt in range(PLACEHOLDER_ATTEMPTS):
        code = codes.generate_placeholder()
        if _code_taken(code) is None:
            return code
    raise Conflict("code_generation_failed", _("无法生成不重复的代码，请稍后重试。"))


def accept_code_exception(code: str, reason: str, *, user) -> str:
    """Check that ``user`` may accept ``code`` although its check character is wrong, and return it.

    Only a system administrator may, with a reason of at least 5 characters, and only for a code
    whose sole defect is the check character. Raises :class:`Forbidden` (403) or
    :class:`DomainError` (422). The caller stores the code as ``ACCEPTED`` and audits it.
    """
    if user is None or not user.has_role(Role.SYSTEM_ADMIN):
        raise Forbidden("code_exception_forbidden",
                        _("统一社会信用代码校验位错误。只有系统管理员可以确认早期合法赋码的例外代码，请联系系统管理员。"),
                        field="code")
    code = codes.normalise(code)
    try:
        codes.validate(code)
    except codes.CodeError as err:
        if err.reason != "check_char":
            _c, _k, error = validation.clean_code(code)
            raise DomainError("invalid_code", error.message if error else str(err),
                              status=422, field="code") from None
    else:
        raise DomainError("code_exception_unneeded",
                          _("代码“%(code)s”的校验位正确，无需作为例外确认。", code=code), status=422,
                          field="code_exception_reason")
    reason = (reason or "").strip()
    if len(reason) < MIN_EXCEPTION_REASON:
        raise DomainError("code_exception_reason",
                          _("请填写确认理由（至少 %(n)s 个字），例如发证机关和核实方式。", n=MIN_EXCEPTION_REASON),
                          status=422, field="code_exception_reason")
    if len(reason) > 500:
        raise DomainError("code_exception_reason", _("确认理由最多 500 个字。"), status=422,
                          field="code_exception_reason")
    return code


def _clean_object(row: Mapping[str, Any], *, accepted: set[str], exception_reason: str | None,
                  user) -> tuple[dict, str | None]:
    """Clean a form row; return (values, accepted exception reason or None)."""
    row = _prepare_row(row)
    values, errors = validation.clean_object_row(row, _department_index(), accepted_codes=accepted)
    code_error = next((e for e in errors if e.field == "code"), None)
    accepted_reason = None
    if code_error is not None and code_error.reason_code == "check_char" and (exception_reason or "").strip():
        others = [e for e in errors if e is not code_error]
        if others:
            raise ValidationFailed(others)
        values["code"] = accept_code_exception(str(row.get("code") or ""), exception_reason or "", user=user)
        values["code_kind"] = CodeKind.ACCEPTED
        accepted_reason = exception_reason.strip()
        errors = others
    if errors:
        raise ValidationFailed(errors)
    return values, accepted_reason


def _apply_object(obj: InspectedObject, values: dict) -> None:
    for key, value in values.items():
        if key == "supervising_departments":
            obj.supervising_departments = list(value)
        elif key != "code_kind" or value is not None:
            setattr(obj, key, value)


def create_object(row: Mapping[str, Any], *, user=None, code_exception_reason: str | None = None
                  ) -> InspectedObject:
    """Create and return an object from a form row (field names as in
    :data:`validation.OBJECT_FIELDS`).

    An empty code gets a generated one. Raises :class:`ValidationFailed` (422), :class:`Conflict`
    ``duplicate_code`` (409), or :class:`Forbidden` (403) for a code exception by a non-admin.
    """
    values, accepted_reason = _clean_object(row, accepted=set(), exception_reason=code_exception_reason,
                                            user=user)
    if values["code"] is None:
        values["code"] = new_placeholder_code()
        values["code_kind"] = CodeKind.GENERATED
    else:
        _refuse_duplicate_code(values["code"])
    obj = InspectedObject(code=values["code"], name=values["name"], object_type=values["object_type"])
    _apply_object(obj, values)
    obj.code_exception_reason = accepted_reason
    db.session.add(obj)
    db.session.flush()
    record("object.create", "object", obj.id, after=_object_state(obj))
    if accepted_reason:
        record("object.code_exception", "object", obj.id, after={"code": obj.code, "reason": accepted_reason},
               note=accepted_reason)
    return obj


def _refuse_duplicate_code(code: str, exclude_id: int | None = None) -> None:
    other = _code_taken(code, exclude_id)
    if other is not None:
        raise Conflict("duplicate_code",
                       _("统一社会信用代码 %(code)s 已登记为“%(name)s”，同一代码不能重复登记。请核对代码，或直接编辑该对象。",
                         code=code, name=other.name), field="code", object_id=other.id)


def check_version(current: int, expected: int | str | None) -> None:
    """Raise :class:`Conflict` ``stale_version`` (409) unless ``expected`` equals ``current``."""
    try:
        expected_int = int(expected) if expected is not None and str(expected).strip() else None
    except ValueError:
        expected_int = None
    if expected_int != current:
        raise Conflict("stale_version",
                       _("该记录已被他人修改（当前版本 %(v)s）。请重新打开编辑页面，在最新内容上修改。", v=current),
                       current_version=current)


def update_object(obj: InspectedObject, row: Mapping[str, Any], expected_version: int | str | None, *,
                  user=None, code_exception_reason: str | None = None) -> InspectedObject:
    """Apply a form row to ``obj`` and return it.

    ``expected_version`` is the version the form was opened on: a different current version is a
    lost update and raises :class:`Conflict` ``stale_version`` (409). An empty code keeps the
    current one. Other errors as in :func:`create_object`.
    """
    check_version(obj.version, expected_version)
    row = dict(row)
    if not str(row.get("code") or "").strip():
        row["code"] = obj.code
    accepted = {obj.code} if obj.code_kind is CodeKind.ACCEPTED else set()
    values, accepted_reason = _clean_object(row, accepted=accepted, exception_reason=code_exception_reason,
                                            user=user)
    if values["code"] != obj.code:
        _refuse_duplicate_code(values["code"], exclude_id=obj.id)
    before = _object_state(obj)
    _apply_object(obj, values)
    if _object_state(obj) != before:
        obj.updated_at = utcnow()  # a change of departments only must still bump the version
    if accepted_reason:
        obj.code_exception_reason = accepted_reason
    elif obj.code_kind is not CodeKind.ACCEPTED:
        obj.code_exception_reason = None
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("stale_version", _("该记录刚被他人修改。请重新打开编辑页面，在最新内容上修改。")) from None
    b, a = diff(before, _object_state(obj))
    a.pop("version", None)
    b.pop("version", None)
    if a:
        record("object.update", "object", obj.id, before=b, after=a)
    if accepted_reason:
        record("object.code_exception", "object", obj.id, after={"code": obj.code, "reason": accepted_reason},
               note=accepted_reason)
    return obj


# -- inspectors: search ------------------------------------------------------------------------


@dataclass
class InspectorFilters:
    q: str = ""  # name fragment or certificate number (prefix)
    certificate_no: str = ""
    department_id: int | None = None  # the department, its units included
    unit_id: int | None = None
    expertise: str = ""
    status: InspectorStatus | None = None
    expert: bool | None = None
    qualified_on: date | None = None


def search_inspectors(filters: InspectorFilters) -> Select:
    """Return a select of :class:`Inspector` matching ``filters``, ordered by name."""
    stmt = select(Inspector)
    q = (filters.q or "").strip()
    if q:
        stmt = stmt.where(or_(_contains(Inspector.name, q), Inspector.certificate_no.startswith(q, autoescape=True)))
    if filters.certificate_no.strip():
        stmt = stmt.where(Inspector.certificate_no.startswith(filters.certificate_no.strip(), autoescape=True))
    if filters.department_id is not None:
        unit_ids = select(Department.id).where(Department.parent_id == filters.department_id)
        stmt = stmt.where(or_(Inspector.department_id == filters.department_id, Inspector.unit_id.in_(unit_ids)))
    if filters.unit_id is not None:
        stmt = stmt.where(Inspector.unit_id == filters.unit_id)
    if filters.expertise.strip():
        stmt = stmt.where(exists().where(InspectorExpertise.inspector_id == Inspector.id,
                                         InspectorExpertise.tag == filters.expertise.strip()))
    if filters.status is not None:
        stmt = stmt.where(Inspector.status == filters.status)
    if filters.expert is not None:
        stmt = stmt.where(Inspector.is_expert.is_(filters.expert))
    if filters.qualified_on is not None:
        day = filters.qualified_on
        stmt = stmt.where(
            Inspector.status == InspectorStatus.ON_DUTY,
            or_(Inspector.qualification_valid_from.is_(None), Inspector.qualification_valid_from <= day),
            or_(Inspector.qualification_valid_until.is_(None), Inspector.qualification_valid_until >= day),
        )
    return stmt.order_by(Inspector.name, Inspector.id)


def expertise_tags() -> list[str]:
    """Return every expertise tag in use, for the filter's suggestions."""
    return list(db.session.execute(select(InspectorExpertise.tag).distinct().order_by(InspectorExpertise.tag))
                .scalars())


# -- inspectors: create and edit ---------------------------------------------------------------


def _inspector_state(ins: Inspector) -> dict[str, Any]:
    data = snapshot(ins, exclude=("created_at", "updated_at"))
    data["expertise"] = ins.expertise
    return data


def _clean_inspector(row: Mapping[str, Any]) -> dict:
    row = dict(row)
    if isinstance(row.get("expertise"), (list, tuple)):
        row["expertise"] = "、".join(row["expertise"])
    values, errors = validation.clean_inspector_row(row, _department_index())
    if errors:
        raise ValidationFailed(errors)
    return values


def _refuse_foreign_department(user, department_id: int | None) -> None:
    if user is not None and not can_edit_department_data(user, department_id):
        raise Forbidden("not_your_department",
                        _("您只能登记和修改本部门的执法检查人员。"), field="department")


def _refuse_duplicate_certificate(cert: str | None, exclude_id: int | None = None) -> None:
    if not cert:
        return
    stmt = select(Inspector).where(Inspector.certificate_no == cert)
    if exclude_id is not None:
        stmt = stmt.where(Inspector.id != exclude_id)
    other = db.session.execute(stmt).scalar_one_or_none()
    if other is not None:
        raise Conflict("duplicate_certificate",
                       _("执法证号 %(no)s 已登记在“%(name)s”（%(dept)s）名下，执法证号不能重复。请核对证号。",
                         no=cert, name=other.name, dept=other.department.name),
                       field="certificate_no", inspector_id=other.id)


def _apply_inspector(ins: Inspector, values: dict) -> None:
    for key, value in values.items():
        if key == "expertise":
            ins.set_expertise(value)
        else:
            setattr(ins, key, value)


def create_inspector(row: Mapping[str, Any], *, user=None) -> Inspector:
    """Create and return an inspector from a form row (field names as in
    :data:`validation.INSPECTOR_FIELDS`; ``department``/``unit`` by code or name).

    Raises :class:`ValidationFailed` (422), :class:`Conflict` ``duplicate_certificate`` (409) or
    :class:`Forbidden` (403) when ``user`` may not edit that department's data.
    """
    values = _clean_inspector(row)
    _refuse_foreign_department(user, values["department_id"])
    _refuse_duplicate_certificate(values["certificate_no"])
    ins = Inspector(department_id=values["department_id"], name=values["name"])
    _apply_inspector(ins, values)
    db.session.add(ins)
    db.session.flush()
    record("inspector.create", "inspector", ins.id, after=_inspector_state(ins))
    return ins


def update_inspector(ins: Inspector, row: Mapping[str, Any], expected_version: int | str | None, *,
                     user=None) -> Inspector:
    """Apply a form row to ``ins`` and return it; errors as in :func:`create_inspector`, and
    :class:`Conflict` ``stale_version`` (409) on a lost update."""
    _refuse_foreign_department(user, ins.department_id)
    check_version(ins.version, expected_version)
    values = _clean_inspector(row)
    _refuse_foreign_department(user, values["department_id"])
    _refuse_duplicate_certificate(values["certificate_no"], exclude_id=ins.id)
    before = _inspector_state(ins)
    _apply_inspector(ins, values)
    if _inspector_state(ins) != before:
        ins.updated_at = utcnow()  # a change of expertise only must still bump the version
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("stale_version", _("该记录刚被他人修改。请重新打开编辑页面，在最新内容上修改。")) from None
    b, a = diff(before, _inspector_state(ins))
    a.pop("version", None)
    b.pop("version", None)
    if a:
        record("inspector.update", "inspector", ins.id, before=b, after=a)
    return ins
