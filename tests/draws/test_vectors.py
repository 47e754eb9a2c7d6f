"""Committed test vectors (spec draw-v1 §8): recomputing each from its inputs gives the stored
record exactly, so any change to the implementation that alters a draw is caught."""

import json
from pathlib import Path

import pytest

from server.draws import spec

VECTORS = sorted((Path(__file__).parent / "vectors").glob("*.json"))


def test_there_are_vectors():
    assert len(VECTORS) >= 4


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


def test_spec_hand_case_selects_two_of_four():
    record = json.loads((Path(__file__).parent / "vectors" / "01-spec-hand-case.json").read_text("utf-8"))
    assert len(record["strata"][0]["selected"]) == 2
