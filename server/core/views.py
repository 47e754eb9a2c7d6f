"""Home page, language switch, health check and template helpers."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import text

from ..extensions import db, limiter

bp = Blueprint("core", __name__, template_folder="templates")


@bp.get("/")
@login_required
def index():
    return render_template("core/index.html")


@bp.get("/lang/<code>")
def set_language(code: str):
    """Remember the UI language in a cookie and go back where the user was."""
    if code not in ("zh_CN", "en"):
        code = "zh_CN"
    target = request.referrer or url_for("core.index")
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        target = url_for("core.index")
    resp = make_response(redirect(target))
    resp.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                    secure=current_app.config.get("SESSION_COOKIE_SECURE", True))
    return resp


@bp.get("/healthz")
def health():
    """The state of what requests depend on: the database and the rate-limit storage (Redis).

    200 ``{"status": "ok", "database": "ok", "rate_limit_storage": "ok"}``; 503 with
    ``"status": "unavailable"`` and ``"down"`` for each part that does not answer."""
    parts = {"database": _database_ok(), "rate_limit_storage": _rate_limit_storage_ok()}
    body = {"status": "ok" if all(parts.values()) else "unavailable",
            **{name: "ok" if ok else "down" for name, ok in parts.items()}}
    headers = {"Cache-Control": "no-store"}
    if not all(parts.values()):
        headers["Retry-After"] = "30"
        return jsonify(body), 503, headers
    return jsonify(body), 200, headers


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "down"; the log says which
        current_app.logger.exception("health check: database unreachable")
        db.session.rollback()
        return False


def _rate_limit_storage_ok() -> bool:
    try:
        return bool(limiter.storage.check())
    except Exception:  # noqa: BLE001
        current_app.logger.exception("health check: rate-limit storage unreachable")
        return False


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format an aware datetime in the deployment's time zone (China Standard Time by default)."""
    if value is None:
        return ""
    tz = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return value.astimezone(tz).strftime(fmt)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["localtime"] = local_time

    @app.context_processor
    def _globals():
        from flask_babel import get_locale

        locale = get_locale()
        ui_locale = "en" if locale is not None and locale.language == "en" else "zh_CN"
        return {"current_user": current_user, "ui_locale": ui_locale}
