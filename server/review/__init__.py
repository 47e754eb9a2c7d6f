"""Consolidation by the team leader and review per department (issue 8 §2)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..workdays.services import calendar_changed
    from .services import on_calendar_changed
    from .views import bp

    app.register_blueprint(bp)
    # a year's holiday arrangement was loaded: provisional deadlines are recomputed
    calendar_changed.connect(on_calendar_changed)
