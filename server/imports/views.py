"""Back office: upload a file, follow the job's progress, read and download the report, export.

Handlers parse → check access → call :mod:`server.imports.services`.
"""

from __future__ import annotations

import tempfile

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..auth.roles import MASTER_DATA_EDITORS, Role, roles_required
from ..core.errors import DomainError
from ..core.pagination import paginate
from ..extensions import db
from ..org.models import Department
from . import services
from .models import ImportJob, ImportKind, JobStatus

bp = Blueprint("imports", __name__, template_folder="templates", static_folder="static",
               static_url_path="/imports/static")

KIND_LABELS = {ImportKind.OBJECTS: _l("检查对象"), ImportKind.INSPECTORS: _l("执法检查人员")}
STATUS_LABELS = {
    JobStatus.QUEUED: _l("排队中"), JobStatus.VALIDATING: _l("校验中"), JobStatus.IMPORTING: _l("导入中"),
    JobStatus.DONE: _l("已完成"), JobStatus.REJECTED: _l("已拒绝"), JobStatus.FAILED: _l("失败"),
}
STATUS_BADGES = {JobStatus.DONE: "ok", JobStatus.REJECTED: "danger", JobStatus.FAILED: "danger",
                 JobStatus.VALIDATING: "warn", JobStatus.IMPORTING: "warn", JobStatus.QUEUED: ""}
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _kind(value: str) -> ImportKind:
    try:
        return ImportKind(value)
    except ValueError:
        abort(404)


def _restricted_department() -> int | None:
    """The department a department admin is limited to for inspectors (None = no limit)."""
    if current_user.has_role(Role.SYSTEM_ADMIN, Role.JOINT_OFFICE):
        return None
    if current_user.department_id is None:
        abort(403)
    dept = db.session.get(Department, current_user.department_id)
    return dept.bureau.id if dept else current_user.department_id


def _job_for_user(job_id: int) -> ImportJob:
    job = services.get_job(job_id)
    if not current_user.has_role(Role.SYSTEM_ADMIN, Role.JOINT_OFFICE) and job.user_id != current_user.id:
        abort(403)
    return job


