def test_the_session_cookie_is_not_resent_on_every_response(admin, client):
    client.get("/")
    resp = client.get("/")
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers


def test_a_login_sets_the_session_cookie(make_user, client):
    make_user("clerk")
    resp = client.post("/login", data={"username": "clerk", "password": "correct horse battery"})
    assert resp.status_code == 302
    assert "session=" in resp.headers.get("Set-Cookie", "")
