import sqlalchemy as sa

from server.audit.services import record
from server.extensions import db


def _entries(n: int) -> None:
    for i in range(n):
        record("department.update", "department", i, after={"n": i})
    db.session.commit()


def _cut_back_to(seq: int) -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_entries_no_delete"))
        conn.execute(sa.text("DELETE FROM audit_entries WHERE seq > :s"), {"s": seq})


def test_head_is_printed_as_seq_and_hash(runner):
    _entries(3)
    out = runner.invoke(args=["audit", "head"]).output.strip()
    seq, _sep, digest = out.partition(":")
    assert seq == "3" and len(digest) == 64


def test_verify_with_a_recorded_head_passes_while_it_is_present(runner):
    _entries(3)
    head = runner.invoke(args=["audit", "head"]).output.strip()
    _entries(2)
    result = runner.invoke(args=["audit", "verify", "--expect-head", head])
    assert result.exit_code == 0
    assert "1 recorded head(s) present" in result.output


def test_cutting_the_log_back_is_caught_by_a_recorded_head(runner):
    _entries(5)
    head = runner.invoke(args=["audit", "head"]).output.strip()
    _cut_back_to(3)
    plain = runner.invoke(args=["audit", "verify"])
    assert plain.exit_code == 0  # the chain alone cannot see a cut tail
    anchored = runner.invoke(args=["audit", "verify", "--expect-head", head])
    assert anchored.exit_code == 1
    assert "#5 is missing" in anchored.output


def test_a_malformed_head_is_refused(runner):
    _entries(1)
    result = runner.invoke(args=["audit", "verify", "--expect-head", "five:abc"])
    assert result.exit_code == 2
    assert "SEQ:HASH" in result.output
