"""Photos are decoded under a memory budget: a small PNG claiming 6300×6300 RGBA (≈150 KB, ≈160 MB
of pixels) is refused from its header with 422 ``bad_image`` (reason ``decode_budget``) before any
decode, and the server process's peak RSS barely moves (it used to reach ~580 MB). Valid photos
are still accepted; JPEGs are decoded at a reduced scale, so a large JPEG fits a small budget."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from server.fieldwork.models import Photo
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _photo_dir(app, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path / "photos")


def rgba_png(width: int, height: int) -> bytes:
    """A real, fully decodable RGBA PNG of transparent pixels: tiny on disk, huge decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    comp = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_RLE)  # runs of zeros: fast, ~1000:1
    row = bytes(1 + 4 * width)  # filter byte 0, then the pixels
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, colour type 6 = RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _encoded(mode: str, size, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (120, 80, 40, 255)[: len(mode)]).save(buf, fmt)
    return buf.getvalue()


def _upload(client, data: bytes, chunk: int = 1 << 20):
    digest = hashlib.sha256(data).hexdigest()
    resp = None
    for offset in range(0, len(data), chunk):
        resp = client.patch(f"/api/photos/{digest}", data=data[offset:offset + chunk], headers={
            "Upload-Offset": str(offset), "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream"})
        if resp.status_code != 204:
            return resp
    return resp


def _photos() -> int:
    return db.session.execute(select(func.count()).select_from(Photo)).scalar_one()


def test_huge_rgba_png_is_refused_and_peak_rss_stays_low(app, field_inspector, tmp_path):
    png = rgba_png(6300, 6300)
    assert len(png) < 200 * 1024
    path = tmp_path / "bomb.png"
    path.write_bytes(png)
    db.session.commit()
    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("photo_rss_probe.py")), app.config["SQLALCHEMY_DATABASE_URI"],
         app.config["PHOTO_DIR"], str(tmp_path / "uploads"), str(path), "insp", PASSWORD],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 422, result
    assert result["error"]["code"] == "bad_image" and result["error"]["details"]["reason"] == "decode_budget"
    assert "6300×6300" in result["error"]["message"]
    assert result["increase_mb"] < 300, result
    db.session.expire_all()
    assert db.session.get(Photo, hashlib.sha256(png).hexdigest()) is None


def test_photo_over_the_budget_is_refused_before_decoding(app, field_inspector, api_login):
    app.config["PHOTO_DECODE_MAX_MB"] = 1
    client = api_login("insp")
    resp = _upload(client, _encoded("RGBA", (600, 600), "PNG"))  # 1.4 MB of pixels
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "bad_image" and err["details"]["reason"] == "decode_budget"
    assert (err["details"]["width"], err["details"]["height"]) == (600, 600)
    assert "分辨率过高" in err["message"] and _photos() == 0


def test_large_jpeg_fits_a_small_budget_by_reduced_decode(app, field_inspector, api_login):
    app.config["PHOTO_DECODE_MAX_MB"] = 2
    client = api_login("insp")
    resp = _upload(client, _encoded("RGB", (2400, 1800), "JPEG"))  # 17 MB at full scale, 1 MB at 1/4
    assert resp.status_code == 204, resp.get_data(as_text=True)
    photo = db.session.execute(select(Photo)).scalar_one()
    assert (photo.image_format, photo.width, photo.height) == ("JPEG", 2400, 1800)


@pytest.mark.parametrize(("mode", "size", "fmt"), [("RGBA", (2000, 1500), "PNG"), ("RGB", (4000, 3000), "JPEG"),
                                                   ("RGB", (1600, 1200), "WEBP")])
def test_ordinary_photos_are_still_accepted_with_a_thumbnail(app, field_inspector, api_login, mode, size, fmt):
    client = api_login("insp")
    data = _encoded(mode, size, fmt)
    resp = _upload(client, data)
    assert resp.status_code == 204, resp.get_data(as_text=True)
    digest = hashlib.sha256(data).hexdigest()
    with client.get(f"/api/photos/{digest}/thumb") as thumb:
        assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.data)).size) == 320
