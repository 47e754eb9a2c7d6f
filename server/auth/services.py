"""Account operations. They flush; the request or CLI command commits."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..audit.services import diff, record, snapshot
from ..core.errors import Conflict, DomainError, Forbidden, NotFound
from ..core.models import utcnow
from ..extensions import db
from ..org.models import Department
from .models import User, UserSession
from .roles import Role
from .sessions import _digest, check_password, hash_password, revoke_all

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,80}$")
MIN_PASSWORD = 10
#: roles only a system administrator may grant (a department admin may not)
RESTRICTED_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.JOINT_OFFICE, Role.AUDITOR})


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
    if len(display_name.strip()) > 100:
        raise DomainError("name_too_long", _("姓名最多 100 个字符。"), field="display_name")
    _check_department(department_id)
    phone = _check_phone(phone)
    if not roles:
        raise DomainError("missing_roles", _("请至少选择一个角色。"), field="roles")
    validate_password(password)
    taken = db.session.execute(
        select(func.count()).select_from(User).where(func.lower(User.username) == username.lower())
    ).scalar_one()
    if taken:
        raise Conflict("username_taken", _("用户名 %(u)s 已被使用，请换一个。", u=username), field="username")
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
        if len(display_name.strip()) > 100:
            raise DomainError("name_too_long", _("姓名最多 100 个字符。"), field="display_name")
    if roles is not None and not roles:
        raise DomainError("missing_roles", _("请至少选择一个角色。"), field="roles")
    if department_id is not ... and department_id != user.department_id:
        _check_department(department_id)
    if phone is not ...:
        phone = _check_phone(phone)
    if display_name is not None:
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


def set_password(user: User, password: str, *, by_admin: bool, keep_token: str | None = None) -> int:
    """Set a new password and end the user's sessions (all but ``keep_token``); return how many
    sessions were ended."""
    validate_password(password)
    user.password_hash = hash_password(password)
    ended = revoke_all(user.id, "password_changed", except_token=keep_token)
    db.session.flush()
    record("user.password_reset" if by_admin else "user.password_change", "user", user.id,
           note=f"sessions ended: {ended}")
    return ended


def change_own_password(user: User, *, old_password: str, new_password: str, confirm: str,
                        current_token: str | None) -> int:
    """A user changes their own password; the old one is required. The current session stays,
    every other session ends; return how many ended. Raises DomainError on a wrong old password,
    a mismatched confirmation or a weak new password."""
    if not check_password(user, old_password or ""):
        raise DomainError("wrong_password", _("原密码不正确。"), field="old_password")
    if new_password != confirm:
        raise DomainError("password_mismatch", _("两次输入的新密码不一致。"), field="confirm")
    if new_password == old_password:
        raise DomainError("password_unchanged", _("新密码不能与原密码相同。"), field="password")
    return set_password(user, new_password, by_admin=False, keep_token=current_token)


def end_other_sessions(user: User, current_token: str | None) -> int:
    """End every session of ``user`` except the current one; return how many ended."""
    ended = revoke_all(user.id, "ended_by_user", except_token=current_token)
    db.session.flush()
    record("user.sessions_revoke", "user", user.id, note=f"sessions ended: {ended}")
    return ended


def end_session(user: User, session_id: int) -> None:
    """End one of ``user``'s own sessions. Raises NotFound for someone else's or unknown session."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound("session_not_found", _("找不到该登录会话。"))
    if row.revoked_at is None:
        db.session.execute(update(UserSession).where(UserSession.id == row.id)
                           .values(revoked_at=utcnow(), revoked_reason="ended_by_user"))
        db.session.flush()
        record("user.sessions_revoke", "user", user.id, note=f"session {row.id}")


def list_sessions(user: User, *, limit: int = 50) -> list[UserSession]:
    """Return the user's sessions, live ones first, newest first."""
    return list(db.session.execute(
        select(UserSession).where(UserSession.user_id == user.id)
        .order_by(UserSession.revoked_at.is_not(None), UserSession.last_seen_at.desc()).limit(limit)
    ).scalars())


