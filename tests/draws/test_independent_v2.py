"""An independent draw-v2 verifier, written from the text of ``draw-v1.md`` and ``draw-v2.md`` alone
(nothing imported from ``server.draws.spec``), agrees with the project's verifier on every committed
draw-v2 vector, and on tampered copies of them."""

from __future__ import annotations

import copy
import hashlib
import json
from fractions import Fraction
from pathlib import Path

import pytest

from server.draws import spec

V2_VECTORS = sorted(p for p in (Path(__file__).parent / "vectors").glob("*.json")
                    if json.loads(p.read_text("utf-8"))["spec"] == "draw-v2")


# -- the independent implementation: only hashlib, json and the spec pages -------------------------


def h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def n_of(stratum: dict) -> int:
    big_n = len(stratum["ids"])
    if "ratio" in stratum:
        r = Fraction(stratum["ratio"])  # exact decimal → exact rational
        n = -((-r.numerator * big_n) // r.denominator)  # ceil(r × N)
    else:
        n = stratum["count"]
    return min(n, big_n)


def independent(record: dict) -> dict:
    """Recompute what a draw-v2 record claims; return the recomputed fields."""
    lines = sorted((s["name"] + "\t" + i + "\n").encode("utf-8") for s in record["strata"] for i in s["ids"])
    digest = hashlib.sha256(b"".join(lines)).hexdigest()
    seed = h("draw-v2|" + record["task"] + "|" + record["kind"] + "|" + digest + "|" + record["nonce"]
             + "|" + record["witness_entropy"])

    def key(i):
        return int(h(seed + ":" + i), 16), i.encode("utf-8")

    selected = [sorted(s["ids"], key=key)[:n_of(s)] for s in record["strata"]]
    out = {"nonce_commitment": hashlib.sha256(bytes.fromhex(record["nonce"])).hexdigest(),
           "candidates_digest": digest, "seed": seed, "selected": selected}
    if record["kind"] == "inspectors":
        t = record["teams"]
        teams = {str(k): {"leader": None, "members": [], "objects": []} for k in range(t)}
        for s, chosen in zip(record["strata"], selected, strict=True):
            for pos, i in enumerate(chosen):
                team = teams[str(pos % t)]
                team["members"].append(i)
                if s["name"] == record["lead_stratum"] and team["leader"] is None:
                    team["leader"] = i
        ranked = sorted(record["objects"], key=lambda i: (int(h(seed + ":match:" + i), 16), i.encode("utf-8")))
        for j, i in enumerate(ranked):
            teams[str(j % t)]["objects"].append(i)
        out["assignment"] = teams
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    out["record_sha256"] = hashlib.sha256(canonical).hexdigest()
    return out


def independent_ok(record: dict) -> bool:
    try:
        if record.get("spec") != "draw-v2":
            return False
        got = independent(record)
    except (KeyError, TypeError, ValueError):
        return False
    return (got["nonce_commitment"] == record["nonce_commitment"]
            and got["candidates_digest"] == record["candidates_digest"] and got["seed"] == record["seed"]
            and got["selected"] == [s["selected"] for s in record["strata"]]
            and got.get("assignment") == record.get("assignment")
            and got["record_sha256"] == record["record_sha256"])


# -- the tests -----------------------------------------------------------------------------------------


def test_there_are_v2_vectors_of_both_kinds():
    kinds = {json.loads(p.read_text("utf-8"))["kind"] for p in V2_VECTORS}
    assert len(V2_VECTORS) >= 4 and kinds == {"objects", "inspectors"}


@pytest.mark.parametrize("path", V2_VECTORS, ids=[p.stem for p in V2_VECTORS])
def test_independent_verifier_reproduces_the_vector(path):
    record = json.loads(path.read_text(encoding="utf-8"))
    assert independent_ok(record)
    assert spec.verify(record) == []


def _tampered(record: dict) -> list[dict]:
    out = []
    for mutate in (
        lambda r: r.__setitem__("witness_entropy", r["witness_entropy"] + "1"),
        lambda r: r.__setitem__("nonce", "f" + r["nonce"][1:] if r["nonce"][0] != "f" else "e" + r["nonce"][1:]),
        lambda r: r["strata"][0]["selected"].reverse() if len(r["strata"][0]["selected"]) > 1
        else r["strata"][0]["selected"].append("X"),
        lambda r: r["strata"][-1]["ids"].append("91410823ZZ0000000X"),
        lambda r: r.__setitem__("created_at", "2026-01-01T00:00:00+08:00"),  # only record_sha256 catches it
        lambda r: r["witnesses"].append({"name": "某人", "role": "监督"}),
        lambda r: r.__setitem__("record_sha256", "0" * 64),
        lambda r: r.__setitem__("spec", "draw-v1"),  # a v2 record read as v1: the seed no longer matches
    ):
        r = copy.deepcopy(record)
        mutate(r)
        out.append(r)
    return out


@pytest.mark.parametrize("path", V2_VECTORS, ids=[p.stem for p in V2_VECTORS])
def test_both_verifiers_refuse_every_tampered_copy(path):
    record = json.loads(path.read_text(encoding="utf-8"))
    for bad in _tampered(record):
        assert not independent_ok(bad)
        assert spec.verify(bad) != []


def test_key_has_no_stratum_name():
    """draw-v2 change 2: moving a candidate to another stratum does not change its key (draw-v1's did)."""
    record = json.loads(V2_VECTORS[0].read_text(encoding="utf-8"))
    seed = record["seed"]
    assert spec.key(seed, "A", "x1") == spec.key(seed, "D", "x1") == int(h(seed + ":x1"), 16)
    assert spec.key(seed, "A", "x1", "draw-v1") != spec.key(seed, "D", "x1", "draw-v1")
