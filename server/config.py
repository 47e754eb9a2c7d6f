"""Configuration read from the environment (``SPOTCHECK_*``); nothing is bound at import time."""

from __future__ import annotations

import os
from datetime import timedelta


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: str) -> dict:
    """Return the settings for :func:`server.create_app`, read from ``SPOTCHECK_*`` variables.

    The SQLite file in the instance folder is the default database; PostgreSQL is chosen
    with ``SPOTCHECK_DATABASE_URL=postgresql+psycopg://...``.
    """
    default_db = "sqlite:///" + os.path.join(instance_path, "spotcheck.sqlite3")
    max_upload_mb = int(os.environ.get("SPOTCHECK_MAX_UPLOAD_MB", "100"))
    return {
        "SECRET_KEY": os.environ.get("SPOTCHECK_SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("SPOTCHECK_DATABASE_URL", default_db),
        "RATELIMIT_STORAGE_URI": os.environ.get("SPOTCHECK_RATELIMIT_STORAGE_URI", "memory://"),
        "LOGIN_RATE_LIMIT": os.environ.get("SPOTCHECK_LOGIN_RATE_LIMIT", "10 per minute"),
        "MAX_CONTENT_LENGTH": max_upload_mb * 1024 * 1024,
        "SESSION_COOKIE_SECURE": _env_bool("SPOTCHECK_SECURE_COOKIES", True),
        "REMEMBER_COOKIE_SECURE": _env_bool("SPOTCHECK_SECURE_COOKIES", True),
        "UPLOAD_DIR": os.environ.get("SPOTCHECK_UPLOAD_DIR", os.path.join(instance_path, "uploads")),
        "IMPORT_RUN_INLINE": _env_bool("SPOTCHECK_IMPORT_RUN_INLINE", False),
        "SESSION_IDLE_DAYS": int(os.environ.get("SPOTCHECK_SESSION_DAYS", "14")),
        # memory one photo decode may take (pixels × bytes per pixel); above it the photo is refused
        "PHOTO_DECODE_MAX_MB": int(os.environ.get("SPOTCHECK_PHOTO_DECODE_MAX_MB", "96")),
        # number of trusted reverse proxies in front of the app (0: X-Forwarded-* are ignored)
        "PROXY_FIX": int(os.environ.get("SPOTCHECK_PROXY_FIX", "0") or 0),
    }


DEFAULTS: dict = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SQLALCHEMY_RECORD_QUERIES": False,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
    # the login's lifetime is kept server-side (user_sessions.expires_at); re-sending the cookie
    # on every response only races with logins in other tabs and the service worker
    "SESSION_REFRESH_EACH_REQUEST": False,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the (revocable) session
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": ["zh_CN", "en"],
    "PAGE_SIZE": 50,
    "RATELIMIT_HEADERS_ENABLED": True,
}
