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
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from flask import current_app, g
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..audit.services import Change, record_many
from ..core.errors import Conflict, DomainError
from ..core.models import utcnow
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


_GATE: threading.BoundedSemaphore | None = None
_GATE_GUARD = threading.Lock()


def _gate() -> threading.BoundedSemaphore:
    global _GATE
    with _GATE_GUARD:
        if _GATE is None:
            _GATE = threading.BoundedSemaphore(max(1, int(current_app.config.get("SYNC_PHOTO_CONCURRENCY", 2))))
        return _GATE


@contextmanager
def processing_slot() -> Iterator[None]:
    """Hold one of this worker process's ``SYNC_PHOTO_CONCURRENCY`` photo slots for the block.

    Chunks are bulk work (disk, hashing, decoding, a thumbnail): bounding how many run at once in a
    worker keeps the CPU and the database free for record pushes, which phones wait on, and a
    request waiting here holds no database connection (take the slot before any query). Raises
    DomainError ``server_busy`` (503, retry later) after ``SYNC_PHOTO_WAIT_SECONDS``."""
    gate = _gate()
    if not gate.acquire(timeout=float(current_app.config.get("SYNC_PHOTO_WAIT_SECONDS", 60))):
        raise DomainError("server_busy", _("服务器正忙，照片稍后会自动重新上传。"), status=503)
    try:
        yield
    finally:
        gate.release()


def get_photo(sha: str) -> Photo | None:
    return db.session.get(Photo, sha)


def _known(sha: str) -> tuple[int | None, int | None]:
    """Return (stored size, declared upload length) of a hash in one round trip, without loading
    ORM objects (this runs on every chunk): (None, None) when nothing is known."""
    stored = select(Photo.size_bytes).where(Photo.sha256 == sha).scalar_subquery()
    declared = select(PhotoUpload.upload_length).where(PhotoUpload.sha256 == sha).scalar_subquery()
    row = db.session.execute(select(stored, declared)).one()
    return row[0], row[1]


def upload_state(sha: str) -> dict[str, Any] | None:
    """Return ``{offset, length, complete}`` of a photo, or None when nothing was received."""
    size, declared = _known(sha)
    if size is not None:
        return {"offset": size, "length": size, "complete": True}
    part = partial_path(sha)
    try:
        held = part.stat().st_size
    except FileNotFoundError:
        return None
    return {"offset": held, "length": declared, "complete": False}


def append_chunk(user: Any, sha: str, *, offset: int, length: int, stream: IO[bytes],
                 chunk_bytes: int) -> dict[str, Any]:
    """Append one chunk at ``offset`` of an upload of ``length`` bytes; store the photo when the
    last byte arrives. Return the new ``{offset, length, complete}``.

    The caller holds the lock (:func:`lock_upload`). Raises Conflict ``offset_mismatch`` (409,
    ``details.offset`` = bytes held), DomainError ``upload_length_mismatch`` / ``chunk_too_long``
    (400), and on the last chunk ``hash_mismatch`` / ``bad_image`` (422; the caller discards)."""
    size, declared = _known(sha)
    if size is not None:  # stored once per hash, whoever sends it
        discard_partial(sha)
        return {"offset": size, "length": size, "complete": True}
    part = partial_path(sha)
    try:
        held = part.stat().st_size
    except FileNotFoundError:
        part.parent.mkdir(parents=True, exist_ok=True)
        held = 0
    if declared is not None and declared != length:
        if offset != 0:
            raise DomainError("upload_length_mismatch", _(
                "上传总长度与之前声明的不一致（之前为 %(n)s 字节）。请从头重新上传。", n=declared),
                upload_length=declared)
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
    # No fsync per chunk: the partial file's size is the offset the phone resumes from, and the
    # SHA-256 check at the end refuses anything a crash may have garbled. The original is synced
    # once, before the row that says it is stored is committed (store_photo).
    if written != chunk_bytes:  # the client went away mid-chunk: keep what arrived, resume there
        held += written
        _save_upload(user, sha, length, declared)
        raise Conflict("offset_mismatch", _("分块未完整收到：服务器已收到 %(n)s 字节，请从该位置继续上传。", n=held),
                       offset=held)
    held += written
    if held < length:
        _save_upload(user, sha, length, declared)
        return {"offset": held, "length": length, "complete": False}
    photo = store_photo(user, sha, declared)
    return {"offset": photo.size_bytes, "length": photo.size_bytes, "complete": True}


def _save_upload(user: Any, sha: str, length: int, declared: int | None) -> None:
    """Record the upload once (first chunk, or a restart with another length): no write per chunk."""
    if declared is None:
        db.session.execute(insert(PhotoUpload).values(sha256=sha, upload_length=length,
                                                      started_by_id=getattr(user, "id", None)))
    elif declared != length:
        db.session.execute(update(PhotoUpload).where(PhotoUpload.sha256 == sha)
                           .values(upload_length=length, updated_at=utcnow()))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while buf := fh.read(COPY_BUF):
            digest.update(buf)
    return digest.hexdigest()


