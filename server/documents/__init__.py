"""Printed documents as PDF: the record form and the notice letter (issue 8 §1, §4)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)
