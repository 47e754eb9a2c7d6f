"""Security properties of accounts and sessions: hashing, rate limits, revocation, CSRF, cookies,
headers, redirects. Each test proves one behaviour against the real app."""

import re

import pytest
from sqlalchemy import select

from server import create_app
from server.auth.models import User, UserSession
from server.auth.roles import Role
from server.config import from_environment
from server.extensions import db
from tests.conftest import PASSWORD, _base_config, fresh_globals_per_request

# -- passwords -------------------------------------------------------------------------------------


def test_password_is_stored_as_argon2id_hash(make_user):
    user = make_user("lisi", roles=(Role.INSPECTOR,))
    stored = db.session.execute(select(User.password_hash).where(User.id == user.id)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_wrong_password_is_refused_with_a_message(make_user, client):
    make_user("lisi", roles=(Role.INSPECTOR,))
    resp = client.post("/login", data={"username": "lisi", "password": "not the password"})
    assert resp.status_code == 401
    assert "用户名或密码不正确" in resp.get_data(as_text=True)
    assert db.session.execute(select(UserSession)).first() is None


# -- rate limits -----------------------------------------------------------------------------------


def _attempt(client, username: str, addr: str = "10.0.0.1"):
    return client.post("/login", data={"username": username, "password": "wrong password!"},
                       environ_overrides={"REMOTE_ADDR": addr})


def test_login_is_rate_limited_per_address(app, client, make_user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    make_user("lisi", roles=(Role.INSPECTOR,))
    codes = [_attempt(client, f"user{i}").status_code for i in range(3)]
    assert codes == [401, 401, 401]
    resp = _attempt(client, "user9")
    assert resp.status_code == 429
    assert "尝试次数过多，请稍后再试" in resp.get_data(as_text=True)


def test_login_is_rate_limited_per_username_across_addresses(app, client, make_user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    make_user("lisi", roles=(Role.INSPECTOR,))
    for i in range(3):
        assert _attempt(client, "lisi", addr=f"10.0.0.{i + 1}").status_code == 401
    resp = _attempt(client, "LiSi", addr="10.0.0.99")  # a fresh address, the same account
    assert resp.status_code == 429
    assert "尝试次数过多" in resp.get_data(as_text=True)


def test_rate_limited_login_does_not_log_in_even_with_the_right_password(app, client, make_user):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    make_user("lisi", roles=(Role.INSPECTOR,))
    _attempt(client, "lisi")
    _attempt(client, "lisi")
    resp = client.post("/login", data={"username": "lisi", "password": PASSWORD},
                       environ_overrides={"REMOTE_ADDR": "10.0.0.1"})
    assert resp.status_code == 429
    assert db.session.execute(select(UserSession)).first() is None


@pytest.fixture
def redis_app(database_url, app, tmp_path):
    """A second app on the same database whose rate-limit counters live in Redis db 15."""
    import redis

    uri = "redis://127.0.0.1:6379/15"
    store = redis.Redis.from_url(uri)
    store.flushdb()
    other = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "RATELIMIT_STORAGE_URI": uri, "LOGIN_RATE_LIMIT": "2 per minute"})
    fresh_globals_per_request(other)
    yield other, store
    store.flushdb()
    store.close()
    with other.app_context():
        db.engine.dispose()


def test_rate_limits_work_with_redis_storage(redis_app, make_user):
    other, store = redis_app
    make_user("lisi", roles=(Role.INSPECTOR,))
    client = other.test_client()
    assert client.post("/login", data={"username": "lisi", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    assert _attempt(other.test_client(), "lisi").status_code == 401
    assert _attempt(other.test_client(), "lisi").status_code == 429
    assert any(b"login" in key or b"LIMITER" in key for key in store.keys("*"))


# -- sessions --------------------------------------------------------------------------------------


def test_logout_revokes_the_session_so_the_old_cookie_no_longer_works(app, admin, client):
    cookie = client.get_cookie("session").value
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    resp = thief.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    row = db.session.execute(select(UserSession)).scalar_one()
    assert row.revoked_reason == "logout"


def test_disabling_an_account_ends_its_sessions_at_once(admin, client, make_user, login_as):
    user = make_user("lisi", roles=(Role.INSPECTOR,))
    other = login_as("lisi")
    assert other.get("/").status_code == 200
    assert client.post(f"/users/{user.id}/active", data={"active": "0"}).status_code == 302
    resp = other.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_disabling_ends_sessions_held_on_another_worker(app, admin, client, make_user, tmp_path):
    """Two app instances on one database stand for two gunicorn workers."""
    user = make_user("lisi", roles=(Role.INSPECTOR,))
    worker_b = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    on_b = worker_b.test_client()
    assert on_b.post("/login", data={"username": "lisi", "password": PASSWORD}).status_code == 302
    assert on_b.get("/").status_code == 200
    client.post(f"/users/{user.id}/active", data={"active": "0"})  # on worker A
    assert on_b.get("/").status_code == 302
    with worker_b.app_context():
        db.engine.dispose()


def test_disabled_account_cannot_log_in(admin, client, make_user, app):
    user = make_user("lisi", roles=(Role.INSPECTOR,))
    client.post(f"/users/{user.id}/active", data={"active": "0"})
    resp = app.test_client().post("/login", data={"username": "lisi", "password": PASSWORD})
    assert resp.status_code == 403
    assert "该账号已停用" in resp.get_data(as_text=True)


# -- CSRF ------------------------------------------------------------------------------------------


def _token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.fixture
def csrf_client(app, make_user):
    """A client logged in as a system admin on an app with CSRF protection on."""
    app.config["WTF_CSRF_ENABLED"] = True
    make_user("admin")
    c = app.test_client()
    resp = c.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": _token(c)})
    assert resp.status_code == 302
    return c


def test_login_form_without_csrf_token_is_refused(app, make_user, client):
    app.config["WTF_CSRF_ENABLED"] = True
    make_user("admin")
    resp = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 400
    assert "安全校验失败" in resp.get_data(as_text=True)
    assert db.session.execute(select(UserSession)).first() is None


def test_form_post_without_csrf_token_is_refused_and_changes_nothing(csrf_client, make_user):
    user = make_user("lisi", roles=(Role.INSPECTOR,))
    resp = csrf_client.post(f"/users/{user.id}/active", data={"active": "0"})
    assert resp.status_code == 400
    assert "安全校验失败" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).active


def test_form_post_with_csrf_token_works(csrf_client, make_user):
    user = make_user("lisi", roles=(Role.INSPECTOR,))
    resp = csrf_client.post(f"/users/{user.id}/active", data={"active": "0", "csrf_token": _token(csrf_client, "/")})
    assert resp.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).active


def test_cookie_authenticated_json_post_without_csrf_header_is_refused(csrf_client):
    resp = csrf_client.post("/api/me/preferences", json={"language": "en"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "csrf_failed"
    assert "lang" not in resp.headers.get("Set-Cookie", "")


def test_cookie_authenticated_json_post_with_csrf_header_works(csrf_client):
    resp = csrf_client.post("/api/me/preferences", json={"language": "en"},
                            headers={"X-CSRFToken": _token(csrf_client, "/")})
    assert resp.status_code == 200
    assert resp.get_json() == {"language": "en"}
    assert "lang=en" in resp.headers["Set-Cookie"]


def test_json_preferences_refuse_unknown_language(admin, client):
    resp = client.post("/api/me/preferences", json={"language": "fr"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "bad_language"


# -- cookies and headers ---------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(make_user, client):
    make_user("admin")
    resp = client.post("/login", data={"username": "admin", "password": PASSWORD})
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_secure_cookies_are_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv("SPOTCHECK_SECURE_COOKIES", raising=False)
    settings = from_environment(str(tmp_path))
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["REMEMBER_COOKIE_SECURE"] is True


def test_session_cookie_is_secure_when_secure_cookies_are_on(app, make_user, client):
    app.config["SESSION_COOKIE_SECURE"] = True
    make_user("admin")
    resp = client.post("/login", data={"username": "admin", "password": PASSWORD}, base_url="https://localhost")
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


@pytest.mark.parametrize("path", ["/login", "/no-such-page"])
def test_security_headers_are_present(client, path):
    resp = client.get(path)
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"]


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "/\t/evil.example", "javascript:alert(1)"])
def test_login_refuses_open_redirect(make_user, client, target):
    make_user("admin")
    resp = client.post("/login", query_string={"next": target},
                       data={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_login_follows_a_local_next(make_user, client):
    make_user("admin")
    resp = client.post("/login?next=/departments/", data={"username": "admin", "password": PASSWORD})
    assert resp.headers["Location"] == "/departments/"
