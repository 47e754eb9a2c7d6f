"""Visits: one drawn object for one team, with each participating department's items. The field
app downloads these (issue: field app)."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import UTCDateTime, utcnow
from ..extensions import db
from ..registry.models import InspectedObject


class VisitStatus(enum.Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    WITHDRAWN = "withdrawn"


class VisitStage(enum.Enum):
    """Where the visit is on its way to a published result (issue 8 §2): the field progress is
    :class:`VisitStatus`; the stage is the back office's view of it.

    planned → scheduled (a date is set) → visited (every section finished and synced) →
    consolidated (the leader consolidated the sections) → reviewed (every department accepted its
    section) → published (issue 9). ``returned``: a department's reviewer returned its section to
    the inspector; once a corrected version arrives, the leader consolidates again."""

    PLANNED = "planned"
    SCHEDULED = "scheduled"
    VISITED = "visited"
    CONSOLIDATED = "consolidated"
    RETURNED = "returned"
    REVIEWED = "reviewed"
    PUBLISHED = "published"


class Visit(db.Model):
    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("task_id", "object_id"),
        # statistics count visits per task by stage and visit date (server/stats, docs/benchmarks.md)
        Index("ix_visits_stats", "task_id", "stage", "status", "visited_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("inspected_objects.id"), nullable=False, index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), nullable=False, index=True)
    status: Mapped[VisitStatus] = mapped_column(enum_column(VisitStatus), nullable=False,
                                                default=VisitStatus.PLANNED)
    # -- schedule (issue 8 §1): set by the team leader [000#17, 002#13] -----------------------------
    scheduled_on: Mapped[date | None] = mapped_column(Date, index=True)
    #: optional time window on that day (Beijing time)
    window_start: Mapped[time | None] = mapped_column(Time)
    window_end: Mapped[time | None] = mapped_column(Time)
    #: position in the team's route on that day (1, 2, …)
    route_order: Mapped[int | None] = mapped_column(Integer)
    schedule_note: Mapped[str | None] = mapped_column(String(500))
    scheduled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # -- result and deadline (issue 8 §2–3) ---------------------------------------------------------
    stage: Mapped[VisitStage] = mapped_column(enum_column(VisitStage), nullable=False, default=VisitStage.PLANNED,
                                              server_default=VisitStage.PLANNED.value, index=True)
    #: the day of the visit (Beijing date of the check-in, else of the first finished section's arrival)
    visited_on: Mapped[date | None] = mapped_column(Date, index=True)
    #: results due: 20 working days after the visit [000#20, 002#16]; NULL until visited
    result_due: Mapped[date | None] = mapped_column(Date, index=True)
    #: the due date runs past the loaded calendar years: shown as provisional, with the reason
    result_due_provisional: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                         server_default=false())
    #: server clock of the last change, for the field app's pull cursor
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow,
                                                 index=True)

    object: Mapped[InspectedObject] = relationship()
    items: Mapped[list[VisitItem]] = relationship(back_populates="visit", cascade="all, delete-orphan",
                                                  order_by="VisitItem.id")


class VisitItem(db.Model):
    """A check item one department checks during the visit, with its checklist version."""

    __tablename__ = "visit_items"
    __table_args__ = (UniqueConstraint("visit_id", "department_id", "check_item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    check_item_id: Mapped[int] = mapped_column(ForeignKey("check_items.id"), nullable=False)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_templates.id"))

    visit: Mapped[Visit] = relationship(back_populates="items")
