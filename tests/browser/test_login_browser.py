import pytest

pytestmark = pytest.mark.browser


def test_login_with_wrong_password_shows_the_reason(page, live_server, make_user):
    make_user("clerk")
    page.goto(live_server.url + "/login")
    page.fill("#username", "clerk")
    page.fill("#password", "wrong password here")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "用户名或密码不正确。"
    assert page.input_value("#username") == "clerk"


def test_login_reaches_the_home_page_on_a_phone(browser_login, live_server):
    page = browser_login("admin")
    assert "您好" in page.locator("h1").inner_text()
    page.screenshot(path="/tmp/spotcheck-home.png")
