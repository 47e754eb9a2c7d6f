"""PUT /api/visits/<id>/records/<uuid>: idempotent, append-only, access-checked."""

from __future__ import annotations

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.extensions import db
from server.fieldwork.models import RecordStatus, VisitRecord
from server.visits.models import VisitStatus
from tests.sync.conftest import (
    app_record,
    jpeg_bytes,
    new_uuid,
    put_record,
    record_body,
    sha,
    upload,
)


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(VisitRecord)).scalar_one()


def test_new_record_returns_201_receipt(field, login):
    client = login(field.u_a1)
    uid = new_uuid()
    resp = put_record(client, field.v_z.id, uid, record_body(field.a.id))
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["uuid"] == uid and body["version"] == 1 and body["status"] == "stored"
    assert body["visit_id"] == field.v_z.id and body["department_id"] == field.a.id
    assert len(body["content_sha256"]) == 64 and body["complete"] is True


def test_same_record_resent_returns_same_receipt_and_no_new_row(field, login):
    client = login(field.u_a1)
    uid, body = new_uuid(), record_body(field.a.id)
    first = put_record(client, field.v_z.id, uid, body)
    again = put_record(client, field.v_z.id, uid, {**body, "saved_at": "later", "device_id": "other"})
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert _count() == 1


def test_same_uuid_with_other_content_is_409_and_nothing_changes(field, login):
    client = login(field.u_a1)
    uid = new_uuid()
    put_record(client, field.v_z.id, uid, record_body(field.a.id))
    resp = put_record(client, field.v_z.id, uid, record_body(field.a.id, content={"notes": "改过"}))
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "idempotency_mismatch"
    assert "同一编号只能提交同一内容" in resp.get_json()["error"]["message"]
    row = db.session.execute(select(VisitRecord)).scalar_one()
    assert row.content == {"answers": {"1": "yes"}, "notes": "正常"}


def test_next_version_on_top_of_current_is_stored_as_version_2(field, login):
    client = login(field.u_a1)
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id))
    resp = put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id, 1, content={"v": 2}))
    assert resp.status_code == 201 and resp.get_json()["version"] == 2
    versions = db.session.execute(select(VisitRecord.version).order_by(VisitRecord.id)).scalars().all()
    assert versions == [1, 2]  # append-only: version 1 is still there


def test_stale_version_is_409_and_kept_as_conflict_for_the_leader(field, login):
    client = login(field.u_a1)
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id))
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id, 1, content={"v": 2}))
    uid = new_uuid()
    resp = put_record(client, field.v_z.id, uid, record_body(field.a.id, 1, content={"other phone": True}))
    assert resp.status_code == 409
    err = resp.get_json()["error"]
    assert err["code"] == "stale_version"
    assert err["details"]["receipt"]["status"] == "conflict" and err["details"]["receipt"]["uuid"] == uid
    assert err["details"]["receipt"]["version"] == 2
    kept = db.session.execute(select(VisitRecord).where(VisitRecord.uuid == uid)).scalar_one()
    assert kept.status is RecordStatus.CONFLICT and kept.content == {"other phone": True}
    flagged = db.session.execute(select(AuditEntry).where(AuditEntry.action == "visit_record.conflict")).scalar_one()
    assert flagged.entity_id == str(kept.id)


def test_stale_version_resent_gives_the_same_conflict_receipt_and_no_new_row(field, login):
    client = login(field.u_a1)
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id))
    uid, body = new_uuid(), record_body(field.a.id, 0, content={"late": 1})
    first = put_record(client, field.v_z.id, uid, body)
    again = put_record(client, field.v_z.id, uid, body)
    assert again.status_code == 409
    assert again.get_json()["error"]["details"]["receipt"] == first.get_json()["error"]["details"]["receipt"]
    assert _count() == 2


