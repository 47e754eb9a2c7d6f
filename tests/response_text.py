"""The text a response carries, whatever its format: JSON, HTML, a PDF's text, an XLSX's cells.

The crawls search it for confidential strings and draw secrets (tests/confidentiality,
tests/draws/test_rebuild_attempt.py)."""

from __future__ import annotations

import io
import json

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def body_text(resp) -> str:
    if resp.is_json:
        return json.dumps(resp.get_json(silent=True), ensure_ascii=False)
    if resp.mimetype == PDF:  # the printed documents: search the text they carry
        import pypdf

        return "\n".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(resp.data)).pages)
    if resp.mimetype == XLSX:  # exports
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(resp.data), read_only=True)
        return "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    return resp.get_data(as_text=True)
