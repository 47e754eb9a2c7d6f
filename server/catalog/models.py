"""The check-item list (抽查事项清单, 一单) and the checklist templates (检查指引/实地检查表).

* A :class:`ListEdition` is one version of the whole list (第一版, 第二版 …): a draft is edited,
  then published; a published edition never changes. The current list is the published edition
  with the highest number.
* A :class:`CheckItem` is one row of an edition. Its :class:`CheckItemKey` (the stable item code)
  is shared by "the same item" across editions, so tasks and checklists can refer to it.
* A :class:`ChecklistTemplate` is one *version* of one department's checklist for an item
  (keyed by item code and department), with ordered :class:`ChecklistQuestion` rows.
  A published version is immutable; a version a task has used (``used_at``) can never be
  changed or deleted.

Immutability is checked by the services (clear messages) and again by a ``before_flush``
guard (see :func:`guard_immutables`), so code that bypasses the services cannot change
published data either.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..core.models import TimestampMixin, UTCDateTime, utcnow
from ..extensions import db
from ..org.models import Department
from ..registry.models import ObjectType


def _enum(e: type[enum.Enum], length: int = 20) -> Enum:
    return Enum(e, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda members: [m.value for m in members])


class Status(enum.Enum):
    DRAFT = "draft"  # 草稿
    PUBLISHED = "published"  # 已发布


STATUS_LABELS = {Status.DRAFT: _l("草稿"), Status.PUBLISHED: _l("已发布")}


class CheckMethod(enum.Enum):
    ONSITE = "onsite"  # 实地检查
    DOCUMENTS = "documents"  # 书面检查
    ONLINE = "online"  # 网络监测
    SAMPLING = "sampling"  # 抽样检测


METHOD_LABELS = {
    CheckMethod.ONSITE: _l("实地检查"),
    CheckMethod.DOCUMENTS: _l("书面检查"),
    CheckMethod.ONLINE: _l("网络监测"),
    CheckMethod.SAMPLING: _l("抽样检测"),
}

OBJECT_TYPE_LABELS = {
    ObjectType.ENTERPRISE: _l("企业"),
    ObjectType.INDIVIDUAL: _l("个体工商户"),
    ObjectType.COOPERATIVE: _l("农民专业合作社"),
    ObjectType.OTHER: _l("其他主体"),
    ObjectType.PRODUCT: _l("产品"),
    ObjectType.PROJECT: _l("项目"),
}


class QuestionType(enum.Enum):
    YES_NO_NA = "yes_no_na"  # 是/否/不适用
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    PHOTO = "photo"  # a photo must be taken

    @property
    def has_options(self) -> bool:
        return self in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)


QUESTION_TYPE_LABELS = {
    QuestionType.YES_NO_NA: _l("是/否/不适用"),
    QuestionType.SINGLE_CHOICE: _l("单选"),
    QuestionType.MULTIPLE_CHOICE: _l("多选"),
    QuestionType.TEXT: _l("文字"),
    QuestionType.NUMBER: _l("数值"),
    QuestionType.DATE: _l("日期"),
    QuestionType.PHOTO: _l("拍照（必须拍照）"),
}


class ListEdition(TimestampMixin, db.Model):
    """One edition of the check-item list, e.g. 武陟县市场监管领域部门联合抽查事项清单（第一版）."""

    __tablename__ = "check_list_editions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)  # 版次
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False, index=True)
    status: Mapped[Status] = mapped_column(_enum(Status), nullable=False, default=Status.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)

    issuer: Mapped[Department] = relationship()
    items: Mapped[list[CheckItem]] = relationship(
        back_populates="edition", cascade="all, delete-orphan", order_by="CheckItem.seq"
    )

    @property
    def is_draft(self) -> bool:
        return self.status is Status.DRAFT

    def __repr__(self) -> str:
        return f"<ListEdition {self.number} {self.status.value}>"


class CheckItemKey(db.Model):
    """The stable identity of a check item: its code, kept across editions."""

    __tablename__ = "check_item_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


check_item_cooperating = db.Table(
    "check_item_cooperating_departments",
    Column("check_item_id", ForeignKey("check_items.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id"), primary_key=True),
)


class CheckItem(TimestampMixin, db.Model):
    """One row of an edition of the list (抽查事项)."""

    __tablename__ = "check_items"
    __table_args__ = (
        UniqueConstraint("edition_id", "key_id"),
        CheckConstraint("default_ratio > 0 AND default_ratio <= 1", name="ratio_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: optimistic lock: an edit made from a stale form is refused
    row_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": row_version}
    edition_id: Mapped[int] = mapped_column(
        ForeignKey("check_list_editions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    key_id: Mapped[int] = mapped_column(ForeignKey("check_item_keys.id"), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)  # 序号
    domain: Mapped[str] = mapped_column(String(200), nullable=False, index=True)  # 抽查领域
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)  # 抽查事项
    content: Mapped[str] = mapped_column(Text, nullable=False)  # 检查内容
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)  # 检查依据
    object_scope: Mapped[str] = mapped_column(String(300), nullable=False)  # 检查对象（描述）
    object_type: Mapped[ObjectType] = mapped_column(_enum(ObjectType), nullable=False, index=True)
    initiating_department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id"), nullable=False, index=True
    )
    #: method codes, a subset of :class:`CheckMethod` values, in display order
    methods: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    default_ratio: Mapped[Decimal] = mapped_column(Numeric(5, 4), nullable=False)  # 抽查比例
    frequency: Mapped[str] = mapped_column(String(60), nullable=False)  # 抽查频次, e.g. 每年1次
    times_per_year: Mapped[int | None] = mapped_column(Integer)

    edition: Mapped[ListEdition] = relationship(back_populates="items")
    key: Mapped[CheckItemKey] = relationship(lazy="joined")
    initiating_department: Mapped[Department] = relationship()
    cooperating_departments: Mapped[list[Department]] = relationship(
        secondary=check_item_cooperating, order_by=Department.id
    )

    @property
    def code(self) -> str:
        return self.key.code

    @property
    def method_enums(self) -> list[CheckMethod]:
        return [CheckMethod(m) for m in self.methods or []]

    @property
    def departments(self) -> list[Department]:
        """The initiating department first, then the cooperating ones."""
        return [self.initiating_department, *self.cooperating_departments]

    def __repr__(self) -> str:
        return f"<CheckItem {self.key_id} in edition {self.edition_id}>"


class ChecklistTemplate(TimestampMixin, db.Model):
    """One version of one department's checklist (检查指引/实地检查表) for a check item."""

    __tablename__ = "checklist_templates"
    __table_args__ = (UniqueConstraint("item_key_id", "department_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_key_id: Mapped[int] = mapped_column(ForeignKey("check_item_keys.id"), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[Status] = mapped_column(_enum(Status), nullable=False, default=Status.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: set when a task first uses this version; from then on it can never change or be deleted
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    item_key: Mapped[CheckItemKey] = relationship()
    department: Mapped[Department] = relationship()
    questions: Mapped[list[ChecklistQuestion]] = relationship(
        back_populates="template", cascade="all, delete-orphan",
        order_by="(ChecklistQuestion.position, ChecklistQuestion.id)",
    )

    @property
    def is_draft(self) -> bool:
        return self.status is Status.DRAFT

    @property
    def used(self) -> bool:
        return self.used_at is not None

    def __repr__(self) -> str:
        return f"<ChecklistTemplate {self.item_key_id}/{self.department_id} v{self.version}>"


class ChecklistQuestion(db.Model):
    """One question of a checklist version."""

    __tablename__ = "checklist_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_templates.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[QuestionType] = mapped_column(_enum(QuestionType), nullable=False)
    text: Mapped[str] = mapped_column(String(500), nullable=False)
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    help_text: Mapped[str | None] = mapped_column(Text)  # 填写说明
    legal_basis: Mapped[str | None] = mapped_column(Text)
    options: Mapped[list[str] | None] = mapped_column(JSON)  # single/multiple choice
    unit: Mapped[str | None] = mapped_column(String(40))  # number
    min_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    max_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))

    template: Mapped[ChecklistTemplate] = relationship(back_populates="questions")


