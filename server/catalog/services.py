"""Operations on the check-item list and the checklist templates.

Plain functions; they validate, change, audit and ``flush()`` — the request or CLI command
commits. Every refusal is a :class:`~server.core.errors.DomainError` with a stable code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ..audit.services import diff, record, snapshot
from ..core.errors import Conflict, DomainError, NotFound, ValidationFailed
from ..core.models import utcnow
from ..extensions import db
from ..org.models import Department, Kind
from ..registry.models import ObjectType
from .models import (
    CheckItem,
    CheckItemKey,
    ChecklistQuestion,
    ChecklistTemplate,
    CheckMethod,
    ListEdition,
    QuestionType,
    Status,
)

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


# -- editions -------------------------------------------------------------------------------------


def current_edition() -> ListEdition | None:
    """Return the published edition with the highest number (the list in force), or None."""
    return db.session.execute(
        select(ListEdition).where(ListEdition.status == Status.PUBLISHED)
        .order_by(ListEdition.number.desc()).limit(1)
    ).scalar_one_or_none()


def draft_edition() -> ListEdition | None:
    """Return the edition being prepared, if any (there is at most one)."""
    return db.session.execute(
        select(ListEdition).where(ListEdition.status == Status.DRAFT).limit(1)
    ).scalar_one_or_none()


def list_editions() -> list[ListEdition]:
    """Return every edition, newest first (the edition history)."""
    return list(db.session.execute(select(ListEdition).order_by(ListEdition.number.desc())).scalars())


def get_edition(edition_id: int) -> ListEdition:
    """Return the edition or raise NotFound (404)."""
    edition = db.session.get(ListEdition, edition_id)
    if edition is None:
        raise NotFound("edition_not_found", _("找不到该清单版本。"))
    return edition


#: columns left out of audit snapshots: they change on every write and say nothing
NOISE = ("updated_at", "row_version")


def _edition_state(edition: ListEdition) -> dict:
    return snapshot(edition, exclude=NOISE)


def _clean_edition(title: str | None, issuer_id: Any) -> tuple[str, int]:
    errors: dict[str, str] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = _("请填写清单名称。")
    elif len(title) > 200:
        errors["title"] = _("清单名称不能超过 200 个字。")
    issuer = _department_or_none(issuer_id)
    if issuer is None:
        errors["issuer_id"] = _("请选择有效的发布部门。")
    if errors:
        raise ValidationFailed(errors)
    return title, issuer.id


def _ensure_draft_edition(edition: ListEdition) -> None:
    if edition.status is not Status.DRAFT:
        raise Conflict("edition_published",
                       _("已发布的清单版本不能修改。请先“新建版本”，在新的草稿中修改。"))


def create_edition(*, title: str, issuer_id: int, note: str | None = None) -> ListEdition:
    """Start a new draft edition. When an edition is in force, its items are copied into the draft
    (their codes are kept). Raises Conflict ``draft_exists`` if a draft is already open."""
    if draft_edition() is not None:
        raise Conflict("draft_exists", _("已有一个草稿版本。请先发布或删除该草稿，再新建版本。"))
    title, issuer_id = _clean_edition(title, issuer_id)
    number = (db.session.execute(select(func.max(ListEdition.number))).scalar() or 0) + 1
    edition = ListEdition(number=number, title=title, issuer_id=issuer_id, status=Status.DRAFT,
                          note=(note or "").strip() or None)
    db.session.add(edition)
    source = current_edition()
    db.session.flush()
    copied = 0
    if source is not None:
        for item in source.items:
            clone = CheckItem(
                key=item.key, seq=item.seq, domain=item.domain, name=item.name,
                content=item.content, legal_basis=item.legal_basis, object_scope=item.object_scope,
                object_type=item.object_type, initiating_department_id=item.initiating_department_id,
                methods=list(item.methods), default_ratio=item.default_ratio,
                frequency=item.frequency, times_per_year=item.times_per_year,
            )
            edition.items.append(clone)
            clone.cooperating_departments = list(item.cooperating_departments)
            copied += 1
        db.session.flush()
    record("check_list_edition.create", "check_list_edition", edition.id, after=_edition_state(edition),
           note=(f"copied {copied} items from edition {source.number}" if source else None))
    return edition


def update_edition(edition: ListEdition, *, title: str, issuer_id: int, note: str | None = None) -> ListEdition:
    """Change a draft edition's title, issuer or note."""
    _ensure_draft_edition(edition)
    title, issuer_id = _clean_edition(title, issuer_id)
    before = _edition_state(edition)
    edition.title, edition.issuer_id, edition.note = title, issuer_id, (note or "").strip() or None
    db.session.flush()
    b, a = diff(before, _edition_state(edition))
    if a:
        record("check_list_edition.update", "check_list_edition", edition.id, before=b, after=a)
    return edition


