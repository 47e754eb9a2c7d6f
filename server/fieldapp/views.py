"""Serving the built field app at ``/app/``: the shell and the service worker are revalidated on
every load (so an update is found at once), hashed assets are cached for a year."""

from __future__ import annotations

import mimetypes
import os

from flask import Blueprint, Response, abort, current_app, redirect, request
from flask_babel import gettext as _
from werkzeug.security import safe_join

bp = Blueprint("fieldapp", __name__)

_NO_CACHE = "no-cache"
_IMMUTABLE = "public, max-age=31536000, immutable"


def _dist() -> str:
    return current_app.config["FIELDAPP_DIST"]


def _send(path: str, cache: str, mimetype: str | None = None) -> Response:
    """Return the file ``path`` of the build with the given Cache-Control; 404 when absent,
    503 when the app was never built."""
    dist = _dist()
    if not os.path.isfile(os.path.join(dist, "index.html")):
        return Response(_("现场检查应用尚未构建：请运行 make pwa。"), status=503, mimetype="text/plain")
    full = safe_join(dist, path)
    if full is None or not os.path.isfile(full):
        abort(404)
    with open(full, "rb") as fh:  # small files (the whole build is < 200 KB): read, no open handle kept
        data = fh.read()
    response = Response(data, mimetype=mimetype or mimetypes.guess_type(full)[0] or "application/octet-stream")
    response.headers["Cache-Control"] = cache
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/app")
def app_root():
    return redirect("/app/", code=308)


@bp.get("/app/")
def index():
    """Return the app shell (index.html)."""
    return _send("index.html", _NO_CACHE)


@bp.get("/app/sw.js")
def service_worker():
    """Return the service worker, scoped to /app/, never cached by HTTP (the browser checks it for
    updates on every navigation)."""
    response = _send("sw.js", _NO_CACHE, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/app/"
    return response


@bp.get("/app/manifest.webmanifest")
def manifest():
    return _send("manifest.webmanifest", _NO_CACHE, mimetype="application/manifest+json")


@bp.get("/app/<path:path>")
def asset(path: str):
    """Return a built file: hashed assets cached for a year, anything else revalidated."""
    if path.endswith("/") or path.startswith("."):
        abort(404)
    cache = _IMMUTABLE if path.startswith("assets/") else _NO_CACHE
    return _send(path, cache)