# -- the guard behind the services ---------------------------------------------------------------


def _committed(obj: Any, attr: str) -> Any:
    """Return the value ``attr`` had when ``obj`` was loaded (before this transaction changed it)."""
    hist = sa_inspect(obj).attrs[attr].history
    if hist.deleted:
        return hist.deleted[0]
    if hist.unchanged:
        return hist.unchanged[0]
    return getattr(obj, attr)


def _changed_attrs(obj: Any) -> set[str]:
    return {a.key for a in sa_inspect(obj).attrs if a.history.has_changes()}


def guard_immutables(session: Session, flush_context, instances) -> None:
    """Refuse any flush that would change a published edition, its items, or a published
    checklist version (only ``used_at`` may still be set on one)."""
    from flask_babel import gettext as _

    from ..core.errors import Conflict

    def edition_locked(edition: ListEdition | None) -> bool:
        return edition is not None and _committed(edition, "status") is Status.PUBLISHED

    def template_locked(template: ChecklistTemplate | None) -> bool:
        return template is not None and _committed(template, "status") is Status.PUBLISHED

    def edition_error():
        return Conflict("edition_published", _("已发布的清单版本不能修改。请先“新建版本”，在新的草稿中修改。"))

    def template_error():
        return Conflict("template_immutable",
                        _("已发布的检查表版本不能修改。请先“新建版本”，在新的草稿中修改。"))

    for obj in list(session.new):
        if isinstance(obj, CheckItem) and obj.edition is not None and edition_locked(obj.edition):
            raise edition_error()
        if isinstance(obj, ChecklistQuestion) and obj.template is not None and template_locked(obj.template):
            raise template_error()
    for obj in list(session.dirty):
        if not session.is_modified(obj):
            continue
        if isinstance(obj, ListEdition) and edition_locked(obj):
            if _changed_attrs(obj) - {"updated_at"}:
                raise edition_error()
        elif isinstance(obj, CheckItem) and edition_locked(obj.edition):
            raise edition_error()
        elif isinstance(obj, ChecklistTemplate) and template_locked(obj):
            if _changed_attrs(obj) - {"used_at", "updated_at"}:
                raise template_error()
        elif isinstance(obj, ChecklistQuestion) and template_locked(obj.template):
            raise template_error()
    for obj in list(session.deleted):
        if isinstance(obj, ListEdition) and edition_locked(obj):
            raise edition_error()
        if isinstance(obj, CheckItem) and edition_locked(obj.edition):
            raise edition_error()
        if isinstance(obj, ChecklistTemplate) and template_locked(obj):
            raise template_error()
        if isinstance(obj, ChecklistQuestion) and template_locked(obj.template):
            raise template_error()


event.listen(Session, "before_flush", guard_immutables)
