"""Follow-up of problems found: referrals, abnormal list, cases (issue 8 §5)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)
