"""Reading submitted form values: stripped text, an optional integer, an optional ISO date.

Services take form values as the browser sends them (strings, or missing); these three turn them
into values or ``None`` and leave the message to the caller, which knows the field."""

from __future__ import annotations

from datetime import date
from typing import Any


def text(value: Any) -> str:
    """The value as stripped text ('' for None)."""
    return str(value if value is not None else "").strip()


def optional_int(value: Any) -> int | None:
    """The value as an integer, or None when it is empty or not one."""
    try:
        return int(text(value))
    except (TypeError, ValueError):
        return None


def optional_date(value: Any) -> date | None:
    """The value as a date (a date, or ISO 8601 text), or None when it is empty or not one."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(text(value))
    except ValueError:
        return None
