"""The Chinese working-day calendar (issue 8 §3), kept in the database.

Only the exceptions to "Monday–Friday work, Saturday–Sunday rest" are stored: statutory holidays
(``holiday``, days off, whatever weekday) and adjusted working weekends 调休 (``workday``). A
year is *loaded* when it has a :class:`CalendarYear` row: its arrangement is known (seeded from
the ``chinese-calendar`` package, or loaded from the State Council's notice with
``flask calendar load``). A deadline that runs into a year that is not loaded is provisional.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.enums import enum_column
from ..core.models import UTCDateTime, utcnow
from ..extensions import db


class DayKind(enum.Enum):
    HOLIDAY = "holiday"  # 法定节假日（含调休放假）: no work, even on a weekday
    WORKDAY = "workday"  # 调休上班: work, even on a weekend


class CalendarYear(db.Model):
    """A year whose arrangement is loaded, and where it came from."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: e.g. "chinese-calendar 1.11.0" or the file loaded
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    #: the State Council notice it follows, e.g. "国办发明电〔2025〕7号"
    notice: Mapped[str | None] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CalendarDay(db.Model):
    """One exception to the weekly rule."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year", ondelete="CASCADE"), nullable=False,
                                      index=True)
    kind: Mapped[DayKind] = mapped_column(enum_column(DayKind, 10), nullable=False)
    #: the holiday it belongs to, e.g. 春节, 国庆节 (for a 调休 workday: the holiday it makes up for)
    name: Mapped[str | None] = mapped_column(String(50))
