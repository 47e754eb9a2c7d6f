from flask import Blueprint
from flask_login import login_required

bp = Blueprint("catalog", __name__, url_prefix="/catalog", template_folder="templates")


@bp.get("/")
@login_required
def list_items():
    return "TODO"
