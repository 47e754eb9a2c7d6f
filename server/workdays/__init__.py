"""The Chinese working-day calendar and the legal deadlines (issue 8 §3)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)
