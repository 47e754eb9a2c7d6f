"""Screens of this capability (placeholder until built)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("stats", __name__, template_folder="templates")


@bp.get("/stats")
@login_required
def index():
    return ""
