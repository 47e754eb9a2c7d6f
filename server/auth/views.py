"""Login, logout and account administration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from ..audit.services import history, record, set_actor
from ..core.errors import DomainError
from ..core.models import utcnow
from ..core.pagination import paginate
from ..extensions import db
from ..org.services import department_choices
from . import services
from .models import User
from .roles import ROLE_LABELS, Role, roles_required
from .sessions import check_password, revoke_token, start_session
from .throttle import login_throttled

bp = Blueprint("auth", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else the home page (no open redirect).

    Browsers read ``/\\evil`` like ``//evil`` and drop tabs and newlines, so those are refused too."""
    if target and target.startswith("/") and "\\" not in target and target.isprintable():
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return url_for("core.index")


@bp.route("/login", methods=["GET", "POST"])
@login_throttled
def login():
    """Log in with username and password; POST is rate-limited per address and per username, counted
    together with ``POST /api/session`` (:mod:`server.auth.throttle`)."""
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


# -- account administration ---------------------------------------------------------------------

#: who may open the user screens (a department admin sees only their own department)
USER_MANAGERS = (Role.SYSTEM_ADMIN, Role.DEPT_ADMIN)


def _parse_roles(raw: list[str]) -> set[Role]:
    roles = set()
    for value in raw:
        try:
            roles.add(Role(value))
        except ValueError:
            raise DomainError("bad_role", _("未知角色：%(r)s。", r=value), field="roles") from None
    return roles


