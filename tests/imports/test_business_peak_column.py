"""The optional column 经营高峰时段 (``business_peak``, issue 8) of the object import and export:
validated with the object form's rule, audited like the other fields, exported under the same
header so that an export imports back unchanged."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.extensions import db
from server.imports.models import ImportRowError, JobStatus
from server.registry.models import InspectedObject
from server.registry.validation import clean_business_peak

from .conftest import count, csv_bytes, object_row, valid_code, xlsx_bytes

PEAK = "11:00-13:30，17:00-20:00"


def _files(rows: list[dict]) -> dict[str, bytes]:
    return {"csv": csv_bytes(rows), "xlsx": xlsx_bytes(rows)}


def _obj(n: int) -> InspectedObject:
    obj = db.session.execute(select(InspectedObject).where(InspectedObject.code == valid_code(n))).scalar_one()
    db.session.refresh(obj)
    return obj


def _errors(job) -> list[ImportRowError]:
    return list(db.session.execute(select(ImportRowError).where(ImportRowError.job_id == job.id)
                                   .order_by(ImportRowError.row, ImportRowError.id)).scalars())


def _object_audits() -> int:
    return db.session.execute(select(db.func.count()).select_from(AuditEntry)
                              .where(AuditEntry.entity_type == "object")).scalar_one()


def _state() -> dict[str, tuple]:
    db.session.expire_all()
    return {o.code: (o.version, o.business_peak, o.name)
            for o in db.session.execute(select(InspectedObject)).scalars()}


@pytest.fixture
def seeded(departments, import_file):
    """Object 1 with a business peak, object 2 without (imported)."""
    job = import_file("objects", "seed.csv", csv_bytes([object_row(1, 经营高峰时段="07:00-09:00"), object_row(2)]))
    assert job.status is JobStatus.DONE and job.created_count == 2
    return job


# -- import: valid values ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_new_objects_get_the_business_peak(departments, import_file, fmt):
    rows = [object_row(1, 经营高峰时段=PEAK), object_row(2, 经营高峰时段="  06:30-08:00、18:00-24:00 "),
            object_row(3, 经营高峰时段="")]
    job = import_file("objects", f"o.{fmt}", _files(rows)[fmt])
    assert (job.status, job.created_count, job.rejected_count) == (JobStatus.DONE, 3, 0)
    assert _obj(1).business_peak == PEAK
    assert _obj(2).business_peak == "06:30-08:00、18:00-24:00"  # stored as the form stores it (trimmed)
    assert _obj(3).business_peak is None
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.create",
                                                        AuditEntry.entity_id == str(_obj(1).id))).scalar_one()
    assert entry.after["business_peak"] == PEAK


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_changed_business_peak_is_updated_and_audited(seeded, import_file, fmt):
    rows = [object_row(1, 经营高峰时段=PEAK), object_row(2, 经营高峰时段="17:00-20:00")]
    job = import_file("objects", f"o.{fmt}", _files(rows)[fmt])
    assert (job.status, job.updated_count, job.unchanged_count) == (JobStatus.DONE, 2, 0)
    assert (_obj(1).business_peak, _obj(1).version) == (PEAK, 2)
    assert _obj(2).business_peak == "17:00-20:00"
    entries = {e.entity_id: e for e in db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "object.update")).scalars()}
    assert entries[str(_obj(1).id)].before == {"business_peak": "07:00-09:00"}
    assert entries[str(_obj(1).id)].after == {"business_peak": PEAK}
    assert entries[str(_obj(2).id)].before == {"business_peak": None}
    assert entries[str(_obj(2).id)].after == {"business_peak": "17:00-20:00"}


def test_english_header_alias(departments, import_file):
    rows = [{"code": valid_code(1), "name": "Acme", "type": "enterprise", "business_peak": "08:00-10:00"}]
    job = import_file("objects", "o.csv", csv_bytes(rows))
    assert job.created_count == 1 and _obj(1).business_peak == "08:00-10:00"


# -- import: empty cells and absent column ------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_empty_cell_clears_the_business_peak_like_other_optional_columns(seeded, import_file, fmt):
    """With the column in the file an empty cell clears the value (as for 经营范围, 住所 …)."""
    job = import_file("objects", f"o.{fmt}", _files([object_row(1, 经营高峰时段=""), object_row(2, 经营高峰时段="")])[fmt])
    assert (job.updated_count, job.unchanged_count) == (1, 1)
    assert _obj(1).business_peak is None and _obj(1).version == 2
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.update")).scalar_one()
    assert entry.before == {"business_peak": "07:00-09:00"} and entry.after == {"business_peak": None}


def test_file_without_the_column_leaves_the_business_peak_alone(seeded, import_file):
    job = import_file("objects", "o.csv", csv_bytes([object_row(1, 名称="改名商贸有限公司")]))
    assert job.updated_count == 1
    obj = _obj(1)
    assert obj.name == "改名商贸有限公司" and obj.business_peak == "07:00-09:00"
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.update")).scalar_one()
    assert "business_peak" not in entry.after


# -- import: invalid values ---------------------------------------------------------------------

BAD_PEAKS = ["11点到13点", "13:30-11:00", "11:00-13:30，晚上", "25:00-26:00", "11:00-11:00", "11:00"]


@pytest.mark.parametrize("bad", BAD_PEAKS)
def test_invalid_values_are_those_the_form_refuses(bad):
    assert clean_business_peak(bad)[1] is not None


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("bad", ["11点到13点", "13:30-11:00"])
def test_invalid_business_peak_rejects_the_file_and_changes_nothing(seeded, import_file, fmt, bad):
    before, audits = _state(), _object_audits()
    rows = [object_row(1, 经营高峰时段=PEAK), object_row(2, 经营高峰时段=bad), object_row(3, 经营高峰时段=PEAK)]
    job = import_file("objects", f"o.{fmt}", _files(rows)[fmt])
    assert (job.status, job.rejected_count, job.total_rows) == (JobStatus.REJECTED, 1, 3)
    [error] = _errors(job)
    assert (error.row, error.column, error.reason_code, error.value) == (3, "经营高峰时段", "bad_peak", bad)
    assert error.message.startswith("第 3 行的经营高峰时段")
    assert f"“{bad}”" in error.message and "时:分-时:分" in error.message and "11:00-13:30，17:00-20:00" in error.message
    assert _state() == before and _object_audits() == audits
    assert count(InspectedObject) == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_valid_only_skips_the_bad_row_and_imports_the_rest(seeded, import_file, fmt):
    audits = _object_audits()
    rows = [object_row(1, 经营高峰时段="11:00-13:30；晚上"), object_row(2, 经营高峰时段=PEAK),
            object_row(3, 经营高峰时段=PEAK)]
    job = import_file("objects", f"o.{fmt}", _files(rows)[fmt], valid_only=True)
    assert (job.status, job.rejected_count, job.created_count, job.updated_count) == (JobStatus.DONE, 1, 1, 1)
    assert [(e.row, e.reason_code) for e in _errors(job)] == [(2, "bad_peak")]
    obj1 = _obj(1)
    assert (obj1.business_peak, obj1.version) == ("07:00-09:00", 1)  # the bad row changed nothing
    assert _obj(2).business_peak == PEAK and _obj(3).business_peak == PEAK
    assert _object_audits() == audits + 2  # object 2 updated, object 3 created; nothing for object 1


def test_too_long_business_peak_is_a_row_error(seeded, import_file):
    long = "，".join(["11:00-13:30"] * 20)  # 219 characters: well formed but over the column's 200
    job = import_file("objects", "o.csv", csv_bytes([object_row(1, 经营高峰时段=long)]))
    assert job.status is JobStatus.REJECTED
    [error] = _errors(job)
    assert (error.row, error.reason_code) == (2, "too_long") and "第 2 行" in error.message and "200" in error.message
    assert _obj(1).business_peak == "07:00-09:00"


def test_bad_peak_and_other_errors_of_one_row_are_all_reported(seeded, import_file):
    job = import_file("objects", "o.csv", csv_bytes([object_row(1, 类型="公司", 经营高峰时段="中午")]))
    assert job.rejected_count == 1
    assert sorted(e.column for e in _errors(job)) == sorted(["类型", "经营高峰时段"])


# -- export and round trip ----------------------------------------------------------------------


def test_export_has_the_column_last_with_the_values(seeded):
    from server.imports.services import export_registry

    buf = io.BytesIO()
    assert export_registry("objects", buf, "csv") == 2
    lines = buf.getvalue().decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[-1] == "经营高峰时段"
    assert lines[1].endswith(",07:00-09:00") and lines[2].endswith(",")

    buf = io.BytesIO()
    export_registry("objects", buf, "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue()), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][-1] == "经营高峰时段"
    assert rows[1][-1] == "07:00-09:00" and rows[2][-1] in (None, "")


def test_back_office_export_contains_the_column(admin, seeded, client):
    with client.get("/exports/objects.csv") as resp:
        assert resp.status_code == 200
        text = resp.get_data().decode("utf-8-sig")
    assert "经营高峰时段" in text.splitlines()[0] and "07:00-09:00" in text


def test_upload_page_lists_the_column_with_its_format(admin, client):
    html = client.get("/imports/objects/new").get_data(as_text=True)
    assert "经营高峰时段（如“11:00-13:30，17:00-20:00”" in html


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_export_with_peaks_imports_back_unchanged(seeded, import_file, runner, tmp_path, ext):
    import_file("objects", "more.csv", csv_bytes([object_row(3, 经营高峰时段=PEAK),
                                                   object_row(4, 经营高峰时段="06:00-08:00、11:30-13:00")]))
    before, audits = _state(), _object_audits()
    out = str(tmp_path / f"export.{ext}")
    assert runner.invoke(args=["objects", "export", out]).exit_code == 0
    result = runner.invoke(args=["objects", "import", out])
    assert result.exit_code == 0, result.output
    assert "created 0, updated 0, unchanged 4" in result.output
    assert _state() == before and _object_audits() == audits


def test_cli_prints_the_peak_error_with_row(seeded, runner, write_file):
    path = write_file("o.csv", csv_bytes([object_row(1, 经营高峰时段=""), object_row(2, 经营高峰时段="全天")]))
    result = runner.invoke(args=["objects", "import", path])
    assert result.exit_code == 1
    assert "row 3, 经营高峰时段: 第 3 行的经营高峰时段“全天”无法识别" in result.output
    assert "nothing was changed" in result.output


def test_repeated_values_are_checked_for_every_row(seeded, import_file):
    """The importer cleans each distinct text once: a repeated bad value still names each row."""
    rows = [object_row(n, 经营高峰时段=v) for n, v in
            [(1, PEAK), (2, "午市"), (3, PEAK), (4, "午市"), (5, "")]]
    job = import_file("objects", "o.csv", csv_bytes(rows), valid_only=True)
    assert (job.created_count, job.updated_count, job.rejected_count) == (2, 1, 2)
    assert [(e.row, e.message[:4]) for e in _errors(job)] == [(3, "第 3 "), (5, "第 5 ")]
    assert _obj(1).business_peak == PEAK and _obj(3).business_peak == PEAK and _obj(5).business_peak is None
