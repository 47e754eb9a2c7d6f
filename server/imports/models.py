"""Import jobs and their validation reports."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import TimestampMixin, UTCDateTime
from ..extensions import db


class ImportKind(enum.Enum):
    OBJECTS = "objects"  # 检查对象
    INSPECTORS = "inspectors"  # 执法检查人员


class JobStatus(enum.Enum):
    QUEUED = "queued"  # 排队中
    VALIDATING = "validating"  # 校验中
    IMPORTING = "importing"  # 导入中
    DONE = "done"  # 已完成
    REJECTED = "rejected"  # 已拒绝（文件有错误，未做任何更改）
    FAILED = "failed"  # 失败（系统错误）

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.REJECTED, JobStatus.FAILED)


class ImportJob(TimestampMixin, db.Model):
    """One import of one stored file. Counters are committed while the job runs, so any worker
    can report progress."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(Enum(ImportKind, native_enum=False, length=20,
                                                  values_callable=lambda e: [m.value for m in e]),
                                             nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    #: path of the stored upload, relative to UPLOAD_DIR (files are stored once per content hash)
    stored_path: Mapped[str] = mapped_column(String(500), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[JobStatus] = mapped_column(Enum(JobStatus, native_enum=False, length=20,
                                                   values_callable=lambda e: [m.value for m in e]),
                                              nullable=False, default=JobStatus.QUEUED, index=True)
    valid_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: the job this one re-runs with ``valid_only`` ("导入有效行" on a rejected job)
    rerun_of_id: Mapped[int | None] = mapped_column(ForeignKey("import_jobs.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: department the importing department admin is restricted to (inspectors), if any
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))

    total_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: file-level outcome: {"code": ..., "message": ..., "missing": [...]} and notes
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    #: percent done (0–100): validation is the first half, writing the second
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ImportRowError(db.Model):
    """One line of a validation report: row number (as in the file, header = row 1), column,
    reason."""

    __tablename__ = "import_row_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), nullable=False)
    row: Mapped[int] = mapped_column(Integer, nullable=False)
    column: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    reason_code: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(String(1000), nullable=False)
    #: the offending value (shortened), for the report
    value: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (db.Index("ix_import_row_errors_job_row", "job_id", "row"),)
