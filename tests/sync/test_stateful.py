"""A Hypothesis state machine of the sync protocol: two phones (two departments of one visit)
create versions, send them, retry them and lose responses (the server stored the version but the
phone never saw the receipt) in random interleavings. Whatever happens, every version ends up on
the server exactly once, and no version leaves a phone's outbox without a receipt."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from server.extensions import db
from server.fieldwork.models import VisitRecord
from server.fieldwork.services import current_version
from tests.sync.conftest import app_record


def test_every_record_arrives_exactly_once(field, login, app):
    phones = {"a": (login(field.u_a1), field.a.id)}
    phones["b"] = (app.test_client(), field.b.id)
    phones["b"][0].post("/login", data={"username": "insp_b1", "password": "correct horse battery"})
    visit_id = field.v_z.id

    class SyncProtocol(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.outbox = {"a": [], "b": []}  # (uuid, body) not yet acknowledged
            self.created: set[str] = set()
            self.acked: dict[str, dict] = {}  # uuid -> receipt
            self.known = {k: current_version(visit_id, dept) for k, (_c, dept) in phones.items()}

        def _send(self, phone: str, index: int, lose_response: bool) -> None:
            client, _dept = phones[phone]
            uid, body = self.outbox[phone][index]
            resp = client.put(f"/api/visits/{visit_id}/records/{uid}", json=body)
            assert resp.status_code in (200, 201, 409), resp.get_json()
            if lose_response:
                return  # the phone never saw the answer: the item stays in the outbox
            data = resp.get_json()
            if resp.status_code == 409:
                assert data["error"]["code"] == "stale_version"
                receipt = data["error"]["details"]["receipt"]
            else:
                receipt = data
            assert receipt["uuid"] == uid
            if uid in self.acked:  # a resend gets the very same receipt
                assert receipt == self.acked[uid]
            self.acked[uid] = receipt
            # stored: the new version; conflict: the server version it collided with — either way
            # the phone now knows a version it may edit on top of
            self.known[phone] = max(self.known[phone], receipt["version"])
            del self.outbox[phone][index]

        @rule(phone=st.sampled_from(["a", "b"]), finished=st.booleans(), note=st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
                                                                         max_size=20))  # NUL, lone surrogates: a 400 (test_records)
        def save_version(self, phone, finished, note):
            uid = str(uuid.uuid4())
            # a finished version is a complete schema-2 record (the server refuses anything less)
            content = app_record(field.v_z, phones[phone][1], notes=note) if finished else {"notes": note}
            body = {"department_id": phones[phone][1], "base_version": self.known[phone],
                    "content": content, "photos": [], "finished": finished}
            self.outbox[phone].append((uid, body))
            self.created.add(uid)

        @precondition(lambda self: self.outbox["a"] or self.outbox["b"])
        @rule(phone=st.sampled_from(["a", "b"]), pick=st.integers(min_value=0), lose=st.booleans())
        def sync(self, phone, pick, lose):
            if not self.outbox[phone]:
                return
            self._send(phone, pick % len(self.outbox[phone]), lose)

        @precondition(lambda self: self.acked)
        @rule(pick=st.integers(min_value=0))
        def resend_acknowledged(self, pick):
            """A phone that crashed before deleting the outbox item sends it once more."""
            uid = sorted(self.acked)[pick % len(self.acked)]
            row = db.session.execute(select(VisitRecord).where(VisitRecord.uuid == uid)).scalar_one()
            body = {"department_id": row.department_id, "base_version": row.base_version, "content": row.content,
                    "photos": row.photos, "finished": row.finished}
            phone = "a" if row.department_id == phones["a"][1] else "b"
            resp = phones[phone][0].put(f"/api/visits/{visit_id}/records/{uid}", json=body)
            got = resp.get_json() if resp.status_code == 200 else resp.get_json()["error"]["details"]["receipt"]
            assert got == self.acked[uid]

        @invariant()
        def at_most_once(self):
            if not self.created:
                return
            counts = db.session.execute(select(VisitRecord.uuid, func.count()).where(
                VisitRecord.uuid.in_(self.created)).group_by(VisitRecord.uuid)).all()
            assert all(n == 1 for _u, n in counts)

        def teardown(self):
            for phone in ("a", "b"):
                while self.outbox[phone]:
                    self._send(phone, 0, lose_response=False)
            stored = db.session.execute(select(VisitRecord.uuid).where(VisitRecord.uuid.in_(self.created))
                                        ).scalars().all() if self.created else []
            assert sorted(stored) == sorted(self.created)  # exactly once, nothing missing
            versions = db.session.execute(select(VisitRecord.department_id, VisitRecord.version).where(
                VisitRecord.visit_id == visit_id, VisitRecord.version.is_not(None))).all()
            assert len(versions) == len(set(versions))  # no version stored twice

    run_state_machine_as_test(SyncProtocol, settings=settings(
        max_examples=30, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
