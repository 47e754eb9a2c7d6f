import pytest

from server.auth.roles import Role
from server.org.models import Kind, Level
from tests.conftest import PASSWORD


@pytest.fixture
def depts(make_department):
    """Two county bureaus; the first has a 市场监管所."""
    a = make_department("武陟县市场监督管理局", level=Level.COUNTY, code="A")
    b = make_department("武陟县商务局", level=Level.COUNTY, code="B")
    station = make_department("木城市场监管所", level=Level.COUNTY, parent=a, kind=Kind.UNIT, code="A1")
    return {"a": a, "b": b, "station": station}


@pytest.fixture
def dept_admin(make_user, auth, depts):
    """A logged-in department admin of bureau A."""
    user = make_user("deptadmin", roles=(Role.DEPT_ADMIN,), department=depts["a"])
    auth.login("deptadmin")
    return user


@pytest.fixture
def login_as(app):
    """Return a new test client logged in as ``username`` (a second browser)."""

    def login(username: str, password: str = PASSWORD, **environ):
        c = app.test_client()
        resp = c.post("/login", data={"username": username, "password": password},
                      environ_overrides=environ or None)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return c

    return login
