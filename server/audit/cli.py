"""``flask audit verify``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .services import verify_chain

audit_cli = AppGroup("audit", help="The append-only audit log.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Recompute the hash chain; exit 1 and name the first bad entry if any row was tampered with."""
    result = verify_chain()
    if result.ok:
        click.echo(f"OK: {result.checked} entries, chain intact")
        return
    click.echo(
        f"BROKEN at entry #{result.bad_seq} (row id {result.bad_id}): {result.reason}. "
        f"{result.checked} entries before it verified.",
        err=True,
    )
    raise SystemExit(1)