def is_current_session(row: UserSession, token: str | None) -> bool:
    return bool(token) and row.token_hash == _digest(token)


# -- who may manage whom -------------------------------------------------------------------------


def managed_department_ids(actor: User) -> set[int] | None:
    """Return the department ids whose users ``actor`` manages; None means all (system admin)."""
    if actor.has_role(Role.SYSTEM_ADMIN):
        return None
    if actor.has_role(Role.DEPT_ADMIN) and actor.department_id is not None:
        from ..org.services import bureau_scope_ids

        return bureau_scope_ids(actor.department_id)
    return set()


def check_can_manage(actor: User, target: User) -> None:
    """Raise Forbidden (403) unless ``actor`` may administer ``target``'s account.

    A department admin manages only their own department's users (units included), and never an
    account that holds a role only a system administrator may grant."""
    scope = managed_department_ids(actor)
    if scope is None:
        return
    if target.department_id not in scope:
        raise Forbidden("not_your_department",
                        _("您只能管理本部门的用户。该用户属于其他部门，请联系系统管理员。"))
    if target.roles & RESTRICTED_ROLES:
        raise Forbidden("restricted_account",
                        _("该用户拥有系统管理员、联席办或审计人员角色，只有系统管理员可以管理。"))


def check_assignment(actor: User, *, department_id: int | None, roles: set[Role],
                     previous_roles: set[Role] = frozenset()) -> None:
    """Raise Forbidden (403) when ``actor`` may not put a user in ``department_id`` with ``roles``."""
    scope = managed_department_ids(actor)
    if scope is None:
        return
    if department_id is None or department_id not in scope:
        raise Forbidden("not_your_department",
                        _("您只能把用户分配到本部门或其下属机构。"), field="department_id")
    granted = (set(roles) - set(previous_roles)) & RESTRICTED_ROLES
    if granted:
        from .roles import ROLE_LABELS

        raise Forbidden("role_not_grantable",
                        _("部门管理员不能授予以下角色：%(roles)s。请联系系统管理员。",
                          roles="、".join(str(ROLE_LABELS[r]) for r in sorted(granted))),
                        field="roles")


def search_users(actor: User, *, q: str | None = None, department_id: int | None = None,
                 role: Role | None = None, active: bool | None = None):
    """Return a select() of the users ``actor`` may see, filtered; sorted by username."""
    stmt = select(User).order_by(User.username)
    scope = managed_department_ids(actor)
    if scope is not None:
        stmt = stmt.where(User.department_id.in_(scope or {-1}))
    if q:
        text = q.strip()
        stmt = stmt.where(User.username.contains(text, autoescape=True)
                          | User.display_name.contains(text, autoescape=True)
                          | User.phone.contains(text, autoescape=True))
    if department_id is not None:
        stmt = stmt.where(User.department_id == department_id)
    if role is not None:
        from .models import UserRole

        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role.value)))
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    return stmt


def get_user(user_id: int) -> User:
    """Return the account or raise NotFound (404)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user_not_found", _("找不到该用户。"))
    return user


def _check_department(department_id: int | None) -> None:
    if department_id is None:
        return
    dept = db.session.get(Department, department_id)
    if dept is None:
        raise DomainError("unknown_department", _("所选部门不存在，请重新选择。"), field="department_id")
    if not dept.active:
        raise DomainError("department_inactive", _("部门“%(name)s”已停用，请选择其他部门。", name=dept.name),
                          field="department_id")


PHONE_RE = re.compile(r"^[0-9+\-() ]{3,40}$")


def _check_phone(phone: str | None) -> str | None:
    phone = (phone or "").strip() or None
    if phone is not None and not PHONE_RE.match(phone):
        raise DomainError("bad_phone", _("电话号码只能包含数字、空格、+、-、括号，3–40 个字符。"), field="phone")
    return phone
