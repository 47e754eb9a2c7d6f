"""The field app's JSON API (docs/sync-protocol.md): session, pull, records, photos, OpenAPI.

Session-cookie authentication; every write carries the ``X-CSRFToken`` header (Flask-WTF
CSRFProtect) except ``POST /api/session`` itself. Handlers: parse → check access → call service.
"""

from __future__ import annotations

import uuid as uuid_mod
from typing import IO

from flask import Blueprint, current_app, jsonify, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from marshmallow import ValidationError
from sqlalchemy import func, select
from werkzeug.exceptions import ClientDisconnected

from ..audit.services import record, set_actor
from ..auth.models import User, UserSession
from ..auth.sessions import _digest as session_digest
from ..auth.sessions import check_password, revoke_token, start_session
from ..auth.throttle import login_throttled
from ..core.errors import Conflict, DomainError, Forbidden, NotFound
from ..core.models import utcnow
from ..extensions import csrf, db
from ..fieldwork import photos, services
from ..fieldwork.models import RecordPhoto, VisitRecord
from ..fieldwork.views import can_view_visit
from ..registry.models import Inspector
from ..teams.access import inspector_of
from . import schemas
from .openapi import build_spec
from .services import pull as pull_changes

bp = Blueprint("sync", __name__)

IDEMPOTENCY_FIELDS = {"department_id", "base_version"}


def _require_user():
    if not current_user.is_authenticated:
        raise DomainError("not_authenticated", _("登录已过期，请重新登录后再同步。离线录入的内容不会丢失。"), status=401)
    return current_user._get_current_object()


