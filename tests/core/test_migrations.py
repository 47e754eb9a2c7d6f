"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL,
and go down again."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from server import create_app
from server.extensions import db

PG_URL = os.environ.get("SPOTCHECK_TEST_DATABASE_URL")
#: created by hand in the migration (PostgreSQL search indexes), not described by the models
HAND_WRITTEN = {"ix_inspected_objects_name_trgm", "ix_inspected_objects_name_bigram"}


@pytest.fixture
def empty_database_url(tmp_path):
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    server_url = make_url(PG_URL)
    name = f"{server_url.database}_mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield server_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def migrated_app(empty_database_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_database_url,
                      "UPLOAD_DIR": str(tmp_path)})
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def _include(obj, name, type_, reflected, compare_to):
    return not (type_ == "index" and name in HAND_WRITTEN)


def test_upgrade_builds_the_schema_the_models_describe(migrated_app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _include})
        diffs = compare_metadata(context, db.metadata)
    assert diffs == []


def test_migrated_audit_log_refuses_updates(migrated_app):
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_entries (seq, at, actor_name, action, entity_type, entity_id, prev_hash, hash) "
            "VALUES (1, CURRENT_TIMESTAMP, 'x', 'a', 'e', '1', 'p', 'h')"))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_entries SET action = 'b'"))


def test_downgrade_removes_everything(migrated_app):
    downgrade(revision="base")
    tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
