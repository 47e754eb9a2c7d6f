"""Account operations. They flush; the request or CLI command commits."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..audit.services import diff, record, snapshot
from ..core.errors import DomainError
from ..extensions import db
from .models import User
from .roles import Role
from .sessions import hash_password, revoke_all

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,80}$")
MIN_PASSWORD = 10


def _user_state(user: User) -> dict:
    data = snapshot(user)
    data["roles"] = sorted(r.value for r in user.roles)
    return data


def validate_password(password: str) -> None:
    """Raise DomainError ``weak_password`` unless the password is at least 10 characters."""
    if len(password or "") < MIN_PASSWORD:
        raise DomainError("weak_password", _("密码至少需要 %(n)s 个字符。", n=MIN_PASSWORD), field="password")


def create_user(*, username: str, display_name: str, password: str, roles: list[Role] | set[Role],
                department_id: int | None = None, phone: str | None = None) -> User:
    """Create and return an account; raises DomainError on a bad or taken username or weak password."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise DomainError("bad_username", _("用户名须为 3–80 个字母、数字、下划线、点或连字符。"), field="username")
    if not (display_name or "").strip():
        raise DomainError("missing_name", _("请填写姓名。"), field="display_name")
    validate_password(password)
    taken = db.session.execute(
        select(func.count()).select_from(User).where(func.lower(User.username) == username.lower())
    ).scalar_one()
    if taken:
        raise DomainError("username_taken", _("用户名 %(u)s 已被使用。", u=username), field="username")
    user = User(username=username, display_name=display_name.strip(), password_hash=hash_password(password),
                department_id=department_id, phone=phone)
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    record("user.create", "user", user.id, after=_user_state(user))
    return user


def update_user(user: User, *, display_name: str | None = None, roles: list[Role] | None = None,
                department_id: int | None = ..., phone: str | None = ...) -> User:
    """Change an account's name, roles, department or phone; the change is audited."""
    before = _user_state(user)
    if display_name is not None:
        if not display_name.strip():
            raise DomainError("missing_name", _("请填写姓名。"), field="display_name")
        user.display_name = display_name.strip()
    if roles is not None:
        user.set_roles(roles)
    if department_id is not ...:
        user.department_id = department_id
    if phone is not ...:
        user.phone = phone
    db.session.flush()
    b, a = diff(before, _user_state(user))
    if a:
        record("user.update", "user", user.id, before=b, after=a)
    return user


def set_active(user: User, active: bool) -> User:
    """Enable or disable an account; disabling ends all of its sessions at once."""
    if user.active == active:
        return user
    user.active = active
    ended = 0 if active else revoke_all(user.id, "account_disabled")
    db.session.flush()
    record("user.enable" if active else "user.disable", "user", user.id,
           before={"active": not active}, after={"active": active},
           note=None if active else f"sessions ended: {ended}")
    return user


def set_password(user: User, password: str, *, by_admin: bool) -> None:
    """Set a new password and end the user's other sessions."""
    validate_password(password)
    user.password_hash = hash_password(password)
    revoke_all(user.id, "password_changed")
    db.session.flush()
    record("user.password_reset" if by_admin else "user.password_change", "user", user.id)
