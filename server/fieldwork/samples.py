"""A finished field record of one department's section, built as the field app builds it (content
schema 2): for the demo data, the tests (``tests/sync/conftest.py::app_record``) and the benchmarks.

The content is complete as the app's validate() and ``validation.record_errors`` require: the
check-in, the notice as the task allows, every item with its result and method, every question
answered by its kind (photo questions with a photo when one is given), the party's signature and
every active team member's signature. Invented values only.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from ..catalog.models import ChecklistQuestion, QuestionType
from ..extensions import db
from ..planning.models import Task
from ..registry.models import InspectedObject, Inspector
from ..teams.models import TeamMember
from ..visits.models import Visit
from ..workdays.services import BEIJING
from .services import section_items

#: the statement a refusal starts from (the app pre-fills it)
REFUSAL_STATEMENT = "被检查对象拒绝在检查记录上签字（盖章），检查人员在场见证并作此说明。"
PARTY_SIGNATURE_COLOR = (20, 20, 20)
INSPECTOR_SIGNATURE_COLOR = (0, 0, 160)


@lru_cache(maxsize=8)
def signature_png(color: tuple[int, int, int] = PARTY_SIGNATURE_COLOR) -> str:
    """A signature as the app's pad makes it: a stroke on white, as a PNG data URL."""
    img = Image.new("RGB", (240, 96), (255, 255, 255))
    pen = ImageDraw.Draw(img)
    points = [(20 + x * 4, 60 - int(22 * ((x * 7) % 11) / 11) + (x % 3) * 6) for x in range(50)]
    pen.line(points, fill=color, width=4, joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def iso(moment: datetime) -> str:
    """A time as the app writes it (UTC, milliseconds, 'Z')."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sample_answer(q: ChecklistQuestion, on: datetime) -> Any:
    """A valid answer to a (non-photo) question by its kind."""
    if q.kind is QuestionType.YES_NO_NA:
        return "yes"
    if q.kind is QuestionType.NUMBER:
        n = 3.0
        if q.min_value is not None:
            n = max(n, float(q.min_value))
        if q.max_value is not None:
            n = min(n, float(q.max_value))
        return int(n) if n.is_integer() else n
    if q.kind is QuestionType.SINGLE_CHOICE:
        return (q.options or ["是"])[0]
    if q.kind is QuestionType.MULTIPLE_CHOICE:
        return (q.options or ["是"])[:1]
    if q.kind is QuestionType.DATE:
        return on.astimezone(BEIJING).date().isoformat()
    return "已核查"


def finished_content(visit: Visit, department_id: int, *, at: datetime, result: str = "no_problem",
                     problem: dict[str, str] | None = None, photo_refs: Sequence[str] = (), notes: str = "",
                     answer: Any = None) -> dict[str, Any]:
    """Return a finished schema-2 content for ``department_id``'s section of ``visit``.

    ``at``: the check-in (an aware datetime); the party signs 30 minutes later, the inspectors 31.
    ``result``: the result code of every item; ``problem``: what a problem result needs
    (``problems``, ``handling``, ``legal_basis``, ``follow_up``), merged into every item's result,
    its ``problems`` also the findings. ``photo_refs``: hashes of photos taken: the photo questions
    take them in turn, the others are evidence photos. ``answer``: one value for every non-photo
    question instead of a valid answer by kind."""
    task = db.session.get(Task, visit.task_id)
    obj = db.session.get(InspectedObject, visit.object_id)
    items = section_items(visit).get(department_id, [])
    members = db.session.execute(
        select(TeamMember, Inspector).join(Inspector, Inspector.id == TeamMember.inspector_id)
        .where(TeamMember.team_id == visit.team_id, TeamMember.active.is_(True))
        .order_by(TeamMember.is_leader.desc(), TeamMember.id)).all()
    shas = list(dict.fromkeys(photo_refs))
    answers: dict[str, Any] = {}
    results: dict[str, dict[str, Any]] = {}
    photos: list[dict[str, Any]] = []
    used: set[str] = set()
    for it in items:
        results[str(it["id"])] = {"code": result, "method": "onsite", "problems": "", "handling": "",
                                  "legal_basis": "", "follow_up": "", **(problem or {})}
        for q in it["questions"]:
            key = f"{it['id']}-{q.id}"
            if q.kind is QuestionType.PHOTO:
                if shas:
                    sha = shas[len(photos) % len(shas)]
                    used.add(sha)
                    photos.append({"sha256": sha, "purpose": "question", "ref": key,
                                   "captured_at": iso(at + timedelta(minutes=5 + len(photos)))})
                continue
            answers[key] = answer if answer is not None else sample_answer(q, at)
    for sha in shas:
        if sha not in used:
            photos.append({"sha256": sha, "purpose": "evidence",
                           "captured_at": iso(at + timedelta(minutes=5 + len(photos)))})
    signer = obj.legal_representative or "张三"
    party_at, inspectors_at = iso(at + timedelta(minutes=30)), iso(at + timedelta(minutes=31))
    return {
        "schema": 2,
        "check_in": {"at": iso(at), "gps": {"lat": 35.08, "lng": 113.38, "accuracy_m": 12}, "gps_error": None},
        "notice": "unannounced" if task.unannounced else "served",
        "answers": answers, "results": results,
        "findings": (problem or {}).get("problems", ""), "measures": {}, "evidence_notes": "", "notes": notes,
        "photos": photos,
        "party": {"liaison_name": "王五", "liaison_phone": "0391-1234567",
                  "opinion": "无异议" if problem is None else "已知悉，将按要求整改"},
        "business": {"mode": "signature", "name": signer, "role": "法定代表人",
                     "signature": signature_png(PARTY_SIGNATURE_COLOR), "signed_at": party_at, "stamp_photo": None,
                     "refusal": {"reason": "", "at": "", "place": obj.address or "", "witness_name": "",
                                 "witness_photo": None, "statement": REFUSAL_STATEMENT,
                                 "inspector_signature": None, "inspector_signed_at": None}},
        "inspectors": {str(i.id): {"name": i.name, "department_id": m.department_id,
                                   "signature": signature_png(INSPECTOR_SIGNATURE_COLOR), "signed_at": inspectors_at}
                       for m, i in members},
    }
