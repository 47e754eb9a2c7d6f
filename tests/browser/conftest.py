"""Fixtures of the field app's browser tests. The browser itself lives in tests/conftest.py (one
Playwright instance for the whole run)."""

import pytest

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402,F401  (bench/bench_pwa.py imports them from here)
from tests.browser.field_helpers import PHONE, SwitchableServer, build_field_team, require_build


@pytest.fixture
def team(make_department, make_user, make_inspector, make_object, make_task):
    """Two departments' inspectors on one team of a drawn task, with visits for the field app."""
    require_build()
    return build_field_team(make_department, make_user, make_inspector, make_object, make_task)


@pytest.fixture
def server(app):
    """The app on localhost, which a test can switch off (offline) and on again."""
    s = SwitchableServer(app)
    yield s
    s.offline()


@pytest.fixture
def phone(browser):
    """A phone-sized browser page (see field_helpers.PHONE)."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
