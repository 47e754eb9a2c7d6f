from server.audit.services import verify_chain


def test_login_page_is_chinese_by_default(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert "登录" in resp.get_data(as_text=True)


def test_admin_reaches_home_after_login(admin, client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert "您好" in resp.get_data(as_text=True)


def test_audit_chain_verifies_after_user_creation(admin):
    result = verify_chain()
    assert result.ok and result.checked >= 2
