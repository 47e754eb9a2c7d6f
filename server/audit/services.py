"""Writing and verifying the audit log.

Each entry's hash is SHA-256 over a canonical JSON of its fields plus the previous entry's
hash, so a row altered, deleted or inserted out of band breaks the chain at that row.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import getpass
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text

from ..core.models import utcnow
from ..extensions import db
from .models import AuditEntry

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    if value is None or type(value) in (str, int, float, bool):  # the common case, first
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: Any, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Return the column values of a mapped object as JSON-ready data (for before/after)."""
    skip = set(exclude) | {"password_hash"}
    mapper = sa_inspect(obj).mapper
    return {
        attr.key: _jsonable(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in skip
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Return only the keys that changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)] + [k for k in before if k not in after]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str


def set_actor(user_id: int | None, name: str) -> None:
    """Name who is acting for code outside a logged-in request (CLI commands, jobs)."""
    g.audit_actor = Actor(user_id, name)


def current_actor() -> Actor:
    """Return who is acting: an explicit actor, the logged-in user, or the OS user of the CLI."""
    actor = g.get("audit_actor") if _has_app_g() else None
    if actor is not None:
        return actor
    if has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return Actor(current_user.id, current_user.username)
    try:
        os_user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        os_user = "unknown"
    return Actor(None, f"cli:{os_user}")


def _has_app_g() -> bool:
    from flask import has_app_context

    return has_app_context()


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """Return the SHA-256 (hex) of an entry: canonical JSON of its fields, then the previous hash."""
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + payload).encode("utf-8")).hexdigest()


def _fields(seq: int, at: dt.datetime, actor: Actor, action: str, entity_type: str,
            entity_id: str, before: Any, after: Any, note: str | None) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": actor.id,
        "actor_name": actor.name,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": before,
        "after": after,
        "note": note,
    }


def _lock_chain() -> tuple[int, str]:
    """Serialise writers and return (last seq, last hash). PostgreSQL takes a transaction-level
    advisory lock. On SQLite a write statement that touches no row takes the database's write lock
    before the last entry is read, so two writers cannot both extend the chain from the same entry
    (the second waits for the first to commit, up to the busy timeout)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(727501)"))
    elif dialect == "sqlite":
        db.session.execute(text("UPDATE audit_entries SET seq = seq WHERE 0"))
    row = db.session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)


@dataclass
class Change:
    action: str
    entity_type: str
    entity_id: str | int
    before: Any = None
    after: Any = None
    note: str | None = None


def record(action: str, entity_type: str, entity_id: str | int, *, before: Any = None,
           after: Any = None, note: str | None = None) -> AuditEntry:
    """Append one entry for the current actor and return it (flushed, not committed)."""
    record_many([Change(action, entity_type, entity_id, before, after, note)])
    return db.session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


def record_many(changes: Iterable[Change], *, batch_size: int = 5000) -> int:
    """Append many entries in bulk (imports); return how many were written."""
    db.session.flush()
    actor = current_actor()
    seq, prev = _lock_chain()
    at = utcnow()
    count = 0
    batch: list[dict[str, Any]] = []
    for ch in changes:
        seq += 1
        before = _jsonable(ch.before)
        after = _jsonable(ch.after)
        fields = _fields(seq, at, actor, ch.action, ch.entity_type, str(ch.entity_id), before, after, ch.note)
        h = entry_hash(fields, prev)
        batch.append({**fields, "at": at, "prev_hash": prev, "hash": h})
        prev = h
        count += 1
        if len(batch) >= batch_size:
            db.session.execute(AuditEntry.__table__.insert(), batch)
            batch = []
    if batch:
        db.session.execute(AuditEntry.__table__.insert(), batch)
    return count


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    bad_id: int | None = None
    reason: str | None = None


def iter_entries(chunk: int = 10000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = db.session.execute(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(chunk)
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.session.expunge_all()


def verify_chain() -> VerifyResult:
    """Recompute the chain from the first entry; return the first entry that does not fit."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for e in iter_entries():
        actor = Actor(e.actor_id, e.actor_name)
        fields = _fields(e.seq, e.at, actor, e.action, e.entity_type, e.entity_id, e.before, e.after, e.note)
        if e.seq != expected_seq:
            return VerifyResult(False, checked, e.seq, e.id,
                                f"expected entry #{expected_seq}, found #{e.seq}: an entry is missing")
        if e.prev_hash != prev_hash:
            return VerifyResult(False, checked, e.seq, e.id, "prev_hash does not match the entry before it")
        if entry_hash(fields, prev_hash) != e.hash:
            return VerifyResult(False, checked, e.seq, e.id, "content does not match its hash: the entry was altered")
        prev_hash, expected_seq, checked = e.hash, expected_seq + 1, checked + 1
    return VerifyResult(True, checked)


def history(entity_type: str, entity_id: str | int, limit: int = 200) -> list[AuditEntry]:
    """Return the newest entries about one entity, newest first."""
    return list(db.session.execute(
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.seq.desc()).limit(limit)
    ).scalars())
