"""A visit of two departments with finished, synced sections (a problem result with its legal
basis, photos uploaded), for the printed documents' tests."""

from __future__ import annotations

import io

import pytest

from tests.sync.conftest import (  # noqa: F401  (shared fixtures)
    _photo_dir,
    app_record,
    assigned,
    field,
    jpeg_bytes,
    login,
    new_uuid,
    png_data_url,
    put_record,
    record_body,
    sha,
    upload,
)


def push(client, visit, department_id: int, content: dict, photos=(), base_version: int = 0) -> None:
    resp = put_record(client, visit.id, new_uuid(), record_body(department_id, base_version, content=content,
                                                                 photos=photos, finished=True))
    assert resp.status_code == 201, resp.get_json()


def pdf_text(data: bytes) -> tuple[str, object]:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages), reader


@pytest.fixture
def documented(field, login):  # noqa: F811
    """``field`` with both departments' sections of ``v_z`` finished: department a found a problem
    (with handling and legal basis), took two photos and ordered a rectification; department b found
    nothing. Returns ``field`` with ``photos`` (the hashes) and ``client_a`` (the leader's client)."""
    client = login(field.u_a1)
    photos = [jpeg_bytes(31, size=(400, 300)), jpeg_bytes(32, size=(300, 400))]
    for data in photos:
        assert upload(client, data).status_code == 204
    field.photos = [sha(p) for p in photos]
    item = str(field.item_a.id)
    content = app_record(field.v_z, field.a.id, result="rectified", findings="未在醒目位置悬挂营业执照",
                         measures={"order_rectify": {"on": True, "form": "written"}, "order_stop": {"on": False}},
                         evidence_notes="拍摄店招和证照", notes="店主配合检查",
                         photos=[{"sha256": field.photos[0], "purpose": "evidence",
                                  "captured_at": "2026-12-02T02:10:00.000Z"},
                                 {"sha256": field.photos[1], "purpose": "evidence",
                                  "captured_at": "2026-12-02T02:12:00.000Z"}])
    content["results"][item].update(method="documents", problems="营业执照未悬挂于经营场所醒目位置",
                                    handling="当场责令悬挂营业执照", legal_basis="《市场主体登记管理条例》第三十六条",
                                    follow_up="order_rectify")
    content["party"]["opinion"] = "对检查结果无异议，已当场整改"
    push(client, field.v_z, field.a.id, content, photos=field.photos)
    client_b = login(field.u_b1)
    push(client_b, field.v_z, field.b.id, app_record(field.v_z, field.b.id))
    field.client_a = login(field.u_a1)
    return field
