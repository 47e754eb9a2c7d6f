"""The check-item list (抽查事项清单, 一单) and each item's checklist template (检查指引)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import views

    app.register_blueprint(views.bp)
    app.register_blueprint(views.public_bp)
    # globals, not a context processor: imported macros see globals but not the context
    app.jinja_env.globals.update(views.template_globals())
