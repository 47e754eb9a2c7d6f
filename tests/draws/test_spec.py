"""draw-v2 (every new draw) and draw-v1 (old records) properties: the verifier reproduces every
record of either spec, and any change to an input or the selection makes verification fail."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.draws import spec
from server.draws.spec import DrawInputs, Stratum

CREATED = "2026-11-25T10:00:00+08:00"
WITNESSES = [{"name": "王丽", "role": "承办"}, {"name": "赵强", "role": "技术操作"}, {"name": "刘洋", "role": "监督"}]

ids_strategy = st.lists(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=1, max_size=18),
                        min_size=0, max_size=40, unique=True)
ratio_strategy = st.sampled_from(["0.01", "0.03", "0.1", "0.2", "0.5", "0.333", "1", "0.05"])


@st.composite
def object_inputs(draw, version=spec.SPEC):
    names = draw(st.lists(st.sampled_from(["A", "B", "C", "D", "ALL", "低风险", "x"]), min_size=1,
                          max_size=4, unique=True))
    strata = [Stratum(name=n, ids=tuple(draw(ids_strategy)), ratio=draw(ratio_strategy)) for n in names]
    nonce = draw(st.binary(min_size=32, max_size=32)).hex()
    entropy = draw(st.text(max_size=30))
    return DrawInputs(task="T-2026-001", kind="objects", strata=strata, nonce=nonce, witness_entropy=entropy,
                      version=version)


@st.composite
def inspector_inputs(draw):
    teams = draw(st.integers(min_value=1, max_value=5))
    names = draw(st.lists(st.sampled_from(["市场监督管理局", "商务局", "农业农村局"]), min_size=1, max_size=3, unique=True))
    strata = [Stratum(name=n, ids=tuple(draw(ids_strategy)), count=draw(st.integers(0, 12))) for n in names]
    objects = draw(st.lists(st.text(alphabet="0123456789ABCDEF", min_size=4, max_size=10), max_size=30, unique=True))
    return DrawInputs(task="T-2026-002", kind="inspectors", strata=strata,
                      nonce=draw(st.binary(min_size=32, max_size=32)).hex(),
                      witness_entropy=draw(st.text(max_size=10)), teams=teams,
                      lead_stratum=names[0], objects=objects)


def _record(inputs):
    return spec.build_record(inputs, created_at=CREATED, witnesses=WITNESSES)


@settings(max_examples=150, deadline=None)
@given(object_inputs())
def test_verifier_reproduces_every_objects_record(inputs):
    record = json.loads(json.dumps(_record(inputs)))  # as stored and read back
    assert record["spec"] == "draw-v2"
    assert spec.verify(record) == []


@settings(max_examples=80, deadline=None)
@given(object_inputs(version="draw-v1"))
def test_verifier_still_reproduces_every_draw_v1_record(inputs):
    record = json.loads(json.dumps(_record(inputs)))
    assert record["spec"] == "draw-v1" and "record_sha256" not in record
    assert spec.verify(record) == []


@settings(max_examples=150, deadline=None)
@given(inspector_inputs())
def test_verifier_reproduces_every_inspectors_record(inputs):
    record = json.loads(json.dumps(_record(inputs)))
    assert spec.verify(record) == []


@settings(max_examples=100, deadline=None)
@given(object_inputs(), st.data())
def test_changing_a_candidate_breaks_verification(inputs, data):
    record = _record(inputs)
    non_empty = [s for s in record["strata"] if s["ids"]]
    if not non_empty:
        record["strata"][0]["ids"].append("EXTRA")
    else:
        s = data.draw(st.sampled_from(non_empty))
        k = data.draw(st.integers(0, len(s["ids"]) - 1))
        s["ids"][k] = s["ids"][k] + "Z"
    assert spec.verify(record) != []


@settings(max_examples=100, deadline=None)
@given(object_inputs())
def test_changing_the_nonce_breaks_verification(inputs):
    record = _record(inputs)
    record["nonce"] = ("0" if record["nonce"][0] != "0" else "1") + record["nonce"][1:]
    assert spec.verify(record) != []


@settings(max_examples=100, deadline=None)
@given(object_inputs())
def test_changing_the_entropy_breaks_verification(inputs):
    record = _record(inputs)
    record["witness_entropy"] += "6"
    assert spec.verify(record) != []


@settings(max_examples=100, deadline=None)
@given(object_inputs(), st.data())
def test_changing_one_selected_id_breaks_verification(inputs, data):
    record = _record(inputs)
    chosen = [s for s in record["strata"] if s["selected"]]
    if not chosen:
        return
    s = data.draw(st.sampled_from(chosen))
    unselected = [i for i in s["ids"] if i not in s["selected"]]
    k = data.draw(st.integers(0, len(s["selected"]) - 1))
    s["selected"][k] = unselected[0] if unselected else s["selected"][k] + "Z"
    assert spec.verify(record) != []


@settings(max_examples=60, deadline=None)
@given(inspector_inputs())
def test_changing_an_assignment_breaks_verification(inputs):
    record = _record(inputs)
    record["assignment"]["0"]["members"] = list(reversed(record["assignment"]["0"]["members"])) + ["X"]
    assert spec.verify(record) != []


@pytest.mark.parametrize(("ratio", "n_candidates", "expected"), [
    ("0.03", 1000, 30), ("0.1", 7, 1), ("0.01", 1, 1), ("0.2", 5, 1), ("0.2", 6, 2),
    ("0.03", 100, 3), ("0.3", 10, 3), ("1", 9, 9), ("0.5", 4, 2), ("0.03", 0, 0),
])
def test_selection_size_is_the_exact_decimal_ceiling(ratio, n_candidates, expected):
    stratum = Stratum(name="A", ids=tuple(f"x{i}" for i in range(n_candidates)), ratio=ratio)
    assert stratum.size() == expected
    assert len(spec.select("seed", stratum)) == expected


@settings(max_examples=200, deadline=None)
@given(ratio_strategy, st.integers(0, 5000))
def test_selection_size_matches_exact_rational_ceiling(ratio, n_candidates):
    num, den = Decimal(ratio).as_integer_ratio()
    expected = min(-((-num * n_candidates) // den), n_candidates)
    stratum = Stratum(name="A", ids=tuple(str(i) for i in range(n_candidates)), ratio=ratio)
    assert stratum.size() == expected
    assert expected == math.ceil(Decimal(ratio) * n_candidates)


@pytest.mark.parametrize(("version", "key_middle"), [("draw-v1", ":A:"), ("draw-v2", ":")])
def test_hand_checkable_case_from_the_spec(version, key_middle):
    inputs = DrawInputs(task="T", kind="objects", nonce="00" * 32, witness_entropy="", version=version,
                        strata=[Stratum(name="A", ids=("x1", "x2", "x3", "x4"), ratio="0.5")])
    record = _record(inputs)
    lines = b"".join(sorted(f"A\t{i}\n".encode() for i in ("x1", "x2", "x3", "x4")))
    assert record["candidates_digest"] == hashlib.sha256(lines).hexdigest()
    seed = hashlib.sha256(f"{version}|T|objects|{record['candidates_digest']}|{'00' * 32}|".encode()).hexdigest()
    assert record["seed"] == seed
    order = sorted(("x1", "x2", "x3", "x4"),
                   key=lambda i: (int(hashlib.sha256(f"{seed}{key_middle}{i}".encode()).hexdigest(), 16), i))
    assert record["strata"][0]["selected"] == order[:2]
    assert record["nonce_commitment"] == hashlib.sha256(bytes(32)).hexdigest()


def test_record_sha256_is_the_hash_of_the_sorted_compact_record_without_it():
    inputs = DrawInputs(task="T", kind="objects", nonce="00" * 32, witness_entropy="骰子 6",
                        strata=[Stratum(name="A", ids=("x1", "x2", "x3", "x4"), ratio="0.5")])
    record = _record(inputs)
    assert list(record)[-1] == "record_sha256"
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert record["record_sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()


texts = st.text(st.characters(blacklist_categories=("Cs",)))
json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | texts,
                           lambda inner: st.lists(inner) | st.dictionaries(texts, inner), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_canonical_json_fast_path_is_the_definition_byte_for_byte(value):
    want = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    assert spec.canonical_json(value) == want


def test_an_unknown_spec_is_refused():
    with pytest.raises(spec.DrawInputError) as err:
        spec.compute_seed("T", "objects", "0" * 64, "0" * 64, "", "draw-v3")
    assert err.value.code == "bad_spec"
    assert spec.verify({"spec": "draw-v3"}) == ["spec is 'draw-v3', not one of ('draw-v1', 'draw-v2')"]


def test_a_float_ratio_is_refused():
    with pytest.raises(spec.DrawInputError) as err:
        spec.parse_ratio(0.03)
    assert err.value.code == "bad_ratio"


@pytest.mark.parametrize("ratio", ["0", "1.01", "-0.1", "abc", "NaN"])
def test_ratios_outside_zero_to_one_are_refused(ratio):
    with pytest.raises(spec.DrawInputError):
        spec.check_strata([Stratum(name="A", ids=("a",), ratio=ratio)])


@pytest.mark.parametrize("version", ["draw-v1", "draw-v2"])
def test_public_record_has_exactly_the_fields_of_draw_v2_section_6(version):
    inputs = DrawInputs(task="T", kind="objects", nonce="ab" * 32, witness_entropy="3 5 6", version=version,
                        strata=[Stratum(name="D", ids=("d2", "d1"), ratio="1"),
                                Stratum(name="A", ids=("a1", "a2", "a3"), ratio="0.5")])
    full = spec.build_record(inputs, created_at=CREATED, witnesses=[
        *WITNESSES, {"name": "周敏", "role": "新闻媒体代表", "organisation": "县融媒体中心"}])
    public = spec.public_record(full)
    assert list(public) == ["spec", "task", "kind", "created_at", "nonce_commitment", "witness_entropy",
                            "witnesses", "candidates_digest", "record_sha256", "candidates_total",
                            "selected_total", "selected"]
    assert public["spec"] == version
    assert public["record_sha256"] == spec.record_sha256(full)  # computed from the full record for v1
    assert public["candidates_total"] == 5 and public["selected_total"] == 4
    a_selected = full["strata"][1]["selected"]
    assert public["selected"] == sorted(["d1", "d2", *a_selected])  # sorted by id, not in draw order
    # roles and organisations, no names (nobody agreed to publish theirs)
    assert public["witnesses"] == [{"role": "承办"}, {"role": "技术操作"}, {"role": "监督"},
                                   {"role": "新闻媒体代表", "organisation": "县融媒体中心"}]
    text = json.dumps(public, ensure_ascii=False)
    for secret in (full["nonce"], full["seed"], '"D"', '"A"', "王丽", '"ratio"', "strata", '"ids"'):
        assert secret not in text
    unselected = [i for i in ("a1", "a2", "a3") if i not in a_selected]
    assert all(i not in public["selected"] for i in unselected)


def test_public_record_names_a_witness_only_who_agreed():
    inputs = DrawInputs(task="T", kind="objects", nonce="ab" * 32,
                        strata=[Stratum(name="A", ids=("a1",), ratio="1")])
    full = spec.build_record(inputs, created_at=CREATED, witnesses=[
        {"name": "王丽", "role": "承办"}, {"name": "孙敏", "role": "市场主体代表", "name_public": True}])
    assert spec.public_record(full)["witnesses"] == [{"role": "承办"}, {"role": "市场主体代表", "name": "孙敏"}]


def test_flask_draw_verify_accepts_a_good_record_and_rejects_a_tampered_one(runner, tmp_path):
    inputs = DrawInputs(task="T", kind="objects", nonce="cd" * 32, witness_entropy="4",
                        strata=[Stratum(name="A", ids=tuple(f"x{i}" for i in range(20)), ratio="0.1")])
    good = _record(inputs)
    bad = copy.deepcopy(good)
    bad["strata"][0]["selected"][0] = next(i for i in good["strata"][0]["ids"] if i not in good["strata"][0]["selected"])
    (tmp_path / "good.json").write_text(json.dumps(good), encoding="utf-8")
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    ok = runner.invoke(args=["draw", "verify", str(tmp_path / "good.json")])
    assert ok.exit_code == 0 and "OK" in ok.output
    failed = runner.invoke(args=["draw", "verify", str(tmp_path / "good.json"), str(tmp_path / "bad.json")])
    assert failed.exit_code == 1
    assert "bad.json: FAILED" in failed.output
