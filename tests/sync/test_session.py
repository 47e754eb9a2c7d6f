"""POST/GET/DELETE /api/session; CSRF on JSON writes."""

from __future__ import annotations

from sqlalchemy import select

from server.audit.models import AuditEntry
from server.extensions import db
from tests.conftest import PASSWORD
from tests.sync.conftest import new_uuid, record_body


def test_login_returns_user_csrf_token_and_expiry(field, client):
    resp = client.post("/api/session", json={"username": "insp_a1", "password": PASSWORD})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["user"]["inspector_id"] == field.i_a1.id and body["user"]["roles"] == ["inspector"]
    assert body["csrf_token"] and body["expires_at"]
    assert "HttpOnly" in resp.headers["Set-Cookie"] and "SameSite=Lax" in resp.headers["Set-Cookie"]
    assert client.get("/api/session").get_json()["user"]["id"] == field.u_a1.id


def test_bad_password_is_401_and_logged(field, client):
    resp = client.post("/api/session", json={"username": "insp_a1", "password": "wrong"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "bad_credentials"
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "user.login_failed")).scalar_one()
    assert client.get("/api/session").status_code == 401


def test_nul_character_in_username_is_400_not_a_server_error(field, client):
    resp = client.post("/api/session", json={"username": "insp\x00a1", "password": PASSWORD})
    # refused for the whole application in one place (server/core/input_guard.py), naming the field
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "nul_character"
    assert resp.get_json()["error"]["details"]["field"] == "username"
    assert "NUL" in resp.get_json()["error"]["message"]
    assert client.get("/api/session").status_code == 401


def test_login_form_post_is_415(field, client):
    resp = client.post("/api/session", data={"username": "insp_a1", "password": PASSWORD})
    assert resp.status_code == 415
    assert client.get("/api/session").status_code == 401


def test_logout_revokes_the_session(field, client):
    client.post("/api/session", json={"username": "insp_a1", "password": PASSWORD})
    assert client.delete("/api/session").status_code == 204
    resp = client.get("/api/session")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "not_authenticated"


def test_login_is_rate_limited(field, client, app):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    for _ in range(2):
        client.post("/api/session", json={"username": "insp_a1", "password": "wrong"})
    resp = client.post("/api/session", json={"username": "insp_a1", "password": PASSWORD})
    assert resp.status_code == 429


def test_csrf_login_needs_no_token_but_writes_do(field, client, app):
    app.config["WTF_CSRF_ENABLED"] = True
    resp = client.post("/api/session", json={"username": "insp_a1", "password": PASSWORD})
    assert resp.status_code == 200
    token = resp.get_json()["csrf_token"]
    url = f"/api/visits/{field.v_z.id}/records/{new_uuid()}"
    refused = client.put(url, json=record_body(field.a.id))
    assert refused.status_code == 400
    ok = client.put(url, json=record_body(field.a.id), headers={"X-CSRFToken": token})
    assert ok.status_code == 201
