"""The deployment's rule settings: one row per rule that was changed from its default."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import UTCDateTime, utcnow
from ..extensions import db


class RuleSetting(db.Model):
    """One rule's value for this deployment (``services.RULE_KEYS``). A key never set has no row:
    its default (``services.Rules``) applies. Every change is audited as ``rules.update``."""

    __tablename__ = "rule_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    #: the cleaned value as JSON: ratios as decimal strings, counts as integers, choices as strings
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
