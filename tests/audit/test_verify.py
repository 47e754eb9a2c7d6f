"""``flask audit verify`` and the append-only triggers, on SQLite and PostgreSQL alike."""

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text

from server.audit.models import AuditEntry
from server.audit.services import _fields, entry_hash
from server.extensions import db


def _verify(runner):
    return runner.invoke(args=["audit", "verify"])


def test_intact_chain_verifies_ok(runner, chain):
    result = _verify(runner)
    assert result.exit_code == 0
    assert "OK: 5 entries, chain intact" in result.output


def test_empty_log_verifies_ok(runner, app):
    result = _verify(runner)
    assert result.exit_code == 0 and "OK: 0 entries" in result.output


def test_altered_row_is_named(runner, chain, out_of_band):
    out_of_band("UPDATE audit_entries SET after = :v WHERE seq = 3", v='{"name": "篡改"}')
    result = _verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at entry #3" in result.output and "altered" in result.output


def test_altered_hash_is_named_at_the_next_entry(runner, chain, out_of_band):
    """Rewriting an entry's content and its own hash still breaks the link to the next entry."""
    e = db.session.execute(select(AuditEntry).where(AuditEntry.seq == 2)).scalar_one()
    fields = _fields(e.seq, e.at, type("A", (), {"id": e.actor_id, "name": "forger"})(), e.action,
                     e.entity_type, e.entity_id, e.before, e.after, e.note)
    forged = entry_hash(fields, e.prev_hash)
    out_of_band("UPDATE audit_entries SET actor_name = 'forger', hash = :h WHERE seq = 2", h=forged)
    result = _verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at entry #3" in result.output and "prev_hash" in result.output


def test_deleted_row_is_named(runner, chain, out_of_band):
    out_of_band("DELETE FROM audit_entries WHERE seq = 2")
    result = _verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at entry #3" in result.output and "missing" in result.output


def test_deleted_last_rows_are_not_a_break_but_change_the_count(runner, chain, out_of_band):
    """Truncating the tail leaves a valid shorter chain; the count in the output shows it."""
    out_of_band("DELETE FROM audit_entries WHERE seq = 5")
    assert "OK: 4 entries" in _verify(runner).output


def test_row_inserted_in_the_middle_is_named(runner, chain, out_of_band):
    """Shift #3…#5 up by one and slip a well-formed entry in as #3: the old #3 no longer links."""
    prev = db.session.execute(select(AuditEntry.hash).where(AuditEntry.seq == 2)).scalar_one()
    at = db.session.execute(select(AuditEntry.at).where(AuditEntry.seq == 2)).scalar_one()
    fields = _fields(3, at, type("A", (), {"id": None, "name": "intruder"})(), "user.update", "user", "1",
                     None, {"roles": ["system_admin"]}, None)
    h = entry_hash(fields, prev)
    out_of_band("UPDATE audit_entries SET seq = seq + 100 WHERE seq >= 3")
    out_of_band("UPDATE audit_entries SET seq = seq - 99 WHERE seq >= 100")
    db.session.execute(AuditEntry.__table__.insert(), [{**fields, "at": at, "prev_hash": prev, "hash": h}])
    db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at entry #4" in result.output and "prev_hash" in result.output


def test_row_appended_with_a_made_up_hash_is_named(runner, chain):
    """INSERT is allowed by the triggers (the log is append-only), so no bypass is needed."""
    last = db.session.execute(select(AuditEntry).where(AuditEntry.seq == 5)).scalar_one()
    db.session.execute(AuditEntry.__table__.insert(), [{
        "seq": 6, "at": last.at, "actor_id": None, "actor_name": "intruder", "action": "user.update",
        "entity_type": "user", "entity_id": "1", "before": None, "after": None, "note": None,
        "prev_hash": last.hash, "hash": "f" * 64}])
    db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "BROKEN at entry #6" in result.output


def _refused(sql: str):
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(text(sql))
        db.session.flush()
    db.session.rollback()


def test_trigger_refuses_update(chain):
    _refused("UPDATE audit_entries SET note = 'changed' WHERE seq = 1")
    assert db.session.execute(select(AuditEntry.note).where(AuditEntry.seq == 1)).scalar_one() is None


def test_trigger_refuses_delete(chain):
    _refused("DELETE FROM audit_entries WHERE seq = 1")
    assert db.session.execute(select(sa.func.count()).select_from(AuditEntry)).scalar_one() == 5


def test_trigger_refuses_emptying_the_table(chain):
    """PostgreSQL: TRUNCATE (a statement trigger refuses it); SQLite has no TRUNCATE, and its
    whole-table DELETE shortcut is off when a DELETE trigger exists."""
    pg = db.engine.dialect.name == "postgresql"
    _refused("TRUNCATE audit_entries" if pg else "DELETE FROM audit_entries")
    assert db.session.execute(select(sa.func.count()).select_from(AuditEntry)).scalar_one() == 5


def test_orm_update_is_refused(chain):
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.seq == 1)).scalar_one()
    entry.note = "changed"
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.flush()
    db.session.rollback()
