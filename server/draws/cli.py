"""``flask draw verify RECORD.json...``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from .spec import verify

draw_cli = AppGroup("draw", help="Verifiable draws (spec draw-v2; draw-v1 records stay verifiable).")


@draw_cli.command("verify")
@click.argument("records", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(records: tuple[Path, ...]) -> None:
    """Recompute each full draw record (draw-v1 or draw-v2, by its ``spec``); print OK or the
    mismatches; exit 1 if any record fails."""
    failed = 0
    for path in records:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            click.echo(f"{path}: FAILED: not a JSON draw record ({exc})")
            failed += 1
            continue
        problems = verify(record)
        if problems:
            failed += 1
            click.echo(f"{path}: FAILED")
            for p in problems:
                click.echo(f"  - {p}")
        else:
            click.echo(f"{path}: OK ({record.get('spec')}, {record.get('kind')}, task {record.get('task')})")
    if failed:
        raise SystemExit(1)


@draw_cli.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_command(directory: Path) -> None:
    """Write the full record of every final draw to DIRECTORY as <task code>-<kind>.json."""
    from ..core.errors import DomainError
    from .services import export_records

    try:
        paths = export_records(directory)
    except DomainError as err:  # a stored record no longer matches the hash sealed at its draw
        click.echo(f"FAILED: {err.message}", err=True)
        raise SystemExit(1) from err
    for path in paths:
        click.echo(str(path))
    click.echo(f"{len(paths)} record(s) written to {directory}")
