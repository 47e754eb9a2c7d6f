"""Committed test vectors (spec draw-v1 §8; draw-v2 for 05–08): recomputing each from its inputs
gives the stored record exactly, so any change to the implementation that alters a draw is caught.
The draw-v1 vectors stay: old records must keep verifying."""

import json
from pathlib import Path

import pytest

from server.draws import spec

VECTORS = sorted((Path(__file__).parent / "vectors").glob("*.json"))


def test_there_are_vectors_of_both_specs():
    specs = [json.loads(p.read_text(encoding="utf-8"))["spec"] for p in VECTORS]
    assert specs.count("draw-v1") >= 4 and specs.count("draw-v2") >= 4


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_verifies(path):
    record = json.loads(path.read_text(encoding="utf-8"))
    assert spec.verify(record) == []


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_recomputes_exactly(path):
    record = json.loads(path.read_text(encoding="utf-8"))
    rebuilt = spec.build_record(spec.inputs_from_record(record), created_at=record["created_at"],
                                witnesses=record["witnesses"])
    assert rebuilt == record


@pytest.mark.parametrize("name", ["01-spec-hand-case", "05-v2-spec-hand-case"])
def test_spec_hand_case_selects_two_of_four(name):
    record = json.loads((Path(__file__).parent / "vectors" / f"{name}.json").read_text("utf-8"))
    assert len(record["strata"][0]["selected"]) == 2


def test_v2_vector_differs_from_v1_on_the_same_inputs():
    """Same inputs, other spec: another seed (prefix ``draw-v2|``) and a record_sha256."""
    v1 = json.loads((Path(__file__).parent / "vectors" / "02-objects-four-strata.json").read_text("utf-8"))
    v2 = json.loads((Path(__file__).parent / "vectors" / "06-v2-objects-four-strata.json").read_text("utf-8"))
    assert v1["candidates_digest"] == v2["candidates_digest"] and v1["seed"] != v2["seed"]
    assert "record_sha256" not in v1 and v2["record_sha256"] == spec.record_sha256(v2)