def publish_edition(edition: ListEdition) -> ListEdition:
    """Publish a draft: it becomes the current, public and immutable list."""
    _ensure_draft_edition(edition)
    if not edition.items:
        raise DomainError("edition_empty", _("该版本还没有任何抽查事项，不能发布。请先添加事项。"))
    before = _edition_state(edition)
    edition.status = Status.PUBLISHED
    edition.published_at = utcnow()
    db.session.flush()
    b, a = diff(before, _edition_state(edition))
    record("check_list_edition.publish", "check_list_edition", edition.id, before=b, after=a,
           note=f"{len(edition.items)} items")
    return edition


def delete_edition(edition: ListEdition) -> None:
    """Delete a draft edition and its items (a published edition is never deleted)."""
    _ensure_draft_edition(edition)
    before = _edition_state(edition)
    before["items"] = [_item_state(i) for i in edition.items]
    edition_id = edition.id
    db.session.delete(edition)
    db.session.flush()
    record("check_list_edition.delete", "check_list_edition", edition_id, before=before)


# -- items ----------------------------------------------------------------------------------------


def _department_or_none(value: Any) -> Department | None:
    try:
        dept_id = int(value)
    except (TypeError, ValueError):
        return None
    dept = db.session.get(Department, dept_id)
    # units (科室, 市场监管所) act for their department; the list names departments only
    if dept is None or not dept.active or dept.kind is not Kind.DEPARTMENT:
        return None
    return dept


def parse_ratio(value: Any) -> Decimal:
    """Return the ratio as a Decimal with at most 4 places; "3%" means 0.03.

    Raises DomainError ``bad_ratio`` unless 0 < ratio ≤ 1."""
    text = str(value if value is not None else "").strip().replace("％", "%")
    if not text:
        raise DomainError("bad_ratio", _("请填写默认抽查比例（如 0.03 或 3%）。"), field="default_ratio")
    percent = text.endswith("%")
    try:
        ratio = Decimal(text[:-1].strip() if percent else text)
    except InvalidOperation:
        raise DomainError("bad_ratio", _("抽查比例“%(v)s”不是数字。请填写 0 到 1 之间的小数（如 0.03）或百分数（如 3%%）。",
                                         v=text), field="default_ratio") from None
    if not ratio.is_finite():
        raise DomainError("bad_ratio", _("抽查比例“%(v)s”不是数字。请填写 0 到 1 之间的小数（如 0.03）或百分数（如 3%%）。",
                                         v=text), field="default_ratio")
    if percent:
        ratio = ratio / 100
    if not (Decimal(0) < ratio <= Decimal(1)):
        raise DomainError("bad_ratio", _("抽查比例须大于 0 且不超过 1（100%）。"), field="default_ratio")
    if ratio != ratio.quantize(Decimal("0.0001")):
        raise DomainError("bad_ratio", _("抽查比例最多精确到万分之一（如 0.0005 即 0.05%）。"), field="default_ratio")
    return ratio.quantize(Decimal("0.0001"))


@dataclass
class ItemData:
    """The validated fields of a check item."""

    domain: str
    name: str
    content: str
    legal_basis: str
    object_scope: str
    object_type: ObjectType
    initiating_department_id: int
    cooperating_department_ids: list[int]
    methods: list[str]
    default_ratio: Decimal
    frequency: str
    times_per_year: int | None
    code: str | None = None
    seq: int | None = None
    extra: dict = field(default_factory=dict)


TEXT_LIMITS = {"domain": 200, "name": 200, "object_scope": 300, "frequency": 60}


