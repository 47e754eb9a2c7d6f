"""The Chinese working-day calendar and the legal deadlines (issue 8 §3)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the calendar page (``/admin/calendar``) and the ``flask calendar`` commands."""
    from .cli import calendar_cli
    from .views import bp

    app.register_blueprint(bp)
    app.cli.add_command(calendar_cli)
