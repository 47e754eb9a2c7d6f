"""How a draw's evidence is stored: the candidates once (fixed at the commitment), the record without
their ids, and a SHA-256 of the full record's canonical JSON taken at the draw. The full record is
composed on read and refused if anything stored changed afterwards."""

from __future__ import annotations

import hashlib
import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from server.audit.models import AuditEntry
from server.auth.roles import Role
from server.core.errors import DomainError
from server.draws import services, spec
from server.draws.models import Draw, DrawCandidates
from server.extensions import db

RECORD_FIELDS = ["spec", "task", "kind", "created_at", "nonce_commitment", "nonce", "witness_entropy",
                 "witnesses", "candidates_digest", "seed", "strata"]


def _old_record_text(rec) -> bytes:
    """How the full record used to be stored (one JSON text)."""
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@pytest.fixture
def depts(make_department):
    return make_department("武陟县商务局"), make_department("武陟县市场监督管理局")


@pytest.fixture
def task(make_task, depts, bulk_objects):
    bulk_objects(12, "A")
    bulk_objects(4, "D")
    return make_task(depts[0], [depts[1]], accepted=True, teams=2,
                     strata=[{"name": "A", "ratio": "0.25"}, {"name": "D", "ratio": "0.5"}])


@pytest.fixture
def drawn(task, draw_objects):
    return draw_objects(task, entropy="骰子 6 3 1")


def _tamper(draw_id: int, candidates: str | None | bool = False, **values) -> None:
    """Change the stored evidence behind the application's back (as raw SQL would)."""
    if values:
        db.session.execute(update(Draw.__table__).where(Draw.__table__.c.id == draw_id).values(**values))
    c = DrawCandidates.__table__.c
    if candidates is None:
        db.session.execute(delete(DrawCandidates.__table__).where(c.draw_id == draw_id))
    elif candidates is not False:
        db.session.execute(update(DrawCandidates.__table__).where(c.draw_id == draw_id).values(strata=candidates))
    db.session.commit()
    db.session.expire_all()


def _altered(draw_id: int) -> DomainError:
    with pytest.raises(DomainError) as err:
        services.draw_record(db.session.get(Draw, draw_id))
    return err.value


texts = st.text(st.characters(blacklist_categories=("Cs",)))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | texts,
    lambda inner: st.lists(inner) | st.dictionaries(texts, inner), max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_canonical_json_is_compact_utf8_json_byte_for_byte(value):
    assert services.canonical_json(value) == _old_record_text(value)


def test_candidates_are_stored_once(drawn):
    stored = json.loads(drawn.record)
    assert all("ids" not in s for s in stored["strata"])
    body = db.session.execute(select(DrawCandidates.strata).where(DrawCandidates.draw_id == drawn.id)).scalar_one()
    assert body.encode() == services.canonical_json(services.candidate_strata(drawn))
    assert [s["selected"] for s in stored["strata"]] == [s["selected"] for s in services.draw_record(drawn)["strata"]]
    assert [len(s["ids"]) for s in services.candidate_strata(drawn)] == [12, 4]


def _sorted_record_sha(rec) -> str:
    """draw-v2's record_sha256, from the spec's words (keys sorted, compact, UTF-8, without itself)."""
    body = {k: v for k, v in rec.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def test_full_record_of_a_new_draw_is_a_draw_v2_record(drawn):
    rec = services.draw_record(drawn)
    assert rec["spec"] == "draw-v2"
    assert list(rec) == RECORD_FIELDS + ["record_sha256"]
    assert [list(s) for s in rec["strata"]] == [["name", "ratio", "ids", "selected"]] * 2
    assert spec.verify(rec) == []
    rebuilt = spec.build_record(spec.inputs_from_record(rec), created_at=rec["created_at"],
                                witnesses=rec["witnesses"])
    assert _old_record_text(rebuilt) == _old_record_text(rec)
    assert rec["record_sha256"] == _sorted_record_sha(rec) == drawn.record_sha256


def test_record_sha256_is_in_the_audit_log_at_the_draw(drawn):
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "draw.final",
                                                        AuditEntry.entity_id == str(drawn.id))).scalar_one()
    text = json.dumps(entry.after, ensure_ascii=False)
    assert entry.after["record_sha256"] == drawn.record_sha256 == services.draw_record(drawn)["record_sha256"]
    assert entry.after["spec"] == "draw-v2" and entry.after["nonce_commitment"] == drawn.nonce_commitment
    assert entry.after["candidates_total"] == 16 and entry.after["selected_total"] == 5
    rec = services.draw_record(drawn)
    for secret in (drawn.nonce, drawn.seed, "王丽", *[c for s in rec["strata"] for c in s["selected"]]):
        assert secret not in text
    assert '"A"' not in text and '"D"' not in text  # no per-stratum counts


def test_inspector_record_is_composed_and_sealed(make_inspector, depts, task, drawn, draw_inspectors):
    for dept in depts:
        for _ in range(2):
            make_inspector(dept)
    draw = draw_inspectors(task)
    rec = services.draw_record(draw)
    assert list(rec) == RECORD_FIELDS + ["teams", "lead_stratum", "objects", "assignment", "record_sha256"]
    assert [list(s) for s in rec["strata"]] == [["name", "count", "ids", "selected"]] * 2
    assert spec.verify(rec) == []
    assert _sorted_record_sha(rec) == draw.record_sha256


