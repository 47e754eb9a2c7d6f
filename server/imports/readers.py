"""Streaming readers for CSV and XLSX files.

:func:`open_table` returns a :class:`Table`: the header row and an iterator of
``(row_number, cells)`` where ``row_number`` is the row as a spreadsheet shows it (header = 1).
Nothing is loaded whole: CSV is decoded as it is read, XLSX goes through openpyxl's read-only
(SAX) reader. A file that cannot be read raises :class:`FileRefused` with a stable code and a
Chinese message.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..core.errors import DomainError
from ..registry.validation import _

log = logging.getLogger(__name__)

#: Excel's row limit: a sheet that reaches it has most likely been cut off
EXCEL_MAX_ROWS = 1_048_576
SNIFF_BYTES = 64 * 1024
# signatures of common binary formats that users rename to .csv by mistake
_BINARY_MAGIC = (
    (b"PK\x03\x04", "zip"),
    (b"\xd0\xcf\x11\xe0", "xls"),
    (b"%PDF", "pdf"),
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF8", "gif"),
    (b"\x1f\x8b", "gzip"),
    (b"Rar!", "rar"),
    (b"7z\xbc\xaf", "7z"),
)


class FileRefused(DomainError):
    """The whole file is refused (nothing is imported)."""

    status = 422


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    fmt: str
    encoding: str | None = None
    #: bytes of the file consumed so far (approximate; for progress)
    position: Any = field(default=lambda: 0)
    size: int = 0
    _closers: list = field(default_factory=list)

    def close(self) -> None:
        for c in self._closers:
            try:
                c()
            except Exception:  # noqa: BLE001 - closing a reader must not hide the real outcome
                pass

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def detect_format(path: str, filename: str | None = None) -> str:
    """Return ``csv`` or ``xlsx`` from the name, falling back to the file's first bytes."""
    name = (filename or path).lower()
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    with open(path, "rb") as fh:
        head = fh.read(4)
    return "xlsx" if head == b"PK\x03\x04" else "csv"


def open_table(path: str, filename: str | None = None) -> Table:
    """Open ``path`` (named ``filename`` by the user) and return its :class:`Table`.

    Raises :class:`FileRefused` (``empty_file``, ``binary_file``, ``bad_encoding``, ``not_xlsx``,
    ``too_many_rows``) when the file cannot be imported at all.
    """
    fmt = detect_format(path, filename)
    size = os.path.getsize(path)
    if size == 0:
        raise FileRefused("empty_file", _("文件是空的，没有任何内容。请选择含表头和数据行的文件。"))
    table = _open_xlsx(path) if fmt == "xlsx" else _open_csv(path)
    table.size = size
    return table


# -- CSV ---------------------------------------------------------------------------------------


