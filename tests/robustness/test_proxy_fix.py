"""``SPOTCHECK_PROXY_FIX`` (number of trusted reverse proxies): with it, the client's address comes
from X-Forwarded-For (the login limit per address uses it) and external URLs from
X-Forwarded-Proto/-Host; without it (the default) those headers are ignored."""

from __future__ import annotations

import pytest
from flask import request, url_for

from server import config, create_app
from server.extensions import db
from tests.conftest import _base_config, fresh_globals_per_request

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "spotcheck.example.gov.cn"}


def _probe(flask_app):
    flask_app.add_url_rule("/_probe", "probe", lambda: {
        "addr": request.remote_addr, "url": url_for("core.health", _external=True)})
    return flask_app


@pytest.fixture
def proxied(app, tmp_path):
    """A second application on the same database, behind one trusted proxy."""
    behind = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "PROXY_FIX": 1, "LOGIN_RATE_LIMIT": "2 per minute"})
    fresh_globals_per_request(behind)
    yield _probe(behind)
    with behind.app_context():
        db.session.remove()
        db.engine.dispose()


def test_with_proxy_fix_address_and_scheme_come_from_the_proxy_headers(proxied):
    got = proxied.test_client().get("/_probe", headers=FORWARDED).get_json()
    assert got == {"addr": "203.0.113.7", "url": "https://spotcheck.example.gov.cn/healthz"}


def test_without_proxy_fix_the_headers_are_ignored(app, client):
    _probe(app)
    got = client.get("/_probe", headers=FORWARDED).get_json()
    assert got == {"addr": "127.0.0.1", "url": "http://localhost/healthz"}


def _fail_login(client, user: str, forwarded_for: str):
    return client.post("/login", data={"username": user, "password": "wrong"},
                       headers={"X-Forwarded-For": forwarded_for})


def test_with_proxy_fix_the_login_limit_counts_per_forwarded_address(proxied):
    client = proxied.test_client()
    assert _fail_login(client, "a", "203.0.113.7").status_code == 401
    assert _fail_login(client, "b", "203.0.113.7").status_code == 401
    assert _fail_login(client, "c", "203.0.113.7").status_code == 429
    # the same proxy, another client behind it: not throttled
    assert _fail_login(client, "d", "203.0.113.8").status_code == 401


def test_without_proxy_fix_every_client_behind_the_proxy_shares_one_address(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    assert _fail_login(client, "a", "203.0.113.7").status_code == 401
    assert _fail_login(client, "b", "203.0.113.8").status_code == 401
    assert _fail_login(client, "c", "203.0.113.9").status_code == 429  # the header is not trusted


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    assert config.from_environment(str(tmp_path))["PROXY_FIX"] == 0
    monkeypatch.setenv("SPOTCHECK_PROXY_FIX", "2")
    assert config.from_environment(str(tmp_path))["PROXY_FIX"] == 2