def clean_item_data(raw: Mapping[str, Any]) -> ItemData:
    """Validate raw input (a form or a dict) and return :class:`ItemData`.

    ``cooperating_department_ids`` and ``methods`` may be lists (``getlist`` of a form).
    Raises :class:`ValidationFailed` (422) listing every bad field."""
    errors: dict[str, str] = {}

    def text(name: str, label: str, required: bool = True) -> str:
        value = str(raw.get(name) or "").strip()
        if required and not value:
            errors[name] = _("请填写%(label)s。", label=label)
        limit = TEXT_LIMITS.get(name)
        if limit and len(value) > limit:
            errors[name] = _("%(label)s不能超过 %(n)s 个字。", label=label, n=limit)
        return value

    def many(name: str) -> list[str]:
        value = raw.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        return [str(v).strip() for v in value if str(v).strip()]

    domain = text("domain", _("抽查领域"))
    name = text("name", _("抽查事项名称"))
    content = text("content", _("检查内容"))
    legal_basis = text("legal_basis", _("检查依据"))
    object_scope = text("object_scope", _("检查对象"))
    frequency = text("frequency", _("抽查频次"))

    code = str(raw.get("code") or "").strip() or None
    if code is not None and not CODE_RE.match(code):
        errors["code"] = _("事项编码只能由字母、数字、点、下划线和连字符组成，最长 40 个字符。")

    seq = None
    seq_raw = str(raw.get("seq") or "").strip()
    if seq_raw:
        try:
            seq = int(seq_raw)
            if seq < 1:
                raise ValueError
        except ValueError:
            errors["seq"] = _("序号须为正整数。")

    object_type = None
    try:
        object_type = ObjectType(str(raw.get("object_type") or ""))
    except ValueError:
        errors["object_type"] = _("请选择检查对象类型。")

    initiating = _department_or_none(raw.get("initiating_department_id"))
    if initiating is None:
        if str(raw.get("initiating_department_id") or "").strip():
            errors["initiating_department_id"] = _("发起部门不存在或已停用，或是内设机构（派出机构）。请从列表中选择。")
        else:
            errors["initiating_department_id"] = _("请选择发起部门。")

    coop_ids: list[int] = []
    for value in many("cooperating_department_ids"):
        dept = _department_or_none(value)
        if dept is None:
            errors["cooperating_department_ids"] = _("配合部门（编号 %(v)s）不存在或已停用。请从列表中选择。", v=value)
            break
        if initiating is not None and dept.id == initiating.id:
            errors["cooperating_department_ids"] = _("发起部门不能同时作为配合部门。")
            break
        if dept.id not in coop_ids:
            coop_ids.append(dept.id)

    methods = many("methods")
    valid_methods = [m.value for m in CheckMethod]
    if not methods:
        errors["methods"] = _("请至少选择一种检查方式。")
    elif any(m not in valid_methods for m in methods):
        errors["methods"] = _("检查方式只能是实地检查、书面检查、网络监测或抽样检测。")
    else:
        methods = [m for m in valid_methods if m in methods]  # stable order, no duplicates

    ratio = None
    try:
        ratio = parse_ratio(raw.get("default_ratio"))
    except DomainError as err:
        errors["default_ratio"] = err.message

    times = None
    times_raw = str(raw.get("times_per_year") or "").strip()
    if times_raw:
        try:
            times = int(times_raw)
            if not 1 <= times <= 365:
                raise ValueError
        except ValueError:
            errors["times_per_year"] = _("每年次数须为 1 到 365 之间的整数，或留空。")

    if errors:
        raise ValidationFailed(errors)
    return ItemData(domain=domain, name=name, content=content, legal_basis=legal_basis,
                    object_scope=object_scope, object_type=object_type,
                    initiating_department_id=initiating.id, cooperating_department_ids=coop_ids,
                    methods=methods, default_ratio=ratio, frequency=frequency,
                    times_per_year=times, code=code, seq=seq)


def _item_state(item: CheckItem) -> dict:
    data = snapshot(item, exclude=NOISE)
    data["code"] = item.key.code if item.key else None
    data["cooperating_department_ids"] = sorted(d.id for d in item.cooperating_departments)
    return data


def get_item(item_id: int) -> CheckItem:
    """Return the item or raise NotFound (404)."""
    item = db.session.get(CheckItem, item_id)
    if item is None:
        raise NotFound("item_not_found", _("找不到该抽查事项。"))
    return item


