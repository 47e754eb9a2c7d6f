"""The rate-limit storage (Redis) unreachable: login and every rate-limited request answer a clear
503 ``rate_limit_unavailable`` with Retry-After (fail closed, never a 500 and never unthrottled),
and ``/healthz`` reports the database and the rate-limit storage."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from server import create_app
from server.auth.models import UserSession
from server.extensions import db
from tests.conftest import PASSWORD, _base_config, fresh_globals_per_request


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture
def storage_down(app, tmp_path):
    """A second application on the same database whose Redis is a closed port on 127.0.0.1."""
    down = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{_closed_port()}/0"})
    fresh_globals_per_request(down)
    yield down
    with down.app_context():
        db.session.remove()
        db.engine.dispose()


def _sessions() -> int:
    return db.session.execute(select(func.count()).select_from(UserSession)).scalar_one()


def test_form_login_with_storage_down_is_503_with_retry_after(make_user, storage_down):
    make_user("admin")
    resp = storage_down.test_client().post("/login", data={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "30"
    html = resp.get_data(as_text=True)
    assert 'data-error-code="rate_limit_unavailable"' in html and "限流存储" in html
    assert _sessions() == 0


def test_json_login_with_storage_down_is_503_json(make_user, storage_down):
    make_user("admin")
    resp = storage_down.test_client().post("/api/session", json={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "30"
    err = resp.get_json()["error"]
    assert err["code"] == "rate_limit_unavailable" and "稍后重试" in err["message"]
    assert _sessions() == 0


def test_pages_that_are_not_rate_limited_still_work_with_storage_down(storage_down):
    assert storage_down.test_client().get("/login").status_code == 200


def test_healthz_reports_both_parts_when_fine(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "rate_limit_storage": "ok"}


def test_healthz_is_503_naming_the_rate_limit_storage_when_it_is_down(storage_down):
    resp = storage_down.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "unavailable", "database": "ok", "rate_limit_storage": "down"}


def test_healthz_is_503_naming_the_database_when_it_is_down(tmp_path):
    broken = create_app({**_base_config(tmp_path),
                         "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3"})
    resp = broken.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "unavailable", "database": "down", "rate_limit_storage": "ok"}
