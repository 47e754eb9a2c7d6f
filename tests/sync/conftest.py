"""Fixtures for the sync API: the assignments fixture of tests/visits (two teams, two departments),
checklist questions, photos in a temporary folder, and small helpers to send records and photos."""

from __future__ import annotations

import hashlib
import io
import uuid

import pytest
from PIL import Image

from server.extensions import db
from tests.visits.conftest import assigned, login  # noqa: F401  (shared fixtures)


@pytest.fixture(autouse=True)
def _photo_dir(app, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path / "photos")


@pytest.fixture
def field(assigned):  # noqa: F811
    """``assigned`` plus questions on the checklists."""
    from server.catalog.models import ChecklistQuestion, QuestionType

    db.session.add_all([
        ChecklistQuestion(template_id=assigned.tpl_a.id, position=1, kind=QuestionType.YES_NO_NA,
                          text="是否亮照经营", required=True),
        ChecklistQuestion(template_id=assigned.tpl_a.id, position=2, kind=QuestionType.NUMBER,
                          text="从业人员数", required=False, unit="人", min_value=0, max_value=999),
        ChecklistQuestion(template_id=assigned.tpl_b.id, position=1, kind=QuestionType.SINGLE_CHOICE,
                          text="计量器具检定", required=True, options=["已检定", "未检定"]),
    ])
    db.session.commit()
    return assigned


def new_uuid() -> str:
    return str(uuid.uuid4())


def record_body(department_id: int, base_version: int = 0, *, content=None, photos=(), finished=False):
    return {"department_id": department_id, "base_version": base_version,
            "content": content if content is not None else {"answers": {"1": "yes"}, "notes": "正常"},
            "photos": list(photos), "finished": finished, "device_id": "phone-1",
            "saved_at": "2026-12-02T10:00:00+08:00"}


def put_record(client, visit_id: int, uid: str, body: dict):
    return client.put(f"/api/visits/{visit_id}/records/{uid}", json=body)


def jpeg_bytes(seed: int = 0, size=(64, 48)) -> bytes:
    img = Image.new("RGB", size, (seed % 256, (seed * 7) % 256, (seed * 13) % 256))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def patch_chunk(client, digest: str, data: bytes, offset: int, total: int):
    return client.patch(f"/api/photos/{digest}", data=data, headers={
        "Upload-Offset": str(offset), "Upload-Length": str(total),
        "Content-Type": "application/offset+octet-stream"})


def upload(client, data: bytes, chunk: int = 1 << 20, digest: str | None = None):
    """Upload ``data`` in chunks; return the last response."""
    digest = digest or sha(data)
    resp = None
    for offset in range(0, len(data), chunk):
        resp = patch_chunk(client, digest, data[offset:offset + chunk], offset, len(data))
        if resp.status_code != 204:
            return resp
    return resp


# -- the field record as the app builds it (pwa/src/form.js, content schema 2) ---------------------


def png_data_url(color=(0, 0, 0)) -> str:
    """A small signature image, as the app's signature pad makes it (PNG data URL)."""
    import base64

    buf = io.BytesIO()
    Image.new("RGB", (8, 4), color).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def app_record(visit, department_id: int, *, result: str = "no_problem", answer: str | None = None,
               **overrides) -> dict:
    """Return a finished schema-2 content for one department's section of ``visit``, complete as the
    app's validate() requires: check-in (2026-12-02 10:00 Beijing time), notice per the task, every
    item answered with a method, every required question answered (``answer``: one value for all),
    the party's signature and every active member's signature (``server.fieldwork.samples``).
    ``overrides`` replace top-level keys."""
    from datetime import UTC, datetime

    from server.fieldwork.samples import finished_content

    content = finished_content(visit, department_id, at=datetime(2026, 12, 2, 2, 0, tzinfo=UTC), result=result,
                               answer=answer)
    content.update(overrides)
    return content
