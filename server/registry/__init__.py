"""The two registries: inspected objects (检查对象名录库) and inspectors (执法检查人员名录库)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import views

    app.register_blueprint(views.bp)
    __import__(f"{__name__}.cli", fromlist=["cli"]).init_app(app)  # flask objects/inspectors import|export
