"""fieldapp capability: serves the built offline-first field app (``pwa/dist``) at ``/app/``.

The app itself is built by ``make pwa`` (Vite + Workbox); it talks to the server only through the
sync API (``docs/sync-protocol.md``).
"""

from __future__ import annotations

import os

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp

    repo_root = os.path.dirname(app.root_path)
    app.config.setdefault("FIELDAPP_DIST", os.path.join(repo_root, "pwa", "dist"))
    app.register_blueprint(bp)
