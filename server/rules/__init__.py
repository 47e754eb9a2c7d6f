"""Rules as configuration, per deployment, in the database (issue 7 §6).

``services.get_rules()`` returns the rules in force as a frozen :class:`services.Rules`; every
capability reads its rules from there, never from constants of its own.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the rules screen (``/admin/rules``) and the ``flask rules`` commands."""
    from .cli import rules_cli
    from .views import bp

    app.register_blueprint(bp)
    app.cli.add_command(rules_cli)
