"""Shared fixtures: ``app``, ``client``, ``runner``, ``auth`` and small factories.

The database is SQLite by default (a fresh file per test, copied from a template built once).
Set ``SPOTCHECK_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test`` to run the
same suite on PostgreSQL: a private database is created for the run and dropped afterwards, and
every test starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from server import create_app
from server.extensions import db

PG_URL = os.environ.get("SPOTCHECK_TEST_DATABASE_URL")


def _base_config(tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "IMPORT_RUN_INLINE": True,
        # still Argon2id, at a cost that keeps the suite fast (production uses argon2-cffi's defaults)
        "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        # never the instance folder: the demo loader and the field tests store photos
        "PHOTO_DIR": str(tmp_path / "photos"),
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """Return the URL of a database with the full schema, private to this test run."""
    if PG_URL:
        server_url = make_url(PG_URL)
        name = f"{server_url.database}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = server_url.set(database=name).render_as_string(hide_password=False)
        _create_schema(url, tmp_path_factory.mktemp("pgschema"))
        yield url
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        template = tmp_path_factory.mktemp("template") / "template.sqlite3"
        url = f"sqlite:///{template}"
        _create_schema(url, tmp_path_factory.mktemp("sqlschema"))
        yield url


def _create_schema(url: str, tmp_path) -> None:
    import server.all_models  # noqa: F401

    app = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        _seed_calendar()
        db.engine.dispose()


#: tables the suite keeps seeded (the working-day calendar from the chinese-calendar package, as
#: migration 0003 seeds it): restored after a test only when the test changed them
SEEDED_TABLES = ("calendar_days", "calendar_years")
_seeded_fingerprint: list = []


def _calendar_fingerprint(conn) -> tuple:
    return tuple(conn.execute(sa.text(
        "SELECT (SELECT count(*) FROM calendar_years), (SELECT count(*) FROM calendar_days), "
        "(SELECT max(loaded_at) FROM calendar_years), (SELECT max(source) FROM calendar_years)")).one())


def _seed_calendar() -> None:
    from server.workdays.services import seed_from_package

    seed_from_package()
    db.session.commit()
    with db.engine.connect() as conn:
        _seeded_fingerprint[:] = [_calendar_fingerprint(conn)]


def _empty_postgres(app) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            # session_replication_role=replica disables the audit log's append-only triggers (and
            # the foreign keys' triggers) for this cleanup only; the application never runs with it.
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            # DELETE and a sequence restart, not TRUNCATE: a test leaves a few rows per table, and
            # TRUNCATE of ~40 tables costs ~0.7 s a test here (new files for every table and index)
            # against ~0.15 s, which was most of the PostgreSQL run's time
            calendar_changed = not _seeded_fingerprint or _calendar_fingerprint(conn) != _seeded_fingerprint[0]
            for table in reversed(db.metadata.sorted_tables):
                if table.name in SEEDED_TABLES and not calendar_changed:
                    continue
                conn.execute(sa.text(f'DELETE FROM "{table.name}"'))
            sequences = conn.execute(sa.text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")).scalars()
            for name in list(sequences):
                conn.execute(sa.text(f'ALTER SEQUENCE "{name}" RESTART'))
        if calendar_changed:
            _seed_calendar()


def fresh_globals_per_request(app) -> None:
    """Start every test-client request with an empty ``g``, as in production.

    The ``app`` fixture keeps one app context open for the whole test and Flask reuses it for each
    test-client request, so ``g`` would otherwise leak between requests: Flask-Login caches the
    user there (a second client would act as the first one; a revoked session would look alive),
    the audit log its actor, Flask-Babel the locale."""

    def _clear_g():
        from flask import g

        for key in list(g):
            g.pop(key, None)

    app.before_request_funcs.setdefault(None, []).insert(0, _clear_g)


@pytest.fixture
def app(database_url, tmp_path):
    """Return an application bound to an empty database with the full schema."""
    if PG_URL:
        url = database_url
    else:
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(make_url(database_url).database, path)
        url = f"sqlite:///{path}"
    app = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url})
    fresh_globals_per_request(app)
    if PG_URL:
        _empty_postgres(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# -- factories ---------------------------------------------------------------------------------


@pytest.fixture
def make_department(app):
    from server.org.models import Department, Kind, Level

    counter = {"n": 0}

    def make(name: str | None = None, *, level: Level = Level.COUNTY, parent=None,
             kind: Kind = Kind.DEPARTMENT, code: str | None = None) -> Department:
        counter["n"] += 1
        dept = Department(code=code or f"D{counter['n']:04d}", name=name or f"测试部门{counter['n']}",
                          level=level, kind=kind, parent=parent)
        db.session.add(dept)
        db.session.commit()
        return dept

    return make


PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(app):
    from server.auth.roles import Role
    from server.auth.services import create_user

    def make(username: str = "admin", *, roles=(Role.SYSTEM_ADMIN,), department=None,
             display_name: str | None = None, password: str = PASSWORD):
        user = create_user(username=username, display_name=display_name or username, password=password,
                           roles=list(roles), department_id=department.id if department else None)
        db.session.commit()
        return user

    return make


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str = "admin", password: str = PASSWORD):
        return self._client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def admin(make_user, auth):
    """A logged-in system administrator."""
    user = make_user("admin")
    auth.login("admin")
    return user


# -- shared domain factories (registries, tasks) ---------------------------------------------------


@pytest.fixture
def make_object(app):
    """Create an inspected object with a valid credit code (``risk`` A–D, other fields overridable)."""
    from server.registry import codes
    from server.registry.models import InspectedObject, ObjectType, RiskClass

    counter = {"n": 0}

    def make(name: str | None = None, *, risk: str = "A", **fields):
        counter["n"] += 1
        n = counter["n"]
        obj = InspectedObject(
            code=fields.pop("code", None) or codes.make_valid(f"91410823MA{n:07d}"),
            name=name or f"武陟县测试{n}有限公司", object_type=fields.pop("object_type", ObjectType.ENTERPRISE),
            region_county=fields.pop("region_county", "武陟县"), risk_class=RiskClass(risk), **fields,
        )
        db.session.add(obj)
        db.session.commit()
        return obj

    return make


@pytest.fixture
def make_inspector(app):
    """Create an on-duty inspector of ``department`` with a qualification valid 2020–2030."""
    from datetime import date

    from server.registry.models import Inspector

    counter = {"n": 0}

    def make(department, name: str | None = None, *, expertise=(), **fields):
        counter["n"] += 1
        n = counter["n"]
        inspector = Inspector(
            department=department, name=name or f"检查员{n}", certificate_no=fields.pop("certificate_no", f"豫T{n:06d}"),
            qualification_valid_from=fields.pop("qualification_valid_from", date(2020, 1, 1)),
            qualification_valid_until=fields.pop("qualification_valid_until", date(2030, 12, 31)), **fields,
        )
        inspector.set_expertise(list(expertise))
        db.session.add(inspector)
        db.session.commit()
        return inspector

    return make


@pytest.fixture
def make_task(app):
    """Create a task initiated by ``initiator`` with ``participants`` (other departments).

    ``accepted=True`` marks every department as having accepted (status ACCEPTED).
    """
    from datetime import date

    from server.planning.models import Acceptance, Task, TaskDepartment, TaskStatus

    counter = {"n": 0}

    def make(initiator, participants=(), *, accepted: bool = False, strata=None, teams: int = 1,
             members_per_team: int = 1, period=(date(2026, 12, 1), date(2026, 12, 31)), **fields):
        counter["n"] += 1
        task = Task(
            code=fields.pop("code", f"T-2026-{counter['n']:03d}"), name=fields.pop("name", f"测试任务{counter['n']}"),
            initiating_department_id=initiator.id, period_start=period[0], period_end=period[1],
            teams_count=teams, strata=strata or [{"name": "ALL", "ratio": "0.5"}],
            scope=fields.pop("scope", {"statuses": ["active"]}),
            adhoc_reason=fields.pop("adhoc_reason", "测试用临时任务"),
            status=TaskStatus.ACCEPTED if accepted else fields.pop("status", TaskStatus.PENDING), **fields,
        )
        for dept in [initiator, *participants]:
            task.departments.append(TaskDepartment(
                department_id=dept.id, is_initiator=dept is initiator, members_per_team=members_per_team,
                acceptance=Acceptance.ACCEPTED if accepted else Acceptance.PENDING,
            ))
        db.session.add(task)
        db.session.commit()
        return task

    return make


# -- browser tests: the real app on localhost, Playwright driving Debian's Chromium ----------------
# Defined here (not in tests/browser/) so that every package's browser tests share one Playwright
# instance: a second session-scoped browser fixture would start Playwright twice and fail.

import threading  # noqa: E402

from werkzeug.serving import make_server  # noqa: E402

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


class LiveServer:
    def __init__(self, app):
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """Serve ``app`` on a free localhost port for the duration of one test."""
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A phone-sized page (360×740, Chinese locale) in a fresh browser context."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


@pytest.fixture
def browser_login(page, live_server, make_user):
    """Log in through the real login form as a new system administrator; return the page."""

    def login(username: str = "admin", roles=None):
        from server.auth.roles import Role
        from tests.conftest import PASSWORD

        make_user(username, roles=roles or (Role.SYSTEM_ADMIN,))
        page.goto(live_server.url + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(live_server.url + "/")
        return page

    return login
