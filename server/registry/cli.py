"""``flask objects import|export`` and ``flask inspectors import|export``.

The commands go through the same import jobs as the back office (:func:`server.imports.services.run_job`),
run inline, and exit non-zero when rows were rejected or the file was refused.
"""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ..extensions import db

objects_cli = AppGroup("objects", help="检查对象名录库 (object registry): import and export.")
inspectors_cli = AppGroup("inspectors", help="执法检查人员名录库 (inspector registry): import and export.")

#: how many report lines the CLI prints before pointing at the full report
SHOW_ERRORS = 20


def run_import(kind: str, path: str, valid_only: bool, *, echo=click.echo) -> int:
    """Import ``path`` as an inline job; print a summary; return the exit code (0 when every row
    was imported, 1 when rows were rejected or the file was refused, 2 on failure)."""
    from ..imports import services
    from ..imports.models import ImportKind, JobStatus

    path = os.path.abspath(path)
    sha, size = services.file_sha256(path)
    job = services.create_job(ImportKind(kind), os.path.basename(path), path, sha, size, valid_only=valid_only)
    db.session.commit()

    def progress(j) -> None:
        if j.processed_rows and j.processed_rows % 100_000 == 0:
            echo(f"  … {j.status.value}: {j.processed_rows} rows", err=True)

    job = services.run_job(job.id, on_progress=progress)
    echo(f"import #{job.id} {job.filename}: {job.status.value}")
    report = job.report or {}
    if report.get("code"):
        echo(f"  {report['code']}: {report.get('message', '')}", err=True)
        return 2 if job.status is JobStatus.FAILED else 1
    echo(f"  rows {job.total_rows}, created {job.created_count}, updated {job.updated_count}, "
         f"unchanged {job.unchanged_count}, rejected {job.rejected_count}")
    if job.rejected_count:
        if not job.valid_only:
            echo("  nothing was changed: the file has errors (use --valid-only to import the valid rows)",
                 err=True)
        for n, e in enumerate(services.report_rows(job)):
            if n >= SHOW_ERRORS:
                echo(f"  … {job.error_count - SHOW_ERRORS} more", err=True)
                break
            echo(f"  row {e.row}, {e.column}: {e.message}", err=True)
        report_path = os.path.join(current_app.config["UPLOAD_DIR"], "reports", f"import-{job.id}-report.csv")
        os.makedirs(os.path.dirname(report_path), exist_ok=True)
        with open(report_path, "wb") as fh:
            services.write_report(job, fh, "csv")
        echo(f"  full report: {report_path}", err=True)
        return 1
    return 0 if job.status is JobStatus.DONE else 2


def _import_command(kind: str):
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--valid-only", is_flag=True, help="Import the valid rows even when other rows are rejected.")
    def command(path: str, valid_only: bool) -> None:
        raise SystemExit(run_import(kind, path, valid_only))

    command.__doc__ = (f"Import {kind} from a CSV (UTF-8 / GB18030) or XLSX file; upsert by "
                       f"{'credit code' if kind == 'objects' else 'certificate number'}. "
                       "The first row holds the column names, as in an export; columns the file "
                       "does not have are left unchanged.")
    if kind == "objects":
        command.__doc__ += (" Required: 统一社会信用代码, 名称, 类型. Optional, among others: "
                            "经营高峰时段 (business peak hours, e.g. 11:00-13:30，17:00-20:00; "
                            "an empty cell clears them).")
    return command


def _export_command(kind: str):
    @click.argument("path", type=click.Path(dir_okay=False, writable=True))
    def command(path: str) -> None:
        from ..imports.services import export_to_path

        if not path.lower().endswith((".csv", ".xlsx")):
            raise click.BadParameter("the file name must end in .csv or .xlsx", param_hint="PATH")
        n = export_to_path(kind, path)
        click.echo(f"exported {n} {kind} to {path}")

    command.__doc__ = f"Export all {kind} to PATH (.csv or .xlsx), in the import format."
    return command


objects_cli.command("import")(_import_command("objects"))
objects_cli.command("export")(_export_command("objects"))
inspectors_cli.command("import")(_import_command("inspectors"))
inspectors_cli.command("export")(_export_command("inspectors"))


def init_app(app: Flask) -> None:
    app.cli.add_command(objects_cli)
    app.cli.add_command(inspectors_cli)