def _next_code() -> str:
    existing = set(db.session.execute(select(CheckItemKey.code)).scalars())
    n = len(existing) + 1
    while f"CI-{n:04d}" in existing:
        n += 1
    return f"CI-{n:04d}"


def _key_for(code: str) -> CheckItemKey:
    key = db.session.execute(select(CheckItemKey).where(CheckItemKey.code == code)).scalar_one_or_none()
    if key is None:
        key = CheckItemKey(code=code)
        db.session.add(key)
        db.session.flush()
    return key


def _apply(item: CheckItem, data: ItemData) -> None:
    item.domain, item.name, item.content = data.domain, data.name, data.content
    item.legal_basis, item.object_scope, item.object_type = data.legal_basis, data.object_scope, data.object_type
    item.initiating_department_id = data.initiating_department_id
    item.cooperating_departments = [db.session.get(Department, i) for i in data.cooperating_department_ids]
    item.methods = list(data.methods)
    item.default_ratio = data.default_ratio
    item.frequency, item.times_per_year = data.frequency, data.times_per_year


def create_item(edition: ListEdition, data: ItemData) -> CheckItem:
    """Add an item to a draft edition. A given code that is new gets a new key; a code that
    already exists refers to "the same item" as in earlier editions (it must not already be in
    this edition). Without a code, one is generated (CI-0001 …)."""
    _ensure_draft_edition(edition)
    code = data.code or _next_code()
    in_edition = db.session.execute(
        select(CheckItem.id).join(CheckItemKey).where(CheckItem.edition_id == edition.id, CheckItemKey.code == code)
    ).first()
    if in_edition:
        raise ValidationFailed({"code": _("事项编码 %(c)s 在本版本中已存在。请换一个编码。", c=code)})
    seq = data.seq or (max((i.seq for i in edition.items), default=0) + 1)
    item = CheckItem(key=_key_for(code), seq=seq)
    edition.items.append(item)
    _apply(item, data)
    db.session.flush()
    record("check_item.create", "check_item", item.id, after=_item_state(item))
    return item


def update_item(item: CheckItem, data: ItemData, *, expected_version: int | None = None) -> CheckItem:
    """Change an item of a draft edition. The code cannot change (it is the item's identity).

    ``expected_version`` is the ``row_version`` the form was loaded with; a stale edit is refused
    with Conflict ``stale_item``."""
    _ensure_draft_edition(item.edition)
    if expected_version is not None and expected_version != item.row_version:
        raise Conflict("stale_item", _("该事项已被他人修改。请重新打开后再编辑，以免覆盖他人的修改。"))
    if data.code and data.code != item.code:
        raise ValidationFailed({"code": _("事项编码是事项的长期标识，不能修改。")})
    before = _item_state(item)
    _apply(item, data)
    if data.seq:
        item.seq = data.seq
    db.session.flush()
    b, a = diff(before, _item_state(item))
    if a:
        record("check_item.update", "check_item", item.id, before=b, after=a)
    return item


def delete_item(item: CheckItem) -> None:
    """Remove an item from a draft edition (its code and checklists stay for other editions)."""
    _ensure_draft_edition(item.edition)
    before = _item_state(item)
    item_id = item.id
    item.edition.items.remove(item)
    db.session.delete(item)
    db.session.flush()
    record("check_item.delete", "check_item", item_id, before=before)


def search_items(edition: ListEdition | None, *, q: str = "", department_id: int | None = None,
                 object_type: str | None = None, domain: str | None = None):
    """Return a SELECT of the edition's items filtered by text, department (initiating or
    cooperating), object type and domain, in list order."""
    stmt = select(CheckItem).join(CheckItemKey)
    if edition is not None:
        stmt = stmt.where(CheckItem.edition_id == edition.id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(CheckItem.name.ilike(like), CheckItem.domain.ilike(like),
                              CheckItem.content.ilike(like), CheckItemKey.code.ilike(like),
                              CheckItem.object_scope.ilike(like)))
    if department_id:
        coop = select(CheckItem.id).join(CheckItem.cooperating_departments).where(Department.id == department_id)
        stmt = stmt.where(or_(CheckItem.initiating_department_id == department_id, CheckItem.id.in_(coop)))
    if object_type:
        try:
            stmt = stmt.where(CheckItem.object_type == ObjectType(object_type))
        except ValueError:
            pass
    if domain:
        stmt = stmt.where(CheckItem.domain == domain)
    return stmt.order_by(CheckItem.seq, CheckItem.id)


