"""Run in a subprocess by test_photo_memory.py: upload one photo through the real sync photo API
and report the process's peak-RSS increase while the server handled it.

    python photo_rss_probe.py DATABASE_URL PHOTO_DIR UPLOAD_DIR PHOTO USERNAME PASSWORD

Prints one JSON line: ``{"status": …, "error": {…} | null, "increase_mb": …}``. A separate
process, so that the test process's own memory does not blur the measurement."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import resource
import sys

from PIL import Image

from server import create_app


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _upload(client, data: bytes, chunk: int = 1 << 20):
    digest = hashlib.sha256(data).hexdigest()
    resp = None
    for offset in range(0, len(data), chunk):
        resp = client.patch(f"/api/photos/{digest}", data=data[offset:offset + chunk], headers={
            "Upload-Offset": str(offset), "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream"})
        if resp.status_code != 204:
            break
    return resp


def main(db_url: str, photo_dir: str, upload_dir: str, photo: str, username: str, password: str) -> None:
    app = create_app({
        "TESTING": True, "SECRET_KEY": "probe", "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False,
        "RATELIMIT_STORAGE_URI": "memory://", "LOGIN_RATE_LIMIT": "1000 per minute",
        "SQLALCHEMY_DATABASE_URI": db_url, "PHOTO_DIR": photo_dir, "UPLOAD_DIR": upload_dir,
        "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
    })
    app.config["PHOTO_DIR"] = photo_dir
    client = app.test_client()
    resp = client.post("/api/session", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    # warm up: a small valid PNG through the same path (plugins loaded, pools filled)
    buf = io.BytesIO()
    Image.new("RGBA", (64, 64), (1, 2, 3, 4)).save(buf, "PNG")
    warm = _upload(client, buf.getvalue())
    assert warm.status_code == 204, warm.get_data(as_text=True)
    with open(photo, "rb") as fh:
        data = fh.read()
    gc.collect()
    before = _maxrss_mb()
    resp = _upload(client, data)
    after = _maxrss_mb()
    body = resp.get_json(silent=True) or {}
    print(json.dumps({"status": resp.status_code, "error": body.get("error"),
                      "increase_mb": round(after - before, 1)}))


if __name__ == "__main__":
    main(*sys.argv[1:7])
