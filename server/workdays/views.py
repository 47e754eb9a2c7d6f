"""Screens of this capability (placeholder until built)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("workdays", __name__, template_folder="templates")


@bp.get("/admin/calendar")
@login_required
def admin():
    return ""
