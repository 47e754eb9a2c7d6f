"""One error shape for every failure, and domain errors with stable codes."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A refusal the user can act on. ``code`` is stable (the PWA and tests match on it)."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, **details: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(DomainError):
    """Several fields are wrong at once; ``details["fields"]`` maps each field to its message
    (a form re-renders them next to the fields, with the user's input kept)."""

    status = 422

    def __init__(self, errors: dict[str, str]):
        first = next(iter(errors.values()))
        super().__init__("invalid_input", first, fields=errors)
        self.errors = errors


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(code: str, message: str, status: int, details: dict | None = None):
    """Return the response for an error: JSON ``{"error": {...}}`` for the API, a page otherwise."""
    if wants_json():
        body: dict[str, Any] = {"code": code, "message": message}
        if details:
            body["details"] = details
        return jsonify(error=body), status
    return (
        render_template("core/error.html", code=code, message=message, status=status, details=details),
        status,
    )


#: how long a client should wait after 503 ``rate_limit_unavailable``
RETRY_AFTER_SECONDS = 30


def rate_limit_down_message() -> str:
    return _("登录保护服务（限流存储）暂时无法连接，为安全起见本请求暂不处理。请稍后重试；如持续出现，请联系系统管理员检查 Redis。")


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        return error_response(err.code, err.message, err.status, err.details or None)

    from limits.errors import StorageError

    @app.errorhandler(StorageError)
    def _rate_limit_storage_down(err: StorageError):
        # Refuse rather than let logins through unthrottled (fail closed), and say so clearly.
        app.logger.error("rate-limit storage unreachable: %r", getattr(err, "storage_error", err))
        response = make_response(error_response("rate_limit_unavailable", rate_limit_down_message(), 503))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(413)
    def _too_large(err):
        limit_mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        msg = _(
            "上传的文件超过 %(mb)s MB 的上限。请拆分文件后分批上传，或由管理员使用命令行导入。",
            mb=limit_mb,
        )
        return error_response("payload_too_large", msg, 413, {"limit_bytes": app.config.get("MAX_CONTENT_LENGTH")})

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        messages = {
            400: _("请求无效：%(desc)s", desc=err.description),
            403: _("您没有权限执行此操作。如需权限，请联系本部门管理员。"),
            404: _("找不到该页面或记录。它可能已被删除，或链接有误。"),
            405: _("不支持该请求方式。"),
            429: _("尝试次数过多，请稍后再试。"),
        }
        message = messages.get(err.code or 500, err.description or err.name)
        return error_response(err.name.lower().replace(" ", "_"), message, err.code or 500)