def _too_large(limit: int) -> DomainError:
    return DomainError("payload_too_large", _("提交的内容超过 %(kb)s KB 的上限。请减少文字或把照片作为附件单独上传。",
                                              kb=limit // 1024), status=413, limit_bytes=limit)


# -- session ---------------------------------------------------------------------------------------


def _session_body(user: User) -> dict:
    row = db.session.execute(select(UserSession).where(
        UserSession.token_hash == session_digest(user.session_token))).scalar_one_or_none()
    inspector = inspector_of(user)
    return schemas.SessionSchema().dump({
        "user": {"id": user.id, "name": user.display_name, "roles": sorted(r.value for r in user.roles),
                 "inspector_id": inspector.id if inspector else None},
        "csrf_token": generate_csrf(), "expires_at": row.expires_at if row else utcnow(),
    })


# Exempt from CSRF: this request carries the credentials themselves and there is no session yet
# whose token could be checked. Login CSRF (a hostile page logging the victim into another account)
# is refused by requiring a JSON body: a cross-site form cannot send application/json, and a
# cross-site fetch with it needs a CORS preflight this server never grants.
@bp.post("/api/session")
@csrf.exempt
@login_throttled  # the same counts as POST /login (server/auth/throttle.py)
def create_session():
    """Log in with ``{username, password}``; return the session body (200) and set the cookie.
    400 invalid body, 401 ``bad_credentials``, 403 ``account_disabled``, 415 not JSON, 429."""
    if not request.is_json:
        raise DomainError("unsupported_media_type", _("请以 JSON 提交用户名和密码。"), status=415)
    try:
        creds = schemas.LoginSchema().load(request.get_json(silent=True) or {})
    except ValidationError as err:
        raise DomainError("invalid_request", _("请填写用户名和密码。"), fields=err.messages) from None
    username = creds["username"].strip()
    user = db.session.execute(select(User).where(func.lower(User.username) == username.lower())
                              ).scalar_one_or_none()
    if not check_password(user, creds["password"]):
        if user is not None:
            set_actor(None, f"login-attempt:{username}")
            record("user.login_failed", "user", user.id, note=request.remote_addr)
            db.session.commit()  # the failed attempt stays on record although we answer 401
        raise DomainError("bad_credentials", _("用户名或密码不正确。"), status=401)
    if not user.active:
        raise Forbidden("account_disabled", _("该账号已停用。如有疑问，请联系本部门管理员。"))
    start_session(user, user_agent=request.user_agent.string, ip=request.remote_addr)
    user.last_login_at = utcnow()
    login_user(user)
    set_actor(user.id, user.username)
    record("user.login", "user", user.id, note=f"api {request.remote_addr}")
    return jsonify(_session_body(user))


@bp.get("/api/session")
def get_session():
    """Return the session body, or 401 ``not_authenticated``."""
    return jsonify(_session_body(_require_user()))


@bp.delete("/api/session")
def delete_session():
    """Log out: the session token is revoked (204)."""
    user = _require_user()
    record("user.logout", "user", user.id, note="api")
    revoke_token(user.session_token, "logout")
    logout_user()
    return "", 204


# -- pull ------------------------------------------------------------------------------------------


@bp.get("/api/sync/pull")
def pull():
    """Return ``{cursor, full, visits, withdrawn}``: the user's visits changed since ``cursor``."""
    user = _require_user()
    body = pull_changes(user, request.args.get("cursor"))
    return jsonify(schemas.PullSchema().dump(body))


# -- records ---------------------------------------------------------------------------------------


def _read_limited(limit: int) -> bytes:
    """Return the request body, or raise 413 ``payload_too_large`` when it exceeds ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _parse_record(record_uuid: str, raw: bytes) -> services.RecordInput:
    try:
        uid = str(uuid_mod.UUID(record_uuid))
    except ValueError:
        raise DomainError("missing_idempotency_data", _("缺少或无效的记录编号（UUID）。请更新应用后重试。"),
                          field="uuid") from None
    try:
        body = current_app.json.loads(raw or b"null")  # depth and NUL checked (server/core/input_guard.py)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DomainError("invalid_record", _("记录格式无效：应为 JSON 对象。"))
    try:
        data = schemas.RecordInSchema().load(body)
    except ValidationError as err:
        fields = sorted(err.messages) if isinstance(err.messages, dict) else []
        if IDEMPOTENCY_FIELDS & set(fields):
            raise DomainError("missing_idempotency_data", _(
                "缺少或无效的同步信息（部门、所编辑的版本号）。请更新应用后重试。"), fields=err.messages) from None
        raise DomainError("invalid_record", _("记录内容无效：%(f)s。", f="、".join(fields)), fields=err.messages) from None
    try:
        services.canonical_json(data["content"])
    except UnicodeEncodeError:
        raise DomainError("invalid_record", _(
            "记录内容无效：含有无法编码的字符（孤立的 Unicode 代理项）。请删除该字符后重试。")) from None
    except ValueError:
        raise DomainError("invalid_record", _("记录内容无效：不允许 NaN 或无穷大数值。")) from None
    return services.RecordInput(uuid=uid, **data)


@bp.put("/api/visits/<int(max=2147483647):visit_id>/records/<record_uuid>")
def put_record(visit_id: int, record_uuid: str):
    """Store one version of a department's section: 201 receipt (new), 200 same receipt (resent).

    400 ``missing_idempotency_data`` / ``invalid_record``; 403 ``not_team_member`` /
    ``other_department`` / ``recused`` / ``not_results_entrant``; 404; 409 ``idempotency_mismatch``,
    ``stale_version`` (kept as a conflict, receipt in ``details.receipt``), ``in_progress``;
    413 ``payload_too_large``; 422 ``record_invalid`` (``details.fields``: the content paths that
    break docs/field-record.md; nothing stored)."""
    user = _require_user()
    data = _parse_record(record_uuid, _read_limited(current_app.config["SYNC_MAX_RECORD_BYTES"]))
    visit = services.get_visit(visit_id)
    services.check_can_write(user, visit, data.department_id)
    stored = services.stored_photos(data.photos)  # before the write: photos are only ever added
    row, created = services.store_record(user, visit, data)
    receipt = services.receipt(row, stored)
    # Commit now: a new row's audit entry holds the audit chain's lock until the commit, and every
    # other write of every worker waits for it. (A conflict is kept although we answer 409.)
    db.session.commit()
    if row.status.value == "conflict":
        raise Conflict("stale_version", _(
            "该部分已被他人更新（服务器版本 %(v)s）。您的版本已保留并标记为冲突，请组长核对；需要修改请先同步。",
            v=row.server_version), receipt=receipt, server_version=row.server_version)
    return jsonify(schemas.ReceiptSchema().dump(receipt)), 201 if created else 200


# -- photos ----------------------------------------------------------------------------------------


def _sha(raw: str) -> str:
    sha = raw.lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise DomainError("invalid_hash", _("照片标识必须是 64 位十六进制 SHA-256。"))
    return sha


def _header_int(name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdigit():
        raise DomainError("invalid_upload", _("缺少或无效的上传头 %(h)s。", h=name), header=name)
    return int(raw)


def _state_headers(state: dict) -> dict[str, str]:
    headers = {"Upload-Offset": str(state["offset"]), "Upload-Complete": "1" if state["complete"] else "0",
               "Cache-Control": "no-store"}
    if state.get("length") is not None:
        headers["Upload-Length"] = str(state["length"])
    return headers


class _ClientStream:
    """The request body; a client that went away mid-chunk reads as the end of the stream."""

    def __init__(self, stream: IO[bytes]):
        self._stream = stream

    def read(self, n: int) -> bytes:
        try:
            return self._stream.read(n)
        except ClientDisconnected:
            return b""


def _photo_visible(user, sha: str) -> bool:
    photo = photos.get_photo(sha)
    if photo is not None and photo.uploaded_by_id == user.id:
        return True
    from ..review.services import reviewer_departments

    sections = db.session.execute(select(VisitRecord.visit_id, VisitRecord.department_id).join(RecordPhoto).where(
        RecordPhoto.sha256 == sha).distinct()).all()
    for visit_id, department_id in sections:
        visit = services.get_visit(visit_id)
        # the team and the back office who may see the visit; a department's reviewer sees the photos
        # of the section they review (the visit page shows them that section only)
        if can_view_visit(user, visit) or department_id in reviewer_departments(user, visit):
            return True
    return False


@bp.get("/api/photos/<sha256>")
def get_photo(sha256: str):
    """HEAD: the upload state (``Upload-Offset``, ``Upload-Complete``; 404 when nothing arrived).
    GET: the original, for the uploader, the team and the back office who may see the visit."""
    user = _require_user()
    sha = _sha(sha256)
    if request.method == "HEAD":
        state = photos.upload_state(sha)
        if state is None:
            return "", 404, {"Cache-Control": "no-store"}
        return "", 200, _state_headers(state)
    return _send(user, sha, thumb=False)


@bp.get("/api/photos/<sha256>/thumb")
def get_thumb(sha256: str):
    """The photo's JPEG thumbnail (same access as the original)."""
    return _send(_require_user(), _sha(sha256), thumb=True)


def _send(user, sha: str, *, thumb: bool):
    photo = photos.get_photo(sha)
    if photo is None:
        raise NotFound("photo_not_found", _("找不到该照片，可能尚未上传完成。"))
    if not _photo_visible(user, sha):
        raise Forbidden("photo_forbidden", _("您无权查看该照片。"))
    path = photos.thumb_path(sha) if thumb else photos.original_path(sha)
    mimetype = "image/jpeg" if thumb else f"image/{photo.image_format.lower()}"
    resp = send_file(path, mimetype=mimetype, conditional=True, etag=sha + ("-t" if thumb else ""), max_age=86400)
    resp.cache_control.private = True
    resp.cache_control.public = False
    return resp


def _is_inspector(user) -> bool:
    """Whether the user is linked to an inspector (a key lookup, without loading the inspector:
    this runs on every chunk)."""
    return db.session.execute(select(Inspector.id).where(Inspector.user_id == user.id).limit(1)).first() is not None


@bp.patch("/api/photos/<sha256>")
def patch_photo(sha256: str):
    """Append one chunk (``Upload-Offset``, ``Upload-Length``, body ≤ ``SYNC_MAX_CHUNK_BYTES``).

    204 with the new ``Upload-Offset``; 400 ``invalid_upload``; 409 ``offset_mismatch``
    (``details.offset``) or ``in_progress``; 413; 415; 422 ``hash_mismatch`` / ``bad_image``
    (the partial upload is discarded); 503 ``server_busy``."""
    # the slot first: a request waiting for it must not hold a database connection
    with photos.processing_slot():
        return _patch_photo(sha256)


def _patch_photo(sha256: str):
    user = _require_user()
    if not _is_inspector(user):
        raise Forbidden("not_inspector", _("只有检查人员可以上传现场照片。"))
    sha = _sha(sha256)
    offset, length = _header_int("Upload-Offset"), _header_int("Upload-Length")
    if request.mimetype != photos_content_type():
        raise DomainError("unsupported_media_type", _("上传分块的 Content-Type 应为 %(t)s。", t=photos_content_type()),
                          status=415)
    max_photo, max_chunk = current_app.config["SYNC_MAX_PHOTO_BYTES"], current_app.config["SYNC_MAX_CHUNK_BYTES"]
    if length > max_photo:
        raise _too_large(max_photo)
    if length == 0:
        raise DomainError("invalid_upload", _("照片不能为空。"), header="Upload-Length")
    chunk = request.content_length
    if chunk is None:
        raise DomainError("invalid_upload", _("缺少 Content-Length。"), header="Content-Length")
    if chunk > max_chunk:
        raise _too_large(max_chunk)
    photos.lock_upload(sha)
    try:
        state = photos.append_chunk(user, sha, offset=offset, length=length, stream=_ClientStream(request.stream),
                                    chunk_bytes=chunk)
    except DomainError as err:
        if err.code in ("hash_mismatch", "bad_image"):
            db.session.rollback()
            photos.discard_partial(sha)
            db.session.commit()  # the discarded upload stays discarded although we answer 422
        elif err.code == "offset_mismatch":
            db.session.commit()  # keep the bytes of an interrupted chunk on record: resume there
        raise
    # Commit inside the slot: a stored photo's audit entry holds the audit chain's lock until then.
    db.session.commit()
    return "", 204, _state_headers(state)


def photos_content_type() -> str:
    return "application/offset+octet-stream"


# -- OpenAPI ---------------------------------------------------------------------------------------


@bp.get("/api/openapi.json")
def openapi():
    """The OpenAPI 3 document of the field app's API."""
    spec = current_app.extensions.get("spotcheck_openapi")
    if spec is None:
        spec = current_app.extensions["spotcheck_openapi"] = build_spec()
    return jsonify(spec)


# -- benchmark baseline ----------------------------------------------------------------------------


@csrf.exempt
def bench_sink():
    """Test-only upload sink (``SYNC_BENCH_SINK``): read the body in 256 KiB chunks into a file and
    discard it — the same server's plain upload speed, the baseline of bench/bench_sync.py."""
    import tempfile

    total = 0
    with tempfile.TemporaryFile() as fh:
        while buf := request.stream.read(256 * 1024):
            fh.write(buf)
            total += len(buf)
        fh.flush()
    return jsonify(received=total)
