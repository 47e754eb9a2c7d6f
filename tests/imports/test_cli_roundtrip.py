"""``flask objects|inspectors import|export``: summaries, exit codes, and exports that import back
unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.extensions import db
from server.registry.models import InspectedObject, Inspector

from .conftest import count, csv_bytes, inspector_row, object_row, valid_code


def test_objects_import_prints_summary_and_exits_zero(departments, runner, write_file):
    path = write_file("o.csv", csv_bytes([object_row(1), object_row(2)]))
    result = runner.invoke(args=["objects", "import", path])
    assert result.exit_code == 0, result.output
    assert "created 2" in result.output and "rejected 0" in result.output
    assert count(InspectedObject) == 2


def test_objects_import_with_errors_exits_nonzero_and_writes_report(departments, runner, write_file):
    bad = valid_code(2)[:17] + ("0" if valid_code(2)[17] != "0" else "1")
    path = write_file("o.csv", csv_bytes([object_row(1), object_row(2, 统一社会信用代码=bad)]))
    result = runner.invoke(args=["objects", "import", path])
    assert result.exit_code == 1
    assert "row 3, 统一社会信用代码" in result.output and "校验位不正确" in result.output
    assert "nothing was changed" in result.output and "full report:" in result.output
    report = result.output.split("full report: ")[1].strip()
    with open(report, encoding="utf-8-sig") as fh:
        assert "check_char" in fh.read()
    assert count(InspectedObject) == 0


def test_objects_import_valid_only_imports_rest_but_still_exits_nonzero(departments, runner, write_file):
    path = write_file("o.csv", csv_bytes([object_row(1), object_row(2, 类型="公司")]))
    result = runner.invoke(args=["objects", "import", path, "--valid-only"])
    assert result.exit_code == 1
    assert "created 1" in result.output and "rejected 1" in result.output
    assert count(InspectedObject) == 1


def test_refused_file_exits_nonzero_with_message(departments, runner, write_file):
    path = write_file("o.csv", b"\x00\x01\x02" * 100)
    result = runner.invoke(args=["objects", "import", path])
    assert result.exit_code == 1 and "binary_file" in result.output
    assert count(InspectedObject) == 0


def test_inspectors_import_summary(departments, runner, write_file):
    path = write_file("i.csv", csv_bytes([inspector_row(1)]))
    result = runner.invoke(args=["inspectors", "import", path])
    assert result.exit_code == 0 and "created 1" in result.output


def test_export_refuses_other_extensions(runner, tmp_path):
    result = runner.invoke(args=["objects", "export", str(tmp_path / "o.json")])
    assert result.exit_code != 0 and ".csv or .xlsx" in result.output


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_exported_objects_import_back_unchanged(departments, runner, write_file, tmp_path, ext):
    rows = [object_row(1, 经营高峰时段="11:00-13:30，17:00-20:00"),
            object_row(2, 监管部门="武陟县市场监督管理局；武陟县商务局", 信用风险分类=""),
            object_row(3, 统一社会信用代码="", 名称="=cmd|' /C calc'!A0", 成立日期="", 类型="项目"),
            object_row(4, 名称="-负号开头", 经营异常名录="是", 投诉举报次数="12")]
    assert runner.invoke(args=["objects", "import", write_file("o.csv", csv_bytes(rows))]).exit_code == 0
    out = str(tmp_path / f"export.{ext}")
    result = runner.invoke(args=["objects", "export", out])
    assert result.exit_code == 0 and "exported 4 objects" in result.output
    result = runner.invoke(args=["objects", "import", out])
    assert result.exit_code == 0, result.output
    assert "created 0, updated 0, unchanged 4" in result.output
    assert db.session.execute(select(InspectedObject.name).where(InspectedObject.name.like("=%"))).scalar_one() \
        == "=cmd|' /C calc'!A0"
    assert sorted(db.session.execute(select(InspectedObject.business_peak)).scalars(), key=str) \
        == ["11:00-13:30，17:00-20:00", None, None, None]


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_exported_inspectors_import_back_unchanged(departments, make_department, runner, write_file, tmp_path, ext):
    from server.org.models import Kind

    make_department("木城市场监管所", code="WZ-MC", kind=Kind.UNIT, parent=departments["market"])
    rows = [inspector_row(1, 所属单位="木城市场监管所", 资格有效期起="2020-01-01", 资格有效期止="2026-12-31"),
            inspector_row(2, 部门="武陟县商务局", 业务专长="", 性别="", 状态="调离"),
            inspector_row(3, 执法证号="", 专家="是")]
    headers = ["部门", "所属单位", "姓名", "性别", "职务", "业务专长", "执法证号", "联系电话", "资格有效期起",
               "资格有效期止", "状态", "专家"]
    assert runner.invoke(args=["inspectors", "import", write_file("i.csv", csv_bytes(rows, headers))]).exit_code == 0
    out = str(tmp_path / f"export.{ext}")
    assert runner.invoke(args=["inspectors", "export", out]).exit_code == 0
    result = runner.invoke(args=["inspectors", "import", out])
    assert result.exit_code == 0, result.output
    assert "created 0, updated 0, unchanged 3" in result.output
    assert count(Inspector) == 3