def _store_as_draw_v1(draw) -> dict:
    """Turn a final draw into a draw-v1 draw exactly as the code before draw-v2 stored it: the record
    without ids, sealed with the SHA-256 of the full record's compact JSON in field order."""
    rec = services.draw_record(draw)
    inputs = spec.inputs_from_record(rec)
    inputs.version = "draw-v1"
    old = spec.build_record(inputs, created_at=rec["created_at"], witnesses=rec["witnesses"])
    _tamper(draw.id, record=orjson.dumps(services.record_without_ids(old)).decode(),
            record_sha256=hashlib.sha256(_old_record_text(old)).hexdigest(), seed=old["seed"])
    return old


def test_a_stored_draw_v1_record_stays_valid_and_verifiable(runner, tmp_path, task, drawn):
    old = _store_as_draw_v1(drawn)
    rec = services.draw_record(db.session.get(Draw, drawn.id))
    assert rec == old and rec["spec"] == "draw-v1" and spec.verify(rec) == []
    result = runner.invoke(args=["draw", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = tmp_path / f"{task.code}-objects.json"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == db.session.get(Draw, drawn.id).record_sha256
    verify = runner.invoke(args=["draw", "verify", str(path)])
    assert verify.exit_code == 0 and "OK (draw-v1" in verify.output


def test_an_altered_draw_v1_record_is_still_refused(drawn):
    old = _store_as_draw_v1(drawn)
    old["strata"][0]["selected"].reverse()
    _tamper(drawn.id, record=orjson.dumps(services.record_without_ids(old)).decode())
    assert _altered(drawn.id).code == "draw_record_altered"


def test_a_draw_v2_record_whose_own_hash_field_was_rewritten_is_refused(drawn):
    stored = json.loads(drawn.record)
    stored["record_sha256"] = "0" * 64
    _tamper(drawn.id, record=json.dumps(stored, ensure_ascii=False, separators=(",", ":")))
    assert _altered(drawn.id).code == "draw_record_altered"


def test_changed_candidate_is_refused(drawn):
    cands = services.candidate_strata(drawn)
    cands[0]["ids"][0] = cands[0]["ids"][0][:-1] + "X"
    _tamper(drawn.id, candidates=orjson.dumps(cands).decode())
    err = _altered(drawn.id)
    assert err.code == "draw_record_altered" and err.status == 500
    assert "被改动" in err.message


def test_removed_candidate_is_refused(drawn):
    cands = services.candidate_strata(drawn)
    unselected = [c for c in cands[0]["ids"] if c not in services.draw_record(drawn)["strata"][0]["selected"]]
    cands[0]["ids"].remove(unselected[0])
    _tamper(drawn.id, candidates=orjson.dumps(cands).decode())
    assert _altered(drawn.id).code == "draw_record_altered"


def test_renamed_stratum_of_the_candidates_is_refused(drawn):
    cands = services.candidate_strata(drawn)
    cands[0]["name"] = "B"
    _tamper(drawn.id, candidates=orjson.dumps(cands).decode())
    assert _altered(drawn.id).code == "draw_record_altered"


def test_changed_selection_in_the_stored_record_is_refused(drawn):
    stored = json.loads(drawn.record)
    stored["strata"][0]["selected"].reverse()
    _tamper(drawn.id, record=json.dumps(stored, ensure_ascii=False, separators=(",", ":")))
    assert _altered(drawn.id).code == "draw_record_altered"


def test_changed_entropy_with_a_new_hash_of_the_old_shape_is_still_refused(drawn):
    """Rewriting the record and its hash together is caught by the spec itself: the seed no longer
    matches, so the composed record fails verification (and its hash differs from the one in the
    audit log at the draw)."""
    rec = services.draw_record(drawn)
    rec["witness_entropy"] = "1 1 1"
    rec["record_sha256"] = _sorted_record_sha(rec)
    _tamper(drawn.id, record=orjson.dumps(services.record_without_ids(rec)).decode(),
            record_sha256=rec["record_sha256"])
    assert spec.verify(services.draw_record(db.session.get(Draw, drawn.id))) != []


def test_missing_or_garbled_evidence_is_refused(drawn):
    _tamper(drawn.id, candidates="[{")
    assert _altered(drawn.id).code == "draw_record_altered"
    _tamper(drawn.id, candidates=None)
    assert _altered(drawn.id).code == "draw_record_altered"


def test_changed_hash_is_refused(drawn):
    _tamper(drawn.id, record_sha256="0" * 64)
    assert _altered(drawn.id).code == "draw_record_altered"


def test_record_api_refuses_an_altered_record_and_logs_no_view(client, make_user, auth, drawn):
    cands = services.candidate_strata(drawn)
    cands[1]["ids"].append("91410823ZZ0000000X")
    _tamper(drawn.id, candidates=orjson.dumps(cands).decode())
    make_user("auditor", roles=[Role.AUDITOR])
    auth.login("auditor")
    resp = client.get(f"/api/draws/{drawn.id}/record")
    assert resp.status_code == 500
    assert resp.get_json()["error"]["code"] == "draw_record_altered"
    views = db.session.execute(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.action == "draw.view_record")).scalar_one()
    assert views == 0


def test_export_writes_the_sealed_bytes(runner, tmp_path, task, drawn):
    result = runner.invoke(args=["draw", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    body = (tmp_path / f"{task.code}-objects.json").read_bytes()
    assert json.loads(body) == services.draw_record(drawn)
    assert json.loads(body)["record_sha256"] == _sorted_record_sha(json.loads(body)) == drawn.record_sha256


def test_export_refuses_an_altered_record(runner, tmp_path, task, drawn):
    _tamper(drawn.id, record_sha256="f" * 64)
    result = runner.invoke(args=["draw", "export", str(tmp_path)])
    assert result.exit_code == 1
    assert "被改动" in result.output
    assert not (tmp_path / f"{task.code}-objects.json").exists()
