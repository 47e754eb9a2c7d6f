"""sync capability: the field app's JSON API under /api (docs/sync-protocol.md)."""

from __future__ import annotations

import os

from flask import Flask

from . import changes

changes.register()


def init_app(app: Flask) -> None:
    from ..fieldwork.photos import release_locks
    from .views import bench_sink, bp

    app.config.setdefault("SYNC_CURSOR_OVERLAP_SECONDS", 120)
    app.config.setdefault("SYNC_CURSOR_MAX_AGE_DAYS", 30)
    # photo chunks processed at once per worker process (the rest wait, holding no DB connection):
    # record pushes are not queued behind bulk photo work. Run gunicorn with at least as many
    # threads per worker as the connections it holds, or requests queue before reaching the app.
    app.config.setdefault("SYNC_PHOTO_CONCURRENCY", int(os.environ.get("SPOTCHECK_SYNC_PHOTO_CONCURRENCY", "2")))
    app.config.setdefault("SYNC_PHOTO_WAIT_SECONDS", 60)
    # a test-only upload sink, the baseline of bench/bench_sync.py; never on in production
    app.config.setdefault("SYNC_BENCH_SINK", os.environ.get("SPOTCHECK_SYNC_BENCH_SINK") == "1")
    app.register_blueprint(bp)
    if app.config.get("SYNC_BENCH_SINK"):
        app.add_url_rule("/api/_bench/sink", "bench_sink", bench_sink, methods=["PUT"])

    @app.teardown_request
    def _release_photo_locks(exc):  # after the request's commit: the next request sees its result
        release_locks()
