"""Importing inspectors: upsert by certificate number, departments, expertise."""

from __future__ import annotations

from sqlalchemy import select

from server.audit.models import AuditEntry
from server.extensions import db
from server.imports.models import ImportRowError, JobStatus
from server.registry.models import Gender, Inspector

from .conftest import count, csv_bytes, inspector_row, xlsx_bytes


def _errors(job):
    return list(db.session.execute(select(ImportRowError).where(ImportRowError.job_id == job.id)
                                   .order_by(ImportRowError.row)).scalars())


def test_inspectors_are_created_with_expertise(departments, import_file):
    job = import_file("inspectors", "i.csv", csv_bytes([inspector_row(1), inspector_row(2, 性别="女")]))
    assert (job.status, job.created_count) == (JobStatus.DONE, 2)
    ins = db.session.execute(select(Inspector).where(Inspector.certificate_no == "410823000001")).scalar_one()
    assert ins.department_id == departments["market"].id and ins.gender is Gender.MALE
    assert ins.expertise == ["特种设备", "食品安全"]


def test_reimport_updates_changed_inspector_and_tags_only(departments, import_file):
    import_file("inspectors", "i.csv", csv_bytes([inspector_row(1), inspector_row(2)]))
    job = import_file("inspectors", "i.csv", csv_bytes([inspector_row(1, 业务专长="食品安全；成品油"),
                                                        inspector_row(2)]))
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 1)
    ins = db.session.execute(select(Inspector).where(Inspector.certificate_no == "410823000001")).scalar_one()
    db.session.refresh(ins)
    assert ins.expertise == ["成品油", "食品安全"]
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "inspector.update")).scalar_one()
    assert entry.before == {"expertise": ["特种设备", "食品安全"]}
    assert entry.after == {"expertise": ["成品油", "食品安全"]}


def test_unknown_department_is_rejected_and_nothing_changes(departments, import_file):
    job = import_file("inspectors", "i.csv", csv_bytes([inspector_row(1), inspector_row(2, 部门="不存在的局")]))
    assert job.status is JobStatus.REJECTED
    [err] = _errors(job)
    assert (err.row, err.column, err.reason_code) == (3, "部门", "unknown_department")
    assert "不存在的局" in err.message
    assert count(Inspector) == 0


def test_duplicate_certificate_numbers_are_rejected(departments, import_file):
    job = import_file("inspectors", "i.csv", csv_bytes([inspector_row(1), inspector_row(1, 姓名="另一人")]))
    assert job.status is JobStatus.REJECTED
    assert [(e.row, e.reason_code) for e in _errors(job)] == [(2, "duplicate_in_file"), (3, "duplicate_in_file")]
    assert count(Inspector) == 0


def test_missing_certificate_column_refuses_the_file(departments, import_file):
    rows = [{"部门": "武陟县市场监督管理局", "姓名": "张三"}]
    job = import_file("inspectors", "i.csv", csv_bytes(rows))
    assert job.report["code"] == "missing_columns" and job.report["missing"] == ["执法证号"]
    assert count(Inspector) == 0


def test_expert_without_certificate_is_imported_once(departments, import_file):
    rows = [inspector_row(1, 执法证号="", 专家="是", 姓名="王专家")]
    import_file("inspectors", "i.csv", csv_bytes(rows))
    job = import_file("inspectors", "i.csv", csv_bytes(rows))
    assert job.unchanged_count == 1
    assert count(Inspector) == 1


def test_department_by_code_and_xlsx(departments, import_file):
    job = import_file("inspectors", "i.xlsx", xlsx_bytes([inspector_row(1, 部门="WZ-SWJ")]))
    assert job.created_count == 1
    assert db.session.execute(select(Inspector.department_id)).scalar_one() == departments["commerce"].id


def test_department_admin_may_import_only_own_department(departments, app, write_file):
    from server.imports import services
    from server.imports.models import ImportKind

    path = write_file("i.csv", csv_bytes([inspector_row(1), inspector_row(2, 部门="武陟县商务局")]))
    sha, size = services.file_sha256(path)
    job = services.create_job(ImportKind.INSPECTORS, "i.csv", path, sha, size,
                              department_id=departments["market"].id)
    db.session.commit()
    job = services.run_job(job.id)
    [err] = _errors(job)
    assert (err.row, err.reason_code) == (3, "forbidden_department")
    assert count(Inspector) == 0
