"""The field record (``content`` of a visit record), defined once on the server.

``FieldRecordSchema`` is schema 2, what the field app writes from issue 7 on (docs/field-record.md,
generated into /api/openapi.json as ``FieldRecord``). ``FieldRecordV1Schema`` is the loose shape of
schema 1, kept so that versions already stored (and drafts still on phones) stay readable; a
*finished* record must be schema 2.

The schemas only check types and sizes ("type-checked"): a draft may be incomplete. The rules a
finished record must satisfy (every item answered, signatures, legal basis …) need the visit, the
team and the result list: :func:`server.fieldwork.validation.finished_record_errors`.
The content is stored exactly as sent (its SHA-256 is the phone's); loading is validation only.
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Not a lowercase hex SHA-256.")
#: a signature drawn on the phone: a PNG/JPEG/WebP data URL
DATA_IMAGE = validate.Regexp(r"^data:image/(png|jpeg|webp);base64,[A-Za-z0-9+/=]+$",
                             error="Not a data:image/png|jpeg|webp;base64 URL.")
PHONE = validate.Regexp(r"^[0-9+\- ]{0,30}$", error="Digits, +, - and spaces only, at most 30.")
ID_KEY = validate.Regexp(r"^[1-9][0-9]{0,9}$", error="Not an id.")
ANSWER_KEY = validate.Regexp(r"^[1-9][0-9]{0,9}-[1-9][0-9]{0,9}$", error="Not <check_item_id>-<question_id>.")

NOTICE_VALUES = ("served", "not_served", "unannounced")
BUSINESS_MODES = ("signature", "stamp", "refusal", "absent")
SHORT, LONG, SIGNATURE_MAX = 200, 10_000, 700_000


def _text(max_len: int = LONG, **kw) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=max_len), **kw)


class _Loose(Schema):
    class Meta:
        unknown = INCLUDE  # the app may carry more (e.g. photo metadata); known fields are typed


class GpsSchema(_Loose):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy_m = fields.Float(allow_none=True, validate=validate.Range(min=0))


class CheckInSchema(_Loose):
    at = fields.String(required=True, validate=validate.Length(min=1, max=40),
                       metadata={"description": "phone clock, ISO 8601, when the inspector checked in"})
    gps = fields.Nested(GpsSchema, allow_none=True)
    gps_error = _text(100, metadata={"description": "why no position (e.g. permission_denied)"})


class ItemResultSchema(_Loose):
    code = _text(40, metadata={"description": "a code of visit.result_options (table result_codes)"})
    method = _text(40, metadata={"description": "a code of visit.method_options; required unless no_check"})
    problems = _text(metadata={"description": "发现的问题; required when the result has problem=true"})
    handling = _text(metadata={"description": "处理情况; required when problem=true"})
    legal_basis = _text(metadata={"description": "法律依据; required when problem=true"})
    follow_up = _text(40, metadata={"description": "a code of visit.follow_up_options; not 'none' when problem=true"})


class PhotoRefSchema(_Loose):
    sha256 = fields.String(required=True, validate=SHA256)
    purpose = _text(40, metadata={"description": "evidence | question | stamp | witness"})
    ref = _text(40, metadata={"description": "the answer key of a photo question"})
    captured_at = _text(40)


class MeasureSchema(_Loose):
    on = fields.Boolean(allow_none=True)
    form = fields.String(allow_none=True, validate=validate.OneOf(["", "written", "oral", "printed"]))


class PartySchema(_Loose):
    liaison_name = _text(SHORT, metadata={"description": "联络人"})
    liaison_phone = fields.String(allow_none=True, validate=PHONE, metadata={"description": "联系电话"})
    opinion = _text(metadata={"description": "被检查对象意见/反馈 [003#18]"})


class RefusalSchema(_Loose):
    reason = _text(metadata={"description": "拒签理由"})
    at = _text(40, metadata={"description": "时间"})
    place = _text(SHORT * 2, metadata={"description": "地点"})
    witness_name = _text(SHORT, metadata={"description": "见证人（可选）"})
    witness_photo = fields.String(allow_none=True, validate=SHA256)
    statement = _text(metadata={"description": "拒签情况说明"})
    inspector_signature = fields.String(allow_none=True, validate=[validate.Length(max=SIGNATURE_MAX), DATA_IMAGE],
                                        metadata={"description": "the inspector's signature on the statement"})
    inspector_signed_at = _text(40)
    inspector_id = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))


class BusinessSchema(_Loose):
    mode = fields.String(required=True, validate=validate.OneOf(BUSINESS_MODES), metadata={
        "description": "signature | stamp | refusal | absent (无法联系/无人在场: only when every result "
                       "has party_absent; evidence, no signature, no signed refusal)"})
    name = _text(SHORT, metadata={"description": "签字人姓名"})
    role = _text(SHORT, metadata={"description": "签字人职务"})
    signature = fields.String(allow_none=True, validate=[validate.Length(max=SIGNATURE_MAX), DATA_IMAGE])
    signed_at = _text(40)
    stamp_photo = fields.String(allow_none=True, validate=SHA256,
                                metadata={"description": "photo of the stamped paper form"})
    stamp_at = _text(40)
    refusal = fields.Nested(RefusalSchema, allow_none=True)


class InspectorSignatureSchema(_Loose):
    name = _text(SHORT)
    department_id = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    signature = fields.String(allow_none=True, validate=[validate.Length(max=SIGNATURE_MAX), DATA_IMAGE])
    signed_at = _text(40)


class FieldRecordSchema(_Loose):
    """Content schema 2 of one department's section of one visit (docs/field-record.md)."""

    schema = fields.Integer(required=True, strict=True, validate=validate.Equal(2),
                            metadata={"description": "content schema version: 2"})
    check_in = fields.Nested(CheckInSchema, allow_none=True)
    notice = fields.String(allow_none=True, validate=validate.OneOf(NOTICE_VALUES), metadata={
        "description": "served | not_served on an announced task; unannounced on an unannounced one"})
    answers = fields.Dict(keys=fields.String(validate=ANSWER_KEY), values=fields.Raw(allow_none=True),
                          validate=validate.Length(max=2000),
                          metadata={"description": "checklist answers by '<check_item_id>-<question_id>'"})
    results = fields.Dict(keys=fields.String(validate=ID_KEY), values=fields.Nested(ItemResultSchema),
                          validate=validate.Length(max=500), metadata={"description": "result per check item id"})
    findings = _text(metadata={"description": "发现的问题（总述）"})
    measures = fields.Dict(keys=fields.String(validate=validate.OneOf(["order_stop", "order_rectify"])),
                           values=fields.Nested(MeasureSchema), metadata={"description": "采取的措施"})
    evidence_notes = _text(metadata={"description": "取证说明"})
    notes = _text(metadata={"description": "备注"})
    photos = fields.List(fields.Nested(PhotoRefSchema), validate=validate.Length(max=500))
    party = fields.Nested(PartySchema, allow_none=True)
    business = fields.Nested(BusinessSchema, allow_none=True)
    inspectors = fields.Dict(keys=fields.String(validate=ID_KEY), values=fields.Nested(InspectorSignatureSchema),
                             validate=validate.Length(max=100),
                             metadata={"description": "every active team member's signature, by inspector id"})