def sniff_encoding(sample: bytes) -> str:
    """Return the Python codec for a CSV sample: ``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030``
    (a superset of GBK and GB2312). Raises :class:`FileRefused` for binary data."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused("bad_encoding", _("文件是 UTF-16 编码（Excel 的“Unicode 文本”）。请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 XLSX 后再导入。"))
    for magic, kind in _BINARY_MAGIC:
        if sample.startswith(magic):
            raise FileRefused("binary_file", _("该文件不是 CSV 文本文件（看起来是 %(kind)s 格式的二进制文件）。请上传 CSV 或 XLSX 文件。", kind=kind))
    # (a stray NUL in a text file is not binary: it becomes a row error naming the cell; binary
    # data and UTF-16 without a BOM are NUL-heavy and stay over the ratio)
    if _control_ratio(sample) > 0.01:
        raise FileRefused("binary_file", _("该文件不是 CSV 文本文件（含有二进制内容）。请上传从表格软件导出的 CSV 或 XLSX 文件。"))
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    decoder = codecs.getincrementaldecoder("gb18030")()
    try:
        decoder.decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError as err:
        raise FileRefused("bad_encoding", _("无法识别文件的字符编码（支持 UTF-8 和 GB18030/GBK）。请另存为“CSV UTF-8”后再导入。")) from err


def _decodes(raw, encoding: str) -> bool:
    """True when the whole (seekable) file decodes in ``encoding``; about 1 s per GB."""
    raw.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := raw.read(1024 * 1024):
            decoder.decode(chunk, final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _control_ratio(sample: bytes) -> float:
    if not sample:
        return 0.0
    bad = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    return bad / len(sample)


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _open_csv(path: str) -> Table:
    raw = open(path, "rb")  # noqa: SIM115 - closed by Table.close
    sample = raw.read(SNIFF_BYTES)
    try:
        encoding = sniff_encoding(sample)
    except FileRefused:
        raw.close()
        raise
    if encoding.startswith("utf-8") and len(sample) == SNIFF_BYTES and not _decodes(raw, encoding):
        # the first 64 KiB were plain UTF-8 (often ASCII), the rest is not: a GBK file whose
        # first rows happen to be ASCII
        encoding = "gb18030"
    raw.seek(0)
    text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")
    first = sample.decode(encoding, errors="ignore").lstrip("\ufeff").split("\n", 1)[0]
    reader = csv.reader(text, delimiter=_delimiter(first))

    def fail_decode(err: Exception) -> FileRefused:
        return FileRefused("bad_encoding", _("文件中有无法按 %(enc)s 解码的内容（文件可能混用了多种编码或已损坏）。请另存为“CSV UTF-8”后再导入。", enc=encoding.upper()))

    try:
        headers = next(reader, None)
    except UnicodeDecodeError as err:
        text.close()
        raise fail_decode(err) from err
    except csv.Error as err:
        text.close()
        log.warning("CSV header unreadable: %s", err)  # the parser's own text: the log only
        raise FileRefused("bad_csv", _("CSV 文件第 %(row)s 行附近格式错误（例如某个单元格过长，或引号不成对）。请用表格软件打开并另存为 CSV 后再导入。", row=1)) from err
    if headers is None or not any(h.strip() for h in headers):
        text.close()
        raise FileRefused("empty_file", _("文件中没有表头行。第一行应为列名（如：统一社会信用代码、名称、类型）。"))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        n = 1
        try:
            for cells in reader:
                n += 1
                yield n, cells
        except UnicodeDecodeError as err:
            raise fail_decode(err) from err
        except csv.Error as err:
            log.warning("CSV row %s unreadable: %s", n + 1, err)
            raise FileRefused("bad_csv", _("CSV 文件第 %(row)s 行附近格式错误（例如某个单元格过长，或引号不成对）。请用表格软件打开并另存为 CSV 后再导入。", row=n + 1)) from err

    return Table(headers=[h.strip().lstrip("\ufeff") for h in headers], rows=rows(), fmt="csv",
                 encoding=encoding, position=raw.tell, _closers=[text.close])


# -- XLSX --------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """Return the text of a spreadsheet cell as a user typed it (dates as 2024-03-01, whole
    numbers without ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        if value.hour == value.minute == value.second == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _open_xlsx(path: str) -> Table:
    import openpyxl

    if not zipfile.is_zipfile(path):
        raise FileRefused("not_xlsx", _("该文件不是有效的 XLSX 工作簿（可能是旧版 .xls 或已损坏）。请在 Excel 中另存为 .xlsx 或 CSV 后再导入。"))
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
        raise FileRefused("not_xlsx", _("无法读取该 XLSX 工作簿：它可能已损坏或受密码保护。请重新导出后再导入。")) from err
    ws = wb.worksheets[0] if wb.worksheets else None
    if ws is None:
        wb.close()
        raise FileRefused("empty_file", _("工作簿中没有工作表。"))
    # the <dimension> element at the top of the sheet XML gives the size without reading the rows
    declared = ws.max_row if hasattr(ws, "max_row") else None
    if declared is not None and declared >= EXCEL_MAX_ROWS:
        wb.close()
        raise _too_many_rows()
    it = ws.iter_rows(values_only=True)
    try:
        first = next(it, None)
    except Exception as err:  # noqa: BLE001
        wb.close()
        raise FileRefused("not_xlsx", _("无法读取该 XLSX 工作簿：它可能已损坏。请重新导出后再导入。")) from err
    if first is None or not any(v not in (None, "") for v in first):
        wb.close()
        raise FileRefused("empty_file", _("工作表中没有表头行。第一行应为列名（如：统一社会信用代码、名称、类型）。"))
    headers = [cell_text(v).strip() for v in first]
    progress = {"row": 1}

    def rows() -> Iterator[tuple[int, list[Any]]]:
        n = 1
        for values in it:
            n += 1
            if n >= EXCEL_MAX_ROWS:
                # no (or a wrong) dimension: caught while streaming, before anything is written
                raise _too_many_rows()
            progress["row"] = n
            yield n, [cell_text(v) for v in values]

    def position() -> int:
        # no byte offset inside a zip stream: estimate from rows read against the declared size
        total = declared or 0
        if total <= 1:
            return 0
        return int(os.path.getsize(path) * min(1.0, progress["row"] / total))

    return Table(headers=headers, rows=rows(), fmt="xlsx", position=position, _closers=[wb.close])


def _too_many_rows() -> FileRefused:
    return FileRefused(
        "too_many_rows",
        _("工作表达到了 Excel 的行数上限（1,048,576 行），数据很可能在导出时已被截断。请拆分为多个不超过 100 万行的文件，或改用 CSV 导入。"),
        max_rows=EXCEL_MAX_ROWS,
    )