def _labels() -> dict:
    return {"kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS, "status_badges": STATUS_BADGES}


@bp.get("/imports/")
@roles_required(*MASTER_DATA_EDITORS)
def list_jobs():
    """Recent imports (everyone's for system admin / joint office, one's own otherwise)."""
    stmt = select(ImportJob).order_by(ImportJob.id.desc())
    if not current_user.has_role(Role.SYSTEM_ADMIN, Role.JOINT_OFFICE):
        stmt = stmt.where(ImportJob.user_id == current_user.id)
    return render_template("imports/list.html", pagination=paginate(stmt), **_labels())


@bp.route("/imports/<kind>/new", methods=["GET", "POST"])
@roles_required(*MASTER_DATA_EDITORS)
def upload(kind: str):
    """Upload form; on POST store the file, create the job, run it and show the job page."""
    import_kind = _kind(kind)
    restrict = _restricted_department() if import_kind is ImportKind.INSPECTORS else None
    form = {"valid_only": False}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form["valid_only"] = request.form.get("valid_only") == "1"
        file = request.files.get("file")
        if file is None or not file.filename:
            errors["file"] = _("请选择要导入的 CSV 或 XLSX 文件。")
        else:
            try:
                stored, sha, size = services.store_file(file.stream, file.filename)
            except DomainError as err:
                errors["file"] = err.message
            else:
                if size == 0:
                    errors["file"] = _("文件是空的，没有任何内容。请选择含表头和数据行的文件。")
                else:
                    job = services.create_job(import_kind, file.filename, stored, sha, size,
                                              valid_only=form["valid_only"], user_id=current_user.id,
                                              department_id=restrict)
                    db.session.commit()
                    services.start_job(current_app._get_current_object(), job.id)
                    return redirect(url_for("imports.show_job", job_id=job.id))
        return render_template("imports/upload.html", kind=import_kind, form=form, errors=errors,
                               **_labels()), 422
    return render_template("imports/upload.html", kind=import_kind, form=form, errors=errors, **_labels())


@bp.get("/imports/<int:job_id>")
@roles_required(*MASTER_DATA_EDITORS)
def show_job(job_id: int):
    """Job page: progress bar while running, then the summary and the paged report."""
    job = _job_for_user(job_id)
    pagination = paginate(services.report_query(job))
    return render_template("imports/job.html", job=job, pagination=pagination, **_labels())


@bp.get("/imports/<int:job_id>/progress")
@roles_required(*MASTER_DATA_EDITORS)
def job_progress(job_id: int):
    """JSON for the progress bar: status, percent, counters."""
    job = _job_for_user(job_id)
    return {
        "id": job.id, "status": job.status.value, "status_label": str(STATUS_LABELS[job.status]),
        "finished": job.status.finished, "progress": job.progress, "total_rows": job.total_rows,
        "processed_rows": job.processed_rows, "created": job.created_count, "updated": job.updated_count,
        "unchanged": job.unchanged_count, "rejected": job.rejected_count,
    }


@bp.get("/imports/<int:job_id>/report.<fmt>")
@roles_required(*MASTER_DATA_EDITORS)
def download_report(job_id: int, fmt: str):
    """The full validation report (row, column, reason) as CSV or XLSX."""
    if fmt not in FORMATS:
        abort(404)
    job = _job_for_user(job_id)
    fh = tempfile.TemporaryFile()
    services.write_report(job, fh, fmt)
    fh.seek(0)
    return send_file(fh, mimetype=FORMATS[fmt], as_attachment=True,
                     download_name=f"import-{job.id}-report.{fmt}")


@bp.post("/imports/<int:job_id>/valid-only")
@roles_required(*MASTER_DATA_EDITORS)
def rerun_valid_only(job_id: int):
    """"导入有效行": import the valid rows of a rejected job's file (a new job)."""
    job = _job_for_user(job_id)
    new = services.rerun_valid_only(job, user_id=current_user.id)
    db.session.commit()
    services.start_job(current_app._get_current_object(), new.id)
    return redirect(url_for("imports.show_job", job_id=new.id))


@bp.get("/exports/<kind>.<fmt>")
@roles_required(*MASTER_DATA_EDITORS)
def export(kind: str, fmt: str):
    """Export objects or inspectors as CSV/XLSX in the import format. The registry list's query
    string (its filters) narrows the export; a department admin exports their own inspectors."""
    import_kind = _kind(kind)
    if fmt not in FORMATS:
        abort(404)
    ids = _filtered_ids(import_kind)
    fh = tempfile.TemporaryFile()
    services.export_registry(import_kind.value, fh, fmt, ids)
    fh.seek(0)
    name = "objects" if import_kind is ImportKind.OBJECTS else "inspectors"
    return send_file(fh, mimetype=FORMATS[fmt], as_attachment=True, download_name=f"{name}.{fmt}")


def _filtered_ids(kind: ImportKind):
    """A select of the ids the registry list currently shows (its own filter parsing), or None for
    the whole registry."""
    from ..registry import services as registry_services
    from ..registry import views as registry_views
    from ..registry.models import InspectedObject, Inspector

    if kind is ImportKind.OBJECTS:
        if not request.args:
            return None
        stmt = registry_services.search_objects(registry_views._object_filters(), internal=True)
        return stmt.with_only_columns(InspectedObject.id).order_by(None)
    filters = registry_views._inspector_filters()
    restrict = _restricted_department()
    if restrict is not None:
        filters.department_id = restrict
    elif not request.args:
        return None
    stmt = registry_services.search_inspectors(filters)
    return stmt.with_only_columns(Inspector.id).order_by(None)
