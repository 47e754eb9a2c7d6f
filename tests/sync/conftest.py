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
    app's validate() requires: check-in, notice per the task, every item answered with a method,
    every required question answered, the party's signature and every active member's signature.
    ``overrides`` replace top-level keys."""
    from server.catalog.models import ChecklistQuestion, QuestionType
    from server.planning.models import Task
    from server.registry.models import Inspector
    from server.teams.models import TeamMember
    from server.visits.models import VisitItem

    task = db.session.get(Task, visit.task_id)
    items = db.session.execute(db.select(VisitItem).where(VisitItem.visit_id == visit.id,
                                                          VisitItem.department_id == department_id)).scalars().all()
    answers, results = {}, {}
    for it in items:
        results[str(it.check_item_id)] = {"code": result, "method": "onsite", "problems": "", "handling": "",
                                          "legal_basis": "", "follow_up": ""}
        for q in db.session.execute(db.select(ChecklistQuestion).where(
                ChecklistQuestion.template_id == it.template_id)).scalars():
            value = {QuestionType.YES_NO_NA: "yes", QuestionType.NUMBER: 3,
                     QuestionType.SINGLE_CHOICE: (q.options or ["是"])[0]}.get(q.kind, "已核查")
            answers[f"{it.check_item_id}-{q.id}"] = answer if answer is not None else value
    members = db.session.execute(db.select(TeamMember, Inspector).join(Inspector, Inspector.id == TeamMember.inspector_id)
                                 .where(TeamMember.team_id == visit.team_id, TeamMember.active.is_(True))).all()
    content = {
        "schema": 2,
        "check_in": {"at": "2026-12-02T02:00:00.000Z", "gps": {"lat": 35.08, "lng": 113.38, "accuracy_m": 12},
                     "gps_error": None},
        "notice": "unannounced" if task.unannounced else "served",
        "answers": answers, "results": results,
        "findings": "", "measures": {}, "evidence_notes": "", "notes": "", "photos": [],
        "party": {"liaison_name": "王五", "liaison_phone": "0391-1234567", "opinion": "无异议"},
        "business": {"mode": "signature", "name": "张三", "role": "法定代表人", "signature": png_data_url(),
                     "signed_at": "2026-12-02T02:30:00.000Z", "stamp_photo": None,
                     "refusal": {"reason": "", "at": "", "place": "一路1号", "witness_name": "", "witness_photo": None,
                                 "statement": "被检查对象拒绝在检查记录上签字（盖章），检查人员在场见证并作此说明。",
                                 "inspector_signature": None, "inspector_signed_at": None}},
        "inspectors": {str(i.id): {"name": i.name, "department_id": m.department_id, "signature": png_data_url((0, 0, 255)),
                                   "signed_at": "2026-12-02T02:31:00.000Z"} for m, i in members},
    }
    content.update(overrides)
    return content
