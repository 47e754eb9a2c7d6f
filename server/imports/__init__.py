"""Import jobs for the registries: file reading (CSV in UTF-8/GB18030, XLSX), validation reports,
progress, and the explicit choice to import only the valid rows."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import views

    app.register_blueprint(views.bp)
