"""JSON nested deeper than ``JSON_MAX_DEPTH`` (64) is refused with 400 ``json_too_deep`` before it is
parsed, for every JSON endpoint (one place: the application's JSON provider), instead of a 500
(``RecursionError``)."""

from __future__ import annotations

import time
import uuid

import pytest

from server.core.input_guard import json_too_deep
from server.extensions import db

DEEP = "[" * 100_000 + "]" * 100_000


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _post_json(client, method: str, url: str, text: str):
    return client.open(url, method=method, data=text, content_type="application/json")


def test_100000_deep_json_login_is_400_not_a_server_error(make_user, client):
    make_user("admin")
    resp = _post_json(client, "POST", "/api/session", DEEP)
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "json_too_deep" and err["details"]["max_depth"] == 64
    assert "嵌套" in err["message"]


def test_100000_deep_field_record_is_400(field_inspector, api_login):
    client = api_login("insp")
    resp = _post_json(client, "PUT", f"/api/visits/1/records/{uuid.uuid4()}", DEEP)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "json_too_deep"


def test_small_but_too_deep_body_is_400_and_the_limit_itself_passes(field_inspector, api_login):
    client = api_login("insp")
    too_deep = '{"language": ' + _nested(65) + "}"
    assert len(too_deep) < 600
    resp = _post_json(client, "POST", "/api/me/preferences", too_deep)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "json_too_deep"
    ok = '{"language": "en", "x": ' + _nested(63) + "}"
    resp = _post_json(client, "POST", "/api/me/preferences", ok)
    assert resp.status_code == 200 and resp.get_json() == {"language": "en"}


def test_brackets_inside_strings_do_not_count():
    text = '{"a": "' + "[" * 1000 + '", "b": [[1]], "c": "\\"[[[["}'
    assert not json_too_deep(text, 64)
    assert json_too_deep(_nested(65), 64) and not json_too_deep(_nested(64), 64)


def test_the_depth_check_is_cheap_on_a_large_body():
    body = "[" + ",".join('{"k": [1, 2, {"v": "[x]"}]}' for _ in range(40_000)) + "]"  # ~1 MB
    start = time.perf_counter()
    assert not json_too_deep(body, 64)
    assert json_too_deep("[" * 10_000_000, 64)
    assert time.perf_counter() - start < 5.0  # about 0.2 s: linear, no parse


@pytest.mark.parametrize("body", [DEEP, _nested(200)])
def test_no_json_endpoint_answers_5xx_to_deep_json(app, field_inspector, api_login, body):
    """Every POST/PUT/PATCH/DELETE route under /api/, logged in: never a server error."""
    client = api_login("insp")
    probed = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        values = {}
        for arg in rule.arguments:
            conv = type(rule._converters[arg]).__name__
            values[arg] = 1 if conv in ("IntegerConverter", "NumberConverter") else (
                "a" * 64 if "sha" in arg else str(uuid.uuid4()))
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}):
            if rule.rule == "/api/session" and method == "DELETE":
                continue  # would log the client out
            resp = _post_json(client, method, url, body)
            assert resp.status_code < 500, (method, rule.rule, resp.status_code)
            db.session.rollback()
            probed += 1
    assert probed >= 4
