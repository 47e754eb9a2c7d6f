"""Accounts, roles, revocable sessions and login."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import gettext as _
    from flask_wtf.csrf import CSRFError

    from ..core.errors import error_response
    from . import cli, sessions, views

    sessions.init_app(app)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.users_cli)

    @app.errorhandler(CSRFError)
    def _csrf_failed(err: CSRFError):
        # a form or cookie-authenticated JSON write without a valid token: say what to do
        return error_response(
            "csrf_failed",
            _("安全校验失败（CSRF 令牌缺失或已失效），操作未执行。请刷新页面后重试。"),
            400,
            {"reason": err.description},
        )
