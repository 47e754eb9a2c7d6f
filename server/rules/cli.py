"""``flask rules show`` and ``flask rules set KEY VALUE`` (audited, validated; exit 2 on bad input)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from . import services

rules_cli = AppGroup("rules", help="The deployment's rules (ratios, yearly cap, complaint threshold, results entry).")


@rules_cli.command("show")
def show_command() -> None:
    """Print every rule as KEY = VALUE (stored, else the default)."""
    rows = services.settings_rows()
    for key, value in services.rule_values().items():
        origin = "" if key in rows else "  (default)"
        click.echo(f"{key} = {services.display_value(key, value)}{origin}")


@rules_cli.command("set", context_settings={"ignore_unknown_options": True})  # VALUE may be "-1"
@click.argument("key")
@click.argument("value")
def set_command(key: str, value: str) -> None:
    """Set one rule; refuses an unknown key or a bad value with a message and exit code 2."""
    from ..core.errors import DomainError

    try:
        changed = services.set_rule(key, value)
    except DomainError as err:
        db.session.rollback()
        click.echo(f"refused ({err.code}): {err.message}", err=True)
        raise SystemExit(2) from err
    db.session.commit()
    if changed:
        before, after = changed[key]
        click.echo(f"{key}: {services.display_value(key, before)} -> {services.display_value(key, after)}")
    else:
        click.echo(f"{key}: unchanged ({services.display_value(key, services.rule_values()[key])})")
