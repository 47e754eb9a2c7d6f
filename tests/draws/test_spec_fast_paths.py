"""The fast paths in spec.py give exactly what the plain reading of draw-v1 / draw-v2 gives."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.draws import spec
from server.draws.spec import Stratum

texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(texts, st.lists(texts, max_size=12, unique=True)), min_size=1, max_size=4))
def test_candidates_digest_equals_line_by_line_definition(raw):
    strata = [Stratum(name=name, ids=tuple(ids), ratio="0.5") for name, ids in raw]
    lines = sorted(f"{s.name}\t{i}\n".encode() for s in strata for i in s.ids)
    assert spec.candidates_digest(strata) == hashlib.sha256(b"".join(lines)).hexdigest()


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, min_size=1, max_size=60, unique=True), st.integers(0, 60),
       st.sampled_from([("draw-v1", ":A:"), ("draw-v2", ":")]))
def test_selection_equals_sorting_by_integer_key(ids, n, version):
    seed = "ab" * 32
    stratum = Stratum(name="A", ids=tuple(ids), count=n)
    name, middle = version

    def key(i):
        return int(hashlib.sha256(f"{seed}{middle}{i}".encode()).hexdigest(), 16), i.encode()

    assert spec.select(seed, stratum, name) == sorted(ids, key=key)[:min(n, len(ids))]


def test_heap_and_sort_paths_agree():
    ids = tuple(f"91410823MA{k:08d}" for k in range(5000))
    seed = "cd" * 32
    small = spec.select(seed, Stratum(name="B", ids=ids, count=100))  # heap path
    large = spec.select(seed, Stratum(name="B", ids=ids, count=4000))  # sort path
    assert large[:100] == small


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, max_size=30), st.booleans())
def test_duplicate_ids_are_refused_in_any_order(ids, in_order):
    ids = sorted(ids) if in_order else ids
    stratum = Stratum(name="A", ids=tuple(ids), ratio="0.5")
    if len(set(ids)) == len(ids):
        spec.check_strata([stratum])
    else:
        with pytest.raises(spec.DrawInputError) as err:
            spec.check_strata([stratum])
        assert err.value.code == "duplicate_id"
