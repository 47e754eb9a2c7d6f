"""draw-v2 §6: the credit-risk class of the selected objects cannot be predicted from the public record
better than by chance — the project's own version of the measurement in ``draw-v2.md``.

Many simulated draws (pure spec functions, no database) of candidates with a realistic class mix at
the minimum ratios A 1 %, B 3 %, C 10 %, D 20 %. The attack of the spec: compute each selected
object's key from the public record and assign the class whose ratio best explains it (the class c
minimising key / 2²⁵⁶ / ratio_c: a selected object of stratum c has a key among the lowest ratio_c of
its stratum).

* On the public records of draw-v1 (which published the seed) the attack recovers the class far
  above the prior: the measurement is sound.
* On the public records of draw-v2 the attacker has no seed; we let it try every 64-hex value the
  public record holds as a seed (with the draw-v1 and the draw-v2 key), and the order of the ids.
  None predicts the class better than the majority-class prior (accuracy ≤ prior + 3 standard
  errors over ~18,000 selected objects).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter

import pytest

from server.draws import spec

DRAWS = 200
CANDIDATES = 2000
RATIOS = {"A": "0.01", "B": "0.03", "C": "0.1", "D": "0.2"}
#: a realistic mix of the registry: most objects in B and C, few high-risk D
MIX = {"A": 0.30, "B": 0.45, "C": 0.20, "D": 0.05}
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
TWO256 = float(2 ** 256)


def _draws(version: str, rng: random.Random) -> list[tuple[dict, dict[str, str]]]:
    """Return (full record, true class of every candidate) for ``DRAWS`` simulated draws. Ids are
    random codes and classes are assigned at random, so an id says nothing about its class."""
    out = []
    for k in range(DRAWS):
        ids = list({f"9141{rng.getrandbits(56):014X}" for _ in range(CANDIDATES)})
        while len(ids) < CANDIDATES:  # a collision (practically never)
            ids = list(set(ids) | {f"9141{rng.getrandbits(56):014X}"})
        ids.sort()
        rng.shuffle(ids)
        classes: dict[str, str] = {}
        start = 0
        for name, share in MIX.items():
            size = round(share * CANDIDATES)
            for ident in ids[start:start + size]:
                classes[ident] = name
            start += size
        for ident in ids[start:]:
            classes[ident] = "C"
        strata = [spec.Stratum(name=name, ids=tuple(sorted(i for i, c in classes.items() if c == name)),
                               ratio=ratio) for name, ratio in RATIOS.items()]
        inputs = spec.DrawInputs(task=f"SIM-{k:03d}", kind="objects", strata=strata,
                                 nonce=rng.getrandbits(256).to_bytes(32, "big").hex(),
                                 witness_entropy=f"{rng.randint(1, 6)} {rng.randint(1, 6)}", version=version)
        full = spec.build_record(inputs, created_at="2026-12-01T10:00:00+08:00",
                                 witnesses=[{"name": "王丽", "role": "承办"}])
        out.append((full, classes))
    return out


def draw_v1_public_record(full: dict) -> dict:
    """The public record as draw-v1 §6 published it: with the nonce and the seed, the per-stratum
    candidate counts under neutral labels, the selected ids without strata."""
    return {"spec": full["spec"], "task": full["task"], "kind": full["kind"], "created_at": full["created_at"],
            "nonce_commitment": full["nonce_commitment"], "nonce": full["nonce"],
            "witness_entropy": full["witness_entropy"], "candidates_digest": full["candidates_digest"],
            "seed": full["seed"],
            "strata": [{"label": f"第{k}层", "candidates": len(s["ids"])} for k, s in enumerate(full["strata"], 1)],
            "selected": sorted(i for s in full["strata"] for i in s["selected"])}


def best_explaining_class(seed: str, ident: str, version: str) -> str:
    """The attack: the class whose ratio best explains the key of ``ident`` under ``seed``."""
    def score(name: str) -> float:
        return spec.key(seed, name, ident, version) / TWO256 / float(RATIOS[name])
    return min(RATIOS, key=score)


def id_order_guess(rank: int, total: int) -> str:
    """Another try: the position of the id in the published (sorted) list, cut by the classes'
    expected shares among the selected."""
    expected = {c: MIX[c] * float(RATIOS[c]) for c in RATIOS}
    edge, acc = rank / total, 0.0
    for c, w in expected.items():
        acc += w / sum(expected.values())
        if edge < acc:
            return c
    return "D"


def _accuracy(guesses: list[tuple[str, str]]) -> float:
    return sum(1 for guess, truth in guesses if guess == truth) / len(guesses)


@pytest.fixture(scope="module")
def simulated():
    rng = random.Random(20261201)
    return {"draw-v1": _draws("draw-v1", rng), "draw-v2": _draws("draw-v2", rng)}


def _prior(draws) -> tuple[float, int]:
    truth = Counter(classes[i] for full, classes in draws for s in full["strata"] for i in s["selected"])
    n = sum(truth.values())
    return max(truth.values()) / n, n


def test_the_attack_recovers_the_class_from_draw_v1_public_records(simulated):
    draws = simulated["draw-v1"]
    prior, n = _prior(draws)
    guesses = []
    for full, classes in draws:
        public = draw_v1_public_record(full)
        for ident in public["selected"]:
            guesses.append((best_explaining_class(public["seed"], ident, "draw-v1"), classes[ident]))
    accuracy = _accuracy(guesses)
    assert len(guesses) == n > 15000
    assert accuracy > max(0.8, prior + 0.3), (accuracy, prior)


def test_no_value_of_the_draw_v2_public_record_predicts_the_class(simulated):
    draws = simulated["draw-v2"]
    prior, n = _prior(draws)
    bound = prior + 3 * math.sqrt(prior * (1 - prior) / n)
    attacks: dict[str, list[tuple[str, str]]] = {}
    for full, classes in draws:
        public = spec.public_record(full)
        assert list(public) == list(spec.PUBLIC_FIELDS)
        text = repr(public)
        assert full["seed"] not in text and full["nonce"] not in text
        values = sorted(set(HEX64.findall(text)))
        assert len(values) == 3  # nonce_commitment, candidates_digest, record_sha256
        selected = public["selected"]
        for pos, value in enumerate(values):
            for version in ("draw-v1", "draw-v2"):
                attacks.setdefault(f"{version} key, hex value {pos}", []).extend(
                    (best_explaining_class(value, ident, version), classes[ident]) for ident in selected)
        attacks.setdefault("id order", []).extend(
            (id_order_guess(rank, len(selected)), classes[ident]) for rank, ident in enumerate(selected))
    assert len(attacks) == 7
    for name, guesses in attacks.items():
        assert len(guesses) == n
        accuracy = _accuracy(guesses)
        assert accuracy <= bound, f"{name}: accuracy {accuracy:.3f} above the prior {prior:.3f} (bound {bound:.3f})"


def test_the_leaked_draw_v2_seed_would_betray_the_class(simulated):
    """Why the public record of draw-v2 must hold no seed: with it, the draw-v2 key betrays the class
    too (a low key means a low-ratio stratum), so the protection is the commitment, not the key."""
    draws = simulated["draw-v2"]
    prior, _n = _prior(draws)
    guesses = []
    for full, classes in draws:
        for ident in spec.public_record(full)["selected"]:
            u = spec.key(full["seed"], "", ident, "draw-v2") / TWO256
            # the smallest ratio that still explains the key
            guess = next((c for c in sorted(RATIOS, key=lambda c: float(RATIOS[c])) if u <= float(RATIOS[c]) * 1.2),
                         "D")
            guesses.append((guess, classes[ident]))
    assert _accuracy(guesses) > prior + 0.1
