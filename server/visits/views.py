"""The assignments API (JSON, session-cookie auth; writes would need the X-CSRFToken header)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from flask_login import current_user

from ..core.errors import DomainError
from . import services
from .schemas import MyVisitsSchema

bp = Blueprint("visits", __name__)


@bp.get("/api/me/visits")
def api_my_visits():
    """Return ``{"visits": [...]}``: the visits of the current user's teams (active membership only),
    by task period then object name; an empty list for a user who is no member. 401 if not logged in.
    Each non-empty download is recorded once as a confidential view."""
    if not current_user.is_authenticated:  # JSON 401, not the login page's redirect
        raise DomainError("login_required", _("请先登录。"), status=401)
    visits = services.visits_for_user(current_user)
    services.log_assignments_view(current_user, visits)
    return jsonify(MyVisitsSchema().dump({"visits": visits}))
