"""teams capability: teams after the draw, replacements, conflict declarations, confidentiality."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)
