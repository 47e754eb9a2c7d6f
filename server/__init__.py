"""Spotcheck: 双随机、一公开 joint spot checks.

The application is built by :func:`create_app`; every capability is one package
(``server.<capability>``) with the same shape: ``models``, ``services``, ``views``
(blueprint ``bp``), ``cli``, ``templates/<capability>/``.
"""

from __future__ import annotations

import os
import secrets

from flask import Flask

from . import config as config_module
from .extensions import babel, csrf, db, limiter, login_manager, migrate, select_locale

#: capability packages, in the order their blueprints and CLI groups are registered
CAPABILITIES = (
    "core", "audit", "org", "auth", "catalog", "registry", "imports",
    "rules", "planning", "draws", "teams", "visits", "fieldwork", "sync", "workdays", "schedules",
    "review", "followup", "stats", "documents", "demo", "fieldapp",
)


def create_app(test_config: dict | None = None) -> Flask:
    """Create and return the Flask application.

    ``test_config`` overrides the settings read from the environment (tests use it).
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)

    db.init_app(app)
    _configure_sqlite(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=os.path.join(app.root_path, "translations"),
    )
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config["RATELIMIT_STORAGE_OPTIONS"] = _ratelimit_storage_options(app)
    limiter.init_app(app)
    _configure_proxy_fix(app)

    import importlib

    from . import all_models  # noqa: F401  (the whole schema, for Alembic and create_all)

    for name in CAPABILITIES:
        module = importlib.import_module(f"{__name__}.{name}")
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)
    return app


def _ratelimit_storage_options(app: Flask) -> dict:
    """Options of the rate-limit storage: its errors are raised as ``limits.errors.StorageError``
    (answered 503 ``rate_limit_unavailable``, see :mod:`server.core.errors`), and a Redis that does
    not answer fails within seconds instead of holding the request."""
    options = {"wrap_exceptions": True, **(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})}
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis", "rediss")):
        options.setdefault("socket_connect_timeout", 2)
        options.setdefault("socket_timeout", 2)
    return options


def _configure_proxy_fix(app: Flask) -> None:
    """Behind ``PROXY_FIX`` (``SPOTCHECK_PROXY_FIX``) trusted reverse proxies, take the client's
    address, scheme and host from their X-Forwarded-For/-Proto/-Host headers (0: ignore them)."""
    hops = int(app.config.get("PROXY_FIX") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def _configure_sqlite(app: Flask) -> None:
    """Apply :func:`server.extensions.sqlite_pragmas` to every new SQLite connection."""
    from sqlalchemy import event

    from .extensions import sqlite_pragmas

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        event.listen(db.engine, "connect", sqlite_pragmas)


def _instance_secret(instance_path: str) -> str:
    """Return a per-installation secret kept in the instance folder (never in git)."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    with open(path) as fh:
        return fh.read().strip()
