"""Accounts, roles, revocable sessions and login."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import cli, sessions, views

    sessions.init_app(app)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.users_cli)
