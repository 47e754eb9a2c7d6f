from flask import Blueprint
from flask_login import login_required

bp = Blueprint("org", __name__, url_prefix="/departments", template_folder="templates")


@bp.get("/")
@login_required
def list_departments():
    return "TODO"
