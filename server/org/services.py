"""Department operations. They flush; the request or CLI command commits. Every change is audited.

The rules that keep the tree meaningful ("a higher-level department" must be computable, [003#15]):

* a parent is at the same or a higher level than its child (province → city → county);
* a unit (内设机构 / 市场监管所) hangs under a department; nothing hangs under a unit;
* no cycles;
* a department with active sub-departments or units cannot be deactivated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..audit.services import diff, record, snapshot
from ..core.errors import Conflict, DomainError, NotFound
from ..extensions import db
from .models import Department, Kind, Level

LEVEL_LABELS = {Level.PROVINCE: _l("省级"), Level.CITY: _l("市级"), Level.COUNTY: _l("县区级")}
KIND_LABELS = {Kind.DEPARTMENT: _l("部门"), Kind.UNIT: _l("内设机构/市场监管所")}

#: the fields a form may set
FIELDS = ("code", "name", "short_name", "level", "kind", "region", "parent_id")


def get_department(department_id: int) -> Department:
    """Return the department or raise NotFound (404)."""
    dept = db.session.get(Department, department_id)
    if dept is None:
        raise NotFound("department_not_found", _("找不到该部门，它可能已被删除或链接有误。"))
    return dept


def _state(dept: Department) -> dict[str, Any]:
    return snapshot(dept, exclude=("created_at", "updated_at"))


def _clean(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _parse_level(value: Any) -> Level:
    if isinstance(value, Level):
        return value
    try:
        return Level(value)
    except ValueError:
        raise DomainError("bad_level", _("请选择层级：省级、市级或县区级。"), field="level") from None


def _parse_kind(value: Any) -> Kind:
    if isinstance(value, Kind):
        return value
    if value in (None, ""):
        return Kind.DEPARTMENT
    try:
        return Kind(value)
    except ValueError:
        raise DomainError("bad_kind", _("请选择类型：部门，或内设机构/市场监管所。"), field="kind") from None


def _parse_parent_id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError("bad_parent", _("请从列表中选择上级部门。"), field="parent_id") from None


def descendant_ids(department_id: int) -> set[int]:
    """Return the ids of every department below ``department_id`` (not itself)."""
    rows = db.session.execute(select(Department.id, Department.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for did, pid in rows:
        children.setdefault(pid, []).append(did)
    out: set[int] = set()
    stack = list(children.get(department_id, []))
    while stack:
        did = stack.pop()
        if did in out:
            continue
        out.add(did)
        stack.extend(children.get(did, []))
    return out


def bureau_scope_ids(department_id: int) -> set[int]:
    """Return the department and its units (recursively): what a department admin manages."""
    rows = db.session.execute(select(Department.id, Department.parent_id, Department.kind)).all()
    units: dict[int | None, list[int]] = {}
    for did, pid, kind in rows:
        if kind is Kind.UNIT:
            units.setdefault(pid, []).append(did)
    out, stack = {department_id}, [department_id]
    while stack:
        for uid in units.get(stack.pop(), []):
            if uid not in out:
                out.add(uid)
                stack.append(uid)
    return out


def _validate(dept: Department | None, data: dict[str, Any]) -> dict[str, Any]:
    """Check a create/update; return the cleaned values or raise DomainError naming the field."""
    code = _clean(data.get("code"))
    name = _clean(data.get("name"))
    if not code:
        raise DomainError("missing_code", _("请填写部门编码（例如统一社会信用代码或内部编号）。"), field="code")
    if len(code) > 40:
        raise DomainError("code_too_long", _("部门编码最多 40 个字符。"), field="code")
    if not name:
        raise DomainError("missing_name", _("请填写部门名称。"), field="name")
    if len(name) > 200:
        raise DomainError("name_too_long", _("部门名称最多 200 个字符。"), field="name")
    short_name = _clean(data.get("short_name"))
    if short_name and len(short_name) > 60:
        raise DomainError("short_name_too_long", _("简称最多 60 个字符。"), field="short_name")
    region = _clean(data.get("region"))
    if region and len(region) > 100:
        raise DomainError("region_too_long", _("行政区划最多 100 个字符。"), field="region")
    level = _parse_level(data.get("level"))
    kind = _parse_kind(data.get("kind"))
    parent_id = _parse_parent_id(data.get("parent_id"))

    other = db.session.execute(
        select(Department).where(func.lower(Department.code) == code.lower())
    ).scalar_one_or_none()
    if other is not None and (dept is None or other.id != dept.id):
        raise Conflict("department_code_taken",
                       _("部门编码 %(code)s 已被“%(name)s”使用，请换一个编码。", code=code, name=other.name),
                       field="code")

    parent = None
    if parent_id is not None:
        parent = db.session.get(Department, parent_id)
        if parent is None:
            raise DomainError("bad_parent", _("所选上级部门不存在，请重新选择。"), field="parent_id")
        if dept is not None and (parent.id == dept.id or parent.id in descendant_ids(dept.id)):
            raise DomainError(
                "department_cycle",
                _("不能把“%(parent)s”设为上级部门：它就是本部门或本部门的下级，会形成循环。",
                  parent=parent.name),
                field="parent_id")
        if not parent.active and (dept is None or dept.parent_id != parent.id):
            raise DomainError("parent_inactive", _("上级部门“%(parent)s”已停用，请选择其他部门。",
                                                   parent=parent.name), field="parent_id")
        if parent.level.rank > level.rank:
            raise DomainError(
                "parent_level_lower",
                _("上级部门“%(parent)s”是%(plevel)s，低于本部门的%(level)s。上级部门必须与本部门同级或更高。",
                  parent=parent.name, plevel=LEVEL_LABELS[parent.level], level=LEVEL_LABELS[level]),
                field="parent_id")
    if kind is Kind.UNIT and parent is None:
        raise DomainError("unit_needs_parent",
                          _("内设机构或市场监管所必须选择所属部门。"), field="parent_id")
    if parent is not None and parent.kind is Kind.UNIT:
        # units hang under a department; nothing hangs under a unit
        raise DomainError(
            "unit_under_unit" if kind is Kind.UNIT else "parent_is_unit",
            _("“%(parent)s”本身是内设机构或市场监管所，不能再设下级。请选择它所属的部门“%(bureau)s”。",
              parent=parent.name, bureau=parent.bureau.name),
            field="parent_id")
    if dept is not None:
        children = db.session.execute(select(Department).where(Department.parent_id == dept.id)).scalars().all()
        if kind is Kind.UNIT and children:
            raise DomainError(
                "unit_has_children",
                _("本部门下还有下级部门或机构（%(names)s），不能改为内设机构。",
                  names="、".join(c.name for c in children[:5])),
                field="kind")
        higher = [c for c in children if c.level.rank < level.rank]
        if higher:
            raise DomainError(
                "child_level_higher",
                _("下级“%(child)s”是%(clevel)s，高于新层级%(level)s。请先调整下级部门。",
                  child=higher[0].name, clevel=LEVEL_LABELS[higher[0].level], level=LEVEL_LABELS[level]),
                field="level")
    return {"code": code, "name": name, "short_name": short_name, "level": level, "kind": kind,
            "region": region, "parent_id": parent_id}


def create_department(**data: Any) -> Department:
    """Create and return a department or unit from form-like ``data`` (keys: FIELDS).

    Raises DomainError (400) on invalid input, Conflict (409) on a taken code."""
    values = _validate(None, data)
    dept = Department(**values, active=True)
    db.session.add(dept)
    db.session.flush()
    record("department.create", "department", dept.id, after=_state(dept))
    return dept


def update_department(dept: Department, **data: Any) -> Department:
    """Change a department from form-like ``data``; return it. Same errors as create."""
    values = _validate(dept, {k: data.get(k) for k in FIELDS})
    before = _state(dept)
    for key, value in values.items():
        setattr(dept, key, value)
    db.session.flush()
    db.session.expire(dept, ["parent"])
    b, a = diff(before, _state(dept))
    if a:
        record("department.update", "department", dept.id, before=b, after=a)
    return dept


def set_department_active(dept: Department, active: bool) -> Department:
    """Deactivate or reactivate a department; return it.

    Raises Conflict (409) when deactivating a department that still has active sub-departments
    or units, or reactivating one whose parent is inactive."""
    if dept.active == active:
        return dept
    if not active:
        live = db.session.execute(
            select(Department).where(Department.parent_id == dept.id, Department.active.is_(True))
        ).scalars().all()
        if live:
            raise Conflict(
                "department_has_active_children",
                _("请先停用下级部门和机构：%(names)s。", names="、".join(c.name for c in live[:5])))
    elif dept.parent is not None and not dept.parent.active:
        raise Conflict("parent_inactive", _("上级部门“%(parent)s”已停用，请先启用上级部门。",
                                            parent=dept.parent.name))
    dept.active = active
    db.session.flush()
    record("department.activate" if active else "department.deactivate", "department", dept.id,
           before={"active": not active}, after={"active": active})
    return dept


def search_departments(q: str | None = None, *, level: Level | None = None, kind: Kind | None = None,
                       active: bool | None = True):
    """Return a select() of departments matching a text fragment (code, name, short name, region)."""
    stmt = select(Department).order_by(Department.code)
    if q:
        like = q.strip()
        stmt = stmt.where(or_(
            Department.name.contains(like, autoescape=True),
            Department.short_name.contains(like, autoescape=True),
            Department.code.contains(like, autoescape=True),
            Department.region.contains(like, autoescape=True),
        ))
    if level is not None:
        stmt = stmt.where(Department.level == level)
    if kind is not None:
        stmt = stmt.where(Department.kind == kind)
    if active is not None:
        stmt = stmt.where(Department.active.is_(active))
    return stmt


def department_tree(departments: Iterable[Department]) -> list[tuple[Department, int]]:
    """Return ``departments`` in tree order as (department, depth): each parent first, then its
    departments, then its units; roots are those whose parent is not among ``departments``."""
    depts = list(departments)
    ids = {d.id for d in depts}
    children: dict[int | None, list[Department]] = {}
    for d in depts:
        children.setdefault(d.parent_id if d.parent_id in ids else None, []).append(d)

    def order(d: Department):
        return (d.kind is Kind.UNIT, d.level.rank, d.code)

    out: list[tuple[Department, int]] = []
    seen: set[int] = set()

    def walk(node: Department, depth: int) -> None:
        if node.id in seen:
            return
        seen.add(node.id)
        out.append((node, depth))
        for child in sorted(children.get(node.id, []), key=order):
            walk(child, depth + 1)

    for root in sorted(children.get(None, []), key=order):
        walk(root, 0)
    return out


def department_choices(*, only_ids: set[int] | None = None, kinds: tuple[Kind, ...] | None = None,
                       include_inactive: bool = False) -> list[tuple[Department, int]]:
    """Return departments for a <select>, in tree order with depth for indentation."""
    stmt = select(Department)
    if not include_inactive:
        stmt = stmt.where(Department.active.is_(True))
    depts = db.session.execute(stmt).scalars().all()
    tree = department_tree(depts)
    return [(d, depth) for d, depth in tree
            if (only_ids is None or d.id in only_ids) and (kinds is None or d.kind in kinds)]
