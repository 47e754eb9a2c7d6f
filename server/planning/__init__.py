"""Annual joint plans (年度联合抽查计划), ad-hoc tasks (临时性联合抽查) and tasks (抽查任务):
creation, acceptance by the participating departments, dispatch, and the public plans."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import views

    app.register_blueprint(views.bp)
    app.register_blueprint(views.public_bp)
