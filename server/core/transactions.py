"""The single transaction boundary of a request: commit on success, roll back otherwise.

Services only ``flush()``; this wrapper is the one place a request commits.
"""

from __future__ import annotations

from flask import Flask

from ..extensions import db


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response
