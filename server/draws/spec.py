"""draw-v2 and draw-v1 (``../shared/specs/draw-v2.md``, ``draw-v1.md``): compute and verify a draw.

Every new draw is draw-v2: seed prefix ``draw-v2|``, key ``sha256hex(seed + ":" + id)`` (no stratum
name), and the record carries ``record_sha256``, the SHA-256 of its canonical JSON (keys sorted,
compact, UTF-8) without that field. draw-v1 records stay computable and verifiable: the verifier
dispatches on ``spec``. ``public_record`` gives the §6 public form (v1 and v2 alike): no nonce, no
seed, no strata, selected ids sorted by id.

Pure Python on purpose: anyone holding a record can recompute the draw with SHA-256 alone, and
this module is the project's reference for that. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import operator
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Context, Decimal, InvalidOperation, localcontext
from typing import Any

try:  # optional: canonical_json falls back to the standard library with the same bytes
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

SPEC_V1 = "draw-v1"
SPEC_V2 = "draw-v2"
#: the spec of every new draw
SPEC = SPEC_V2
SPECS = (SPEC_V1, SPEC_V2)
KINDS = ("objects", "inspectors")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class DrawInputError(ValueError):
    """Inputs that draw-v1/draw-v2 do not accept; ``code`` is stable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def sha256hex(text: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 bytes of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_nonce() -> str:
    """32 bytes from the OS CSPRNG as 64 lowercase hex characters."""
    return secrets.token_bytes(32).hex()


def nonce_commitment(nonce: str) -> str:
    """SHA-256 of the nonce's 32 raw bytes (not of its hex text), §1."""
    if not _HEX64.match(nonce or ""):
        raise DrawInputError("bad_nonce", "the nonce must be 64 lowercase hex characters")
    return hashlib.sha256(bytes.fromhex(nonce)).hexdigest()


def normalise_entropy(text: str | None) -> str:
    """Witness entropy is stored exactly as entered, in Unicode NFC."""
    return unicodedata.normalize("NFC", text or "")


@dataclass(frozen=True)
class Stratum:
    name: str
    ids: tuple[str, ...]
    ratio: str | None = None  # decimal string, 0 < ratio <= 1
    count: int | None = None

    def size(self) -> int:
        """Return n for this stratum, §4: ceil(ratio × N) in exact decimal arithmetic, or count;
        never more than N."""
        big_n = len(self.ids)
        if self.ratio is not None:
            with localcontext(Context(prec=200)):
                r = Decimal(self.ratio)
                n = int((r * big_n).to_integral_value(rounding=ROUND_CEILING))
        else:
            n = int(self.count or 0)
        return min(n, big_n)


def parse_ratio(value: Any) -> str:
    """Return the canonical decimal string of a ratio, or raise DrawInputError ``bad_ratio``."""
    if isinstance(value, float):
        raise DrawInputError("bad_ratio", "ratios are decimal strings, never binary floats")
    try:
        r = Decimal(str(value))
    except InvalidOperation as exc:
        raise DrawInputError("bad_ratio", f"ratio {value!r} is not a decimal number") from exc
    if not r.is_finite() or r <= 0 or r > 1:
        raise DrawInputError("bad_ratio", f"ratio {value} must be > 0 and ≤ 1")
    return str(value)


def _unique(ids: Sequence[str]) -> bool:
    """True when no id repeats; ids in strictly increasing order (how candidates are stored) are
    recognised in one C-level pass, without building a set of a million strings."""
    if all(map(operator.lt, ids, itertools.islice(ids, 1, None))):
        return True
    return len(set(ids)) == len(ids)


def check_strata(strata: Sequence[Stratum]) -> None:
    names = [s.name for s in strata]
    if len(set(names)) != len(names):
        raise DrawInputError("duplicate_stratum", "stratum names must be unique")
    for s in strata:
        if (s.ratio is None) == (s.count is None):
            raise DrawInputError("bad_stratum", f"stratum {s.name}: give either a ratio or a count")
        if s.ratio is not None:
            parse_ratio(s.ratio)
        if s.count is not None and (not isinstance(s.count, int) or s.count < 0):
            raise DrawInputError("bad_count", f"stratum {s.name}: count must be an integer ≥ 0")
        if not _unique(s.ids):
            raise DrawInputError("duplicate_id", f"stratum {s.name}: candidate ids must be unique")


#: bytes at or below "\n": with none of them in names and ids, sorting the lines equals sorting by
#: (name, id), since "\t" and "\n" then sort below every other byte
_CONTROL = re.compile("[\x00-\x0a]")


def _digest_lines(strata: Sequence[Stratum]) -> str:
    """The definition of §2, line by line (any names and ids)."""
    lines = [f"{s.name}\t{i}\n".encode() for s in strata for i in s.ids]
    lines.sort()
    return hashlib.sha256(b"".join(lines)).hexdigest()


def candidates_digest(strata: Iterable[Stratum]) -> str:
    """§2: one line ``name\\tid\\n`` per candidate, sorted by UTF-8 bytes, concatenated, hashed.

    Fast path (same result): Python orders str by code point, which is UTF-8 byte order, so when
    no name or id holds a byte ≤ 0x0A the sorted lines are the strata sorted by name, each with its
    ids sorted, and each stratum's lines are one ``str.join`` instead of a million small strings.
    """
    strata = list(strata)
    names = [s.name for s in strata]
    if len(set(names)) != len(names) or any(
            _CONTROL.search(s.name) or _CONTROL.search("".join(s.ids)) for s in strata):
        return _digest_lines(strata)
    h = hashlib.sha256()
    for s in sorted(strata, key=lambda s: s.name):
        if s.ids:
            sep = "\n" + s.name + "\t"
            h.update((s.name + "\t" + sep.join(sorted(s.ids)) + "\n").encode("utf-8"))
    return h.hexdigest()


def _check_version(version: str) -> None:
    if version not in SPECS:
        raise DrawInputError("bad_spec", f"spec must be one of {SPECS}, not {version!r}")


def compute_seed(task: str, kind: str, digest: str, nonce: str, witness_entropy: str,
                 version: str = SPEC) -> str:
    """draw-v1 §3 / draw-v2 change 1: the spec name (``draw-v1`` or ``draw-v2``) prefixes the seed."""
    _check_version(version)
    return sha256hex(f"{version}|{task}|{kind}|{digest}|{nonce}|{witness_entropy}")


def key_prefix(seed: str, stratum_name: str, version: str = SPEC) -> str:
    """What is hashed before the id: draw-v1 ``seed:stratum:``, draw-v2 ``seed:`` (no stratum)."""
    _check_version(version)
    return f"{seed}:{stratum_name}:" if version == SPEC_V1 else f"{seed}:"


def key(seed: str, stratum_name: str, ident: str, version: str = SPEC) -> int:
    """The integer key of one candidate (draw-v1 §4 / draw-v2 change 2)."""
    return int(sha256hex(key_prefix(seed, stratum_name, version) + ident), 16)


def _utf8(ident: str) -> bytes:
    return ident.encode("utf-8")


def _rank_key(prefix: str):
    """Return a sort key equivalent to ``(int(sha256hex(prefix + id), 16), utf8(id))``.

    The 32-byte digest compared as bytes orders exactly like the integer of its hex (big-endian,
    fixed length), and appending the id's bytes breaks ties by id; one bytes object compares in C,
    which makes ranking a million candidates several times faster than tuples of Python ints.
    """
    head = prefix.encode("utf-8")
    sha = hashlib.sha256

    def key(ident: str) -> bytes:
        raw = ident.encode("utf-8")
        return sha(head + raw).digest() + raw

    return key


#: below this share of N, a bounded heap (O(N log n)) beats sorting the whole stratum
_HEAP_SHARE = 16


def _rank_keys(prefix: str, ids: Iterable[str]) -> list[bytes]:
    """Return ``_rank_key(prefix)(id)`` for every id, computed in one loop.

    The SHA-256 state of the prefix (seed, stratum name) is hashed once and copied per id: the
    copy skips the prefix's first block and OpenSSL's per-call set-up, and no Python key function
    is called while sorting (the keys are compared as plain bytes, in C).
    """
    copy = hashlib.sha256(prefix.encode("utf-8")).copy
    out: list[bytes] = []
    append = out.append
    for ident in ids:
        raw = ident.encode("utf-8")
        h = copy()
        h.update(raw)
        append(h.digest() + raw)
    return out


def _first(ids: Sequence[str], n: int, prefix: str) -> list[str]:
    """The first ``n`` of ``ids`` sorted by ``_rank_key(prefix)`` (identical to
    ``sorted(ids, key=_rank_key(prefix))[:n]``): each key ends with the id's UTF-8 bytes after the
    32 digest bytes, so the id is read back from the key."""
    keys = _rank_keys(prefix, ids)
    if n * _HEAP_SHARE <= len(keys):
        best = heapq.nsmallest(n, keys)
    else:
        keys.sort()
        best = keys[:n]
    return [k[32:].decode("utf-8") for k in best]


def select(seed: str, stratum: Stratum, version: str = SPEC) -> list[str]:
    """§4: sort by (key, id) ascending and take the first n, in that order; the key is the one of
    ``version`` (draw-v2 by default)."""
    prefix = key_prefix(seed, stratum.name, version)
    n = stratum.size()
    if n == 0:
        return []
    return _first(stratum.ids, n, prefix)


def match_objects(seed: str, objects: Sequence[str], teams: int) -> dict[int, list[str]]:
    """§5 matching: sort objects by (key(seed + ':match:' + id), id); position j → team j mod T."""
    ranked = _first(objects, len(objects), f"{seed}:match:")
    out: dict[int, list[str]] = {t: [] for t in range(teams)}
    for j, ident in enumerate(ranked):
        out[j % teams].append(ident)
    return out


def assign_teams(selected: Mapping[str, list[str]], order: Sequence[str], teams: int,
                 lead_stratum: str) -> dict[int, dict[str, Any]]:
    """§5 team assignment and leaders: position i in a stratum's selection joins team i mod T; the
    leader is the first member of the lead stratum in that team (None if the team has none)."""
    out: dict[int, dict[str, Any]] = {t: {"leader": None, "members": []} for t in range(teams)}
    for name in order:
        for i, ident in enumerate(selected.get(name, [])):
            team = out[i % teams]
            team["members"].append(ident)
            if name == lead_stratum and team["leader"] is None:
                team["leader"] = ident
    return out


@dataclass
class DrawInputs:
    task: str
    kind: str
    strata: list[Stratum]
    nonce: str
    witness_entropy: str = ""
    teams: int | None = None
    lead_stratum: str | None = None
    objects: list[str] = field(default_factory=list)
    #: ``draw-v2`` for every new draw; ``draw-v1`` to recompute an old record
    version: str = SPEC


def compute(inputs: DrawInputs) -> dict[str, Any]:
    """Return the computed part of a record: candidates_digest, seed, strata with selected, and for
    inspectors teams, lead_stratum, objects and assignment."""
    if inputs.kind not in KINDS:
        raise DrawInputError("bad_kind", f"kind must be one of {KINDS}")
    _check_version(inputs.version)
    check_strata(inputs.strata)
    entropy = normalise_entropy(inputs.witness_entropy)
    nonce_commitment(inputs.nonce)  # validates the nonce
    digest = candidates_digest(inputs.strata)
    seed = compute_seed(inputs.task, inputs.kind, digest, inputs.nonce, entropy, inputs.version)
    strata_out = []
    selected: dict[str, list[str]] = {}
    for s in inputs.strata:
        chosen = select(seed, s, inputs.version)
        selected[s.name] = chosen
        entry: dict[str, Any] = {"name": s.name}
        if s.ratio is not None:
            entry["ratio"] = s.ratio
        else:
            entry["count"] = s.count
        entry["ids"] = list(s.ids)
        entry["selected"] = chosen
        strata_out.append(entry)
    result: dict[str, Any] = {"candidates_digest": digest, "seed": seed, "strata": strata_out}
    if inputs.kind == "inspectors":
        teams = inputs.teams or 0
        if teams < 1:
            raise DrawInputError("bad_teams", "an inspectors draw needs at least one team")
        if inputs.lead_stratum not in selected:
            raise DrawInputError("bad_lead_stratum", "lead_stratum must name one of the strata")
        assignment = assign_teams(selected, [s.name for s in inputs.strata], teams, inputs.lead_stratum)
        matched = match_objects(seed, inputs.objects, teams)
        result.update({
            "teams": teams,
            "lead_stratum": inputs.lead_stratum,
            "objects": list(inputs.objects),
            "assignment": {
                str(t): {"leader": assignment[t]["leader"], "members": assignment[t]["members"],
                         "objects": matched[t]}
                for t in range(teams)
            },
        })
    return result


def canonical_json(value: Any) -> bytes:
    """draw-v2's canonical JSON: UTF-8, keys sorted, no insignificant whitespace, non-ASCII as is —
    byte for byte ``json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))``."""
    if _orjson is not None:  # same bytes, several times faster on a million candidates
        try:
            return _orjson.dumps(value, option=_orjson.OPT_SORT_KEYS)
        except TypeError:  # e.g. an integer beyond 64 bits: the definition below decides
            pass
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def record_sha256(record: Mapping[str, Any]) -> str:
    """draw-v2 change 3: SHA-256 (hex) of the canonical full record without ``record_sha256``.
    For a draw-v1 record (which has no such field) it is computed the same way (draw-v2 §6)."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def build_record(inputs: DrawInputs, *, created_at: str, witnesses: list[dict[str, str]]) -> dict[str, Any]:
    """Return the full record (draw-v1 §6; for draw-v2 with ``record_sha256`` last) for ``inputs``."""
    _check_version(inputs.version)
    record: dict[str, Any] = {
        "spec": inputs.version,
        "task": inputs.task,
        "kind": inputs.kind,
        "created_at": created_at,
        "nonce_commitment": nonce_commitment(inputs.nonce),
        "nonce": inputs.nonce,
        "witness_entropy": normalise_entropy(inputs.witness_entropy),
        "witnesses": witnesses,
    }
    record.update(compute(inputs))
    if inputs.version == SPEC_V2:
        record["record_sha256"] = record_sha256(record)
    return record


def inputs_from_record(record: Mapping[str, Any]) -> DrawInputs:
    """Read the inputs back out of a record."""
    strata = [
        Stratum(name=s["name"], ids=tuple(s["ids"]), ratio=s.get("ratio"), count=s.get("count"))
        for s in record["strata"]
    ]
    return DrawInputs(
        task=record["task"], kind=record["kind"], strata=strata, nonce=record["nonce"],
        witness_entropy=record.get("witness_entropy", ""), teams=record.get("teams"),
        lead_stratum=record.get("lead_stratum"), objects=list(record.get("objects", [])),
        version=record["spec"],
    )


def verify(record: Mapping[str, Any]) -> list[str]:
    """Recompute a full record from its inputs; return the mismatches (empty when it verifies)."""
    problems: list[str] = []
    if record.get("spec") not in SPECS:
        return [f"spec is {record.get('spec')!r}, not one of {SPECS}"]
    if record["spec"] == SPEC_V2:
        got = record.get("record_sha256")
        try:
            want = record_sha256(record)
        except (TypeError, ValueError) as exc:
            return [f"cannot compute record_sha256: {exc}"]
        if got != want:
            problems.append(f"record_sha256 differs: record {got}, recomputed {want}")
    elif "record_sha256" in record:
        problems.append("a draw-v1 record has no record_sha256 field")
    try:
        inputs = inputs_from_record(record)
        if nonce_commitment(inputs.nonce) != record.get("nonce_commitment"):
            problems.append("nonce_commitment does not match the nonce")
        if normalise_entropy(inputs.witness_entropy) != inputs.witness_entropy:
            problems.append("witness_entropy is not in NFC")
        computed = compute(inputs)
    except (DrawInputError, KeyError, TypeError, ValueError) as exc:
        return problems + [f"cannot recompute: {exc}"]
    for key in ("candidates_digest", "seed"):
        if record.get(key) != computed[key]:
            problems.append(f"{key} differs: record {record.get(key)}, recomputed {computed[key]}")
    for got, want in zip(record["strata"], computed["strata"], strict=True):
        if list(got.get("selected", [])) != want["selected"]:
            problems.append(f"stratum {want['name']}: selected differs from the recomputed selection")
    if record["kind"] == "inspectors":
        for key in ("teams", "lead_stratum", "objects"):
            if record.get(key) != computed[key]:
                problems.append(f"{key} differs")
        if record.get("assignment") != computed["assignment"]:
            problems.append("assignment (teams, leaders or matched objects) differs")
    return problems


#: the fields of the public record (draw-v2 §6), in this order
PUBLIC_FIELDS = ("spec", "task", "kind", "created_at", "nonce_commitment", "witness_entropy", "witnesses",
                 "candidates_digest", "record_sha256", "candidates_total", "selected_total", "selected")


def public_witnesses(witnesses: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Roles and organisations of the people present; a name only where that person agreed
    (``name_public: true`` in the witness entry — nobody has, unless recorded)."""
    out = []
    for w in witnesses:
        entry = {"role": w.get("role", "")}
        if w.get("organisation"):
            entry["organisation"] = w["organisation"]
        if w.get("name_public") is True and w.get("name"):
            entry["name"] = w["name"]
        out.append(entry)
    return out


def public_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """draw-v2 §6, for draw-v1 and draw-v2 records alike: what may be published once the visits are
    over. Totals only and the selected ids without strata, **sorted by id** (UTF-8 byte order, not
    selection order). Never the nonce, the seed, keys, strata labels or counts, or the candidates;
    ``record_sha256`` is the record's own for draw-v2 and computed from the full record for draw-v1."""
    selected = sorted((i for s in record["strata"] for i in s["selected"]), key=_utf8)
    sha = record.get("record_sha256") if record["spec"] == SPEC_V2 else record_sha256(record)
    return {
        "spec": record["spec"],
        "task": record["task"],
        "kind": record["kind"],
        "created_at": record["created_at"],
        "nonce_commitment": record["nonce_commitment"],
        "witness_entropy": record["witness_entropy"],
        "witnesses": public_witnesses(record.get("witnesses") or []),
        "candidates_digest": record["candidates_digest"],
        "record_sha256": sha,
        "candidates_total": sum(len(s["ids"]) for s in record["strata"]),
        "selected_total": len(selected),
        "selected": selected,
    }
