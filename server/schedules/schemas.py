"""marshmallow schemas of the schedule API (RULES "Schedule API"); the OpenAPI document uses them.
Never an object's credit-risk class here [000#25]."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from . import services


class HHMM(fields.String):
    """``"HH:MM"`` (Beijing time) → ``datetime.time``, read by ``services.parse_time``: the one time
    format of the leader's form and the API. An empty string is refused (send null)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parsed = services.parse_time(text) if text.strip() else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError("Not HH:MM.")
        return parsed


class ScheduleInSchema(Schema):
    """The whole schedule of a visit (PUT is idempotent); a missing field counts as null. Loads into
    a ``services.ScheduleInput`` (typed values); the rules between fields are the service's."""

    class Meta:
        unknown = EXCLUDE

    scheduled_on = fields.Date(allow_none=True, load_default=None, metadata={"description": "YYYY-MM-DD"})
    window_start = HHMM(allow_none=True, load_default=None, metadata={"description": "HH:MM (Beijing time)"})
    window_end = HHMM(allow_none=True, load_default=None, metadata={"description": "HH:MM (Beijing time)"})
    route_order = fields.Integer(allow_none=True, load_default=None, strict=True,
                                 validate=validate.Range(min=services.ORDER_MIN, max=services.ORDER_MAX))
    note = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=services.NOTE_MAX))

    @post_load
    def _to_input(self, data, **_kwargs) -> services.ScheduleInput:
        return services.ScheduleInput(**{f: data.get(f) for f in services.FIELDS})


class ScheduleFieldsSchema(Schema):
    scheduled_on = fields.String(allow_none=True, required=True, metadata={"description": "YYYY-MM-DD"})
    window_start = fields.String(allow_none=True, required=True, metadata={"description": "HH:MM"})
    window_end = fields.String(allow_none=True, required=True)
    route_order = fields.Integer(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)


class ScheduleConflictSchema(Schema):
    code = fields.String(required=True, metadata={"description": "inspector_double_booked / outside_period / "
                                                                 "business_peak / non_working_day"})
    message = fields.String(required=True)


class VisitScheduleSchema(Schema):
    visit_id = fields.Integer(required=True)
    schedule = fields.Nested(ScheduleFieldsSchema, required=True)
    conflicts = fields.List(fields.Nested(ScheduleConflictSchema), required=True)
    changed_at = fields.String(required=True, metadata={"description": "ISO 8601, UTC"})


class ScheduleObjectSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    address = fields.String(allow_none=True, required=True)
    business_peak = fields.String(allow_none=True, required=True)


class TeamVisitScheduleSchema(VisitScheduleSchema):
    stage = fields.String(required=True)
    status = fields.String(required=True)
    object = fields.Nested(ScheduleObjectSchema, required=True)


class TeamScheduleSchema(Schema):
    team_id = fields.Integer(required=True)
    team_number = fields.Integer(required=True, metadata={"description": "as shown (1-based)"})
    task = fields.Dict(required=True, metadata={"description": "{id, code, name, period_start, period_end}"})
    can_edit = fields.Boolean(required=True, metadata={"description": "the caller is the team's active leader "
                                                                      "and the task is open"})
    visits = fields.List(fields.Nested(TeamVisitScheduleSchema), required=True)
