"""The pull cursor: an opaque, signed string made from the server's clock, never the phone's.

It carries (signed with the app secret, so a phone cannot forge one for another user):

* ``u`` the user it was made for;
* ``w`` the watermark: the server time the pull started **minus an overlap**
  (``SYNC_CURSOR_OVERLAP_SECONDS``, default 120 s). A visit changed in a transaction that
  committed after a pull read the table but stamped an earlier ``changed_at`` is still delivered
  next time; re-delivering a visit is harmless (the phone replaces it);
* ``s`` a sequence number, +1 per pull of this device's chain (diagnostics and ordering);
* ``ids`` the visit ids delivered so far (delta-encoded). ``withdrawn`` is computed as those ids
  that are no longer visible — a withdrawn visit or a replaced inspector — *per device*, which a
  per-user delivery table could not do (two phones of one user pull at different times).

The serializer compresses the payload, so a few hundred ids stay well under a URL's limits. A
cursor that is unsigned, made for another user, of another version or older than
``SYNC_CURSOR_MAX_AGE_DAYS`` (default 30) is "unknown": the pull answers with ``full: true``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

VERSION = 1
SALT = "spotcheck.sync.cursor"


@dataclass(frozen=True)
class Cursor:
    user_id: int
    watermark: datetime
    seq: int
    ids: frozenset[int]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _delta(ids: list[int]) -> list[int]:
    out, prev = [], 0
    for i in sorted(ids):
        out.append(i - prev)
        prev = i
    return out


def _undelta(deltas: list[int]) -> list[int]:
    out, acc = [], 0
    for d in deltas:
        acc += d
        out.append(acc)
    return out


def encode(cursor: Cursor) -> str:
    """Return the opaque string for ``cursor``."""
    return _serializer().dumps({
        "v": VERSION, "u": cursor.user_id, "s": cursor.seq,
        "w": int(cursor.watermark.timestamp() * 1_000_000), "ids": _delta(list(cursor.ids)),
    })


def decode(raw: str | None, user_id: int) -> Cursor | None:
    """Return the cursor, or None when it is absent or unknown (the pull is then full)."""
    if not raw:
        return None
    max_age = current_app.config.get("SYNC_CURSOR_MAX_AGE_DAYS", 30) * 86400
    try:
        data = _serializer().loads(raw, max_age=max_age)
        if not isinstance(data, dict) or data.get("v") != VERSION or data.get("u") != user_id:
            return None
        watermark = datetime.fromtimestamp(int(data["w"]) / 1_000_000, UTC)
        ids = frozenset(_undelta([int(d) for d in data["ids"]]))
        return Cursor(user_id=user_id, watermark=watermark, seq=int(data["s"]), ids=ids)
    except (BadData, KeyError, TypeError, ValueError, OverflowError):
        return None
