"""Rules as configuration, per deployment, in the database (issue 7 §6).

``services.get_rules()`` returns the rules in force as a frozen :class:`services.Rules`; every
capability reads its rules from there, never from constants of its own.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the rules' blueprint and CLI when they exist (filled in by the rules work)."""
