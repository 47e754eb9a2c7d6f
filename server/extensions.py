"""Flask extensions, created unbound and attached in :func:`server.create_app`."""

from __future__ import annotations

from flask import has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names keep Alembic autogenerate diffs reviewable on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite as a server database: WAL (readers never block the writer), a busy timeout so a
    second writer waits instead of failing, and enforced foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def select_locale() -> str:
    """Chinese first: ``?lang=`` or the ``lang`` cookie pick English, otherwise zh_CN
    (also outside a request: CLI commands and services called from tests)."""
    if not has_request_context():
        return "zh_CN"
    wanted = request.args.get("lang") or request.cookies.get("lang")
    if wanted in ("en", "zh_CN"):
        return wanted
    return "zh_CN"
