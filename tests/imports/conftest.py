"""Factories for the import tests: files in several encodings and formats, departments."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from server.extensions import db
from server.registry import codes

OBJECT_HEADERS = ["统一社会信用代码", "名称", "类型", "区县", "登记状态", "成立日期", "信用风险分类",
                  "经营异常名录", "投诉举报次数", "监管部门"]
INSPECTOR_HEADERS = ["部门", "姓名", "性别", "职务", "业务专长", "执法证号", "联系电话", "状态", "专家"]


def valid_code(n: int) -> str:
    """Return a valid credit code, different for each ``n``."""
    return codes.make_valid(f"91410823MA{n:07d}")


def object_row(n: int, **overrides) -> dict[str, str]:
    row = {"统一社会信用代码": valid_code(n), "名称": f"武陟县测试商贸有限公司{n}", "类型": "企业",
           "区县": "武陟县", "登记状态": "存续", "成立日期": "2019-05-01", "信用风险分类": "B",
           "经营异常名录": "否", "投诉举报次数": "0", "监管部门": "武陟县市场监督管理局"}
    row.update(overrides)
    return row


def inspector_row(n: int, **overrides) -> dict[str, str]:
    row = {"部门": "武陟县市场监督管理局", "姓名": f"检查员{n}", "性别": "男", "职务": "科员",
           "业务专长": "食品安全；特种设备", "执法证号": f"41082300{n:04d}", "联系电话": "0391-7220000",
           "状态": "在岗", "专家": "否"}
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict], headers: list[str] | None = None, encoding: str = "utf-8") -> bytes:
    headers = headers or list(rows[0].keys())
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    for r in rows:
        writer.writerow([r.get(h, "") for h in headers])
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict], headers: list[str] | None = None) -> bytes:
    headers = headers or list(rows[0].keys())
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h, "") for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def departments(make_department):
    """The seed departments of 武陟县 (market regulation and commerce)."""
    return {
        "market": make_department("武陟县市场监督管理局", code="WZ-SCJG"),
        "commerce": make_department("武陟县商务局", code="WZ-SWJ"),
    }


@pytest.fixture
def write_file(tmp_path):
    """Write bytes to a file in tmp_path and return its path."""

    def write(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


@pytest.fixture
def import_file(app, write_file):
    """Run an import through the CLI code path; return the finished job."""
    from server.imports import services
    from server.imports.models import ImportKind

    def run(kind: str, name: str, data: bytes, *, valid_only: bool = False):
        path = write_file(name, data)
        sha, size = services.file_sha256(path)
        job = services.create_job(ImportKind(kind), name, path, sha, size, valid_only=valid_only)
        db.session.commit()
        return services.run_job(job.id)

    return run


def count(model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()
