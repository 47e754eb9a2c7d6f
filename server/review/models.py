"""Consolidation and per-department review (issue 8 §2): from the synced sections to each
department's accepted result — "谁检查、谁录入、谁公开" [000#20(四)].

* A :class:`Consolidation` is the team leader's act of taking every department's latest finished
  section of a visit into the final record [002#13], with the leader's summary; a visit has one
  per round (a return and a corrected version make a new round). Append-only.
* A :class:`SectionResult` is one department's result of one visit: the section version that was
  consolidated, its review status, its deadline and whether it was entered in time. One current
  row per (visit, department); its history is the :class:`ReviewDecision` rows and the audit log.
* A :class:`ReviewDecision` is one accept or return by that department's reviewer. Append-only.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.enums import enum_column
from ..core.models import UTCDateTime, utcnow
from ..extensions import db


class Consolidation(db.Model):
    __tablename__ = "visit_consolidations"
    __table_args__ = (UniqueConstraint("visit_id", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), nullable=False, index=True)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    #: {department_id (str): visit_records.id} of the versions consolidated
    record_ids: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: the leader's consolidated opinion (组长汇总意见)
    summary: Mapped[str | None] = mapped_column(Text)
    consolidated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    consolidated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class ResultStatus(enum.Enum):
    PENDING = "pending_review"  # 待审核
    ACCEPTED = "accepted"  # 已审核通过
    RETURNED = "returned"  # 已退回修改
    PUBLISHED = "published"  # 已公示 (issue 9)


class SectionResult(db.Model):
    __tablename__ = "section_results"
    __table_args__ = (
        UniqueConstraint("visit_id", "department_id"),
        # statistics: results per task and department, on time or late, due or not (server/stats)
        Index("ix_section_results_stats", "task_id", "department_id", "status", "entered_late", "result_due",
              "visited_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False, index=True)
    #: denormalised for statistics and lists
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("inspected_objects.id"), nullable=False, index=True)
    consolidation_id: Mapped[int] = mapped_column(ForeignKey("visit_consolidations.id"), nullable=False)
    #: the section version this result is (visit_records.id)
    record_id: Mapped[int] = mapped_column(ForeignKey("visit_records.id"), nullable=False)
    status: Mapped[ResultStatus] = mapped_column(enum_column(ResultStatus), nullable=False,
                                                 default=ResultStatus.PENDING, index=True)
    #: result codes of the section's items, in item order (for lists and statistics)
    result_codes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: a problem was found in at least one item (a referral may be due)
    problem: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    visited_on: Mapped[date] = mapped_column(Date, nullable=False)
    result_due: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    result_due_provisional: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                         server_default=false())
    #: Beijing date the reviewer accepted it: the day the result counts as entered [000#29]
    entered_on: Mapped[date | None] = mapped_column(Date, index=True)
    #: entered after ``result_due``: "not entered in time = not completed" [000#29]
    entered_late: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    #: referrals due 7 working days after the result [000#20(三)]; set when accepted with a problem
    referral_due: Mapped[date | None] = mapped_column(Date, index=True)
    referral_due_provisional: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                           server_default=false())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


class ReviewDecision(db.Model):
    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_result_id: Mapped[int] = mapped_column(ForeignKey("section_results.id"), nullable=False, index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    record_id: Mapped[int] = mapped_column(ForeignKey("visit_records.id"), nullable=False)
    #: "accepted" or "returned"
    decision: Mapped[ResultStatus] = mapped_column(enum_column(ResultStatus), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