class FieldRecordV1Schema(_Loose):
    """The loose shape of schema 1 (before issue 7): any JSON object, ``schema`` 1 or absent.
    Only readable drafts and already stored versions use it."""

    schema = fields.Integer(allow_none=True, strict=True, validate=validate.Equal(1))


def _flatten(messages: Any, prefix: str, out: dict[str, str]) -> None:
    """Flatten marshmallow's nested error messages into ``{"results.12.code": "…"}``."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "value":  # a Dict field's value errors: the path is the key already
                _flatten(value, prefix, out)
            elif key == "key":
                _flatten(value, prefix, out)
            else:
                _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        out[prefix or "content"] = "; ".join(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            _flatten(value, f"{prefix}.{i}" if prefix else str(i), out)
    else:
        out[prefix or "content"] = str(messages)


def content_schema_version(content: dict[str, Any]) -> int:
    """Return the content's schema version (1 when absent or not 2)."""
    return 2 if content.get("schema") == 2 and type(content.get("schema")) is int else 1


def type_errors(content: dict[str, Any]) -> dict[str, str]:
    """Return ``{path: English detail}`` for every field of the wrong type or size (empty: fine)."""
    schema = FieldRecordSchema() if content_schema_version(content) == 2 else FieldRecordV1Schema()
    try:
        schema.load(content)
    except ValidationError as err:
        out: dict[str, str] = {}
        _flatten(err.messages, "", out)
        return out
    except RecursionError:
        return {"content": "nested too deeply"}
    return {}
