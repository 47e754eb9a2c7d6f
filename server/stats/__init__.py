"""Statistics for the joint office and the departments, with XLSX export (issue 8 §6)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)
