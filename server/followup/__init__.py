"""Follow-up of problems found: referrals, abnormal list, cases (issue 8 §5)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ..workdays.services import calendar_changed
    from . import services
    from .views import bp

    app.register_blueprint(bp)
    # weak=False: the receiver is a module function, kept for the process
    calendar_changed.connect(services._on_calendar_changed, weak=False)
