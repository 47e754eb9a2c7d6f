"""Team leaders' schedules: dates, time windows, route order, conflicts (issue 8 §1)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .api import bp as api_bp
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
