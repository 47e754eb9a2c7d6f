"""Photos: resumable chunked upload, verified hash, Pillow decode under a pixel limit, stored once."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from server.fieldwork.models import Photo, PhotoUpload
from tests.sync.conftest import (
    jpeg_bytes,
    new_uuid,
    patch_chunk,
    put_record,
    record_body,
    sha,
    upload,
)


def _photo_count() -> int:
    return db.session.execute(select(func.count()).select_from(Photo)).scalar_one()


def _files(app) -> list[Path]:
    root = Path(app.config["PHOTO_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".lock")) if root.exists() else []


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_upload_in_chunks_stores_the_original_untouched_and_a_thumbnail(field, login, app):
    client = login(field.u_a1)
    data = jpeg_bytes(3, size=(800, 600))
    resp = upload(client, data, chunk=1000)
    assert resp.status_code == 204 and resp.headers["Upload-Complete"] == "1"
    photo = db.session.get(Photo, sha(data))
    assert (photo.image_format, photo.width, photo.height, photo.size_bytes) == ("JPEG", 800, 600, len(data))
    original = Path(app.config["PHOTO_DIR"]) / sha(data)[:2] / sha(data)
    assert original.read_bytes() == data
    with client.get(f"/api/photos/{sha(data)}/thumb") as thumb:
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
        assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320
    with client.get(f"/api/photos/{sha(data)}") as got:
        assert got.data == data


def test_head_reports_the_offset_for_resuming(field, login):
    client = login(field.u_a1)
    data = jpeg_bytes(4, size=(400, 300))
    digest = sha(data)
    assert client.head(f"/api/photos/{digest}").status_code == 404
    assert patch_chunk(client, digest, data[:500], 0, len(data)).status_code == 204
    head = client.head(f"/api/photos/{digest}")
    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Complete"]) == ("500", "0")
    assert head.headers["Upload-Length"] == str(len(data))


def test_interrupted_chunk_resumes_from_the_bytes_received(field, login):
    client = login(field.u_a1)
    data = jpeg_bytes(5, size=(400, 300))
    digest = sha(data)
    # the connection drops after 300 of the 1000 bytes of the first chunk
    resp = client.patch(f"/api/photos/{digest}", input_stream=io.BytesIO(data[:300]), headers={
        "Upload-Offset": "0", "Upload-Length": str(len(data)),
        "Content-Type": "application/offset+octet-stream"}, environ_overrides={"CONTENT_LENGTH": "1000"})
    assert resp.status_code == 409 and resp.get_json()["error"]["details"]["offset"] == 300
    offset = int(client.head(f"/api/photos/{digest}").headers["Upload-Offset"])
    assert offset == 300
    resp = patch_chunk(client, digest, data[offset:], offset, len(data))
    assert resp.status_code == 204 and resp.headers["Upload-Complete"] == "1"
    assert db.session.get(Photo, digest).size_bytes == len(data)


def test_wrong_offset_is_409_with_the_offset_held(field, login):
    client = login(field.u_a1)
    data = jpeg_bytes(6, size=(400, 300))
    patch_chunk(client, sha(data), data[:100], 0, len(data))
    resp = patch_chunk(client, sha(data), data[200:300], 200, len(data))
    assert resp.status_code == 409
    err = resp.get_json()["error"]
    assert err["code"] == "offset_mismatch" and err["details"]["offset"] == 100
    assert "100 字节" in err["message"]
    assert client.head(f"/api/photos/{sha(data)}").headers["Upload-Offset"] == "100"


def test_hash_mismatch_is_422_and_nothing_is_kept(field, login, app):
    client = login(field.u_a1)
    data = jpeg_bytes(7)
    wrong = sha(b"something else")
    resp = upload(client, data, digest=wrong)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "hash_mismatch"
    assert "已丢弃" in resp.get_json()["error"]["message"]
    assert _photo_count() == 0 and db.session.get(PhotoUpload, wrong) is None
    assert _files(app) == []
    assert client.head(f"/api/photos/{wrong}").status_code == 404


def test_decompression_bomb_is_422_bad_image_and_nothing_is_kept(field, login, app):
    client = login(field.u_a1)
    bomb = _png_claiming(50_000, 50_000)
    resp = upload(client, bomb)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "bad_image"
    assert resp.get_json()["error"]["details"]["reason"] == "decompression_bomb"
    assert _photo_count() == 0 and _files(app) == []


def test_image_just_over_the_pixel_limit_is_refused(field, login, app):
    app.config["PHOTO_MAX_PIXELS"] = 1000
    client = login(field.u_a1)
    resp = upload(client, jpeg_bytes(8, size=(40, 30)))  # 1200 pixels
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "bad_image"
    assert _photo_count() == 0


def test_non_image_is_422_bad_image(field, login, app):
    client = login(field.u_a1)
    resp = upload(client, b"%PDF-1.4 not a photo at all")
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "bad_image" and "JPEG" in err["message"]
    assert _photo_count() == 0 and _files(app) == []


def test_same_photo_twice_is_stored_once(field, login, app):
    data = jpeg_bytes(9)
    assert upload(login(field.u_a1), data).status_code == 204
    again = upload(login(field.u_b1), data)
    assert again.status_code == 204 and again.headers["Upload-Complete"] == "1"
    assert _photo_count() == 1
    assert len([p for p in _files(app) if not p.name.endswith(".jpg")]) == 1


def test_photo_over_the_size_limit_is_413_with_the_limit(field, login, app):
    app.config["SYNC_MAX_PHOTO_BYTES"] = 1000
    data = jpeg_bytes(10, size=(300, 300))
    resp = patch_chunk(login(field.u_a1), sha(data), data[:500], 0, len(data))
    assert resp.status_code == 413
    assert resp.get_json()["error"]["details"]["limit_bytes"] == 1000
    assert _files(app) == []


def test_missing_upload_headers_are_400(field, login):
    client = login(field.u_a1)
    resp = client.patch(f"/api/photos/{sha(b'x')}", data=b"x", headers={"Content-Type": "application/offset+octet-stream"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_upload"


def test_concurrent_patch_of_the_same_hash_is_409_in_progress(field, login, app):
    import fcntl
    import os

    client = login(field.u_a1)
    data = jpeg_bytes(11)
    lock = Path(app.config["PHOTO_DIR"]) / "partial" / f"{sha(data)}.lock"
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another worker is appending to this upload
    try:
        resp = patch_chunk(client, sha(data), data, 0, len(data))
    finally:
        os.close(fd)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "in_progress"
    assert "稍后重试" in resp.get_json()["error"]["message"]
    assert patch_chunk(client, sha(data), data, 0, len(data)).status_code == 204


def test_team_member_sees_a_photo_of_the_team_but_another_team_does_not(field, login):
    data = jpeg_bytes(12)
    client = login(field.u_a1)
    upload(client, data)
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id, photos=[sha(data)]))
    with login(field.u_b1).get(f"/api/photos/{sha(data)}/thumb") as resp:
        assert resp.status_code == 200
    resp = login(field.u_a2).get(f"/api/photos/{sha(data)}")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "photo_forbidden"


def test_truncated_jpeg_is_422_bad_image_although_decoded_at_reduced_scale(field, login, app):
    client = login(field.u_a1)
    data = jpeg_bytes(11, size=(2048, 1536))[:-4000]  # the entropy-coded data cut short
    resp = upload(client, data)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "bad_image"
    assert _photo_count() == 0 and _files(app) == []


def test_large_photo_thumbnail_is_made_from_a_reduced_decode_and_fits_320(field, login, app):
    client = login(field.u_a1)
    data = jpeg_bytes(12, size=(2048, 1536))
    assert upload(client, data, chunk=256 * 1024).status_code == 204
    photo = db.session.get(Photo, sha(data))
    assert (photo.width, photo.height) == (2048, 1536)  # the original's size, not the draft's
    with client.get(f"/api/photos/{sha(data)}/thumb") as thumb:
        assert Image.open(io.BytesIO(thumb.data)).size == (320, 240)


def test_busy_photo_slots_answer_503_server_busy_and_nothing_changes(field, login, app, monkeypatch):
    import threading

    from server.fieldwork import photos

    client = login(field.u_a1)
    data = jpeg_bytes(13)
    full = threading.BoundedSemaphore(1)
    full.acquire()  # every slot of this worker taken by other uploads
    monkeypatch.setattr(photos, "_GATE", full)
    app.config["SYNC_PHOTO_WAIT_SECONDS"] = 0.05
    resp = patch_chunk(client, sha(data), data, 0, len(data))
    assert resp.status_code == 503
    err = resp.get_json()["error"]
    assert err["code"] == "server_busy" and "稍后" in err["message"]
    assert _photo_count() == 0 and _files(app) == []
    full.release()
    assert patch_chunk(client, sha(data), data, 0, len(data)).status_code == 204  # a retry goes through
    assert _photo_count() == 1
