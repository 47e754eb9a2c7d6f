"""Departments (部门 / 行政执法机关) with their level and parent, and their units (市场监管所 …)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import views

    app.register_blueprint(views.bp)
