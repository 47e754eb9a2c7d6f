from flask import Blueprint
from flask_login import login_required

bp = Blueprint("registry", __name__, template_folder="templates")


@bp.get("/objects/")
@login_required
def list_objects():
    return "TODO"


@bp.get("/inspectors/")
@login_required
def list_inspectors():
    return "TODO"
