"""Visits: one drawn object for one team, with each participating department's items. The field
app downloads these (issue: field app)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, UniqueConstraint
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


class Visit(db.Model):
    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("task_id", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("inspected_objects.id"), nullable=False, index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), nullable=False, index=True)
    status: Mapped[VisitStatus] = mapped_column(enum_column(VisitStatus), nullable=False,
                                                default=VisitStatus.PLANNED)
    scheduled_on: Mapped[date | None] = mapped_column(Date)
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
