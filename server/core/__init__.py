"""Cross-cutting pieces every capability uses: errors, transactions, security headers, paging."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import errors, input_guard, security, transactions, views

    errors.init_app(app)
    input_guard.init_app(app)
    security.init_app(app)
    transactions.init_app(app)
    views.init_app(app)
