"""Enum columns stored as their string values (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


def enum_column(e: type[enum.Enum], length: int = 30) -> Enum:
    """Return a non-native Enum type that stores ``member.value`` and validates on write."""
    return Enum(e, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda members: [m.value for m in members])
