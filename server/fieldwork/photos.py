"""Photos: content-addressed, resumable uploads, verified and decoded before they are stored.

Layout under ``PHOTO_DIR`` (instance folder by default)::

    ab/<sha256>            the original, byte for byte as the phone sent it
    ab/<sha256>.thumb.jpg  a JPEG thumbnail, at most THUMB_PX on the long side
    partial/<sha256>.part  an upload in progress (its size is the upload offset)
    partial/<sha256>.lock  an advisory lock: one request appends to an upload at a time

Only one request may append to an upload: it takes a non-blocking ``flock`` on the lock file
(works across gunicorn workers on one host) and keeps it until the request's transaction has
committed (see :func:`release_locks`); a concurrent request gets 409 ``in_progress``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import warnings
from pathlib import Path
from typing import IO, Any

from flask import current_app, g
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.exc import IntegrityError

from ..audit.services import record
from ..core.errors import Conflict, DomainError
from ..extensions import db
from .models import Photo, PhotoUpload

FORMATS = ("JPEG", "PNG", "WEBP")
THUMB_PX = 320
COPY_BUF = 256 * 1024


def photo_dir() -> Path:
    return Path(current_app.config["PHOTO_DIR"])


def original_path(sha: str) -> Path:
    return photo_dir() / sha[:2] / sha


def thumb_path(sha: str) -> Path:
    return photo_dir() / sha[:2] / f"{sha}.thumb.jpg"


def partial_path(sha: str) -> Path:
    return photo_dir() / "partial" / f"{sha}.part"


def _lock_path(sha: str) -> Path:
    return photo_dir() / "partial" / f"{sha}.lock"


def lock_upload(sha: str) -> None:
    """Take the upload's lock for the rest of the request, or raise Conflict ``in_progress``."""
    path = _lock_path(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Conflict("in_progress", _("这张照片正在由另一请求上传，请稍后重试。"), sha256=sha) from None
    g.setdefault("photo_locks", []).append(fd)


def release_locks() -> None:
    """Release the upload locks of this request (called at teardown, after the commit)."""
    for fd in g.pop("photo_locks", []):
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def get_photo(sha: str) -> Photo | None:
    return db.session.get(Photo, sha)


def upload_state(sha: str) -> dict[str, Any] | None:
    """Return ``{offset, length, complete}`` of a photo, or None when nothing was received."""
    photo = get_photo(sha)
    if photo is not None:
        return {"offset": photo.size_bytes, "length": photo.size_bytes, "complete": True}
    part = partial_path(sha)
    if not part.exists():
        return None
    upload = db.session.get(PhotoUpload, sha)
    return {"offset": part.stat().st_size, "length": upload.upload_length if upload else None,
            "complete": False}


def append_chunk(user: Any, sha: str, *, offset: int, length: int, stream: IO[bytes],
                 chunk_bytes: int) -> dict[str, Any]:
    """Append one chunk at ``offset`` of an upload of ``length`` bytes; store the photo when the
    last byte arrives. Return the new ``{offset, length, complete}``.

    The caller holds the lock (:func:`lock_upload`). Raises Conflict ``offset_mismatch`` (409,
    ``details.offset`` = bytes held), DomainError ``upload_length_mismatch`` / ``chunk_too_long``
    (400), and on the last chunk ``hash_mismatch`` / ``bad_image`` (422; the caller discards)."""
    if get_photo(sha) is not None:  # stored once per hash, whoever sends it
        discard_partial(sha)
        return upload_state(sha)  # type: ignore[return-value]
    part = partial_path(sha)
    part.parent.mkdir(parents=True, exist_ok=True)
    held = part.stat().st_size if part.exists() else 0
    upload = db.session.get(PhotoUpload, sha)
    if upload is not None and upload.upload_length != length:
        if offset != 0:
            raise DomainError("upload_length_mismatch", _(
                "上传总长度与之前声明的不一致（之前为 %(n)s 字节）。请从头重新上传。", n=upload.upload_length),
                upload_length=upload.upload_length)
        held = 0
        part.unlink(missing_ok=True)
    if offset != held:
        raise Conflict("offset_mismatch", _("上传位置不一致：服务器已收到 %(n)s 字节，请从该位置继续上传。", n=held),
                       offset=held)
    if offset + chunk_bytes > length:
        raise DomainError("chunk_too_long", _("分块超出了声明的总长度（Upload-Length）。"), offset=held)
    with open(part, "ab") as fh:
        written = 0
        while written < chunk_bytes:
            buf = stream.read(min(COPY_BUF, chunk_bytes - written))
            if not buf:
                break
            fh.write(buf)
            written += len(buf)
        fh.flush()
        os.fsync(fh.fileno())
    if written != chunk_bytes:  # the client went away mid-chunk: keep what arrived, resume there
        held += written
        _save_upload(user, sha, length)
        raise Conflict("offset_mismatch", _("分块未完整收到：服务器已收到 %(n)s 字节，请从该位置继续上传。", n=held),
                       offset=held)
    held += written
    if held < length:
        _save_upload(user, sha, length)
        return {"offset": held, "length": length, "complete": False}
    store_photo(user, sha)
    return upload_state(sha)  # type: ignore[return-value]


def _save_upload(user: Any, sha: str, length: int) -> None:
    """Record the upload once (first chunk, or a restart with another length)."""
    upload = db.session.get(PhotoUpload, sha)
    if upload is None:
        db.session.add(PhotoUpload(sha256=sha, upload_length=length, started_by_id=getattr(user, "id", None)))
        db.session.flush()
    elif upload.upload_length != length:
        upload.upload_length = length
        db.session.flush()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while buf := fh.read(COPY_BUF):
            digest.update(buf)
    return digest.hexdigest()


def _bad_image(detail: str) -> DomainError:
    return DomainError("bad_image", _("无法识别该照片（仅支持 JPEG、PNG、WebP，且像素不超过上限）。请重新拍摄后上传。"),
                       status=422, reason=detail)


def decode_and_thumbnail(src: Path, dest: Path) -> tuple[str, int, int]:
    """Decode ``src`` with Pillow under the pixel limit and write a JPEG thumbnail to ``dest``.

    Return (format, width, height). Raises DomainError ``bad_image`` (422) for anything that is
    not a JPEG/PNG/WebP image, a truncated file, or a decompression bomb."""
    limit = current_app.config["PHOTO_MAX_PIXELS"]
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(src, formats=list(FORMATS)) as im:
                fmt, (width, height) = im.format, im.size
                if width * height > limit:
                    raise _bad_image("too_many_pixels")
                im.draft("RGB", (THUMB_PX * 2, THUMB_PX * 2))  # JPEG: decode at a reduced scale
                im.load()
                thumb = ImageOps.exif_transpose(im)
                thumb.thumbnail((THUMB_PX, THUMB_PX))
                if thumb.mode != "RGB":
                    thumb = thumb.convert("RGB")
                tmp = dest.with_suffix(".tmp")
                thumb.save(tmp, "JPEG", quality=80)
                os.replace(tmp, dest)
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bad_image("decompression_bomb") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _bad_image(type(exc).__name__) from exc
    return str(fmt), width, height


def store_photo(user: Any, sha: str) -> Photo:
    """Verify the complete partial upload and store it as the original with a thumbnail.

    Raises DomainError ``hash_mismatch`` or ``bad_image`` (422); the caller then discards."""
    part = partial_path(sha)
    actual = _file_sha256(part)
    if actual != sha:
        raise DomainError("hash_mismatch", _(
            "照片校验失败：收到的内容与其 SHA-256 不一致，已丢弃。请重新上传。"), status=422, received_sha256=actual)
    final = original_path(sha)
    final.parent.mkdir(parents=True, exist_ok=True)
    fmt, width, height = decode_and_thumbnail(part, thumb_path(sha))
    size = part.stat().st_size
    os.replace(part, final)  # the original, untouched
    photo = Photo(sha256=sha, size_bytes=size, image_format=fmt, width=width, height=height,
                  uploaded_by_id=getattr(user, "id", None))
    db.session.add(photo)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # stored meanwhile by another request: same bytes, nothing to do
        photo = get_photo(sha)  # type: ignore[assignment]
    upload = db.session.get(PhotoUpload, sha)
    if upload is not None:
        db.session.delete(upload)
    record("photo.store", "photo", sha, after={"size_bytes": size, "format": fmt, "width": width,
                                                "height": height})
    db.session.flush()
    return photo  # type: ignore[return-value]


def discard_partial(sha: str) -> None:
    """Delete an upload in progress (file and row). Flushes; the caller decides on the commit."""
    partial_path(sha).unlink(missing_ok=True)
    upload = db.session.get(PhotoUpload, sha)
    if upload is not None:
        db.session.delete(upload)
        db.session.flush()
