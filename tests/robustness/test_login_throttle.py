"""Login throttling counts the back-office form (``POST /login``) and the field app's JSON login
(``POST /api/session``) together: one limit per username and one per address, whichever path."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD


@pytest.fixture
def three_per_minute(app, make_user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    make_user("admin")


def _form(client, username="admin", password="wrong", addr="10.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_overrides={"REMOTE_ADDR": addr})


def _api(client, username="admin", password="wrong", addr="10.0.0.1"):
    return client.post("/api/session", json={"username": username, "password": password},
                       environ_overrides={"REMOTE_ADDR": addr})


def test_form_failures_then_json_login_is_throttled_per_username(three_per_minute, client):
    for i in range(3):
        assert _form(client, addr=f"10.0.1.{i}").status_code == 401
    resp = _api(client, password=PASSWORD, addr="10.0.2.1")  # another address, right password
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "too_many_requests"
    assert client.get("/api/session").status_code == 401


def test_json_failures_then_form_login_is_throttled_per_username(three_per_minute, client):
    for i in range(3):
        assert _api(client, username="ADMIN ", addr=f"10.0.1.{i}").status_code == 401
    resp = _form(client, password=PASSWORD, addr="10.0.2.1")
    assert resp.status_code == 429
    assert client.get("/").status_code == 302  # not logged in


def test_one_address_is_throttled_across_both_paths_whatever_the_username(three_per_minute, client):
    assert _form(client, username="a").status_code == 401
    assert _api(client, username="b").status_code == 401
    assert _form(client, username="c").status_code == 401
    assert _api(client, username="d").status_code == 429
    assert _form(client, username="e").status_code == 429
    # another address and another username are not affected
    assert _api(client, username="admin", password=PASSWORD, addr="10.9.9.9").status_code == 200
