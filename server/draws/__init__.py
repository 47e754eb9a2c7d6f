"""Publicly verifiable double-random draws (spec draw-v1): objects, then inspectors, teams and
matching. ``spec.py`` is the pure computation and the verifier; it depends on nothing but hashlib."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import draw_cli
    from .views import bp

    #: objects with at least this many complaints are exempt from the yearly cap [003#15, 003#28]
    app.config.setdefault("DRAW_COMPLAINT_THRESHOLD", 3)
    app.register_blueprint(bp)
    app.cli.add_command(draw_cli)
