"""``flask demo load [--if-empty]``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..audit.services import set_actor
from ..extensions import db
from .services import DEMO_PASSWORD, database_is_empty, load_demo

demo_cli = AppGroup("demo", help="Demo data for local use.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds data.")
@click.option("--objects", default=2000, show_default=True, help="How many synthetic objects.")
def load_command(if_empty: bool, objects: int) -> None:
    """Load the 武陟县 departments, the seed 003 check-item list, objects, inspectors and accounts."""
    if not database_is_empty():
        if if_empty:
            click.echo("demo: the database already holds data; nothing loaded")
            return
        raise click.ClickException("the database already holds data; demo data loads only into an empty one")
    set_actor(None, "cli:demo")
    summary = load_demo(n_objects=objects)
    db.session.commit()
    click.echo("demo data loaded: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    click.echo(f"demo accounts (local use only), password '{DEMO_PASSWORD}': " + ", ".join(summary_accounts()))


def summary_accounts() -> list[str]:
    from .services import DEMO_ACCOUNTS

    return [a[0] for a in DEMO_ACCOUNTS]
