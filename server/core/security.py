"""Security headers on every response."""

from __future__ import annotations

from flask import Flask

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self)")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        _no_store(response)
        return response


#: endpoints whose views set their own caching for logged-in users (photos: private, for the phones)
OWN_CACHING = {"sync.get_photo", "sync.get_thumb"}


def _no_store(response) -> None:
    """``Cache-Control: no-store`` on every page and API answer of a logged-in user (they may carry a
    task's confidential lists [004§8(三)]: no browser or proxy may keep them) and on every non-public
    API answer, downloads (exports) included. Static files, the field app's shell and the photos (a
    private cache on the team's phones, chosen by their views) keep their own caching; public pages
    for the anonymous stay cacheable."""
    from flask import request
    from flask_login import current_user

    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static") or endpoint.startswith("fieldapp."):
        return
    if endpoint in OWN_CACHING and "Cache-Control" in response.headers:
        return
    path = request.path or ""
    logged_in = bool(getattr(current_user, "is_authenticated", False))
    if logged_in or (path.startswith("/api/") and not path.startswith("/api/public/")):
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Pragma", "no-cache")
