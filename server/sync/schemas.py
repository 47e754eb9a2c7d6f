"""marshmallow schemas at the sync API's edge; the OpenAPI document is generated from them.

The credit-risk class is internal only and is never a field of any schema here [000#25]."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from ..visits.schemas import TaskSchema

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Not a lowercase hex SHA-256.")
#: the largest value of the database's INTEGER columns (PostgreSQL int4)
INT_MAX = 2**31 - 1


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable error code"})
    message = fields.String(required=True, metadata={"description": "中文说明"})
    details = fields.Dict(metadata={"description": "extra facts, e.g. limit_bytes, offset, receipt"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


# -- session ---------------------------------------------------------------------------------------


class LoginSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    # no NUL characters: PostgreSQL refuses them in text (found by schemathesis as a 500)
    username = fields.String(required=True, validate=[validate.Length(min=1, max=100),
                                                      validate.Regexp(r"^[^\x00]*$")])
    password = fields.String(required=True, validate=[validate.Length(min=1, max=1000),
                                                      validate.Regexp(r"^[^\x00]*$")])


class SessionUserSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    inspector_id = fields.Integer(allow_none=True, required=True)


class SessionSchema(Schema):
    user = fields.Nested(SessionUserSchema, required=True)
    csrf_token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


# -- pull ------------------------------------------------------------------------------------------


class PullTaskSchema(TaskSchema):
    """The task of a visit (the assignments API's schema)."""


class PersonSchema(Schema):
    inspector_id = fields.Integer(required=True)
    name = fields.String(required=True)


class TeamMemberSchema(PersonSchema):
    department_id = fields.Integer(required=True)
    department = fields.String(required=True)


class TeamSchema(Schema):
    number = fields.Integer(required=True, metadata={"description": "team number as shown (1-based)"})
    leader = fields.Nested(PersonSchema, allow_none=True, required=True)
    members = fields.List(fields.Nested(TeamMemberSchema), required=True)


class PreviousResultSchema(Schema):
    task = fields.String()
    result = fields.String()
    published_on = fields.Date(allow_none=True)


class ObjectSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    address = fields.String(allow_none=True, required=True)
    legal_representative = fields.String(allow_none=True, required=True)
    object_type = fields.String(required=True)
    registration_status = fields.String(required=True)
    abnormal_list = fields.Boolean(required=True)
    serious_violation = fields.Boolean(required=True)
    business_peak = fields.String(allow_none=True, required=True, metadata={
        "description": "经营高峰: hours to avoid when scheduling [002#11], e.g. \"11:00-13:30, 17:00-20:00\""})
    previous_results = fields.List(fields.Nested(PreviousResultSchema), required=True)


class QuestionSchema(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    kind = fields.String(required=True)
    text = fields.String(required=True)
    required = fields.Boolean(required=True)
    help_text = fields.String(allow_none=True)
    legal_basis = fields.String(allow_none=True)
    options = fields.List(fields.String(), allow_none=True)
    unit = fields.String(allow_none=True)
    min = fields.Float(allow_none=True)
    max = fields.Float(allow_none=True)


class TemplateSchema(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    questions = fields.List(fields.Nested(QuestionSchema), required=True)


class SectionItemSchema(Schema):
    check_item_id = fields.Integer(required=True)
    name = fields.String(required=True)
    legal_basis = fields.String(required=True)
    template = fields.Nested(TemplateSchema, allow_none=True, required=True)


class ReturnedRecordSchema(Schema):
    """The version the reviewer returned, so that a phone without it corrects it from its content."""

    uuid = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "the returned server version"})
    content = fields.Dict(keys=fields.String(), required=True, metadata={
        "description": "the record's content as stored (docs/field-record.md, FieldRecord)"})
    photos = fields.List(fields.String(), required=True, metadata={
        "description": "SHA-256 of the referenced photos (already on the server: not uploaded again)"})


class SectionReviewSchema(Schema):
    """The department's review of its consolidated section (table section_results)."""

    status = fields.String(required=True, validate=validate.OneOf(["pending_review", "accepted", "returned", "published"]),
                           metadata={"description": "pending_review 已汇总待审核 (read-only on the phone), accepted "
                                                    "已审核通过, returned 审核退回 (the inspector corrects it), published"})
    comment = fields.String(allow_none=True, required=True, metadata={"description": "the reviewer's comment"})
    decided_at = fields.DateTime(allow_none=True, required=True)
    version = fields.Integer(allow_none=True, metadata={"description": "the server version that was consolidated/reviewed"})
    returned_record = fields.Nested(ReturnedRecordSchema, allow_none=True, metadata={
        "description": "only when status = returned: the returned version's content for a member who may "
                       "write this section (谁检查、谁录入, or the leading department under 谁主导、谁填报); "
                       "null for everyone else; absent for the other statuses"})


class SectionSchema(Schema):
    department_id = fields.Integer(required=True)
    department = fields.String(required=True)
    items = fields.List(fields.Nested(SectionItemSchema), required=True)
    review = fields.Nested(SectionReviewSchema, allow_none=True, required=True,
                           metadata={"description": "null until the leader consolidated the section"})


HHMM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Not HH:MM.")


class ScheduleSchema(Schema):
    """The team leader's schedule of the visit [000#17, 002#13] (PUT /api/visits/<id>/schedule)."""

    scheduled_on = fields.Date(allow_none=True, required=True)
    window_start = fields.String(allow_none=True, required=True, validate=HHMM, metadata={"description": "HH:MM, Beijing"})
    window_end = fields.String(allow_none=True, required=True, validate=HHMM, metadata={"description": "HH:MM, Beijing"})
    route_order = fields.Integer(allow_none=True, required=True, metadata={"description": "position in the day's route"})
    note = fields.String(allow_none=True, required=True)


class DeadlineSchema(Schema):
    date = fields.Date(required=True)
    provisional = fields.Boolean(required=True, metadata={
        "description": "the date runs past the loaded holiday calendar: shown as 暂定 with the reason"})
    reason = fields.String(allow_none=True, required=True)


class AttentionSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stale_version or returned"})
    message = fields.String(required=True)


class HeldRecordSchema(Schema):
    uuid = fields.String(required=True)
    department_id = fields.Integer(required=True)
    version = fields.Integer(allow_none=True, required=True)
    status = fields.String(required=True, validate=validate.OneOf(["stored", "conflict"]))
    finished = fields.Boolean(required=True)
    late = fields.Boolean(required=True, metadata={"description": "arrived after the visits were over (迟交)"})
    attention = fields.Nested(AttentionSchema, allow_none=True, required=True,
                              metadata={"description": "null, or why the team must look at this version "
                                                       "(stale_version; returned: message = the reviewer's comment)"})


class ResultOptionSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "中文"})
    label_en = fields.String(allow_none=True, required=True)
    problem = fields.Boolean(required=True, metadata={"description": "legal basis, follow-up, problems, handling"})
    no_check = fields.Boolean(required=True, metadata={"description": "no checklist needed; evidence instead"})
    party_absent = fields.Boolean(required=True, metadata={"description": "nobody present: business.mode 'absent'"})


class OptionSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "中文"})
    label_en = fields.String(allow_none=True, required=True)


class VisitPayloadSchema(Schema):
    id = fields.Integer(required=True)
    task = fields.Nested(PullTaskSchema, required=True)
    team = fields.Nested(TeamSchema, required=True)
    object = fields.Nested(ObjectSchema, required=True)
    sections = fields.List(fields.Nested(SectionSchema), required=True)
    status = fields.String(required=True)
    scheduled_on = fields.Date(allow_none=True, metadata={"description": "= schedule.scheduled_on (older apps)"})
    schedule = fields.Nested(ScheduleSchema, required=True)
    stage = fields.String(required=True, validate=validate.OneOf(
        ["planned", "scheduled", "visited", "consolidated", "returned", "reviewed", "published"]))
    result_due = fields.Nested(DeadlineSchema, allow_none=True, required=True, metadata={
        "description": "结果录入截止: 20 working days after the visit [000#20]; null before the visit"})
    changed_at = fields.DateTime(required=True)
    records = fields.List(fields.Nested(HeldRecordSchema), required=True)
    result_options = fields.List(fields.Nested(ResultOptionSchema), required=True,
                                 metadata={"description": "the active result list (table result_codes)"})
    method_options = fields.List(fields.Nested(OptionSchema), required=True)
    follow_up_options = fields.List(fields.Nested(OptionSchema), required=True)


class PullSchema(Schema):
    cursor = fields.String(required=True)
    full = fields.Boolean(required=True)
    visits = fields.List(fields.Nested(VisitPayloadSchema), required=True)
    withdrawn = fields.List(fields.Integer(), required=True)


# -- records ---------------------------------------------------------------------------------------


class RecordInSchema(Schema):
    """One version of one department's section, as the phone saved it."""

    class Meta:
        unknown = EXCLUDE

    # integers are bounded by the database's INTEGER: 2^63 is a 400, never a 500 (issue 7 §7)
    department_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=INT_MAX))
    base_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=INT_MAX),
                                  metadata={"description": "the server version this edits (0 = new)"})
    content = fields.Dict(keys=fields.String(), required=True, metadata={
        "description": "the field record (docs/field-record.md): schema 2, see FieldRecord; a finished "
                       "record must satisfy its rules (422 record_invalid otherwise)",
        "allOf": [{"$ref": "#/components/schemas/FieldRecord"}]})
    photos = fields.List(fields.String(validate=SHA256), load_default=list,
                         validate=validate.Length(max=500))
    finished = fields.Boolean(load_default=False)
    device_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    saved_at = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40),
                             metadata={"description": "phone clock, informational"})


class ReceiptPhotoSchema(Schema):
    sha256 = fields.String(required=True)
    stored = fields.Boolean(required=True)


class ReceiptSchema(Schema):
    record_id = fields.Integer(required=True)
    uuid = fields.String(required=True)
    visit_id = fields.Integer(required=True)
    department_id = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={
        "description": "the stored version; for a conflict, the server version it collided with"})
    base_version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["stored", "conflict"]))
    content_sha256 = fields.String(required=True)
    photos = fields.List(fields.Nested(ReceiptPhotoSchema), required=True)
    complete = fields.Boolean(required=True)
    late = fields.Boolean(required=True, metadata={"description": "arrived after the visits were over (迟交)"})
