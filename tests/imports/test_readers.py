"""Reading files: encodings, binary files, empty files, Excel's row limit."""

from __future__ import annotations

import io
import zipfile

import pytest

from server.imports.readers import EXCEL_MAX_ROWS, FileRefused, open_table

from .conftest import csv_bytes, object_row, xlsx_bytes


def _read(path):
    with open_table(path) as table:
        return table.headers, [cells for _n, cells in table.rows], table.encoding


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                               ("gb18030", "gb18030"), ("gbk", "gb18030")])
def test_csv_encoding_is_detected(write_file, encoding, expected):
    path = write_file("o.csv", csv_bytes([object_row(1)], encoding=encoding))
    headers, rows, detected = _read(path)
    assert detected == expected
    assert headers[0] == "统一社会信用代码"
    assert rows[0][1] == "武陟县测试商贸有限公司1"


def test_semicolon_separated_csv_is_read(write_file):
    path = write_file("o.csv", "统一社会信用代码;名称;类型\n91410823MA0000001X;某公司;企业\n".encode())
    headers, rows, _enc = _read(path)
    assert headers == ["统一社会信用代码", "名称", "类型"]
    assert rows == [["91410823MA0000001X", "某公司", "企业"]]


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
                                  bytes(range(256)) * 16,
                                  b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200])
def test_binary_file_named_csv_is_refused(write_file, data):
    path = write_file("objects.csv", data)
    with pytest.raises(FileRefused) as err:
        open_table(path)
    assert err.value.code == "binary_file"
    assert "不是 CSV 文本文件" in err.value.message


def test_zero_byte_file_is_refused(write_file):
    with pytest.raises(FileRefused) as err:
        open_table(write_file("empty.csv", b""))
    assert err.value.code == "empty_file"
    assert "空" in err.value.message


def test_xlsx_is_streamed_with_dates_and_numbers_as_text(write_file):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "成立日期", "投诉举报次数"])
    ws.append(["某公司", dt.datetime(2020, 3, 1), 3.0])
    buf = io.BytesIO()
    wb.save(buf)
    headers, rows, _enc = _read(write_file("o.xlsx", buf.getvalue()))
    assert headers == ["名称", "成立日期", "投诉举报次数"]
    assert rows == [["某公司", "2020-03-01", "3"]]


def huge_xlsx(rows_declared: int = EXCEL_MAX_ROWS) -> bytes:
    """A tiny workbook whose sheet declares (and ends on) Excel's last row.

    Written by hand as the four XML parts of a minimal .xlsx: the sheet's ``<dimension>`` says
    ``A1:C1048576`` and its last ``<row>`` is r="1048576", so a reader that trusted the data would
    have to stream a million rows; ours refuses it from the dimension, before reading any row.
    """
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:C{rows_declared}"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>统一社会信用代码</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>名称</t></is></c><c r="C1" t="inlineStr"><is><t>类型</t></is></c></row>'
        f'<row r="{rows_declared}"><c r="B{rows_declared}" t="inlineStr"><is><t>末行</t></is></c></row>'
        '</sheetData></worksheet>'
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '</Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'),
        "xl/worksheets/sheet1.xml": sheet,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return buf.getvalue()


def test_xlsx_at_excel_row_limit_is_refused_from_its_dimension(write_file):
    path = write_file("huge.xlsx", huge_xlsx())
    with pytest.raises(FileRefused) as err:
        open_table(path)
    assert err.value.code == "too_many_rows"
    assert "1,048,576" in err.value.message


def test_xlsx_just_below_the_limit_is_read(write_file):
    path = write_file("ok.xlsx", huge_xlsx(rows_declared=3))
    headers, _rows, _enc = _read(path)
    assert headers == ["统一社会信用代码", "名称", "类型"]


def test_corrupt_xlsx_is_refused(write_file):
    path = write_file("broken.xlsx", b"PK\x03\x04 not really a zip")
    with pytest.raises(FileRefused) as err:
        open_table(path)
    assert err.value.code == "not_xlsx"


def test_xlsx_without_rows_is_refused_as_empty(write_file):
    import openpyxl

    buf = io.BytesIO()
    openpyxl.Workbook().save(buf)
    with pytest.raises(FileRefused) as err:
        open_table(write_file("blank.xlsx", buf.getvalue()))
    assert err.value.code == "empty_file"


def test_xlsx_fixture_helper_roundtrips(write_file):
    headers, rows, _enc = _read(write_file("o.xlsx", xlsx_bytes([object_row(7)])))
    assert headers[1] == "名称" and rows[0][1] == "武陟县测试商贸有限公司7"


def test_gbk_file_whose_first_64_kib_are_ascii_is_detected(write_file):
    ascii_rows = "code,name,type\n" + "".join(f"91410823MA{i:07d}X,Company {i},enterprise\n" for i in range(3000))
    data = ascii_rows.encode("ascii") + "91410823MA9999999X,武陟县某公司,企业\n".encode("gbk")
    assert len(ascii_rows) > 64 * 1024
    headers, rows, encoding = _read(write_file("late.csv", data))
    assert encoding == "gb18030" and rows[-1][1] == "武陟县某公司"
