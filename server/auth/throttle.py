"""Login throttling shared by every way to log in.

The back-office form (``POST /login``) and the field app's JSON login (``POST /api/session``)
count against the same limits, ``LOGIN_RATE_LIMIT`` (``SPOTCHECK_LOGIN_RATE_LIMIT``) per address
and per username: alternating between the two paths gains an attacker nothing.

Usage: decorate the view with :func:`login_throttled` (under the route decorator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter


def login_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute")


def login_username() -> str:
    """The username a login request names (JSON body or form field), lower-cased; "" if none."""
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    return name.strip().lower() if isinstance(name, str) else ""


def username_key() -> str:
    return "login-user:" + login_username()


def address_key() -> str:
    return "login-addr:" + (get_remote_address() or "")


def login_throttled(view: Callable[..., Any]) -> Callable[..., Any]:
    """Limit POSTs to ``view`` per address and per username, sharing the counts with every other
    login view (same scopes, same keys)."""
    view = limiter.shared_limit(login_limit, scope="login-address", key_func=address_key, methods=["POST"])(view)
    return limiter.shared_limit(login_limit, scope="login-username", key_func=username_key, methods=["POST"])(view)