def _bad_image(detail: str) -> DomainError:
    return DomainError("bad_image", _("无法识别该照片（仅支持 JPEG、PNG、WebP，且像素不超过上限）。请重新拍摄后上传。"),
                       status=422, reason=detail)


#: default memory budget of one photo decode (``SPOTCHECK_PHOTO_DECODE_MAX_MB``)
DEFAULT_DECODE_MAX_MB = 96


def _bytes_per_pixel(mode: str) -> int:
    """Bytes per pixel of a decoded Pillow image in ``mode`` (Pillow keeps 2–4 band images, RGB
    too, in 4 bytes a pixel)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def decode_bytes(fmt: str | None, mode: str, size: tuple[int, int]) -> int:
    """Memory the decode of an image of ``size`` pixels in ``mode`` will take (the size after
    ``draft``: a JPEG is decoded at a reduced scale). WebP decodes into a buffer first, then the
    image: twice."""
    width, height = size
    return width * height * _bytes_per_pixel(mode) * (2 if fmt == "WEBP" else 1)


def _too_large_to_decode(width: int, height: int, needed: int, budget: int) -> DomainError:
    return DomainError("bad_image", _(
        "照片分辨率过高（%(w)s×%(h)s 像素，解码需约 %(mb)s MB 内存，上限 %(max)s MB），服务器无法处理。请用手机相机的常规分辨率重新拍摄，或把照片缩小后再上传。",
        w=width, h=height, mb=-(-needed // (1024 * 1024)), max=budget // (1024 * 1024)),
        status=422, reason="decode_budget", width=width, height=height)


def decode_and_thumbnail(src: Path, dest: Path) -> tuple[str, int, int]:
    """Decode ``src`` with Pillow under the pixel limit and the memory budget, and write a JPEG
    thumbnail to ``dest``.

    The header is read first (``Image.open`` decodes nothing): above ``PHOTO_MAX_PIXELS`` pixels,
    or when the decode would need more than ``PHOTO_DECODE_MAX_MB`` (pixels × bytes per pixel of
    the mode, after a JPEG's reduced-scale ``draft``), nothing is decoded. Pillow's own
    decompression-bomb guard stays on.

    Return (format, width, height). Raises DomainError ``bad_image`` (422) for anything that is
    not a JPEG/PNG/WebP image, a truncated file, a decompression bomb, or an image over the
    budget (``details.reason == "decode_budget"``)."""
    limit = current_app.config["PHOTO_MAX_PIXELS"]
    budget = int(current_app.config.get("PHOTO_DECODE_MAX_MB", DEFAULT_DECODE_MAX_MB)) * 1024 * 1024
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(src, formats=list(FORMATS)) as im:
                fmt, (width, height) = im.format, im.size
                if width * height > limit:
                    raise _bad_image("too_many_pixels")
                # JPEG: decode at the smallest DCT scale still ≥ the thumbnail (1/2 … 1/8). The
                # whole entropy-coded stream is still read, so a truncated or corrupt file fails
                # here; one decode serves as both the check and the thumbnail's source.
                im.draft("RGB", (THUMB_PX, THUMB_PX))
                needed = decode_bytes(fmt, im.mode, im.size)
                if needed > budget:
                    raise _too_large_to_decode(width, height, needed, budget)
                im.load()
                # shrink first (in place: the full-size pixels are released), then turn the
                # small image upright
                im.thumbnail((THUMB_PX, THUMB_PX))
                thumb = ImageOps.exif_transpose(im)
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


def store_photo(user: Any, sha: str, declared: int | None = None) -> Photo:
    """Verify the complete partial upload and store it as the original with a thumbnail.
    ``declared``: the upload row's length when there is one (it is deleted).

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
    _fsync(part)  # on disk before the row that says it is stored can commit
    os.replace(part, final)  # the original, untouched
    photo = Photo(sha256=sha, size_bytes=size, image_format=fmt, width=width, height=height,
                  uploaded_by_id=getattr(user, "id", None))
    db.session.add(photo)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # stored meanwhile by another request: same bytes, nothing to do
        photo = get_photo(sha)  # type: ignore[assignment]
    if declared is not None:
        db.session.execute(delete(PhotoUpload).where(PhotoUpload.sha256 == sha))
    # The audit goes last: it takes the chain's lock until the commit (the caller commits at once).
    record_many([Change("photo.store", "photo", sha, after={"size_bytes": size, "format": fmt, "width": width,
                                                            "height": height})])
    return photo  # type: ignore[return-value]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard_partial(sha: str) -> None:
    """Delete an upload in progress (file and row). Flushes; the caller decides on the commit."""
    partial_path(sha).unlink(missing_ok=True)
    db.session.execute(delete(PhotoUpload).where(PhotoUpload.sha256 == sha))