# -- checklist templates --------------------------------------------------------------------------


def _template_state(t: ChecklistTemplate) -> dict:
    return snapshot(t, exclude=NOISE)


def _question_state(q: ChecklistQuestion) -> dict:
    return snapshot(q)


def get_template(template_id: int) -> ChecklistTemplate:
    """Return the checklist version or raise NotFound (404)."""
    t = db.session.get(ChecklistTemplate, template_id)
    if t is None:
        raise NotFound("template_not_found", _("找不到该检查表。"))
    return t


def template_versions(item_key_id: int, department_id: int) -> list[ChecklistTemplate]:
    """Return every version of one department's checklist for an item, newest first."""
    return list(db.session.execute(
        select(ChecklistTemplate).where(ChecklistTemplate.item_key_id == item_key_id,
                                        ChecklistTemplate.department_id == department_id)
        .order_by(ChecklistTemplate.version.desc())
    ).scalars())


def _dept_id(department: Department | int) -> int:
    return department if isinstance(department, int) else department.id


def current_template(check_item: CheckItem, department: Department | int) -> ChecklistTemplate | None:
    """Return the latest *published* version of ``department``'s checklist for the item, or None."""
    return db.session.execute(
        select(ChecklistTemplate).where(
            ChecklistTemplate.item_key_id == check_item.key_id,
            ChecklistTemplate.department_id == _dept_id(department),
            ChecklistTemplate.status == Status.PUBLISHED,
        ).order_by(ChecklistTemplate.version.desc()).limit(1)
    ).scalar_one_or_none()


def latest_template(check_item: CheckItem, department: Department | int) -> ChecklistTemplate | None:
    """Return the newest version (draft or published) of a department's checklist, or None."""
    versions = template_versions(check_item.key_id, _dept_id(department))
    return versions[0] if versions else None


def item_for_template(template: ChecklistTemplate) -> CheckItem | None:
    """Return the item row the checklist belongs to in the newest edition that holds its code."""
    return db.session.execute(
        select(CheckItem).join(ListEdition).where(CheckItem.key_id == template.item_key_id)
        .order_by(ListEdition.number.desc()).limit(1)
    ).scalar_one_or_none()


def _ensure_template_editable(template: ChecklistTemplate) -> None:
    if template.used:
        raise Conflict("template_used", _("该检查表版本已被抽查任务使用，永远不能修改或删除。如需调整，请“新建版本”。"))
    if template.status is not Status.DRAFT:
        raise Conflict("template_immutable", _("已发布的检查表版本不能修改。请先“新建版本”，在新的草稿中修改。"))


def _clean_title(title: str | None) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationFailed({"title": _("请填写检查表名称。")})
    if len(title) > 200:
        raise ValidationFailed({"title": _("检查表名称不能超过 200 个字。")})
    return title


def create_template(check_item: CheckItem, department_id: Any, *, title: str | None = None) -> ChecklistTemplate:
    """Start version 1 (a draft) of a department's checklist for an item. The department must be
    the item's initiating or a cooperating department; each department has one checklist per item."""
    dept = _department_or_none(department_id)
    if dept is None or dept.id not in {d.id for d in check_item.departments}:
        raise ValidationFailed({"department_id": _("检查表只能由该事项的发起部门或配合部门编制。请从列表中选择部门。")})
    if template_versions(check_item.key_id, dept.id):
        raise Conflict("template_exists", _("%(d)s 已有该事项的检查表。请打开它并“新建版本”。", d=dept.name))
    title = _clean_title(title or f"{check_item.name}实地检查表（{dept.short_name or dept.name}）")
    t = ChecklistTemplate(item_key_id=check_item.key_id, department_id=dept.id, version=1, title=title,
                          status=Status.DRAFT)
    db.session.add(t)
    db.session.flush()
    record("checklist_template.create", "checklist_template", t.id, after=_template_state(t))
    return t


def update_template(template: ChecklistTemplate, *, title: str) -> ChecklistTemplate:
    """Rename a draft version."""
    _ensure_template_editable(template)
    title = _clean_title(title)
    before = _template_state(template)
    template.title = title
    db.session.flush()
    b, a = diff(before, _template_state(template))
    if a:
        record("checklist_template.update", "checklist_template", template.id, before=b, after=a)
    return template


