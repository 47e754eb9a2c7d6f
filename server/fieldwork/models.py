"""What the field app sends back: visit records (one department's section of one visit, as
append-only versions) and the photos they reference (content-addressed, stored once per hash).

* A :class:`VisitRecord` row is one version sent by a phone, keyed by the device-made ``uuid``.
  A version accepted on top of the current one is ``stored`` and gets the next ``version`` of its
  (visit, department); a version made from a stale base is kept as ``conflict`` (``version`` NULL,
  ``server_version`` = the version it collided with) for the team leader. Nothing is overwritten.
* A :class:`Photo` is one original image file, named by its SHA-256, with a thumbnail.
* A :class:`PhotoUpload` is a resumable upload in progress (the bytes live in a partial file).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import UTCDateTime, utcnow
from ..extensions import db


class RecordStatus(enum.Enum):
    STORED = "stored"
    CONFLICT = "conflict"  # made from a stale version: kept, flagged for the team leader


class VisitRecord(db.Model):
    __tablename__ = "visit_records"
    __table_args__ = (
        UniqueConstraint("uuid"),
        # one stored row per version; conflicts have version NULL (NULLs never collide)
        UniqueConstraint("visit_id", "department_id", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), nullable=False)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    base_version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: the server version of a stored row (1, 2, …); NULL for a conflict
    version: Mapped[int | None] = mapped_column(Integer)
    #: the server's current version when this row arrived (differs from base_version on a conflict)
    server_version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[RecordStatus] = mapped_column(enum_column(RecordStatus), nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: SHA-256 of the canonical JSON of ``content``
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: SHA-256 of the canonical JSON of everything that makes the request (idempotency check)
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: referenced photos (SHA-256 hex), in the order the phone sent them
    photos: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    finished: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    device_id: Mapped[str | None] = mapped_column(String(100))
    #: the phone's clock when saved: informational only, never used for ordering
    saved_at: Mapped[str | None] = mapped_column(String(40))
    #: arrived after the task's visits were over (迟交): kept and shown to the leader, never dropped
    late: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    photo_links: Mapped[list[RecordPhoto]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="RecordPhoto.position")


class RecordPhoto(db.Model):
    """A record's reference to a photo by hash (the photo may not have arrived yet)."""

    __tablename__ = "visit_record_photos"
    __table_args__ = (UniqueConstraint("record_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("visit_records.id", ondelete="CASCADE"),
                                           nullable=False, index=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)

    record: Mapped[VisitRecord] = relationship(back_populates="photo_links")


class Photo(db.Model):
    """An original photo exactly as uploaded, under ``PHOTO_DIR`` by its hash."""

    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    image_format: Mapped[str] = mapped_column(String(10), nullable=False)  # JPEG, PNG, WEBP
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class PhotoUpload(db.Model):
    """A resumable upload in progress: who started it and its declared length. The bytes received
    so far are the partial file's size (the only truth for the offset; no database write per
    chunk)."""

    __tablename__ = "photo_uploads"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    upload_length: Mapped[int] = mapped_column(Integer, nullable=False)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow,
                                                 onupdate=utcnow)


class ResultCode(db.Model):
    """One entry of the result list (抽查检查结果) offered per check item: reference data, seeded
    with the ten standard categories [000#20] and configurable per deployment (e.g. Zhejiang's
    已关闭停业/注销/迁出). A code is never deleted once it may have been used, only deactivated.

    * ``problem``: a problem was found (legal basis, follow-up, problems and handling required);
    * ``no_check``: may be recorded without a substantive check, once evidence is taken [000#21];
    * ``party_absent``: nobody of the party was there (无法联系): no signature and no refusal.
    """

    __tablename__ = "result_codes"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    label_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    label_en: Mapped[str | None] = mapped_column(String(200))
    problem: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    no_check: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    party_absent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow,
                                                 onupdate=utcnow)
