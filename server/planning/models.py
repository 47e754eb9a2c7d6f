"""Annual joint plans (年度联合抽查计划), ad-hoc tasks (临时性联合抽查) and tasks (抽查任务)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import TimestampMixin, UTCDateTime
from ..extensions import db
from ..org.models import Department, Level
from ..registry.models import InspectedObject


class PlanStatus(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


class AnnualPlan(TimestampMixin, db.Model):
    __tablename__ = "annual_plans"
    __table_args__ = (UniqueConstraint("department_id", "year", "title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    level: Mapped[Level] = mapped_column(enum_column(Level), nullable=False)
    #: the department whose joint office issues the plan
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[PlanStatus] = mapped_column(enum_column(PlanStatus), nullable=False, default=PlanStatus.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)

    department: Mapped[Department] = relationship()
    tasks: Mapped[list[Task]] = relationship(back_populates="plan", order_by="Task.id")


class TaskStatus(enum.Enum):
    DRAFT = "draft"  # 草稿
    PENDING = "pending_acceptance"  # 待各部门确认
    ACCEPTED = "accepted"  # 各部门已确认，可抽取
    OBJECTS_DRAWN = "objects_drawn"  # 已抽取检查对象
    INSPECTORS_DRAWN = "inspectors_drawn"  # 已抽取检查人员并匹配
    VISITS_OVER = "visits_over"  # 检查已结束（名单可公开）
    CANCELLED = "cancelled"


class Task(TimestampMixin, db.Model):
    """A joint (or single-department) spot-check task."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}
    #: the public code used in draw records, e.g. WZ-2026-LH-001
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("annual_plans.id"), index=True)
    #: required for an ad-hoc task outside a plan, filed with the joint office [000#8]
    adhoc_reason: Mapped[str | None] = mapped_column(Text)
    initiating_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False, index=True)
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus), nullable=False, default=TaskStatus.DRAFT,
                                               index=True)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    teams_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    unannounced: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # 不发告知书
    #: object scope filters: region_county, region_towns, object_types, industries, statuses
    #: (default ["active"]), registered_before (ISO date), flags, supervising_department_ids
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: "registry" (scope filters) or "imported" (TaskCandidate rows) [001#9]
    candidate_source: Mapped[str] = mapped_column(String(20), nullable=False, default="registry")
    #: ordered strata: [{"name": "A", "ratio": "0.01"}, …] or [{"name": "ALL", "ratio": "0.05"}]
    strata: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: a task dispatched by a higher-level department's draw [000#13]: objects come from the parent
    parent_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visits_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    plan: Mapped[AnnualPlan | None] = relationship(back_populates="tasks")
    initiating_department: Mapped[Department] = relationship()
    departments: Mapped[list[TaskDepartment]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="TaskDepartment.id"
    )
    check_items: Mapped[list[TaskCheckItem]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="TaskCheckItem.id"
    )
    parent_task: Mapped[Task | None] = relationship(remote_side=[id])

    @property
    def is_joint(self) -> bool:
        return len({d.department_id for d in self.departments}) >= 2

    @property
    def year(self) -> int:
        return self.period_start.year


class Acceptance(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class TaskDepartment(db.Model):
    """A department taking part in a task: its acceptance and its share of each team."""

    __tablename__ = "task_departments"
    __table_args__ = (UniqueConstraint("task_id", "department_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False, index=True)
    is_initiator: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    acceptance: Mapped[Acceptance] = mapped_column(enum_column(Acceptance), nullable=False,
                                                   default=Acceptance.PENDING)
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    members_per_team: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: expertise tags an inspector of this department must have (all of them)
    required_expertise: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: pool narrowing [004§7(三)]: [] = the whole bureau; otherwise unit ids, and 0 = headquarters
    #: (inspectors without a unit)
    unit_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)

    task: Mapped[Task] = relationship(back_populates="departments")
    department: Mapped[Department] = relationship()


class TaskCheckItem(db.Model):
    """A check item of the task, checked by one department with one checklist version."""

    __tablename__ = "task_check_items"
    __table_args__ = (UniqueConstraint("task_id", "department_id", "check_item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    check_item_id: Mapped[int] = mapped_column(ForeignKey("check_items.id"), nullable=False)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_templates.id"))

    task: Mapped[Task] = relationship(back_populates="check_items")


class TaskCandidate(db.Model):
    """An imported candidate list entry [001#9] (used when candidate_source == "imported")."""

    __tablename__ = "task_candidates"
    __table_args__ = (UniqueConstraint("task_id", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("inspected_objects.id"), nullable=False)


class DispatchDecision(db.Model):
    """What was decided, at dispatch [000#13], for a drawn object of the parent task that no
    chosen lower-level department (nor a department joining its child task) supervises: nothing
    is dropped silently. ``decision`` is ``keep`` (checked by the parent task at its own level),
    ``assign`` (given to ``child_task_id``) or ``exclude`` (not checked; ``reason`` required)."""

    __tablename__ = "dispatch_decisions"
    __table_args__ = (UniqueConstraint("parent_task_id", "object_id", name="uq_dispatch_decisions_object"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False,
                                                index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("inspected_objects.id"), nullable=False)
    decision: Mapped[str] = mapped_column(String(20), nullable=False)
    child_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    inspected_object: Mapped[InspectedObject] = relationship()
    child_task: Mapped[Task | None] = relationship(foreign_keys=[child_task_id])
