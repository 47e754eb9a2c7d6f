"""Two requests storing the same record at the same moment: one row, the other gets a receipt or
409 ``in_progress`` (retry) — never a duplicate, never a server error. Runs on the suite's database
(PostgreSQL: the insert waits for the other transaction, then hits the unique uuid; SQLite: the
database write lock)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from server.extensions import db
from server.fieldwork.models import VisitRecord
from tests.conftest import PASSWORD
from tests.sync.conftest import new_uuid, record_body


def test_concurrent_identical_upload_stores_one_row(field, app):
    clients = [app.test_client() for _ in range(2)]
    for c in clients:
        assert c.post("/api/session", json={"username": "insp_a1", "password": PASSWORD}).status_code == 200
    uid, body = new_uuid(), record_body(field.a.id)
    url = f"/api/visits/{field.v_z.id}/records/{uid}"
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def send(client):
        with app.app_context():
            barrier.wait(timeout=10)
            resp = client.put(url, json=body)
            data = resp.get_json()
            outcomes.append(f"{resp.status_code}:{data.get('error', {}).get('code', data.get('status'))}")
            db.session.remove()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) in (["200:stored", "201:stored"], ["201:stored", "409:in_progress"])
    assert db.session.execute(select(func.count()).select_from(VisitRecord)).scalar_one() == 1


def test_two_new_versions_on_the_same_base_at_once_never_share_a_version(field, app):
    clients = [app.test_client() for _ in range(2)]
    for c in clients:
        c.post("/api/session", json={"username": "insp_a1", "password": PASSWORD})
    url, body = f"/api/visits/{field.v_z.id}/records/", record_body(field.a.id)
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes: list[int] = []

    def send(client):
        with app.app_context():
            barrier.wait(timeout=10)
            resp = client.put(url + new_uuid(), json=body)
            outcomes.append(resp.status_code)
            db.session.remove()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) in ([201, 409], [201, 201])
    versions = db.session.execute(select(VisitRecord.version).where(VisitRecord.version.is_not(None))).scalars().all()
    assert versions == [1]
