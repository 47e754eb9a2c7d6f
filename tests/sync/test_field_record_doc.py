"""docs/field-record.md matches the schema: every field of FieldRecordSchema (nested too) is named."""

from __future__ import annotations

from pathlib import Path

from marshmallow import fields

from server.fieldwork.record_schema import FieldRecordSchema

DOC = Path(__file__).resolve().parents[2] / "docs" / "field-record.md"


def _names(schema, seen=None) -> set[str]:
    out = set()
    for name, field in schema().fields.items() if isinstance(schema, type) else schema.fields.items():
        out.add(name)
        inner = field.value_field if isinstance(field, fields.Dict) else field
        inner = inner.inner if isinstance(inner, fields.List) else inner
        if isinstance(inner, fields.Nested):
            out |= _names(inner.nested)
    return out


def test_every_field_of_the_schema_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = sorted(n for n in _names(FieldRecordSchema) if f"`{n}`" not in text and f".{n}`" not in text)
    assert missing == []


def test_field_record_is_in_the_openapi_document(client):
    doc = client.get("/api/openapi.json").get_json()
    record = doc["components"]["schemas"]["FieldRecord"]
    assert {"schema", "results", "business", "party", "inspectors", "notice"} <= set(record["properties"])
    assert "FieldRecord" in str(doc["components"]["schemas"]["RecordIn"]["properties"]["content"])
