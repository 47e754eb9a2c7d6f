"""A NUL character (\\x00) anywhere in the input is a clear 400 ``nul_character`` naming the field,
refused in one place before any view (PostgreSQL cannot store NUL in text: it used to be a 500),
and an import cell holding one is a row error naming the column. Run on PostgreSQL too."""

from __future__ import annotations

import io
import logging
import uuid

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.auth.models import UserSession
from server.extensions import db
from server.imports.models import ImportJob, ImportRowError, JobStatus
from server.registry.models import InspectedObject
from tests.conftest import PASSWORD
from tests.imports.conftest import OBJECT_HEADERS, csv_bytes, object_row


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _error(resp) -> dict:
    return resp.get_json()["error"]


def test_nul_in_object_search_is_400_naming_the_field(admin, client, make_object):
    make_object("武陟县某某商贸有限公司")
    resp = client.get("/objects/?q=%E5%95%86%00x", headers={"Accept": "application/json"})
    assert resp.status_code == 400
    assert _error(resp)["code"] == "nul_character" and _error(resp)["details"]["field"] == "q"
    assert "输入中含有不允许的控制字符（NUL）" in _error(resp)["message"]
    # the back-office page says the same (HTML)
    page = client.get("/objects/?q=%00")
    assert page.status_code == 400 and 'data-error-code="nul_character"' in page.get_data(as_text=True)


def test_nul_in_login_form_is_400_and_nobody_is_logged_in(make_user, client):
    make_user("admin")
    before = _count(AuditEntry)
    resp = client.post("/login", data={"username": "ad\x00min", "password": PASSWORD})
    assert resp.status_code == 400
    assert 'data-error-code="nul_character"' in resp.get_data(as_text=True)
    resp = client.post("/login", data={"username": "admin", "password": PASSWORD + "\x00"})
    assert resp.status_code == 400
    assert _count(UserSession) == 0 and _count(AuditEntry) == before
    assert client.get("/").status_code == 302  # still logged out


def test_nul_in_json_login_password_is_400(make_user, client):
    make_user("admin")
    resp = client.post("/api/session", json={"username": "admin", "password": "x\x00y"})
    assert resp.status_code == 400 and _error(resp)["code"] == "nul_character"
    assert _error(resp)["details"]["field"] == "password"
    assert _count(UserSession) == 0


def test_nul_in_a_header_used_as_input_is_400(make_user, client):
    """The User-Agent is stored with the login session: a NUL there was a 500 on PostgreSQL."""
    make_user("admin")
    resp = client.post("/login", data={"username": "admin", "password": PASSWORD},
                       headers={"User-Agent": "Mozilla\x00evil"})
    assert resp.status_code == 400 and 'data-error-code="nul_character"' in resp.get_data(as_text=True)
    assert _count(UserSession) == 0


def test_nul_in_a_json_api_body_is_400_naming_the_path(field_inspector, api_login):
    client = api_login("insp")
    body = {"department_id": 1, "base_version": 0, "content": {"notes": "正常\x00"}, "photos": [],
            "finished": False, "device_id": "phone-1", "saved_at": "2026-12-02T10:00:00+08:00"}
    resp = client.put(f"/api/visits/1/records/{uuid.uuid4()}", json=body)
    assert resp.status_code == 400 and _error(resp)["code"] == "nul_character"
    assert _error(resp)["details"]["field"] == "content.notes"
    resp = client.post("/api/me/preferences", json={"language": "en\x00"})
    assert resp.status_code == 400 and _error(resp)["code"] == "nul_character"


def test_nul_in_an_uploaded_file_name_is_400(admin, departments, client):
    resp = client.post("/imports/objects/new", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(csv_bytes([object_row(1)])), "o\x00.csv")})
    assert resp.status_code == 400 and 'data-error-code="nul_character"' in resp.get_data(as_text=True)
    assert _count(ImportJob) == 0


def test_nul_in_an_import_cell_is_a_row_error_naming_the_column(admin, departments, client):
    rows = [object_row(1), object_row(2, 名称="武陟县\x00测试有限公司"), object_row(3)]
    resp = client.post("/imports/objects/new", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(csv_bytes(rows, OBJECT_HEADERS)), "o.csv")})
    assert resp.status_code == 302
    job = db.session.execute(select(ImportJob)).scalar_one()
    assert job.status is JobStatus.REJECTED and job.rejected_count == 1 and _count(InspectedObject) == 0
    error = db.session.execute(select(ImportRowError)).scalar_one()
    assert (error.row, error.column, error.reason_code) == (3, "名称", "nul_character")
    assert "NUL" in error.message and error.value == "武陟县\u2400测试有限公司"
    html = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "NUL" in html and "名称" in html
    # "only valid rows" imports the other two
    resp = client.post("/imports/objects/new", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(csv_bytes(rows, OBJECT_HEADERS)), "o.csv"), "valid_only": "1"})
    assert resp.status_code == 302 and _count(InspectedObject) == 2


def test_a_failed_import_never_shows_the_exception_to_the_user(admin, departments, client, monkeypatch, caplog):
    from server.imports import services

    def broken(self, batch):
        raise RuntimeError('(psycopg.errors.UntranslatableCharacter) INSERT INTO inspected_objects (id, code) '
                           'VALUES (%(id)s, %(code)s) [parameters: secret]')

    monkeypatch.setattr(services.ObjectImporter, "write", broken)
    with caplog.at_level(logging.ERROR):
        resp = client.post("/imports/objects/new", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(csv_bytes([object_row(1)])), "o.csv")})
    job = db.session.execute(select(ImportJob)).scalar_one()
    assert resp.status_code == 302 and job.status is JobStatus.FAILED
    message = job.report["message"]
    assert "INSERT" not in message and "psycopg" not in message and "secret" not in message
    assert f"#{job.id}" in message and "服务器日志" in message
    html = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "INSERT" not in html and "psycopg" not in html
    assert "INSERT INTO inspected_objects" in caplog.text  # the log keeps the details


def test_a_malformed_csv_names_the_row_without_the_parser_text(admin, departments, client):
    rows = [object_row(1), object_row(2, 名称="x" * 140_000)]
    resp = client.post("/imports/objects/new", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(csv_bytes(rows, OBJECT_HEADERS)), "o.csv")})
    job = db.session.execute(select(ImportJob)).scalar_one()
    assert resp.status_code == 302 and job.status is JobStatus.REJECTED and job.report["code"] == "bad_csv"
    assert "第 3 行" in job.report["message"] and "单元格过长" in job.report["message"]
    assert "field larger" not in job.report["message"] and "limit" not in job.report["message"]
