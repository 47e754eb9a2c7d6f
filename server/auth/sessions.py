"""Password hashing (Argon2id) and revocable, server-side sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, session
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ..core.models import utcnow
from ..extensions import db, login_manager
from .models import User, UserSession

_HASHERS: dict[tuple, tuple[PasswordHasher, str]] = {}


def _hasher_and_dummy() -> tuple[PasswordHasher, str]:
    """Return the Argon2id hasher for this app's ``PASSWORD_HASH_PARAMS`` (argon2-cffi's defaults
    unless set; the test suite sets cheap ones) and a real hash of a dummy password, compared
    against when the user does not exist, so both cases take the same time."""
    params = tuple(sorted((current_app.config.get("PASSWORD_HASH_PARAMS") or {}).items()))
    if params not in _HASHERS:
        hasher = PasswordHasher(**dict(params))
        _HASHERS[params] = (hasher, hasher.hash("spotcheck-timing-equaliser"))
    return _HASHERS[params]


def hash_password(password: str) -> str:
    """Return an Argon2id hash of ``password``."""
    return _hasher_and_dummy()[0].hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Return True when ``password`` matches; rehash transparently when parameters changed."""
    hasher, dummy = _hasher_and_dummy()
    stored = user.password_hash if user is not None else dummy
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)
    return True


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, user_agent: str | None, ip: str | None) -> str:
    """Create a session row and return the token the browser will hold."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    days = current_app.config.get("SESSION_IDLE_DAYS", 14)
    db.session.add(UserSession(
        token_hash=_digest(token), user_id=user.id, created_at=now, last_seen_at=now,
        expires_at=now + timedelta(days=days), user_agent=(user_agent or "")[:300], ip=ip,
    ))
    db.session.flush()
    user.session_token = token
    return token


def revoke_token(token: str | None, reason: str = "logout") -> None:
    if not token:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def revoke_all(user_id: int, reason: str, *, except_token: str | None = None) -> int:
    """End every session of a user (account disabled, password changed); return how many.

    ``except_token`` keeps that one session (the user's own, when they end their other devices)."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if except_token:
        stmt = stmt.where(UserSession.token_hash != _digest(except_token))
    result = db.session.execute(stmt)
    return result.rowcount or 0


def load_session_user(token: str) -> User | None:
    """Return the user of a live session token, or None when it is unknown, revoked, expired
    or the account is disabled."""
    # one query for the session, its user and the user's roles (runs on every request)
    row = db.session.execute(
        select(UserSession).options(joinedload(UserSession.user).joinedload(User.role_rows))
        .where(UserSession.token_hash == _digest(token))
    ).unique().scalar_one_or_none()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = row.user
    if not user.active:
        return None
    if (now - row.last_seen_at) > timedelta(minutes=5):
        row.last_seen_at = now  # committed by the request wrapper on success
    user.session_token = token
    return user


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(token: str):
        return load_session_user(token)

    @app.before_request
    def _permanent():
        # Setting the flag marks the session modified, which re-sends the cookie on every
        # response; a response to a request that began before a login (a service worker's
        # precache, say) could then put the old cookie back. Set it once only.
        if not session.permanent:
            session.permanent = True