def _parse_department_id(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError("unknown_department", _("所选部门不存在，请重新选择。"),
                          field="department_id") from None


def _error_dict(err: DomainError) -> dict[str, str]:
    return {err.details.get("field") or "_form": err.message}


def _department_options() -> list:
    scope = services.managed_department_ids(current_user)
    return department_choices(only_ids=scope)


def _grantable_roles() -> list[Role]:
    if current_user.has_role(Role.SYSTEM_ADMIN):
        return list(Role)
    return [r for r in Role if r not in services.RESTRICTED_ROLES]


def _user_form_context(user: User | None) -> dict:
    return {"departments": _department_options(), "role_choices": _grantable_roles(),
            "role_labels": ROLE_LABELS, "min_password": services.MIN_PASSWORD, "user": user}


def _managed_user(user_id: int) -> User:
    user = services.get_user(user_id)
    services.check_can_manage(current_user, user)
    return user


@bp.get("/users/")
@roles_required(*USER_MANAGERS)
def list_users():
    """List the accounts the current admin manages, with search, filters and paging."""
    args = request.args
    q = (args.get("q") or "").strip()
    department_id = args.get("department_id", type=int)
    role = args.get("role") if args.get("role") in {r.value for r in Role} else None
    status = args.get("status", "all")
    active = {"active": True, "inactive": False}.get(status)
    page = paginate(services.search_users(current_user, q=q, department_id=department_id,
                                          role=Role(role) if role else None, active=active))
    return render_template("auth/users.html", page=page, q=q, department_id=department_id, role=role,
                           status=status, departments=_department_options(), roles=list(Role),
                           role_labels=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(*USER_MANAGERS)
def create_user():
    """Create an account; bad input re-renders the form with the message next to the field."""
    if request.method == "GET":
        form = {"department_id": str(current_user.department_id or "") if not
                current_user.has_role(Role.SYSTEM_ADMIN) else "", "roles": []}
        return render_template("auth/user_form.html", form=form, errors={}, **_user_form_context(None))
    form = {k: request.form.get(k, "") for k in ("username", "display_name", "department_id", "phone")}
    form["roles"] = request.form.getlist("roles")
    try:
        roles = _parse_roles(form["roles"])
        department_id = _parse_department_id(form["department_id"])
        services.check_assignment(current_user, department_id=department_id, roles=roles)
        user = services.create_user(username=form["username"], display_name=form["display_name"],
                                    password=request.form.get("password", ""), roles=roles,
                                    department_id=department_id, phone=form["phone"])
    except DomainError as err:
        return render_template("auth/user_form.html", form=form, errors=_error_dict(err),
                               **_user_form_context(None)), err.status
    flash(_("已创建用户 %(u)s。", u=user.username), "success")
    return redirect(url_for("auth.show_user", user_id=user.id))


@bp.get("/users/<int:user_id>")
@roles_required(*USER_MANAGERS)
def show_user(user_id: int):
    """An account's details, live session count and history. 403 outside the admin's scope."""
    user = _managed_user(user_id)
    live = sum(1 for s in services.list_sessions(user) if s.revoked_at is None and s.expires_at > utcnow())
    return render_template("auth/user_detail.html", user=user, live_sessions=live,
                           history=history("user", user.id), min_password=services.MIN_PASSWORD)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(*USER_MANAGERS)
def edit_user(user_id: int):
    """Edit name, department, roles and phone."""
    user = _managed_user(user_id)
    if request.method == "GET":
        form = {"username": user.username, "display_name": user.display_name,
                "department_id": str(user.department_id or ""), "phone": user.phone or "",
                "roles": [r.value for r in user.roles]}
        return render_template("auth/user_form.html", form=form, errors={}, **_user_form_context(user))
    form = {k: request.form.get(k, "") for k in ("display_name", "department_id", "phone")}
    form["username"] = user.username
    form["roles"] = request.form.getlist("roles")
    try:
        roles = _parse_roles(form["roles"])
        department_id = _parse_department_id(form["department_id"])
        services.check_assignment(current_user, department_id=department_id, roles=roles,
                                  previous_roles=user.roles)
        if user.id == current_user.id and Role.SYSTEM_ADMIN in user.roles and Role.SYSTEM_ADMIN not in roles:
            raise DomainError("cannot_drop_own_admin",
                              _("您不能移除自己的系统管理员角色，以免无人能管理系统。请让另一位系统管理员操作。"),
                              field="roles")
        services.update_user(user, display_name=form["display_name"], roles=roles,
                             department_id=department_id, phone=form["phone"])
    except DomainError as err:
        db.session.rollback()
        user = services.get_user(user_id)
        return render_template("auth/user_form.html", form=form, errors=_error_dict(err),
                               **_user_form_context(user)), err.status
    flash(_("已保存用户 %(u)s。", u=user.username), "success")
    return redirect(url_for("auth.show_user", user_id=user.id))


@bp.post("/users/<int:user_id>/active")
@roles_required(*USER_MANAGERS)
def set_user_active(user_id: int):
    """Enable (``active=1``) or disable (``active=0``) an account; disabling ends all its sessions."""
    user = _managed_user(user_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        raise DomainError("bad_request", _("请求无效。"))
    if wanted == "0" and user.id == current_user.id:
        raise DomainError("cannot_disable_self", _("您不能停用自己的账号。"))
    services.set_active(user, wanted == "1")
    flash(_("已启用用户 %(u)s。", u=user.username) if wanted == "1"
          else _("已停用用户 %(u)s，其所有登录会话已立即结束。", u=user.username), "success")
    return redirect(url_for("auth.show_user", user_id=user.id))


@bp.post("/users/<int:user_id>/password")
@roles_required(*USER_MANAGERS)
def reset_password(user_id: int):
    """An administrator sets a new password; every session of that user ends."""
    user = _managed_user(user_id)
    try:
        if request.form.get("password", "") != request.form.get("confirm", ""):
            raise DomainError("password_mismatch", _("两次输入的新密码不一致。"), field="confirm")
        services.set_password(user, request.form.get("password", ""), by_admin=True,
                              keep_token=current_user.session_token if user.id == current_user.id else None)
    except DomainError as err:
        db.session.rollback()
        user = services.get_user(user_id)
        return render_template("auth/user_detail.html", user=user, live_sessions=None,
                               history=history("user", user.id), min_password=services.MIN_PASSWORD,
                               password_errors=_error_dict(err)), err.status
    flash(_("已重置用户 %(u)s 的密码，其登录会话已全部结束。", u=user.username), "success")
    return redirect(url_for("auth.show_user", user_id=user.id))


# -- one's own account -----------------------------------------------------------------------------


@bp.get("/account/")
@login_required
def account():
    """The current user's own account page."""
    return render_template("auth/account.html")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password (the old one is required); other sessions end, this one stays."""
    if request.method == "POST":
        try:
            ended = services.change_own_password(
                current_user, old_password=request.form.get("old_password", ""),
                new_password=request.form.get("password", ""), confirm=request.form.get("confirm", ""),
                current_token=current_user.session_token)
        except DomainError as err:
            return render_template("auth/change_password.html", errors=_error_dict(err),
                                   min_password=services.MIN_PASSWORD), err.status
        flash(_("密码已修改。其他设备上的 %(n)s 个登录会话已结束。", n=ended), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", errors={}, min_password=services.MIN_PASSWORD)


@bp.get("/account/sessions")
@login_required
def my_sessions():
    """The current user's login sessions, with "退出其他设备"."""
    rows = services.list_sessions(current_user)
    token = current_user.session_token
    return render_template("auth/sessions.html", sessions=rows, now=utcnow(),
                           is_current=lambda row: services.is_current_session(row, token))


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    """End every session of the current user except this one."""
    ended = services.end_other_sessions(current_user, current_user.session_token)
    flash(_("已退出其他设备上的 %(n)s 个登录会话。", n=ended), "success")
    return redirect(url_for("auth.my_sessions"))


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    """End one of the current user's sessions (404 for another user's)."""
    services.end_session(current_user, session_id)
    flash(_("该登录会话已结束。"), "success")
    return redirect(url_for("auth.my_sessions"))


# -- JSON for the PWA (cookie-authenticated; writes need the X-CSRFToken header) -------------------


@bp.get("/api/me")
@login_required
def api_me():
    """Return the current user: id, username, name, department and roles."""
    u = current_user
    return jsonify(id=u.id, username=u.username, display_name=u.display_name,
                   department_id=u.department_id, roles=sorted(r.value for r in u.roles))


@bp.post("/api/me/preferences")
@login_required
def api_preferences():
    """Store the UI language (``{"language": "zh_CN" | "en"}``) in the ``lang`` cookie; return it.

    Raises DomainError ``bad_language`` (400) for any other value."""
    body = request.get_json(silent=True) or {}
    language = body.get("language")
    if language not in current_app.config.get("LANGUAGES", ["zh_CN", "en"]):
        raise DomainError("bad_language", _("不支持的界面语言：请选择 zh_CN 或 en。"), field="language")
    resp = jsonify(language=language)
    resp.set_cookie("lang", language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                    secure=current_app.config.get("SESSION_COOKIE_SECURE", True))
    return resp
