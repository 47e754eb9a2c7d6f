"""Login, logout and account administration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from ..audit.services import record, set_actor
from ..core.models import utcnow
from ..extensions import db, limiter
from .models import User
from .sessions import check_password, revoke_token, start_session

bp = Blueprint("auth", __name__, template_folder="templates")


def _login_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute")


def _username_key() -> str:
    return "login-user:" + (request.form.get("username") or "").strip().lower()


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("core.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_username_key)
def login():
    """Log in with username and password; POST is rate-limited per address and per username."""
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        user = db.session.execute(
            select(User).where(func.lower(User.username) == username.lower())
        ).scalar_one_or_none()
        if not check_password(user, password):
            error = _("用户名或密码不正确。")
            if user is not None:
                set_actor(None, f"login-attempt:{username}")
                record("user.login_failed", "user", user.id, note=request.remote_addr)
                db.session.commit()
            return render_template("auth/login.html", error=error, username=username), 401
        if not user.active:
            error = _("该账号已停用。如有疑问，请联系本部门管理员。")
            return render_template("auth/login.html", error=error, username=username), 403
        start_session(user, user_agent=request.user_agent.string, ip=request.remote_addr)
        user.last_login_at = utcnow()
        login_user(user)
        set_actor(user.id, user.username)
        record("user.login", "user", user.id, note=request.remote_addr)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error, username=username)


@bp.post("/logout")
@login_required
def logout():
    """End this session everywhere (the token is revoked, not just forgotten by the browser)."""
    record("user.logout", "user", current_user.id)
    revoke_token(current_user.session_token, "logout")
    logout_user()
    flash(_("您已退出登录。"), "success")
    return redirect(url_for("auth.login"))


@bp.get("/users/")
@login_required
def list_users():
    return "TODO"
