"""The OpenAPI 3 document of the field app's API, generated from the marshmallow schemas
(apispec's marshmallow plugin); the paths are declared here, next to the schemas they use."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from ..fieldwork.record_schema import FieldRecordSchema
from . import schemas

OFFSET_STREAM = "application/offset+octet-stream"
SHA_PARAM = {"name": "sha256", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
UPLOAD_HEADERS = {
    "Upload-Offset": {"schema": {"type": "integer", "minimum": 0}, "description": "bytes held"},
    "Upload-Length": {"schema": {"type": "integer", "minimum": 0}},
    "Upload-Complete": {"schema": {"type": "string", "enum": ["0", "1"]}},
}


def _json(schema: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **_json("Error")}


COMMON = {"401": _error("not logged in (not_authenticated)"), "429": _error("too many requests")}


def build_spec(version: str = "1") -> dict[str, Any]:
    """Return the OpenAPI 3.0 document as a dict."""
    spec = APISpec(
        title="Spotcheck field app API", version=version, openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Sync protocol of the field app (docs/sync-protocol.md). Every error body is "
                             "{error: {code, message, details}}. Writes need the X-CSRFToken header."},
    )
    spec.components.schema("FieldRecord", schema=FieldRecordSchema)
    for name in ("Error", "Login", "Session", "Pull", "RecordIn", "Receipt"):
        spec.components.schema(name, schema=getattr(schemas, f"{name}Schema"))
    session_ok = {"description": "the session", **_json("Session")}
    spec.path(path="/api/session", operations={
        "post": {"summary": "log in", "operationId": "login",
                 "requestBody": {"required": True, **_json("Login")},
                 "responses": {"200": session_ok, "400": _error("invalid body"),
                               "401": _error("bad_credentials"), "403": _error("account_disabled"),
                               "415": _error("not JSON"), "429": _error("too many attempts")}},
        "get": {"summary": "the current session", "operationId": "getSession",
                "responses": {"200": session_ok, **COMMON}},
        "delete": {"summary": "log out", "operationId": "logout",
                   "responses": {"204": {"description": "logged out"}, **COMMON}},
    })
    spec.path(path="/api/sync/pull", operations={"get": {
        "summary": "visits changed since the cursor", "operationId": "pull",
        "parameters": [{"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "changes", **_json("Pull")}, **COMMON},
    }})
    spec.path(path="/api/visits/{visit_id}/records/{uuid}", operations={"put": {
        "summary": "store one version of a department's section (idempotent)", "operationId": "putRecord",
        "parameters": [
            {"name": "visit_id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": 2147483647}},
            {"name": "uuid", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
        ],
        "requestBody": {"required": True, **_json("RecordIn")},
        "responses": {
            "200": {"description": "already stored: the same receipt", **_json("Receipt")},
            "201": {"description": "stored", **_json("Receipt")},
            "400": _error("missing_idempotency_data / invalid_record"),
            "403": _error("not_team_member / other_department / recused / not_results_entrant"),
            "404": _error("visit_not_found"),
            "409": _error("idempotency_mismatch / stale_version (details.receipt) / in_progress"),
            "413": _error("payload_too_large (details.limit_bytes)"),
            "422": _error("record_invalid: details.fields maps each content path to its message; nothing stored"),
            **COMMON,
        },
    }})
    upload_state = {"description": "upload state", "headers": UPLOAD_HEADERS}
    spec.path(path="/api/photos/{sha256}", parameters=[SHA_PARAM], operations={
        "head": {"summary": "how much of the photo arrived", "operationId": "photoState",
                 "responses": {"200": upload_state, "400": {"description": "not a SHA-256"},
                               "404": {"description": "nothing received"},
                               "401": {"description": "not logged in"}, "429": {"description": "too many"}}},
        "patch": {
            "summary": "append a chunk", "operationId": "patchPhoto",
            "parameters": [
                {"name": "Upload-Offset", "in": "header", "required": True, "schema": {"type": "integer", "minimum": 0}},
                {"name": "Upload-Length", "in": "header", "required": True, "schema": {"type": "integer", "minimum": 1}},
            ],
            "requestBody": {"required": True, "content": {OFFSET_STREAM: {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {"204": {"description": "chunk stored", "headers": UPLOAD_HEADERS},
                          "400": _error("invalid_upload / upload_length_mismatch / chunk_too_long"),
                          "403": _error("not an inspector"),
                          "409": _error("offset_mismatch (details.offset) / in_progress"),
                          "413": _error("payload_too_large (details.limit_bytes)"),
                          "415": _error("wrong content type"),
                          "422": _error("hash_mismatch / bad_image"),
                          "503": _error("server_busy (retry later)"), **COMMON},
        },
        "get": {"summary": "the original photo", "operationId": "getPhoto",
                "responses": {"200": {"description": "the image", "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}},
                              "400": _error("not a SHA-256"), "403": _error("not allowed"),
                              "404": _error("no such photo"), **COMMON}},
    })
    spec.path(path="/api/photos/{sha256}/thumb", parameters=[SHA_PARAM], operations={"get": {
        "summary": "the photo's thumbnail (JPEG)", "operationId": "getThumb",
        "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
                      "400": _error("not a SHA-256"), "403": _error("not allowed"),
                      "404": _error("no such photo"), **COMMON},
    }})
    _schedule_paths(spec)  # issue 8 §1 (server/schedules/api.py)
    doc = spec.to_dict()
    # every request is guarded (server/core/input_guard.py): a NUL in a header or the query, or
    # JSON nested too deep, is a 400 on any operation
    for operations in doc["paths"].values():
        for method, op in operations.items():
            if method in ("get", "put", "post", "patch", "delete", "head"):
                if "400" not in op["responses"] and 400 not in op["responses"]:
                    op["responses"]["400"] = {
                        "description": "nul_character / json_too_deep",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return doc


def _schedule_paths(spec: APISpec) -> None:
    """The schedule API: the leader sets a visit's schedule; the team reads its schedule."""
    from ..schedules import schemas as sched

    for name in ("ScheduleIn", "VisitSchedule", "TeamSchedule"):
        spec.components.schema(name, schema=getattr(sched, f"{name}Schema"))
    int_id = {"type": "integer", "minimum": 0, "maximum": 2147483647}
    spec.path(path="/api/visits/{visit_id}/schedule", operations={"put": {
        "summary": "set a visit's whole schedule (the team's active leader; idempotent)", "operationId": "putSchedule",
        "parameters": [{"name": "visit_id", "in": "path", "required": True, "schema": int_id}],
        "requestBody": {"required": True, **_json("ScheduleIn")},
        "responses": {
            "200": {"description": "stored (or unchanged)", **_json("VisitSchedule")},
            "400": _error("invalid_request (not a JSON object)"),
            "403": _error("not_team_leader"), "404": _error("visit_not_found"),
            "409": _error("schedule_locked (visited or later, or the task is over/cancelled)"),
            "422": _error("invalid_schedule (details.fields) / schedule_outside_period "
                          "(details.period_start, details.period_end); nothing changed"),
            **COMMON,
        },
    }})
    spec.path(path="/api/teams/{team_id}/schedule", operations={"get": {
        "summary": "the team's visits with schedules and conflicts (members, initiators, auditors)",
        "operationId": "getTeamSchedule",
        "parameters": [{"name": "team_id", "in": "path", "required": True, "schema": int_id}],
        "responses": {"200": {"description": "the team's schedule", **_json("TeamSchedule")},
                      "403": _error("lists_confidential"), "404": _error("team_not_found"), **COMMON},
    }})
