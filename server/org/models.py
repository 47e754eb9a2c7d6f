"""Departments form a tree: province → city → county/district, and each department may have
units (its headquarters' sections and its stations, 市场监管所) that inspectors belong to."""

from __future__ import annotations

import enum

from sqlalchemy import Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.models import TimestampMixin
from ..extensions import db


class Level(enum.Enum):
    PROVINCE = "province"  # 省
    CITY = "city"  # 市
    COUNTY = "county"  # 县区

    @property
    def rank(self) -> int:
        """Smaller is higher: province 1, city 2, county 3."""
        return {"province": 1, "city": 2, "county": 3}[self.value]


class Kind(enum.Enum):
    DEPARTMENT = "department"  # 行政执法机关
    UNIT = "unit"  # 内设机构或派出机构（如市场监管所）


class Department(TimestampMixin, db.Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    short_name: Mapped[str | None] = mapped_column(String(60))
    level: Mapped[Level] = mapped_column(Enum(Level, native_enum=False, length=20), nullable=False)
    kind: Mapped[Kind] = mapped_column(
        Enum(Kind, native_enum=False, length=20), nullable=False, default=Kind.DEPARTMENT
    )
    region: Mapped[str | None] = mapped_column(String(100))  # 行政区划，如 河南省焦作市武陟县
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True, nullable=False)

    parent: Mapped[Department | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Department]] = relationship(back_populates="parent")

    def ancestors(self) -> list[Department]:
        """Return the chain of parents, nearest first."""
        out, node, seen = [], self.parent, {self.id}
        while node is not None and node.id not in seen:
            out.append(node)
            seen.add(node.id)
            node = node.parent
        return out

    def is_higher_than(self, other: Department) -> bool:
        """True when this department is an ancestor of ``other`` at a higher level
        (the "higher-level department" of [003#15])."""
        return self.level.rank < other.level.rank and any(a.id == self.id for a in other.ancestors())

    @property
    def bureau(self) -> Department:
        """The department a unit belongs to (itself for a department)."""
        node = self
        while node.kind is Kind.UNIT and node.parent is not None:
            node = node.parent
        return node

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"
