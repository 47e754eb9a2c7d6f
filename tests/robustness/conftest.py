"""Fixtures for the robustness tests (issue 7 §7): departments, an inspector who may upload
photos, and a logged-in client."""

from __future__ import annotations

import pytest

from server.auth.roles import Role
from tests.conftest import PASSWORD


@pytest.fixture
def departments(make_department):
    """The seed departments of 武陟县 the import tests use."""
    return {
        "market": make_department("武陟县市场监督管理局", code="WZ-SCJG"),
        "commerce": make_department("武陟县商务局", code="WZ-SWJ"),
    }


@pytest.fixture
def field_inspector(make_user, make_inspector, departments):
    """A user linked to an inspector of the market bureau (may upload field photos)."""
    user = make_user("insp", roles=(Role.INSPECTOR,), department=departments["market"])
    make_inspector(departments["market"], "现场检查员", user_id=user.id)
    return user


@pytest.fixture
def api_login(client):
    """Log ``username`` in through the field app's JSON login; return the client."""

    def login(username: str, password: str = PASSWORD):
        resp = client.post("/api/session", json={"username": username, "password": password})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return client

    return login
