"""Importing objects: upsert by credit code, audit, and every bad input refused with nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.extensions import db
from server.imports.models import ImportRowError, JobStatus
from server.registry.models import (
    CodeKind,
    InspectedObject,
    ObjectType,
    RegistrationStatus,
    RiskClass,
)

from .conftest import OBJECT_HEADERS, count, csv_bytes, object_row, valid_code, xlsx_bytes


def _errors(job) -> list[ImportRowError]:
    return list(db.session.execute(select(ImportRowError).where(ImportRowError.job_id == job.id)
                                   .order_by(ImportRowError.row, ImportRowError.id)).scalars())


def _object_audits() -> int:
    return db.session.execute(select(db.func.count()).select_from(AuditEntry)
                              .where(AuditEntry.entity_type == "object")).scalar_one()


@pytest.fixture
def existing(departments, import_file):
    """Two objects already in the registry (imported), returned by code."""
    job = import_file("objects", "seed.csv", csv_bytes([object_row(1), object_row(2)]))
    assert job.status is JobStatus.DONE
    return {o.code: o for o in db.session.execute(select(InspectedObject)).scalars()}


def _unchanged(existing) -> None:
    """Nothing in the registry changed: same objects, same versions, no new object audit entries."""
    db.session.expire_all()
    rows = {o.code: o.version for o in db.session.execute(select(InspectedObject)).scalars()}
    assert rows == {code: 1 for code in existing}
    assert _object_audits() == 2


def test_new_objects_are_created_with_clean_values(departments, import_file):
    job = import_file("objects", "o.csv", csv_bytes([object_row(1, 信用风险分类="D", 登记状态="吊销")]))
    assert (job.status, job.created_count, job.total_rows) == (JobStatus.DONE, 1, 1)
    obj = db.session.execute(select(InspectedObject)).scalar_one()
    assert obj.code == valid_code(1) and obj.code_kind is CodeKind.USCC
    assert obj.risk_class is RiskClass.D and obj.registration_status is RegistrationStatus.REVOKED
    assert [d.name for d in obj.supervising_departments] == ["武陟县市场监督管理局"]


def test_each_created_object_is_in_the_audit_log(departments, import_file):
    import_file("objects", "o.csv", csv_bytes([object_row(1), object_row(2)]))
    entries = list(db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.create")).scalars())
    assert len(entries) == 2
    assert entries[0].after["code"] == valid_code(1)
    assert entries[0].after["supervising_departments"] == ["WZ-SCJG"]


def test_reimport_of_the_same_file_changes_nothing(existing, import_file):
    job = import_file("objects", "seed.csv", csv_bytes([object_row(1), object_row(2)]))
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 0, 2)
    _unchanged(existing)


def test_changed_row_is_updated_with_before_and_after_in_audit(existing, import_file):
    job = import_file("objects", "o.csv", csv_bytes([object_row(1, 名称="新名称有限公司"), object_row(2)]))
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 1)
    obj = db.session.execute(select(InspectedObject).where(InspectedObject.code == valid_code(1))).scalar_one()
    db.session.refresh(obj)
    assert obj.name == "新名称有限公司" and obj.version == 2
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.update")).scalar_one()
    assert entry.before == {"name": "武陟县测试商贸有限公司1"} and entry.after == {"name": "新名称有限公司"}
    assert entry.entity_id == str(obj.id)


def test_supervising_departments_change_is_updated(existing, import_file):
    job = import_file("objects", "o.csv",
                      csv_bytes([object_row(1, 监管部门="武陟县市场监督管理局；武陟县商务局")]))
    assert job.updated_count == 1
    obj = db.session.execute(select(InspectedObject).where(InspectedObject.code == valid_code(1))).scalar_one()
    db.session.refresh(obj)
    assert sorted(d.code for d in obj.supervising_departments) == ["WZ-SCJG", "WZ-SWJ"]


def test_columns_missing_from_the_file_are_left_alone(existing, import_file):
    rows = [{"统一社会信用代码": valid_code(1), "名称": "武陟县测试商贸有限公司1", "类型": "企业"}]
    job = import_file("objects", "o.csv", csv_bytes(rows))
    assert job.unchanged_count == 1
    obj = db.session.execute(select(InspectedObject).where(InspectedObject.code == valid_code(1))).scalar_one()
    assert obj.risk_class is RiskClass.B and obj.supervising_departments


def test_english_headers_and_code_values_are_accepted(departments, import_file):
    rows = [{"code": valid_code(5), "name": "Acme", "type": "individual", "status": "cancelled"}]
    job = import_file("objects", "o.csv", csv_bytes(rows))
    assert job.created_count == 1
    obj = db.session.execute(select(InspectedObject)).scalar_one()
    assert obj.registration_status is RegistrationStatus.CANCELLED


def test_row_without_code_gets_a_generated_code(departments, import_file):
    job = import_file("objects", "o.csv", csv_bytes([object_row(1, 统一社会信用代码="", 类型="产品")]))
    assert job.created_count == 1
    obj = db.session.execute(select(InspectedObject)).scalar_one()
    assert obj.code.startswith("S") and obj.code_kind is CodeKind.GENERATED


def test_gb18030_file_imports(departments, import_file):
    job = import_file("objects", "gbk.csv", csv_bytes([object_row(1)], encoding="gb18030"))
    assert job.created_count == 1 and job.report["encoding"] == "gb18030"
    assert db.session.execute(select(InspectedObject.name)).scalar_one() == "武陟县测试商贸有限公司1"


def test_utf8_bom_file_imports(departments, import_file):
    job = import_file("objects", "bom.csv", csv_bytes([object_row(1)], encoding="utf-8-sig"))
    assert job.created_count == 1 and job.report["encoding"] == "utf-8-sig"


def test_xlsx_file_imports(departments, import_file):
    job = import_file("objects", "o.xlsx", xlsx_bytes([object_row(1), object_row(2)]))
    assert (job.status, job.created_count) == (JobStatus.DONE, 2)


# -- bad input: clear message, nothing changed ---------------------------------------------------


def test_wrong_check_character_is_rejected(existing, import_file):
    bad = valid_code(3)[:17] + ("0" if valid_code(3)[17] != "0" else "1")
    job = import_file("objects", "o.csv", csv_bytes([object_row(3, 统一社会信用代码=bad), object_row(1, 名称="改名")]))
    assert job.status is JobStatus.REJECTED and job.rejected_count == 1
    [err] = _errors(job)
    assert (err.row, err.column, err.reason_code) == (2, "统一社会信用代码", "check_char")
    assert "校验位不正确" in err.message
    _unchanged(existing)


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_forbidden_letter_in_code_is_rejected(existing, import_file, letter):
    bad = "91410823MA" + letter + "000001" + "X"
    job = import_file("objects", "o.csv", csv_bytes([object_row(3, 统一社会信用代码=bad)]))
    assert job.status is JobStatus.REJECTED
    [err] = _errors(job)
    assert err.reason_code == "forbidden_char" and letter in err.message and "I、O、S、V、Z" in err.message
    _unchanged(existing)


def test_duplicate_codes_in_one_file_are_rejected(existing, import_file):
    rows = [object_row(3), object_row(4), object_row(3, 名称="另一家")]
    job = import_file("objects", "o.csv", csv_bytes(rows))
    assert job.status is JobStatus.REJECTED and job.rejected_count == 2
    errs = _errors(job)
    assert [(e.row, e.reason_code) for e in errs] == [(2, "duplicate_in_file"), (4, "duplicate_in_file")]
    assert "第 4 行" in errs[0].message and "第 2 行" in errs[1].message
    _unchanged(existing)


def test_missing_required_column_refuses_the_file(existing, import_file):
    rows = [{"统一社会信用代码": valid_code(3), "区县": "武陟县"}]
    job = import_file("objects", "o.csv", csv_bytes(rows))
    assert job.status is JobStatus.REJECTED
    assert job.report["code"] == "missing_columns" and job.report["missing"] == ["名称", "类型"]
    assert "名称、类型" in job.report["message"]
    _unchanged(existing)


def test_unknown_supervising_department_is_rejected(existing, import_file):
    job = import_file("objects", "o.csv", csv_bytes([object_row(3, 监管部门="火星市场监督管理局")]))
    [err] = _errors(job)
    assert err.reason_code == "unknown_department" and "火星市场监督管理局" in err.message
    _unchanged(existing)


def test_file_with_only_a_header_is_refused(existing, import_file):
    job = import_file("objects", "o.csv", (",".join(OBJECT_HEADERS) + "\n").encode())
    assert job.status is JobStatus.REJECTED and job.report["code"] == "empty_file"
    assert "没有数据行" in job.report["message"]
    _unchanged(existing)


def test_empty_file_is_refused(existing, import_file):
    job = import_file("objects", "o.csv", b"")
    assert job.report["code"] == "empty_file"
    _unchanged(existing)


def test_binary_file_is_refused(existing, import_file):
    job = import_file("objects", "o.csv", bytes(range(256)) * 64)
    assert job.status is JobStatus.REJECTED and job.report["code"] == "binary_file"
    _unchanged(existing)


def test_xlsx_with_excel_row_limit_is_refused(existing, import_file):
    from .test_readers import huge_xlsx

    job = import_file("objects", "huge.xlsx", huge_xlsx())
    assert job.status is JobStatus.REJECTED and job.report["code"] == "too_many_rows"
    _unchanged(existing)


def test_every_bad_row_is_reported_with_row_column_and_reason(existing, import_file):
    rows = [object_row(3, 名称=""), object_row(4), object_row(5, 类型="公司", 成立日期="2020-13-45")]
    job = import_file("objects", "o.csv", csv_bytes(rows))
    assert [(e.row, e.column, e.reason_code) for e in _errors(job)] == [
        (2, "名称", "required"), (4, "类型", "bad_choice"), (4, "成立日期", "bad_date")]
    assert job.rejected_count == 2 and job.error_count == 3
    _unchanged(existing)


def test_valid_only_imports_the_valid_rows_and_skips_the_bad(existing, import_file):
    rows = [object_row(3), object_row(4, 类型="公司"), object_row(5), object_row(5)]
    job = import_file("objects", "o.csv", csv_bytes(rows), valid_only=True)
    assert job.status is JobStatus.DONE
    assert (job.created_count, job.rejected_count) == (1, 3)
    assert count(InspectedObject) == 3


def test_accepted_exception_code_reimports(existing, import_file):
    bad = valid_code(9)[:17] + ("0" if valid_code(9)[17] != "0" else "1")
    obj = InspectedObject(code=bad, code_kind=CodeKind.ACCEPTED, name="早期试点企业",
                          object_type=existing[valid_code(1)].object_type, code_exception_reason="试点赋码")
    db.session.add(obj)
    db.session.commit()
    job = import_file("objects", "o.csv", csv_bytes([object_row(9, 统一社会信用代码=bad, 名称="早期试点企业",
                                                                监管部门="", 信用风险分类="", 成立日期="")]))
    assert job.status is JobStatus.DONE and job.updated_count == 1


def test_html_in_names_is_stored_as_text(departments, import_file):
    job = import_file("objects", "o.csv", csv_bytes([object_row(1, 名称="<script>alert(1)</script>")]))
    assert job.created_count == 1
    assert db.session.execute(select(InspectedObject.name)).scalar_one() == "<script>alert(1)</script>"


def test_large_files_log_creations_per_batch_with_file_hash(app, departments, import_file):
    app.config["IMPORT_AUDIT_PER_ROW_LIMIT"] = 1
    job = import_file("objects", "o.csv", csv_bytes([object_row(1), object_row(2)]))
    [entry] = db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.import_create")).scalars()
    ids = dict(db.session.execute(select(InspectedObject.code, InspectedObject.id)).all())
    assert (entry.entity_type, entry.entity_id) == ("import_job", str(job.id))
    assert entry.after["sha256"] == job.sha256
    assert entry.after["created"] == [[2, ids[valid_code(1)], valid_code(1)], [3, ids[valid_code(2)], valid_code(2)]]


def test_updates_are_logged_per_row_even_for_large_files(app, existing, import_file):
    app.config["IMPORT_AUDIT_PER_ROW_LIMIT"] = 1
    import_file("objects", "o.csv", csv_bytes([object_row(1, 区县="温县"), object_row(2, 区县="温县")]))
    entries = list(db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.update")).scalars())
    assert [e.after for e in entries] == [{"region_county": "温县"}, {"region_county": "温县"}]


def test_audit_chain_still_verifies_after_an_import(departments, import_file):
    from server.audit.services import verify_chain

    import_file("objects", "o.csv", csv_bytes([object_row(i) for i in range(1, 30)]))
    assert verify_chain().ok


# -- the spool between the passes, ids reserved up front -----------------------------------------


def test_created_row_audit_has_the_values_as_the_form_would_log_them(departments, import_file):
    import_file("objects", "o.csv", csv_bytes([object_row(1, 经营异常名录="是", 投诉举报次数="3")]))
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.create")).scalar_one()
    after = entry.after
    assert (after["object_type"], after["registration_status"], after["risk_class"]) == ("enterprise", "active", "B")
    assert after["registered_on"] == "2019-05-01" and after["complaint_count"] == 3
    assert after["abnormal_list"] is True and after["serious_violation"] is False


def test_changed_flag_and_date_are_audited_as_booleans_and_dates(existing, import_file):
    import_file("objects", "o.csv", csv_bytes([object_row(1, 经营异常名录="是", 成立日期="2020-01-02"), object_row(2)]))
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.update")).scalar_one()
    assert entry.before == {"abnormal_list": False, "registered_on": "2019-05-01"}
    assert entry.after == {"abnormal_list": True, "registered_on": "2020-01-02"}


def test_rows_across_batches_get_their_own_ids_and_departments(app, departments, import_file, monkeypatch):
    from server.imports import services

    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    app.config["IMPORT_AUDIT_PER_ROW_LIMIT"] = 1
    rows = [object_row(1), object_row(2, 监管部门="武陟县商务局"), object_row(3), object_row(4, 类型="公司"),
            object_row(5, 监管部门="武陟县市场监督管理局；武陟县商务局"), object_row(2)]
    job = import_file("objects", "o.csv", csv_bytes(rows), valid_only=True)
    # rows 3 and 7 share a code (row 3 was spooled as valid before row 7 showed the duplicate)
    assert (job.status, job.created_count, job.rejected_count) == (JobStatus.DONE, 3, 3)
    objects = {o.code: o for o in db.session.execute(select(InspectedObject)).scalars()}
    assert set(objects) == {valid_code(1), valid_code(3), valid_code(5)}
    assert [d.code for d in objects[valid_code(1)].supervising_departments] == ["WZ-SCJG"]
    assert sorted(d.code for d in objects[valid_code(5)].supervising_departments) == ["WZ-SCJG", "WZ-SWJ"]
    entries = db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.import_create")
                                 .order_by(AuditEntry.seq)).scalars()
    created = [triple for e in entries for triple in e.after["created"]]
    assert created == [[2, objects[valid_code(1)].id, valid_code(1)], [4, objects[valid_code(3)].id, valid_code(3)],
                       [6, objects[valid_code(5)].id, valid_code(5)]]


def test_objects_added_after_an_import_get_fresh_ids(departments, import_file):
    import_file("objects", "o.csv", csv_bytes([object_row(1), object_row(2)]))
    imported = set(db.session.execute(select(InspectedObject.id)).scalars())
    obj = InspectedObject(code=valid_code(7), name="表单新增", object_type=ObjectType.ENTERPRISE)
    db.session.add(obj)
    db.session.commit()
    assert obj.id not in imported and obj.id > max(imported)

