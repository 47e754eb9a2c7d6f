"""Screens of this capability (placeholder until built)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("review", __name__, template_folder="templates")


@bp.get("/review")
@login_required
def queue():
    return ""
