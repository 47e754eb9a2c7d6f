from flask import Blueprint

from ..auth.roles import AUDIT_READERS, roles_required

bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")


@bp.get("/")
@roles_required(*AUDIT_READERS)
def list_entries():
    return "TODO"
