"""Home page, language switch, health check and template helpers."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import text

from ..extensions import db

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
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


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