def publish_template(template: ChecklistTemplate) -> ChecklistTemplate:
    """Publish a draft version; from now on it is immutable and is the department's current checklist."""
    _ensure_template_editable(template)
    if not template.questions:
        raise DomainError("template_empty", _("检查表还没有任何检查问题，不能发布。请先添加问题。"))
    before = _template_state(template)
    template.status = Status.PUBLISHED
    template.published_at = utcnow()
    db.session.flush()
    b, a = diff(before, _template_state(template))
    record("checklist_template.publish", "checklist_template", template.id, before=b, after=a)
    return template


def new_template_version(template: ChecklistTemplate) -> ChecklistTemplate:
    """Copy a published version into a new draft (version + 1) and return the draft.

    Raises Conflict ``draft_exists`` when a draft of this checklist is already open."""
    versions = template_versions(template.item_key_id, template.department_id)
    draft = next((v for v in versions if v.status is Status.DRAFT), None)
    if draft is not None:
        raise Conflict("draft_exists", _("该检查表已有草稿版本（第 %(v)s 版）。请直接编辑该草稿。", v=draft.version))
    new = ChecklistTemplate(item_key_id=template.item_key_id, department_id=template.department_id,
                            version=versions[0].version + 1, title=template.title, status=Status.DRAFT)
    for q in template.questions:
        new.questions.append(ChecklistQuestion(
            position=q.position, kind=q.kind, text=q.text, required=q.required, help_text=q.help_text,
            legal_basis=q.legal_basis, options=list(q.options) if q.options else None, unit=q.unit,
            min_value=q.min_value, max_value=q.max_value,
        ))
    db.session.add(new)
    db.session.flush()
    record("checklist_template.new_version", "checklist_template", new.id, after=_template_state(new),
           note=f"copied from version {template.version} (#{template.id})")
    return new


def delete_template(template: ChecklistTemplate) -> None:
    """Delete a draft version (published and used versions are kept forever)."""
    _ensure_template_editable(template)
    before = _template_state(template)
    before["questions"] = [_question_state(q) for q in template.questions]
    tid = template.id
    db.session.delete(template)
    db.session.flush()
    record("checklist_template.delete", "checklist_template", tid, before=before)


def mark_template_used(template: ChecklistTemplate) -> ChecklistTemplate:
    """Record that a task uses this version (idempotent). Only a published version can be used;
    after this it can never be changed or deleted."""
    if template.status is not Status.PUBLISHED:
        raise Conflict("template_not_published", _("只能使用已发布的检查表版本。"))
    if template.used_at is None:
        template.used_at = utcnow()
        db.session.flush()
        record("checklist_template.mark_used", "checklist_template", template.id,
               before={"used_at": None}, after={"used_at": template.used_at})
    return template


# -- questions ------------------------------------------------------------------------------------


@dataclass
class QuestionData:
    kind: QuestionType
    text: str
    required: bool
    help_text: str | None
    legal_basis: str | None
    options: list[str] | None
    unit: str | None
    min_value: Decimal | None
    max_value: Decimal | None


def _truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "on", "yes", "y"}


