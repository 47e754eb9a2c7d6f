"""Paging for list screens."""

from __future__ import annotations

from flask import current_app, request

from ..extensions import db


def paginate(stmt, *, per_page: int | None = None):
    """Return a Flask-SQLAlchemy ``Pagination`` for ``stmt`` using ``?page=`` from the request."""
    per_page = per_page or current_app.config.get("PAGE_SIZE", 50)
    return db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=per_page, error_out=False)
