"""Inspection teams, their members, replacements [000#16, 003#14] and conflict-of-interest
declarations."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import UTCDateTime, utcnow
from ..extensions import db
from ..registry.models import Inspector


class Team(db.Model):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("task_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    #: the team number of the draw record (0-based); screens show number + 1
    number: Mapped[int] = mapped_column(Integer, nullable=False)

    members: Mapped[list[TeamMember]] = relationship(back_populates="team", order_by="TeamMember.id")

    @property
    def active_members(self) -> list[TeamMember]:
        return [m for m in self.members if m.active]

    @property
    def leader(self) -> TeamMember | None:
        return next((m for m in self.members if m.active and m.is_leader), None)


class MemberSource(enum.Enum):
    DRAWN = "drawn"
    SUBSTITUTE = "substitute"  # chosen by the approver, no lottery [000#16]
    EXPERT = "expert"  # chosen (选派) as a supplement from the expert registry, never drawn [002#9, 004§5]


class TeamMember(db.Model):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "inspector_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), nullable=False, index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("inspectors.id"), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    is_leader: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    source: Mapped[MemberSource] = mapped_column(enum_column(MemberSource), nullable=False,
                                                 default=MemberSource.DRAWN)
    #: flagged at matching: a declared conflict of interest with an object of this team
    conflict_flag: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    conflict_note: Mapped[str | None] = mapped_column(Text)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"))
    #: why a supplement member (an expert) was chosen for this team (选派理由); NULL for drawn members
    selection_reason: Mapped[str | None] = mapped_column(Text)

    team: Mapped[Team] = relationship(back_populates="members")
    inspector: Mapped[Inspector] = relationship()


class ReplacementReason(enum.Enum):
    RECUSAL = "recusal"  # 回避
    JOB_CHANGE = "job_change"  # 岗位调整
    WORK_CONFLICT = "work_conflict"  # 工作冲突
    HEALTH = "health"  # 健康原因


class ReplacementStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReplacementRequest(db.Model):
    __tablename__ = "replacement_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"), nullable=False, index=True)
    reason: Mapped[ReplacementReason] = mapped_column(enum_column(ReplacementReason), nullable=False)
    explanation: Mapped[str] = mapped_column(Text, nullable=False)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    status: Mapped[ReplacementStatus] = mapped_column(enum_column(ReplacementStatus), nullable=False,
                                                      default=ReplacementStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    substitute_inspector_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"))
    #: when the approved change was filed with the joint office (备案)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: when and by whom the joint office acknowledged the filing (已阅/备案)
    filing_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    filing_acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    member: Mapped[TeamMember] = relationship()


class ConflictDeclaration(db.Model):
    """An inspector's declared relation to an object (亲属、曾任职、利害关系 …)."""

    __tablename__ = "conflict_declarations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("inspectors.id"), nullable=False, index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("inspected_objects.id"), nullable=False, index=True)
    relation: Mapped[str] = mapped_column(String(500), nullable=False)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MissingRecordReason(db.Model):
    """Why a visit has no finished record when its task's visits were declared over (企业已注销、
    无法联系已取证 …), given by the task's initiator at that moment. One per visit, never changed."""

    __tablename__ = "missing_record_reasons"
    __table_args__ = (UniqueConstraint("visit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