def clean_question_data(raw: Mapping[str, Any]) -> QuestionData:
    """Validate a question. ``options`` may be a list or text with one option per line.

    Raises :class:`ValidationFailed` (422) listing every bad field."""
    errors: dict[str, str] = {}
    kind = None
    try:
        kind = QuestionType(str(raw.get("kind") or ""))
    except ValueError:
        errors["kind"] = _("请选择题型。")
    text = str(raw.get("text") or "").strip()
    if not text:
        errors["text"] = _("请填写检查问题。")
    elif len(text) > 500:
        errors["text"] = _("检查问题不能超过 500 个字。")

    options_raw = raw.get("options")
    if isinstance(options_raw, str):
        options_raw = options_raw.splitlines()
    options: list[str] = []
    for opt in options_raw or []:
        opt = str(opt).strip()
        if opt and opt not in options:
            options.append(opt)
    if kind is not None and kind.has_options:
        if len(options) < 2:
            errors["options"] = _("单选题和多选题至少需要两个选项，每行填写一个。")
        elif any(len(o) > 100 for o in options):
            errors["options"] = _("每个选项不能超过 100 个字。")
    else:
        options = []

    unit = str(raw.get("unit") or "").strip() or None
    min_value = max_value = None
    if kind is QuestionType.NUMBER:
        for name, label in (("min_value", _("最小值")), ("max_value", _("最大值"))):
            value = str(raw.get(name) or "").strip()
            if not value:
                continue
            try:
                number = Decimal(value)
                if not number.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                errors[name] = _("%(label)s须为数字，或留空。", label=label)
                continue
            if name == "min_value":
                min_value = number
            else:
                max_value = number
        if min_value is not None and max_value is not None and min_value > max_value:
            errors["max_value"] = _("最大值不能小于最小值。")
        if unit and len(unit) > 40:
            errors["unit"] = _("单位不能超过 40 个字。")
    else:
        unit = None

    if errors:
        raise ValidationFailed(errors)
    return QuestionData(kind=kind, text=text, required=_truthy(raw.get("required")),
                        help_text=str(raw.get("help_text") or "").strip() or None,
                        legal_basis=str(raw.get("legal_basis") or "").strip() or None,
                        options=options or None, unit=unit, min_value=min_value, max_value=max_value)


def _apply_question(q: ChecklistQuestion, data: QuestionData) -> None:
    q.kind, q.text, q.required = data.kind, data.text, data.required
    q.help_text, q.legal_basis, q.options = data.help_text, data.legal_basis, data.options
    q.unit, q.min_value, q.max_value = data.unit, data.min_value, data.max_value


def add_question(template: ChecklistTemplate, data: QuestionData) -> ChecklistQuestion:
    """Append a question at the end of a draft version."""
    _ensure_template_editable(template)
    q = ChecklistQuestion(position=max((x.position for x in template.questions), default=0) + 1)
    _apply_question(q, data)
    template.questions.append(q)
    db.session.flush()
    record("checklist_template.question_add", "checklist_template", template.id,
           after=_question_state(q), note=f"question #{q.id}")
    return q


def get_question(template: ChecklistTemplate, question_id: int) -> ChecklistQuestion:
    """Return the template's question or raise NotFound (404)."""
    q = db.session.get(ChecklistQuestion, question_id)
    if q is None or q.template_id != template.id:
        raise NotFound("question_not_found", _("找不到该检查问题。"))
    return q


def update_question(question: ChecklistQuestion, data: QuestionData) -> ChecklistQuestion:
    """Change a question of a draft version."""
    template = question.template
    _ensure_template_editable(template)
    before = _question_state(question)
    _apply_question(question, data)
    db.session.flush()
    b, a = diff(before, _question_state(question))
    if a:
        record("checklist_template.question_update", "checklist_template", template.id,
               before=b, after=a, note=f"question #{question.id}")
    return question


def move_question(question: ChecklistQuestion, direction: str) -> None:
    """Swap a question with its neighbour (``direction`` "up" or "down"); at an end it stays."""
    template = question.template
    _ensure_template_editable(template)
    if direction not in ("up", "down"):
        raise DomainError("bad_direction", _("移动方向只能是上移或下移。"))
    ordered = list(template.questions)
    for i, q in enumerate(ordered):  # normalise gaps left by deletions
        q.position = i + 1
    idx = ordered.index(question)
    other = idx - 1 if direction == "up" else idx + 1
    if 0 <= other < len(ordered):
        ordered[idx].position, ordered[other].position = ordered[other].position, ordered[idx].position
        db.session.flush()
        db.session.expire(template, ["questions"])
        record("checklist_template.question_move", "checklist_template", template.id,
               before={"question_id": question.id, "position": idx + 1},
               after={"question_id": question.id, "position": other + 1})
    else:
        db.session.flush()


def delete_question(question: ChecklistQuestion) -> None:
    """Remove a question from a draft version."""
    template = question.template
    _ensure_template_editable(template)
    before = _question_state(question)
    template.questions.remove(question)
    db.session.flush()
    record("checklist_template.question_delete", "checklist_template", template.id,
           before=before, note=f"question #{before['id']}")


def copy_questions(template: ChecklistTemplate, questions: Iterable[QuestionData]) -> None:
    """Append several questions to a draft (used by the demo loader)."""
    for data in questions:
        add_question(template, data)