def test_missing_base_version_is_400_and_nothing_is_stored(field, login):
    body = record_body(field.a.id)
    del body["base_version"]
    resp = put_record(login(field.u_a1), field.v_z.id, new_uuid(), body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "missing_idempotency_data"
    assert "版本号" in resp.get_json()["error"]["message"]
    assert _count() == 0


def test_invalid_uuid_is_400_missing_idempotency_data(field, login):
    resp = put_record(login(field.u_a1), field.v_z.id, "not-a-uuid", record_body(field.a.id))
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "missing_idempotency_data"
    assert _count() == 0


def test_content_that_is_not_an_object_is_400_invalid_record(field, login):
    body = {**record_body(field.a.id), "content": ["a", "list"]}
    resp = put_record(login(field.u_a1), field.v_z.id, new_uuid(), body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_record"
    assert "content" in resp.get_json()["error"]["message"]
    assert _count() == 0


def test_lone_surrogate_in_content_is_400_saying_so_and_nothing_is_stored(field, login):
    """JSON may escape a lone surrogate ("\\udcd7"); it cannot be stored as text: a clear 400."""
    body = {**record_body(field.a.id), "content": {"notes": "x\udcd7"}}
    resp = put_record(login(field.u_a1), field.v_z.id, new_uuid(), body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_record"
    assert "代理项" in resp.get_json()["error"]["message"]
    assert _count() == 0


def test_too_large_record_is_413_with_the_limit(field, login, app):
    app.config["SYNC_MAX_RECORD_BYTES"] = 2048
    body = record_body(field.a.id, content={"notes": "很" * 2000})
    resp = put_record(login(field.u_a1), field.v_z.id, new_uuid(), body)
    assert resp.status_code == 413
    err = resp.get_json()["error"]
    assert err["code"] == "payload_too_large" and err["details"]["limit_bytes"] == 2048
    assert "2 KB" in err["message"]
    assert _count() == 0


def test_another_teams_visit_is_403(field, login):
    resp = put_record(login(field.u_a1), field.v_other.id, new_uuid(), record_body(field.a.id))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "not_team_member"
    assert _count() == 0


def test_other_departments_section_is_403(field, login):
    resp = put_record(login(field.u_b1), field.v_z.id, new_uuid(), record_body(field.a.id))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "other_department"
    assert _count() == 0


def test_team_leader_cannot_write_another_departments_section(field, login):
    resp = put_record(login(field.u_a1), field.v_z.id, new_uuid(), record_body(field.b.id))
    assert resp.status_code == 403
    assert _count() == 0


def test_not_logged_in_is_401(field, client):
    resp = put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id))
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "not_authenticated"


def test_store_is_audit_logged(field, login):
    put_record(login(field.u_a1), field.v_z.id, new_uuid(), record_body(field.a.id))
    row = db.session.execute(select(VisitRecord)).scalar_one()
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "visit_record.store")).scalar_one()
    assert entry.entity_id == str(row.id) and entry.after["content_sha256"] == row.content_sha256


def test_visit_moves_to_in_progress_then_done_when_every_department_finished(field, login):
    done_a = record_body(field.a.id, content=app_record(field.v_z, field.a.id), finished=True)
    assert put_record(login(field.u_a1), field.v_z.id, new_uuid(), done_a).status_code == 201
    db.session.refresh(field.v_z)
    assert field.v_z.status is VisitStatus.IN_PROGRESS
    done_b = record_body(field.b.id, content=app_record(field.v_z, field.b.id), finished=True)
    assert put_record(login(field.u_b1), field.v_z.id, new_uuid(), done_b).status_code == 201
    db.session.refresh(field.v_z)
    assert field.v_z.status is VisitStatus.DONE


def test_receipt_is_complete_only_when_every_photo_arrived(field, login):
    client = login(field.u_a1)
    photo = jpeg_bytes(1)
    uid, body = new_uuid(), record_body(field.a.id, photos=[sha(photo)])
    first = put_record(client, field.v_z.id, uid, body).get_json()
    assert first["complete"] is False and first["photos"] == [{"sha256": sha(photo), "stored": False}]
    assert upload(client, photo).status_code == 204
    again = put_record(client, field.v_z.id, uid, body).get_json()
    assert again["complete"] is True and again["photos"] == [{"sha256": sha(photo), "stored": True}]
