"""``flask audit verify`` and ``flask audit head``."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from .models import AuditEntry
from .services import verify_chain

audit_cli = AppGroup("audit", help="The append-only audit log.")


@audit_cli.command("verify")
@click.option("--expect-head", "anchors", multiple=True, metavar="SEQ:HASH",
              help="A head printed earlier by 'flask audit head' (kept outside the database); "
                   "the entry must still be there with that hash. Repeatable.")
def verify_command(anchors: tuple[str, ...]) -> None:
    """Recompute the hash chain; exit 1 and name the first bad entry if any row was tampered with.

    The chain alone cannot show that its newest entries were removed or rewritten together;
    checking heads recorded elsewhere (printed, published, mailed) closes that gap.
    """
    result = verify_chain()
    if not result.ok:
        click.echo(
            f"BROKEN at entry #{result.bad_seq} (row id {result.bad_id}): {result.reason}. "
            f"{result.checked} entries before it verified.",
            err=True,
        )
        raise SystemExit(1)
    for anchor in anchors:
        seq_text, _sep, expected = anchor.partition(":")
        if not seq_text.isdigit() or len(expected) != 64:
            raise click.BadParameter(f"{anchor!r} is not SEQ:HASH as printed by 'flask audit head'",
                                     param_hint="--expect-head")
        found = db.session.execute(select(AuditEntry.hash).where(AuditEntry.seq == int(seq_text))).scalar()
        if found != expected:
            why = "is missing" if found is None else "has another hash"
            click.echo(f"BROKEN: recorded head #{seq_text} {why}: the log was cut back or rewritten "
                       "after that head was recorded.", err=True)
            raise SystemExit(1)
    suffix = f"; {len(anchors)} recorded head(s) present" if anchors else ""
    click.echo(f"OK: {result.checked} entries, chain intact{suffix}")


@audit_cli.command("head")
def head_command() -> None:
    """Print the newest entry as SEQ:HASH, to be kept outside the database (see verify --expect-head)."""
    row = db.session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    if row is None:
        click.echo("0:" + "0" * 64)
        return
    click.echo(f"{row.seq}:{row.hash}")
