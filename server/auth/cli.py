"""``flask users create``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from .roles import Role
from .services import create_user

users_cli = AppGroup("users", help="Accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--role", "roles", multiple=True, type=click.Choice([r.value for r in Role]), required=True)
@click.option("--department-id", type=int, default=None)
@click.password_option()
def create_command(username: str, display_name: str, roles: tuple[str, ...], department_id: int | None,
                   password: str) -> None:
    """Create an account (e.g. the first system administrator)."""
    user = create_user(username=username, display_name=display_name, password=password,
                       roles=[Role(r) for r in roles], department_id=department_id)
    db.session.commit()
    click.echo(f"created user {user.username} (id {user.id})")
