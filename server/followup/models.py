"""Follow-up of problems found (issue 8 §5) [000#23, 001#16, 002#17, 004§7(六)]: referrals to
another department (移送/转办) or to the judiciary, entry in the abnormal list, a case filed; each
tracked to closure. A follow-up comes from one department's result of one visit."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import UTCDateTime, utcnow
from ..extensions import db


class FollowUpKind(enum.Enum):
    REFERRAL = "referral"  # 移送（有管辖权的部门）
    TRANSFER = "transfer"  # 转办（其他部门）
    JUDICIARY = "judiciary"  # 移送司法机关
    ABNORMAL_LIST = "abnormal_list"  # 列入经营异常名录
    CASE_FILED = "case_filed"  # 立案查处


class FollowUpStatus(enum.Enum):
    OPEN = "open"  # 待办理
    IN_PROGRESS = "in_progress"  # 办理中
    CLOSED = "closed"  # 已办结


class FollowUp(db.Model):
    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_result_id: Mapped[int] = mapped_column(ForeignKey("section_results.id"), nullable=False, index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), nullable=False, index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("inspected_objects.id"), nullable=False, index=True)
    #: the department whose result it follows (the one responsible for the follow-up)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False, index=True)
    kind: Mapped[FollowUpKind] = mapped_column(enum_column(FollowUpKind), nullable=False, index=True)
    #: the receiving department (移送/转办), when it is one of ours
    target_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    #: the receiving body by name (e.g. 武陟县人民检察院) when it is not a department of ours
    target_name: Mapped[str | None] = mapped_column(String(200))
    #: what is handed over / done, and why
    matter: Mapped[str] = mapped_column(Text, nullable=False)
    #: referrals within 7 working days of the result [000#20(三)]
    due_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    due_provisional: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    status: Mapped[FollowUpStatus] = mapped_column(enum_column(FollowUpStatus), nullable=False,
                                                   default=FollowUpStatus.OPEN, index=True)
    #: the day it was handed over / entered / filed (Beijing date), when done
    done_on: Mapped[date | None] = mapped_column(Date)
    #: reference of the receipt, case or list decision (e.g. 立案号)
    reference: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    events: Mapped[list[FollowUpEvent]] = relationship(back_populates="follow_up", order_by="FollowUpEvent.id")


class FollowUpEvent(db.Model):
    """One step of a follow-up (created, progress note, status change, closed). Append-only."""

    __tablename__ = "follow_up_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"), nullable=False, index=True)
    status: Mapped[FollowUpStatus] = mapped_column(enum_column(FollowUpStatus), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    follow_up: Mapped[FollowUp] = relationship(back_populates="events")
