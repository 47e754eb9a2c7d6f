"""marshmallow schemas at the public edge: only what the public may see (no ids, no drafts)."""

from __future__ import annotations

from marshmallow import Schema, fields

from .models import METHOD_LABELS, OBJECT_TYPE_LABELS, CheckMethod


class PublicEditionSchema(Schema):
    number = fields.Integer()
    title = fields.String()
    issuer = fields.Function(lambda e: e.issuer.name)
    published_at = fields.DateTime(format="iso")


class PublicMethodSchema(Schema):
    code = fields.String()
    label = fields.String()


class PublicItemSchema(Schema):
    seq = fields.Integer()
    code = fields.String()
    domain = fields.String()
    name = fields.String()
    content = fields.String()
    legal_basis = fields.String()
    object_scope = fields.String()
    object_type = fields.Function(lambda i: i.object_type.value)
    object_type_label = fields.Function(lambda i: str(OBJECT_TYPE_LABELS[i.object_type]))
    initiating_department = fields.Function(lambda i: i.initiating_department.name)
    cooperating_departments = fields.Function(lambda i: [d.name for d in i.cooperating_departments])
    methods = fields.Function(
        lambda i: [{"code": m, "label": str(METHOD_LABELS[CheckMethod(m)])} for m in i.methods]
    )
    default_ratio = fields.Decimal(as_string=True)
    frequency = fields.String()
    times_per_year = fields.Integer(allow_none=True)


class PublicListSchema(Schema):
    edition = fields.Nested(PublicEditionSchema, allow_none=True)
    items = fields.List(fields.Nested(PublicItemSchema))
    editions = fields.List(fields.Nested(PublicEditionSchema))
