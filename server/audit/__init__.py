"""The append-only, hash-chained audit log: who changed what, when, before and after."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.audit_cli)
