"""marshmallow schemas at the assignments API edge. The credit-risk class is internal only and is
never part of any field here [000#25]."""

from __future__ import annotations

from marshmallow import Schema, fields


class MemberSchema(Schema):
    name = fields.Function(lambda m: m[1].name)
    department = fields.Function(lambda m: m[2].name)
    department_id = fields.Function(lambda m: m[2].id)
    is_leader = fields.Function(lambda m: m[0].is_leader)


class ObjectSchema(Schema):
    code = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    legal_representative = fields.String(allow_none=True)
    registration_status = fields.Function(lambda o: o.registration_status.value)
    flags = fields.Function(lambda o: {"abnormal_list": o.abnormal_list,
                                       "serious_violation": o.serious_violation})


class ItemSchema(Schema):
    check_item_id = fields.Function(lambda a: a.check_item.id)
    check_item_code = fields.Function(lambda a: a.check_item.code)
    name = fields.Function(lambda a: a.check_item.name)
    department_id = fields.Function(lambda a: a.department.id)
    department = fields.Function(lambda a: a.department.name)
    template_id = fields.Function(lambda a: a.template.id if a.template else None)
    template_version = fields.Function(lambda a: a.template.version if a.template else None)


class TaskSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    unannounced = fields.Boolean()


class AssignedVisitSchema(Schema):
    id = fields.Function(lambda a: a.visit.id)
    status = fields.Function(lambda a: a.visit.status.value)
    scheduled_on = fields.Function(lambda a: a.visit.scheduled_on.isoformat() if a.visit.scheduled_on else None)
    task = fields.Function(lambda a: TaskSchema().dump(a.task))
    team_number = fields.Function(lambda a: a.team.number + 1)
    leader = fields.Function(lambda a: MemberSchema().dump(a.leader) if a.leader else None)
    members = fields.Function(lambda a: MemberSchema(many=True).dump(a.members))
    object = fields.Function(lambda a: ObjectSchema().dump(a.object))
    items = fields.Function(lambda a: ItemSchema(many=True).dump(a.items))
    changed_at = fields.Function(lambda a: a.visit.changed_at.isoformat())


class MyVisitsSchema(Schema):
    visits = fields.List(fields.Nested(AssignedVisitSchema))
