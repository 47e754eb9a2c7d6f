"""The object registry (检查对象名录库) and the inspector registry (执法检查人员名录库)."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    DDL,
    Boolean,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.models import TimestampMixin
from ..extensions import db
from ..org.models import Department, Level


def _enum(e: type[enum.Enum], length: int = 20) -> Enum:
    return Enum(e, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda members: [m.value for m in members])


class CodeKind(enum.Enum):
    USCC = "uscc"  # 统一社会信用代码, check character valid (GB 32100-2015)
    ACCEPTED = "accepted"  # a legally issued code that fails the check, accepted by an administrator
    GENERATED = "generated"  # no code: generated, can never equal a real one


class ObjectType(enum.Enum):
    ENTERPRISE = "enterprise"  # 企业
    INDIVIDUAL = "individual"  # 个体工商户
    COOPERATIVE = "cooperative"  # 农民专业合作社
    OTHER = "other"  # 其他主体
    PRODUCT = "product"  # 产品
    PROJECT = "project"  # 项目


class RegistrationStatus(enum.Enum):
    ACTIVE = "active"  # 存续（在业）
    REVOKED = "revoked"  # 吊销
    CANCELLED = "cancelled"  # 注销
    MOVED_OUT = "moved_out"  # 迁出


class RiskClass(enum.Enum):
    """Credit-risk class, A (low) … D (high). Internal only: never in a public output [000#25]."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


object_departments = Table(
    "object_departments",
    db.metadata,
    Column("object_id", ForeignKey("inspected_objects.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


def _c_collated(length: int) -> String:
    """A string column that compares and sorts by code point on both databases: SQLite's default
    BINARY collation, PostgreSQL's "C" (whatever the database locale). Search results are then
    in the same order on both, and PostgreSQL's b-trees serve prefix ranges and ORDER BY alike."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class InspectedObject(TimestampMixin, db.Model):
    """A market entity or other subject that can be drawn for inspection."""

    __tablename__ = "inspected_objects"
    # (name, id): the list order, served by the index alone (an index-only scan on PostgreSQL);
    # on SQLite every index already ends with the rowid
    __table_args__ = (Index("ix_inspected_objects_name", "name", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: optimistic lock: an UPDATE of a stale version raises StaleDataError
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}
    #: the unique b-tree serves exact codes, prefix ranges and ORDER BY code (see services._code_prefix)
    code: Mapped[str] = mapped_column(_c_collated(18), unique=True, nullable=False)
    code_kind: Mapped[CodeKind] = mapped_column(_enum(CodeKind), nullable=False, default=CodeKind.USCC)
    name: Mapped[str] = mapped_column(_c_collated(200), nullable=False)
    object_type: Mapped[ObjectType] = mapped_column(_enum(ObjectType), nullable=False, index=True)
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    region_county: Mapped[str | None] = mapped_column(String(100), index=True)  # 区县
    region_town: Mapped[str | None] = mapped_column(String(100), index=True)  # 乡镇（街道）
    jurisdiction_level: Mapped[Level] = mapped_column(
        Enum(Level, native_enum=False, length=20), nullable=False, default=Level.COUNTY
    )  # 管辖层级
    industry: Mapped[str | None] = mapped_column(String(100), index=True)  # 行业
    business_scope: Mapped[str | None] = mapped_column(Text)  # 经营范围
    registration_status: Mapped[RegistrationStatus] = mapped_column(
        _enum(RegistrationStatus), nullable=False, default=RegistrationStatus.ACTIVE, index=True
    )
    registered_on: Mapped[date | None] = mapped_column(Date)  # 成立日期
    risk_class: Mapped[RiskClass | None] = mapped_column(_enum(RiskClass, 1), index=True)
    abnormal_list: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # 经营异常名录
    serious_violation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # 严重违法失信
    complaint_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: business peak hours to avoid when scheduling [002#11], e.g. "11:00-13:30, 17:00-20:00"
    business_peak: Mapped[str | None] = mapped_column(String(200))
    code_exception_reason: Mapped[str | None] = mapped_column(String(500))

    supervising_departments: Mapped[list[Department]] = relationship(secondary=object_departments)


class InspectorStatus(enum.Enum):
    ON_DUTY = "on_duty"  # 在岗
    TRANSFERRED = "transferred"  # 调离
    SUSPENDED = "suspended"  # 停用


class Gender(enum.Enum):
    MALE = "male"
    FEMALE = "female"


class Inspector(TimestampMixin, db.Model):
    """A person with enforcement qualification (or an expert) who can be drawn to inspect."""

    __tablename__ = "inspectors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False, index=True)
    #: the unit within the department (headquarters section or station), if any [004§7(三)]
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    gender: Mapped[Gender | None] = mapped_column(_enum(Gender))
    title: Mapped[str | None] = mapped_column(String(100))  # 职务
    certificate_no: Mapped[str | None] = mapped_column(String(40), unique=True)  # 执法证号
    phone: Mapped[str | None] = mapped_column(String(40))
    qualification: Mapped[str | None] = mapped_column(String(200))  # 执法资格（证件类别）
    qualification_valid_from: Mapped[date | None] = mapped_column(Date)
    qualification_valid_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[InspectorStatus] = mapped_column(
        _enum(InspectorStatus), nullable=False, default=InspectorStatus.ON_DUTY, index=True
    )
    is_expert: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # 专家名录库
    #: the login of this inspector, once they have one
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)

    department: Mapped[Department] = relationship(foreign_keys=[department_id])
    unit: Mapped[Department | None] = relationship(foreign_keys=[unit_id])
    expertise_rows: Mapped[list[InspectorExpertise]] = relationship(
        back_populates="inspector", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def expertise(self) -> list[str]:
        return sorted(r.tag for r in self.expertise_rows)

    def set_expertise(self, tags: list[str]) -> None:
        wanted = {t.strip() for t in tags if t and t.strip()}
        self.expertise_rows = [r for r in self.expertise_rows if r.tag in wanted]
        have = {r.tag for r in self.expertise_rows}
        for tag in sorted(wanted - have):
            self.expertise_rows.append(InspectorExpertise(tag=tag))

    def qualified_on(self, day: date) -> bool:
        """True when on duty and the qualification is valid on ``day``."""
        if self.status is not InspectorStatus.ON_DUTY:
            return False
        if self.qualification_valid_from and day < self.qualification_valid_from:
            return False
        return not (self.qualification_valid_until and day > self.qualification_valid_until)


class InspectorExpertise(db.Model):
    """One expertise tag (业务专长) of an inspector, e.g. 食品安全, 特种设备, 成品油."""

    __tablename__ = "inspector_expertise"
    __table_args__ = (UniqueConstraint("inspector_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspector_id: Mapped[int] = mapped_column(
        ForeignKey("inspectors.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tag: Mapped[str] = mapped_column(String(60), nullable=False, index=True)

    inspector: Mapped[Inspector] = relationship(back_populates="expertise_rows")


# PostgreSQL only (the same DDL belongs in the migration, in this order, then ANALYZE):
# * a trigram GIN index serves name fragments of 3 or more characters (LIKE/ILIKE '%…%');
# * pg_trgm finds no trigram in a 2-character fragment ('%鑫盛%'), and 2-character Chinese
#   fragments are a common search: a GIN index over the name's distinct character pairs
#   (bigrams, lower-cased) serves those (services._contains adds the matching predicate).
#   The planner estimates the pair's frequency from the index statistics and walks the
#   (name, id) index instead when the pair is common;
# * credit-code prefixes need nothing more: the code column is COLLATE "C", so its unique b-tree
#   serves the range code >= :p AND code < :p_next (services._code_prefix) in order.
# SQLite scans the narrow (name, rowid) index instead (about 0.1 s per million rows).
BIGRAM_FUNCTION = "spotcheck_bigrams"
POSTGRES_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_inspected_objects_name_trgm ON inspected_objects "
    "USING gin (name gin_trgm_ops)",
    f"CREATE OR REPLACE FUNCTION {BIGRAM_FUNCTION}(t text) RETURNS text[] "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
    # duplicates are harmless (GIN keeps each key once) and skipping DISTINCT halves the cost
    "$$ SELECT ARRAY(SELECT substr(t, i, 2) FROM generate_series(1, char_length(t) - 1) AS i) $$",
    "CREATE INDEX IF NOT EXISTS ix_inspected_objects_name_bigram ON inspected_objects "
    f"USING gin ({BIGRAM_FUNCTION}(lower(name)))",
    # The planner estimates how common a fragment is ('%德文化传%') from the histogram of names:
    # with the default 100 buckets one sampled match means "1 %", and it then walks the name
    # index expecting a match every 100 rows where there is one in 7,000. 1,000 buckets make
    # such guesses ten times rarer and smaller.
    "ALTER TABLE inspected_objects ALTER COLUMN name SET STATISTICS 1000",
]
for _stmt in POSTGRES_DDL:
    event.listen(InspectedObject.__table__, "after_create", DDL(_stmt).execute_if(dialect="postgresql"))
