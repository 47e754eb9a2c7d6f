"""Committed, auditor-verifiable double-random draws (spec draw-v2; draw-v1 records stay
verifiable): objects, then inspectors, teams and matching. ``spec.py`` is the pure computation and
the verifier; it depends on nothing but hashlib (and json)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import draw_cli
    from .views import bp

    app.register_blueprint(bp)
    app.cli.add_command(draw_cli)
