"""marshmallow schemas at the public edge: published plans and their tasks' public fields only.

Never object lists, strata (they name credit-risk classes [000#25]), teams or internal ids of people."""

from __future__ import annotations

from marshmallow import Schema, fields

from .services import LEVEL_LABELS


def _items(task) -> list[dict]:
    from ..catalog.models import CheckItem
    from ..extensions import db

    seen: dict[int, dict] = {}
    for row in task.check_items:
        if row.check_item_id in seen:
            continue
        item = db.session.get(CheckItem, row.check_item_id)
        if item is not None:
            seen[row.check_item_id] = {"code": item.code, "domain": item.domain, "name": item.name}
    return list(seen.values())


class PublicTaskSchema(Schema):
    code = fields.String()
    name = fields.String()
    initiating_department = fields.Function(lambda t: t.initiating_department.name)
    departments = fields.Function(lambda t: [d.department.name for d in t.departments])
    joint = fields.Function(lambda t: t.is_joint)
    period_start = fields.Date()
    period_end = fields.Date()
    check_items = fields.Function(_items)


class PublicPlanSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    level = fields.Function(lambda p: p.level.value)
    level_label = fields.Function(lambda p: str(LEVEL_LABELS[p.level]))
    department = fields.Function(lambda p: p.department.name)
    title = fields.String()
    note = fields.String(allow_none=True)
    published_at = fields.DateTime(format="iso")



class PublicAdhocTaskSchema(PublicTaskSchema):
    adhoc_reason = fields.String()
