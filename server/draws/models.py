"""Draws and the locked object list they produce."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import UTCDateTime, utcnow
from ..extensions import db


class DrawKind(enum.Enum):
    OBJECTS = "objects"
    INSPECTORS = "inspectors"


class DrawStatus(enum.Enum):
    COMMITTED = "committed"  # nonce committed and shown; waiting for the witnesses' entropy
    FINAL = "final"  # drawn and stored: final, never re-rolled
    VOIDED = "voided"  # abandoned after the commitment; kept and shown with who and why


class Draw(db.Model):
    """One draw of a task. At most one non-voided draw per task and kind (a partial unique index),
    so two operators pressing "draw" at once cannot both succeed."""

    __tablename__ = "draws"
    __table_args__ = (
        Index("uq_draws_task_kind_live", "task_id", "kind", unique=True,
              sqlite_where=text("status != 'voided'"), postgresql_where=text("status != 'voided'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    kind: Mapped[DrawKind] = mapped_column(enum_column(DrawKind), nullable=False)
    status: Mapped[DrawStatus] = mapped_column(enum_column(DrawStatus), nullable=False,
                                               default=DrawStatus.COMMITTED)
    #: secret until the draw is final; only its commitment is shown before
    nonce: Mapped[str] = mapped_column(String(64), nullable=False)
    nonce_commitment: Mapped[str] = mapped_column(String(64), nullable=False)
    witness_entropy: Mapped[str | None] = mapped_column(Text)
    #: [{"name": …, "role": "承办|技术操作|监督|代表", "organisation": …}]
    witnesses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: excluded objects with reasons, shown to the operator: [{"code", "reason"}]
    exclusions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    candidates_digest: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(String(64))
    #: the full record (draw-v2; older draws draw-v1) as JSON text without the candidates' ``ids`` (kept once, in DrawCandidates),
    #: written once when the draw becomes final; the full record is composed from both by
    #: ``services.draw_record`` and checked against ``record_sha256``
    record: Mapped[str | None] = mapped_column(Text)
    #: taken at the draw: draw-v2 the record's ``record_sha256`` (``spec.record_sha256``: canonical JSON,
    #: keys sorted, without that field; also in the ``draw.final`` audit entry); draw-v1 the SHA-256 of
    #: the full record's compact JSON in field order (``services.canonical_json``)
    record_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(Text)
    #: the registries' state the initiator confirmed before an objects draw was committed [000#11]
    #: (``candidates.RegistryState``): their newest change, the objects of the task's candidate
    #: source and the on-duty inspectors of its departments; who confirmed it and when
    registry_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registry_object_count: Mapped[int | None] = mapped_column(Integer)
    registry_inspector_count: Mapped[int | None] = mapped_column(Integer)
    registry_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    registry_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DrawCandidates(db.Model):
    """The candidates of a draw, fixed at its commitment and stored once: the full record reads its
    ``ids`` from here (``services.record_parts``). A table of its own so that writing the draw's
    result never rewrites these ~25 MB (SQLite rewrites a whole row on any UPDATE)."""

    __tablename__ = "draw_candidates"

    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), primary_key=True, autoincrement=False)
    #: canonical JSON text (``services.canonical_json``) of
    #: [{"name": stratum, "ratio"|"count": …, "ids": [...]}, …], in the task's order of strata
    strata: Mapped[str] = mapped_column(Text, nullable=False)


class DrawSelection(db.Model):
    """An object selected by a final objects draw: the locked list [000#15, 001#9]."""

    __tablename__ = "draw_selections"
    __table_args__ = (UniqueConstraint("task_id", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), nullable=False, index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), nullable=False, index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("inspected_objects.id"), nullable=False, index=True)
    stratum: Mapped[str] = mapped_column(String(40), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)

    draw: Mapped[Draw] = relationship()


def _lz4_available(ddl, target, bind, **kw) -> bool:
    row = bind.execute(text(
        "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")).first()
    return row is not None


# PostgreSQL ≥ 14 built with lz4: a million-candidate draw stores ~25 MB of candidates (once, at the
# commitment); lz4 compresses it several times faster than the default pglz. The same DDL belongs
# in the migration.
POSTGRES_DDL = [
    (Draw.__table__, "ALTER TABLE draws ALTER COLUMN record SET COMPRESSION lz4"),
    (DrawCandidates.__table__, "ALTER TABLE draw_candidates ALTER COLUMN strata SET COMPRESSION lz4"),
]
for _table, _stmt in POSTGRES_DDL:
    event.listen(_table, "after_create", DDL(_stmt).execute_if(dialect="postgresql", callable_=_lz4_available))
