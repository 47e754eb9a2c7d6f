"""``flask results list|add|seed|deactivate|activate``: the result list (audited)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..core.errors import DomainError
from ..extensions import db
from . import reference

results_cli = AppGroup("results", help="The result list offered per check item (reference data).")


def _refuse(err: DomainError) -> None:
    db.session.rollback()
    fields = (err.details or {}).get("fields") or {}
    detail = "; ".join(f"{k}: {v}" for k, v in fields.items()) if fields else err.message
    click.echo(f"refused ({err.code}): {detail}", err=True)
    raise SystemExit(2)


@results_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include deactivated results.")
def list_command(show_all: bool) -> None:
    """Print CODE  FLAGS  LABEL per result (the ten defaults while nothing is stored)."""
    for o in reference.result_options(include_inactive=show_all):
        flags = ",".join(f for f, on in (("problem", o.problem), ("no_check", o.no_check),
                                         ("party_absent", o.party_absent), ("inactive", not o.active)) if on)
        click.echo(f"{o.code}\t{flags or '-'}\t{o.label}")


@results_cli.command("seed")
def seed_command() -> None:
    """Store the ten standard results that are missing (idempotent)."""
    n = reference.ensure_default_result_codes()
    db.session.commit()
    click.echo(f"{n} standard result(s) added")


@results_cli.command("add")
@click.argument("code")
@click.argument("label_zh")
@click.option("--en", "label_en", default=None, help="English label.")
@click.option("--problem", is_flag=True, help="A problem was found (legal basis and follow-up required).")
@click.option("--no-check", is_flag=True, help="May be recorded without a substantive check, with evidence.")
@click.option("--party-absent", is_flag=True, help="Nobody present: no signature, no refusal (implies --no-check).")
def add_command(code: str, label_zh: str, label_en: str | None, problem: bool, no_check: bool,
                party_absent: bool) -> None:
    """Add a result, e.g. ``flask results add cancelled 注销 --no-check --party-absent``."""
    try:
        row = reference.add_result_code(code, label_zh, label_en, problem=problem,
                                        no_check=no_check or party_absent, party_absent=party_absent)
    except DomainError as err:
        _refuse(err)
    db.session.commit()
    click.echo(f"added {row.code}: {row.label_zh}")


def _set_active(code: str, active: bool) -> None:
    try:
        reference.ensure_default_result_codes()
        reference.set_result_code_active(reference.get_result_code(code), active)
    except DomainError as err:
        _refuse(err)
    db.session.commit()
    click.echo(f"{code}: {'active' if active else 'inactive'}")


@results_cli.command("deactivate")
@click.argument("code")
def deactivate_command(code: str) -> None:
    """No longer offer a result (records that used it keep it)."""
    _set_active(code, False)


@results_cli.command("activate")
@click.argument("code")
def activate_command(code: str) -> None:
    """Offer a deactivated result again."""
    _set_active(code, True)
