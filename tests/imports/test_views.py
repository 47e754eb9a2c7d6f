"""Back office: upload, job page with progress and report, downloads, re-run, export, access."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from server.auth.roles import Role
from server.extensions import db
from server.imports.models import ImportJob, JobStatus
from server.registry.models import InspectedObject, Inspector

from .conftest import count, csv_bytes, inspector_row, object_row


def _upload(client, kind, data: bytes, name="o.csv", **form):
    return client.post(f"/imports/{kind}/new", data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def _download(client, url: str) -> bytes:
    with client.get(url) as resp:
        assert resp.status_code == 200
        return resp.data


def _job() -> ImportJob:
    return db.session.execute(select(ImportJob).order_by(ImportJob.id.desc())).scalars().first()


def test_upload_page_has_file_input_and_unchecked_valid_only(admin, client):
    html = client.get("/imports/objects/new").get_data(as_text=True)
    assert 'type="file"' in html and 'name="valid_only"' in html
    assert "checked" not in html.split('name="valid_only"')[1].split(">")[0]


def test_upload_creates_objects_and_shows_summary(admin, departments, client):
    resp = _upload(client, "objects", csv_bytes([object_row(1), object_row(2)]))
    assert resp.status_code == 302
    job = _job()
    assert job.status is JobStatus.DONE and count(InspectedObject) == 2
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "导入完成" in html and "<progress" in html and "progress.js" in html


def test_progress_endpoint_returns_json(admin, departments, client):
    _upload(client, "objects", csv_bytes([object_row(1)]))
    data = client.get(f"/imports/{_job().id}/progress").get_json()
    assert data["status"] == "done" and data["finished"] is True and data["progress"] == 100
    assert data["created"] == 1


def test_progress_script_is_served(admin, client):
    with client.get("/imports/static/imports/progress.js") as resp:
        assert resp.status_code == 200 and b"fetch(" in resp.data


def test_rejected_upload_shows_report_and_changes_nothing(admin, departments, client):
    resp = _upload(client, "objects", csv_bytes([object_row(1), object_row(2, 类型="公司")]))
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "没有做任何更改" in html and "类型 的值“公司”无法识别" in html
    assert "导入有效行（1 行）" in html
    assert count(InspectedObject) == 0


def test_html_in_file_is_escaped_in_report_page(admin, departments, client):
    script = "<script>alert(1)</script>"
    resp = _upload(client, "objects", csv_bytes([object_row(1, 类型=script)]), name="<b>x</b>.csv")
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert script not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;.csv" in html


def test_report_downloads_as_csv_and_xlsx(admin, departments, client):
    _upload(client, "objects", csv_bytes([object_row(1, 名称="")]))
    job = _job()
    csv_text = _download(client, f"/imports/{job.id}/report.csv").decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "行号,列,原因代码,说明,原值"
    assert csv_text.splitlines()[1].startswith("2,名称,required,")
    wb = openpyxl.load_workbook(io.BytesIO(_download(client, f"/imports/{job.id}/report.xlsx")), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    wb.close()
    assert rows[1][:3] == (2, "名称", "required")


def test_import_valid_rows_button_reruns_the_stored_file(admin, departments, client):
    _upload(client, "objects", csv_bytes([object_row(1), object_row(2, 类型="公司")]))
    rejected = _job()
    resp = client.post(f"/imports/{rejected.id}/valid-only")
    assert resp.status_code == 302
    job = _job()
    assert job.id != rejected.id and job.valid_only and job.rerun_of_id == rejected.id
    assert (job.status, job.created_count, job.rejected_count) == (JobStatus.DONE, 1, 1)


def test_valid_only_checkbox_imports_valid_rows(admin, departments, client):
    _upload(client, "objects", csv_bytes([object_row(1), object_row(2, 类型="公司")]), valid_only="1")
    assert _job().valid_only and count(InspectedObject) == 1


def test_refused_file_message_on_job_page(admin, departments, client):
    resp = _upload(client, "objects", csv_bytes([{"名称": "x"}]))
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "文件缺少必需的列" in html and "统一社会信用代码、类型" in html
    assert "导入有效行" not in html


def test_missing_file_keeps_form_with_message(admin, client):
    resp = client.post("/imports/objects/new", data={"valid_only": "1"}, content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "请选择要导入的" in html
    assert 'value="1" checked' in html


def test_wrong_extension_is_refused_on_the_form(admin, client):
    resp = _upload(client, "objects", b"%PDF-1.4", name="scan.pdf")
    assert resp.status_code == 422 and "只支持 CSV 或 XLSX" in resp.get_data(as_text=True)
    assert db.session.execute(select(db.func.count(ImportJob.id))).scalar_one() == 0


class _Zeros(io.RawIOBase):
    """A 200 MB request body that is never held in memory."""

    def __init__(self, size: int):
        self.size, self.pos = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.size + offset if whence == 2 else self.pos + offset
        return self.pos

    def readinto(self, buf) -> int:
        n = max(0, min(len(buf), self.size - self.pos))
        buf[:n] = b"\0" * n
        self.pos += n
        return n


def test_200_mb_upload_gets_clear_413(admin, client):
    size = 200 * 1024 * 1024
    resp = client.post("/imports/objects/new", input_stream=_Zeros(size), content_length=size,
                       content_type="multipart/form-data; boundary=xyz")
    assert resp.status_code == 413
    assert "上传的文件超过 100 MB 的上限" in resp.get_data(as_text=True)
    assert db.session.execute(select(db.func.count(ImportJob.id))).scalar_one() == 0


def test_export_objects_csv_and_xlsx(admin, departments, client, import_file):
    import_file("objects", "o.csv", csv_bytes([object_row(1), object_row(2, 名称="另一家")]))
    text = _download(client, "/exports/objects.csv").decode("utf-8-sig")
    assert text.splitlines()[0].startswith("统一社会信用代码,名称,类型") and len(text.splitlines()) == 3
    wb = openpyxl.load_workbook(io.BytesIO(_download(client, "/exports/objects.xlsx")), read_only=True)
    assert len(list(wb.active.iter_rows(values_only=True))) == 3
    wb.close()


def test_export_honours_list_filters(admin, departments, client, import_file):
    import_file("objects", "o.csv", csv_bytes([object_row(1), object_row(2, 名称="另一家")]))
    text = _download(client, "/exports/objects.csv?q=另一家").decode("utf-8-sig")
    assert len(text.splitlines()) == 2 and "另一家" in text


def test_auditor_cannot_import_or_export(make_user, auth, client):
    make_user("audit1", roles=(Role.AUDITOR,))
    auth.login("audit1")
    assert client.get("/imports/objects/new").status_code == 403
    with client.get("/exports/objects.csv") as resp:
        assert resp.status_code == 403


@pytest.fixture
def dept_admin(make_user, auth, departments):
    user = make_user("deptadmin", roles=(Role.DEPT_ADMIN,), department=departments["market"])
    auth.login("deptadmin")
    return user


def test_dept_admin_imports_own_inspectors_only(dept_admin, departments, client):
    _upload(client, "inspectors", csv_bytes([inspector_row(1), inspector_row(2, 部门="武陟县商务局")]))
    job = _job()
    assert job.status is JobStatus.REJECTED and job.rejected_count == 1
    assert count(Inspector) == 0


def test_dept_admin_exports_own_inspectors_only(dept_admin, departments, client, import_file):
    import_file("inspectors", "i.csv", csv_bytes([inspector_row(1), inspector_row(2, 部门="武陟县商务局")]))
    text = _download(client, "/exports/inspectors.csv").decode("utf-8-sig")
    assert "检查员1" in text and "检查员2" not in text


def test_other_users_job_is_hidden_from_dept_admin(dept_admin, departments, client, import_file):
    job = import_file("objects", "o.csv", csv_bytes([object_row(1)]))
    assert client.get(f"/imports/{job.id}").status_code == 403


def test_job_runs_in_a_background_thread_when_not_inline(app, admin, departments, client):
    import threading

    app.config["IMPORT_RUN_INLINE"] = False
    resp = _upload(client, "objects", csv_bytes([object_row(1), object_row(2)]))
    assert resp.status_code == 302
    job_id = _job().id
    for thread in threading.enumerate():
        if thread.name == f"import-{job_id}":
            thread.join(timeout=60)
    db.session.expire_all()
    job = db.session.get(ImportJob, job_id)
    assert job.status is JobStatus.DONE and job.created_count == 2
    assert client.get(f"/imports/{job_id}/progress").get_json()["finished"] is True


def test_import_list_shows_jobs(admin, departments, client):
    _upload(client, "objects", csv_bytes([object_row(1)]), name="名录.csv")
    html = client.get("/imports/").get_data(as_text=True)
    assert "名录.csv" in html and "已完成" in html


def test_registry_list_offers_import_and_filtered_export(admin, departments, client):
    html = client.get("/objects/?q=%E6%AD%A6%E9%99%9F&page=2").get_data(as_text=True)
    assert 'href="/imports/objects/new"' in html
    assert "/exports/objects.csv?q=%E6%AD%A6%E9%99%9F" in html and "page=2" not in html.split("/exports/")[1][:60]
