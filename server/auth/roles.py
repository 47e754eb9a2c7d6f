"""Roles and the access checks built on them."""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required


class Role(enum.StrEnum):
    SYSTEM_ADMIN = "system_admin"
    JOINT_OFFICE = "joint_office"
    DEPT_ADMIN = "dept_admin"
    TASK_INITIATOR = "task_initiator"
    INSPECTOR = "inspector"
    REVIEWER = "reviewer"
    DEPT_HEAD = "dept_head"
    AUDITOR = "auditor"


ROLE_LABELS = {
    Role.SYSTEM_ADMIN: _l("系统管理员"),
    Role.JOINT_OFFICE: _l("联席办"),
    Role.DEPT_ADMIN: _l("部门管理员"),
    Role.TASK_INITIATOR: _l("任务发起人"),
    Role.INSPECTOR: _l("执法检查人员"),
    Role.REVIEWER: _l("审核人员"),
    Role.DEPT_HEAD: _l("部门负责人"),
    Role.AUDITOR: _l("审计人员"),
}

#: who may change master data (the list and the two registries)
MASTER_DATA_EDITORS = (Role.SYSTEM_ADMIN, Role.JOINT_OFFICE, Role.DEPT_ADMIN)
#: who may read the audit log
AUDIT_READERS = (Role.SYSTEM_ADMIN, Role.JOINT_OFFICE, Role.AUDITOR)


def roles_required(*roles: Role) -> Callable:
    """View decorator: log in first, then 403 unless the user holds one of ``roles``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can_edit_department_data(user, department_id: int | None) -> bool:
    """System admin and joint office edit everything; a department admin edits their own department's
    data (its units included)."""
    if user.has_role(Role.SYSTEM_ADMIN, Role.JOINT_OFFICE):
        return True
    if user.has_role(Role.DEPT_ADMIN) and department_id is not None and user.department_id is not None:
        from ..extensions import db
        from ..org.models import Department

        dept = db.session.get(Department, department_id)
        return dept is not None and dept.bureau.id == user.department_id
    return False
