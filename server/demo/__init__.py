"""``flask demo load``: realistic demo data from the seed regulations."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import demo_cli

    app.cli.add_command(demo_cli)
