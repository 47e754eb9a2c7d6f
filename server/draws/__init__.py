"""Publicly verifiable double-random draws (spec draw-v1): objects, then inspectors, teams and
matching. ``spec.py`` is the pure computation and the verifier; it depends on nothing but hashlib."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import draw_cli

    app.cli.add_command(draw_cli)
