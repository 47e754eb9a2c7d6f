import pytest
from sqlalchemy import text

from server.audit.models import SQLITE_TRIGGERS
from server.extensions import db


@pytest.fixture
def out_of_band():
    """Return a function that runs SQL on the audit table behind the application's back.

    PostgreSQL: ``SET LOCAL session_replication_role = replica`` switches the append-only triggers
    off for that one transaction. SQLite has no such switch, so the triggers are dropped and
    re-created inside the same transaction (this test's private database file only)."""

    def run(sql: str, **params):
        db.session.commit()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(sql), params)
            else:
                conn.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
                conn.exec_driver_sql("DROP TRIGGER audit_entries_no_delete")
                conn.execute(text(sql), params)
                for stmt in SQLITE_TRIGGERS:
                    conn.exec_driver_sql(stmt)
        db.session.expire_all()

    return run


@pytest.fixture
def chain(app):
    """Five audit entries, #1 … #5, committed."""
    from server.audit.services import record, set_actor

    set_actor(None, "test")
    for i in range(1, 6):
        record("department.update", "department", i, before={"name": f"旧{i}"}, after={"name": f"新{i}"})
    db.session.commit()
