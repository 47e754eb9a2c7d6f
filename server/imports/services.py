"""Importing and exporting the two registries.

An import is an :class:`~server.imports.models.ImportJob` over one stored file, in two passes:

1. **validate** — stream the file once, clean every row with :mod:`server.registry.validation`,
   find duplicate keys (credit code / certificate number) inside the file, write the report, and
   spool the cleaned rows (ready for the database) to a temporary file in pickled batches. With
   any error and without ``valid_only`` the job ends ``rejected`` and nothing in the registry
   changed (the spool is thrown away).
2. **import** — read the spool back (the file is not read or cleaned a second time) and upsert in
   batches by key: new rows are inserted (objects: one ``executemany`` of plain tuples through the
   driver, ids reserved up front so no second query is needed to learn them), changed rows updated
   (only the columns the file has), unchanged rows untouched; every created or updated row gets an
   audit entry with before/after (``record_many``; creations in large files one entry per batch).
   Each batch is committed with the job's counters, so any worker can show progress; a crash
   leaves a ``failed`` job and re-running the same file completes it (the upsert is idempotent).

Services never read ``request``. :func:`run_job` is the single code path for the back office
(inline or in a background thread), the CLI and the benchmark.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hashlib
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from flask import Flask, current_app
from sqlalchemy import Select, bindparam, delete, func, insert, select, text, update

from ..audit.services import Change, record, record_many, set_actor
from ..core.errors import DomainError, NotFound
from ..core.models import utcnow
from ..core.xlsx import is_formula_text
from ..extensions import db
from ..org.models import Department
from ..registry import codes
from ..registry.models import (
    CodeKind,
    InspectedObject,
    Inspector,
    InspectorExpertise,
    object_departments,
)
from ..registry.validation import (
    BOOL_LABELS,
    GENDER_LABELS,
    INSPECTOR_COLUMNS,
    INSPECTOR_LABELS,
    INSPECTOR_STATUS_LABELS,
    LEVEL_LABELS,
    OBJECT_COLUMNS,
    OBJECT_LABELS,
    OBJECT_TYPE_LABELS,
    STATUS_LABELS,
    RowError,
    _,
    clean_inspector_row,
    clean_object_row,
    departments_index,
    header_map,
    missing_columns,
)
from .models import ImportJob, ImportKind, ImportRowError, JobStatus
from .readers import FileRefused, open_table

BATCH_SIZE = 10_000
#: above this many rows in a file, creations are audit-logged one entry per batch (file row, id and
#: key of each created row, plus the file's SHA-256) instead of one entry per row with the full
#: row: per-row entries would take most of a million-row import's time. Updates are always logged
#: per row with before/after.
AUDIT_PER_ROW_LIMIT = 50_000
#: SQLite page cache for the import's connection (KiB; default is 2 MiB): the registry's indexes
#: of a million rows do not fit in 2 MiB, and every insert would then re-read index pages
SQLITE_IMPORT_CACHE_KIB = 256 * 1024
ERROR_BATCH = 5000
#: how many report lines a job keeps at most (the counts stay exact beyond it)
MAX_REPORT_LINES = 200_000
ALLOWED_EXTENSIONS = (".csv", ".xlsx", ".txt")


# -- storing uploads and creating jobs ----------------------------------------------------------


def upload_root() -> str:
    return os.path.join(current_app.config["UPLOAD_DIR"], "imports")


def store_file(stream: IO[bytes], filename: str) -> tuple[str, str, int]:
    """Store an uploaded file once per content hash; return ``(stored_path, sha256, size)``
    (``stored_path`` relative to the upload root). Raises ``DomainError`` for a wrong extension."""
    ext = os.path.splitext(filename or "")[1].lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise DomainError("bad_extension", _("只支持 CSV 或 XLSX 文件（.csv、.xlsx）。请在表格软件中另存为其中一种格式后再上传。"),
                          field="file")
    root = upload_root()
    os.makedirs(root, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(dir=root, delete=False, suffix=".part") as tmp:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            tmp.write(chunk)
            size += len(chunk)
    sha = digest.hexdigest()
    rel = sha + ext
    final = os.path.join(root, rel)
    if os.path.exists(final):
        os.unlink(tmp.name)
    else:
        os.replace(tmp.name, final)
    return rel, sha, size


def stored_file_path(job: ImportJob) -> str:
    return job.stored_path if os.path.isabs(job.stored_path) else os.path.join(upload_root(), job.stored_path)


def file_sha256(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def create_job(kind: ImportKind, filename: str, stored_path: str, sha256: str, size: int, *,
               valid_only: bool = False, user_id: int | None = None, department_id: int | None = None,
               rerun_of: ImportJob | None = None) -> ImportJob:
    """Create a queued job (flushed) and return it."""
    job = ImportJob(kind=kind, filename=filename[:255], stored_path=stored_path, sha256=sha256,
                    size_bytes=size, valid_only=valid_only, user_id=user_id, department_id=department_id,
                    rerun_of_id=rerun_of.id if rerun_of else None, status=JobStatus.QUEUED)
    db.session.add(job)
    db.session.flush()
    return job


def rerun_valid_only(job: ImportJob, *, user_id: int | None) -> ImportJob:
    """Return a new job that imports the valid rows of the same stored file.

    Raises ``Conflict``-like ``DomainError`` unless ``job`` was rejected for row errors."""
    if job.status is not JobStatus.REJECTED or not job.rejected_count or (job.report or {}).get("code"):
        raise DomainError("not_rerunnable", _("只有因数据行错误而被拒绝的导入，才能选择“只导入有效行”。"), status=409)
    return create_job(job.kind, job.filename, job.stored_path, job.sha256, job.size_bytes, valid_only=True,
                      user_id=user_id, department_id=job.department_id, rerun_of=job)


def get_job(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("import_not_found", _("找不到该导入任务。"))
    return job


def start_job(app: Flask, job_id: int) -> None:
    """Run the (committed) job inline when ``IMPORT_RUN_INLINE`` is set, otherwise in a
    background thread with its own application context."""
    if app.config.get("IMPORT_RUN_INLINE"):
        run_job(job_id)
        return
    thread = threading.Thread(target=_run_in_thread, args=(app, job_id), name=f"import-{job_id}", daemon=True)
    thread.start()


def _run_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            run_job(job_id)
        finally:
            db.session.remove()


# -- running a job ------------------------------------------------------------------------------


@dataclass
class _Pass1:
    total: int = 0
    bad_rows: set[int] = field(default_factory=set)
    duplicate_keys: set = field(default_factory=set)
    errors_written: int = 0
    error_buffer: list[dict] = field(default_factory=list)


def run_job(job_id: int, *, on_progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Validate and import a queued job; commit as it goes and return the finished job.

    The outcome is in ``job.status``: ``done``, ``rejected`` (file refused or rows rejected
    without ``valid_only`` — nothing in the registry changed) or ``failed`` (unexpected error;
    ``job.report["message"]`` says what happened).
    """
    job = get_job(job_id)
    if job.status is not JobStatus.QUEUED:
        return job
    if job.user_id:
        from ..auth.models import User

        user = db.session.get(User, job.user_id)
        if user is not None:
            set_actor(user.id, user.username)
    job.status = JobStatus.VALIDATING
    job.started_at = utcnow()
    db.session.commit()
    importer: _Importer = (ObjectImporter if job.kind is ImportKind.OBJECTS else InspectorImporter)(job)
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    try:
        if sqlite:
            db.session.execute(text(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}"))
        with _gc_frozen():
            importer.run(on_progress)
    except FileRefused as err:
        db.session.rollback()
        job = get_job(job_id)
        job.status = JobStatus.REJECTED
        job.report = {**(job.report or {}), "code": err.code, "message": err.message, **err.details}
        job.finished_at = utcnow()
        job.progress = 100
        record("import_job.rejected", "import_job", job.id, after={"code": err.code, "file": job.filename})
        db.session.commit()
    except Exception:
        db.session.rollback()
        # The exception (SQL, parameters, paths) goes to the server log only, never to the user.
        current_app.logger.exception("import job %s failed", job_id)
        job = get_job(job_id)
        job.status = JobStatus.FAILED
        job.report = {**(job.report or {}), "code": "failed",
                      "message": _("导入因系统错误中断（导入任务 #%(id)s，详情已记入服务器日志）。已提交的批次保留；请联系系统管理员，问题解决后重新导入同一文件即可补全（已导入的行不会重复）。",
                                   id=job_id)}
        job.finished_at = utcnow()
        db.session.commit()
    finally:
        if sqlite:
            db.session.execute(text("PRAGMA cache_size = -2000"))  # SQLite's default, memory back
            db.session.commit()
    return job


NUL = "\x00"


def _no_nul(text: str) -> str:
    return text.replace(NUL, "\u2400") if NUL in text else text


class _Spool:
    """The cleaned rows of pass 1, kept for pass 2 in a temporary file (pickled lists of
    ``BATCH_SIZE`` rows): pass 2 then neither re-reads nor re-cleans the file, and memory holds
    one batch at a time. The file is deleted when closed (also when the process dies)."""

    def __init__(self) -> None:
        root = upload_root()
        os.makedirs(root, exist_ok=True)
        self._fh = tempfile.TemporaryFile(dir=root, prefix="import-spool-")  # noqa: SIM115 - closed by close()
        self._buffer: list = []

    def add(self, item: Any) -> None:
        self._buffer.append(item)
        if len(self._buffer) >= BATCH_SIZE:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            pickle.dump(self._buffer, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
            self._buffer = []

    def batches(self) -> Iterator[list]:
        self._flush()
        self._fh.seek(0)
        while True:
            try:
                yield pickle.load(self._fh)
            except EOFError:
                return

    def close(self) -> None:
        self._buffer = []
        self._fh.close()


@contextlib.contextmanager
def _gc_frozen() -> Iterator[None]:
    """Keep the objects that exist before an import out of the cyclic garbage collector's full
    collections while it runs (``gc.freeze``), and hand them back afterwards.

    An import allocates millions of short-lived containers; every full collection would otherwise
    walk the whole application (SQLAlchemy metadata, Flask, the loaded modules) again — measured:
    a third of a second per 100,000 rows. Nothing is collected less: objects created during the
    import are collected as usual, older garbage once the import ends."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Importer:
    kind: str = ""
    labels: dict[str, str] = {}
    key_field = ""

    def __init__(self, job: ImportJob):
        self.job = job
        self.job_id = job.id
        self.path = stored_file_path(job)
        self.now = utcnow()

    # subclasses: prepare(), clean(n, row) -> (cleaned, errors) where n is the file's row number,
    # key(cleaned), pack(n, cleaned) -> the spooled item (a tuple whose first element is the row
    # number), write(batch of items)

    def run(self, on_progress) -> None:
        job = self.job
        self.prepare()
        spool = _Spool()
        try:
            p1 = self.validate(on_progress, spool)
            job.total_rows = p1.total
            job.rejected_count = len(p1.bad_rows)
            job.error_count = p1.errors_written
            if p1.total == 0:
                raise FileRefused("empty_file", _("文件只有表头，没有数据行。请填写数据后再导入。"))
            if p1.bad_rows and not job.valid_only:
                job.status = JobStatus.REJECTED
                job.progress = 100
                job.finished_at = utcnow()
                record("import_job.rejected", "import_job", job.id,
                       after={"file": job.filename, "rows": p1.total, "rejected": len(p1.bad_rows)})
                db.session.commit()
                return
            job.status = JobStatus.IMPORTING
            job.progress = 50
            db.session.commit()
            self.import_rows(p1, spool, on_progress)
        finally:
            spool.close()
        job.status = JobStatus.DONE
        job.progress = 100
        job.finished_at = utcnow()
        record("import_job.done", "import_job", job.id,
               after={"file": job.filename, "rows": job.total_rows, "created": job.created_count,
                      "updated": job.updated_count, "unchanged": job.unchanged_count,
                      "rejected": job.rejected_count})
        db.session.commit()

    def _rows(self, table) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(row number, {field: cell})`` for the rows that are not blank."""
        items = sorted(self.mapping.items())
        fields = [f for _i, f in items]
        width_needed = items[-1][0] + 1 if items else 0
        # the usual file has the known columns first, in order: zip the cells to the field names
        positional = [i for i, _f in items] == list(range(len(items)))
        for n, cells in table.rows:
            if not any(cells):
                continue
            if positional and len(cells) >= width_needed:
                row = dict(zip(fields, cells, strict=False))
            else:
                width = len(cells)
                row = {f: cells[i] for i, f in items if i < width}
            for v in row.values():
                if v and not v.isspace():
                    yield n, row
                    break

    def _open(self):
        table = open_table(self.path, self.job.filename)
        self.mapping = header_map(table.headers, self.kind)
        missing = missing_columns(self.mapping, self.kind)
        if missing:
            table.close()
            raise FileRefused(
                "missing_columns",
                _("文件缺少必需的列：%(cols)s。请在第一行加上这些列名后再导入（可先导出一份作为模板）。",
                  cols="、".join(missing)),
                missing=missing,
            )
        self.present = set(self.mapping.values())
        return table

    def validate(self, on_progress, spool: _Spool) -> _Pass1:
        p1 = _Pass1()
        first_row_of: dict[Any, int] = {}
        dup_first_reported: set = set()
        job = self.job
        clean, key_of, pack, add = self.clean, self.key, self.pack, spool.add
        with self._open() as table:
            if table.encoding:
                job.report = {**(job.report or {}), "encoding": table.encoding}
            total = 0
            for n, row in self._rows(table):
                total += 1
                nul = self.nul_errors(row)
                cleaned, errors = (None, nul) if nul else clean(n, row)
                key = key_of(cleaned) if not errors else self.raw_key(row)
                if key is not None:
                    first = first_row_of.setdefault(key, n)
                    if first != n:
                        p1.duplicate_keys.add(key)
                        if key not in dup_first_reported:
                            dup_first_reported.add(key)
                            self._add_error(p1, first, [self.duplicate_error(key, n, first_row=True)], row)
                        errors = [*errors, self.duplicate_error(key, first, first_row=False)]
                if errors:
                    self._add_error(p1, n, errors, row)
                else:
                    add(pack(n, cleaned))
                if total % BATCH_SIZE == 0:
                    p1.total = total
                    self._flush_errors(p1)
                    job.processed_rows = total
                    job.progress = min(49, int(50 * table.position() / max(1, table.size)))
                    db.session.commit()
                    if on_progress:
                        on_progress(job)
            p1.total = total
        self._flush_errors(p1)
        del first_row_of
        return p1

    def nul_errors(self, row: dict) -> list[RowError]:
        """One ``nul_character`` error per cell holding a NUL (PostgreSQL cannot store one); the
        row is then not cleaned further."""
        return [RowError(self.labels.get(f, f), "nul_character",
                         _("单元格中含有不允许的控制字符（NUL）。请在表格中删除该字符（常见于从其他系统复制的文本）后重新导入。"), f)
                for f, v in row.items() if v and NUL in v]

    def _add_error(self, p1: _Pass1, n: int, errors: list[RowError], row: dict) -> None:
        p1.bad_rows.add(n)
        for e in errors:
            if p1.errors_written + len(p1.error_buffer) >= MAX_REPORT_LINES:
                p1.errors_written += 1  # counted, not stored
                continue
            value = row.get(e.field) if e.field else None
            # the report is stored in the database: a NUL is shown as ␀, never written
            p1.error_buffer.append({"job_id": self.job_id, "row": n, "column": _no_nul(e.column[:60]),
                                    "reason_code": e.reason_code[:40], "message": _no_nul(e.message[:1000]),
                                    "value": (_no_nul(str(value)[:200]) if value else None)})

    def _flush_errors(self, p1: _Pass1) -> None:
        if p1.error_buffer:
            db.session.execute(insert(ImportRowError), p1.error_buffer)
            p1.errors_written += len(p1.error_buffer)
            p1.error_buffer = []

    def import_rows(self, p1: _Pass1, spool: _Spool, on_progress) -> None:
        job = self.job
        skip_rows = p1.bad_rows  # rows of the spool that a later duplicate made bad
        batch: list = []
        processed = 0
        for items in spool.batches():
            if skip_rows:
                items = [item for item in items if item[0] not in skip_rows]
            batch = batch + items if batch else items
            if len(batch) >= BATCH_SIZE:
                processed += len(batch)
                self._write_batch(batch, processed, on_progress)
                batch = []
        if batch:
            processed += len(batch)
            self._write_batch(batch, processed, on_progress)
        job.processed_rows = processed

    def _write_batch(self, batch, processed, on_progress) -> None:
        created, updated, unchanged = self.write(batch)
        job = self.job
        job.created_count += created
        job.updated_count += updated
        job.unchanged_count += unchanged
        job.processed_rows = processed
        valid = max(1, job.total_rows - job.rejected_count)
        job.progress = 50 + min(49, int(50 * processed / valid))
        db.session.commit()
        if on_progress:
            on_progress(job)

    def note(self, n: int) -> str:
        return f"import #{self.job_id} row {n}"

    @property
    def per_row_create_audit(self) -> bool:
        """One audit entry per created row (with the full row) — unless the file is so large that
        this would dominate the import (see IMPORT_AUDIT_PER_ROW_LIMIT)."""
        limit = current_app.config.get("IMPORT_AUDIT_PER_ROW_LIMIT", AUDIT_PER_ROW_LIMIT)
        return self.job.total_rows <= limit

    def batch_create_change(self, action: str, created: list[list]) -> Change:
        """One audit entry for the rows a batch created: ``[file row, id, key]`` each, with the
        file's SHA-256, so the full after-state is the stored file's row (tamper-evidently)."""
        return Change(action, "import_job", self.job_id, None,
                      {"file": self.job.filename, "sha256": self.job.sha256, "created": created},
                      f"import #{self.job_id}: {len(created)} rows created")


def _insert_ids(table, key_col, rows: list[dict]) -> list[int]:
    """Insert ``rows`` with one ``executemany`` and return their ids in the same order.

    (``INSERT … RETURNING`` with ``sort_by_parameter_order`` falls back to one statement per row
    on SQLite; a plain executemany followed by one select by key is far faster.) Rows whose key
    is ``None`` (experts without a certificate number) are inserted one by one to get their id.
    """
    keyed = [r for r in rows if r[key_col.key] is not None]
    ids_by_key: dict[Any, int] = {}
    if keyed:
        db.session.execute(insert(table), keyed)
        keys = [r[key_col.key] for r in keyed]
        ids_by_key = dict(db.session.execute(select(key_col, table.c.id).where(key_col.in_(keys))).all())
    out = []
    for r in rows:
        k = r[key_col.key]
        if k is None:
            out.append(db.session.execute(insert(table).returning(table.c.id), r).scalar_one())
        else:
            out.append(ids_by_key[k])
    return out


# -- raw driver statements (the objects import's hot path) -------------------------------------


def _placeholder() -> str:
    style = db.session.get_bind().dialect.paramstyle
    return "?" if style == "qmark" else "%s"


def _row_builder(table, columns: tuple[str, ...]) -> tuple[Callable[[dict], tuple], set[int]]:
    """Return ``build(cleaned) -> tuple`` of the values of ``columns`` as the driver stores them,
    and the indexes of the boolean columns.

    The conversions are SQLAlchemy's own bind processors for this dialect (enum members → their
    values, dates → text on SQLite, booleans → 0/1 on SQLite). Enum and boolean columns convert
    through a table built once from their few values, keyed by ``id()`` (members and booleans are
    singletons; ``Enum.__hash__`` is Python code). ``build`` is generated as one tuple expression
    (as ``dataclasses`` and ``namedtuple`` generate theirs): it runs once per imported row.
    """
    from sqlalchemy import Boolean, Enum

    dialect = db.session.get_bind().dialect
    env: dict[str, Any] = {"_id": id}
    parts: list[str] = []
    booleans: set[int] = set()
    for i, name in enumerate(columns):
        col_type = table.c[name].type
        if isinstance(col_type, Boolean):
            booleans.add(i)
        process = col_type._cached_bind_processor(dialect)
        value = f"c[{name!r}]"
        if process is None:
            parts.append(value)
        elif isinstance(col_type, (Enum, Boolean)):
            domain = [*col_type.enum_class, None] if isinstance(col_type, Enum) else [True, False, None]
            env[f"t{i}"] = {id(v): process(v) for v in domain}
            parts.append(f"t{i}[_id({value})]")
        else:
            env[f"f{i}"] = process
            parts.append(f"f{i}({value})")
    source = f"def build(c):\n    return ({', '.join(parts)},)\n"
    exec(compile(source, f"<row builder for {table.name}>", "exec"), env)  # noqa: S102 - source built above from column names
    return env["build"], booleans


def _reserve_ids(table, n: int) -> list[int]:
    """Return ``n`` new primary keys for ``table``, for rows inserted with their ids (so one
    ``executemany`` is enough and no query has to look the ids up afterwards).

    SQLite: takes the database's write lock (a write statement that touches no row), then the
    ids after the largest one — exactly what SQLite itself would assign; the lock is held until
    the batch commits. PostgreSQL: ``nextval`` of the column's sequence, ``n`` times."""
    conn = db.session.connection()
    name = table.name
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"UPDATE {name} SET id = id WHERE 0")
        top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {name}").scalar_one()
        return list(range(top + 1, top + 1 + n))
    rows = conn.exec_driver_sql(
        f"SELECT nextval(pg_get_serial_sequence('{name}', 'id')) FROM generate_series(1, %s)", (n,)).all()
    return sorted(r[0] for r in rows)


def _executemany(sql_head: str, width: int, rows: list[tuple]) -> None:
    """``executemany`` of plain tuples straight through the driver (``sql_head`` ends where the
    values go), without SQLAlchemy's per-row parameter processing."""
    ph = _placeholder()
    db.session.connection().exec_driver_sql(f"{sql_head} VALUES ({', '.join([ph] * width)})", rows)


# -- objects ------------------------------------------------------------------------------------

OBJECT_DB_COLUMNS = (
    "code", "code_kind", "name", "object_type", "legal_representative", "address", "region_county",
    "region_town", "jurisdiction_level", "industry", "business_scope", "registration_status",
    "registered_on", "risk_class", "abnormal_list", "serious_violation", "complaint_count", "business_peak",
)
_OBJECT_FIELD_OF = {c: ("code" if c == "code_kind" else c) for c in OBJECT_DB_COLUMNS}
_OBJECTS_INSERT = (f"INSERT INTO inspected_objects (id, {', '.join(OBJECT_DB_COLUMNS)}, version, created_at, "
                   "updated_at)")


class ObjectImporter(_Importer):
    kind = "objects"
    labels = OBJECT_LABELS
    key_field = "code"

    def prepare(self) -> None:
        depts = db.session.execute(select(Department)).scalars().all()
        self.departments = departments_index(depts)
        self.code_of = {d.id: d.code for d in depts}
        self.accepted = set(db.session.execute(
            select(InspectedObject.code).where(InspectedObject.code_kind == CodeKind.ACCEPTED)).scalars())
        t = InspectedObject.__table__
        self.build, self.booleans = _row_builder(t, OBJECT_DB_COLUMNS)
        self.now_db = t.c.created_at.type._cached_bind_processor(db.session.get_bind().dialect)(self.now)

    def dept_codes(self, ids: Iterable[int]) -> list[str]:
        return sorted(self.code_of.get(i, str(i)) for i in ids) if ids else []

    def clean(self, n, row):
        return clean_object_row(row, self.departments, accepted_codes=self.accepted, row_number=n)

    def key(self, cleaned):
        return cleaned["code"]

    def raw_key(self, row):
        code = codes.normalise(str(row.get("code") or ""))
        return code or None

    def duplicate_error(self, key, other_row: int, *, first_row: bool) -> RowError:
        return RowError(OBJECT_LABELS["code"], "duplicate_in_file",
                        _("统一社会信用代码“%(code)s”在文件中重复出现（另见第 %(row)s 行）。同一代码只能出现一次，请删除或合并重复的行。",
                          code=key, row=other_row), "code")

    def pack(self, n: int, c: dict) -> tuple[int, tuple, tuple[int, ...]]:
        """``(row number, values of OBJECT_DB_COLUMNS as stored, sorted department ids)``."""
        ds = c["supervising_departments"]
        dept_ids = (ds[0].id,) if len(ds) == 1 else tuple(sorted({d.id for d in ds}))
        if not c["code"]:
            c["code"] = codes.generate_placeholder()
            c["code_kind"] = CodeKind.GENERATED
        return n, self.build(c), dept_ids

    def json_value(self, i: int, value: Any) -> Any:
        """A stored value as the audit log shows it (booleans as true/false, not 0/1)."""
        return bool(value) if i in self.booleans and value is not None else value

    def existing(self, keys: list[str]) -> dict[str, tuple]:
        """``{code: (id, values of OBJECT_DB_COLUMNS as stored)}`` for the codes already there."""
        conn = db.session.connection()
        cols = ", ".join(OBJECT_DB_COLUMNS)
        out: dict[str, tuple] = {}
        if conn.dialect.name == "sqlite":
            for start in range(0, len(keys), 30_000):  # under SQLite's limit of bound parameters
                chunk = keys[start:start + 30_000]
                sql = f"SELECT id, {cols} FROM inspected_objects WHERE code IN ({', '.join('?' * len(chunk))})"
                for r in conn.exec_driver_sql(sql, tuple(chunk)):
                    out[r[1]] = (r[0], tuple(r[1:]))
        else:
            sql = f"SELECT id, {cols} FROM inspected_objects WHERE code = ANY(%s)"
            for r in conn.exec_driver_sql(sql, (keys,)):
                out[r[1]] = (r[0], tuple(r[1:]))
        return out

    def write(self, batch: list[tuple[int, tuple, tuple[int, ...]]]) -> tuple[int, int, int]:
        now = self.now_db
        present = [i for i, c in enumerate(OBJECT_DB_COLUMNS) if _OBJECT_FIELD_OF[c] in self.present]
        with_depts = "supervising_departments" in self.present
        existing = self.existing([values[0] for _n, values, _d in batch])
        current_depts: dict[int, list[int]] = {}
        if existing and with_depts:
            ids = [oid for oid, _v in existing.values()]
            for oid, did in db.session.execute(select(object_departments.c.object_id, object_departments.c.department_id)
                                               .where(object_departments.c.object_id.in_(ids))):
                current_depts.setdefault(oid, []).append(did)
        new_rows, updates, changes, dept_adds, dept_removes = [], [], [], [], []
        updated = unchanged = 0
        for n, values, dept_ids in batch:
            found = existing.get(values[0])
            if found is None:
                new_rows.append((n, values, dept_ids))
                continue
            oid, old = found
            changed = [i for i in present if old[i] != values[i]]
            old_depts = tuple(sorted(current_depts.get(oid, []))) if with_depts else dept_ids
            if not changed and old_depts == dept_ids:
                unchanged += 1
                continue
            before = {OBJECT_DB_COLUMNS[i]: self.json_value(i, old[i]) for i in changed}
            after = {OBJECT_DB_COLUMNS[i]: self.json_value(i, values[i]) for i in changed}
            if old_depts != dept_ids:
                before["supervising_departments"] = self.dept_codes(old_depts)
                after["supervising_departments"] = self.dept_codes(dept_ids)
                dept_adds += [(oid, d) for d in sorted(set(dept_ids) - set(old_depts))]
                dept_removes += [(oid, d) for d in sorted(set(old_depts) - set(dept_ids))]
            if changed:
                updates.append((now, *[values[i] for i in present], oid))
            changes.append(Change("object.update", "object", oid, before, after, self.note(n)))
            updated += 1
        if new_rows:
            ids = _reserve_ids(InspectedObject.__table__, len(new_rows))
            _executemany(_OBJECTS_INSERT, len(OBJECT_DB_COLUMNS) + 4,
                         [(oid, *values, 1, now, now) for oid, (_n, values, _d) in zip(ids, new_rows, strict=True)])
            per_row = self.per_row_create_audit
            created = []
            for oid, (n, values, dept_ids) in zip(ids, new_rows, strict=True):
                if dept_ids:
                    dept_adds += [(oid, d) for d in dept_ids]
                if per_row:
                    after = {c: self.json_value(i, values[i]) for i, c in enumerate(OBJECT_DB_COLUMNS)}
                    after["supervising_departments"] = self.dept_codes(dept_ids)
                    changes.append(Change("object.create", "object", oid, None, after, self.note(n)))
                else:
                    created.append([n, oid, values[0]])
            if created:
                changes.append(self.batch_create_change("object.import_create", created))
        conn = db.session.connection()
        ph = _placeholder()
        if updates:
            sets = ", ".join(f"{OBJECT_DB_COLUMNS[i]} = {ph}" for i in present)
            conn.exec_driver_sql(f"UPDATE inspected_objects SET version = version + 1, updated_at = {ph}, {sets} "
                                 f"WHERE id = {ph}", updates)
            # the phones show an object's registration data (name, address, business peak…) with its
            # visits: stamp those visits so the next pull brings the change (as an ORM update does,
            # server/sync/changes.py); a registry import touches no mapper events
            conn.exec_driver_sql(f"UPDATE visits SET changed_at = {ph} WHERE object_id = {ph}",
                                 [(now, u[-1]) for u in updates])
        if dept_removes:
            conn.exec_driver_sql(f"DELETE FROM object_departments WHERE object_id = {ph} AND department_id = {ph}",
                                 dept_removes)
        if dept_adds:
            _executemany("INSERT INTO object_departments (object_id, department_id)", 2, dept_adds)
        if changes:
            record_many(changes)
        return len(new_rows), updated, unchanged


# -- inspectors ---------------------------------------------------------------------------------

INSPECTOR_DB_COLUMNS = (
    "department_id", "unit_id", "name", "gender", "title", "certificate_no", "phone", "qualification",
    "qualification_valid_from", "qualification_valid_until", "status", "is_expert",
)
_INSPECTOR_FIELD_OF = {c: {"department_id": "department", "unit_id": "unit"}.get(c, c) for c in INSPECTOR_DB_COLUMNS}


class InspectorImporter(_Importer):
    kind = "inspectors"
    labels = INSPECTOR_LABELS
    key_field = "certificate_no"

    def prepare(self) -> None:
        depts = db.session.execute(select(Department)).scalars().all()
        self.departments = departments_index(depts)
        self.restrict_to = self.job.department_id

    def clean(self, n, row):
        cleaned, errors = clean_inspector_row(row, self.departments)
        if self.restrict_to is not None and cleaned["department_id"] is not None:
            dept = db.session.get(Department, cleaned["department_id"])
            if dept is not None and dept.bureau.id != self.restrict_to:
                errors = [*errors, RowError(INSPECTOR_LABELS["department"], "forbidden_department",
                                            _("您只能导入本部门的执法检查人员，“%(name)s”不是本部门。", name=dept.name),
                                            "department")]
        return cleaned, errors

    def pack(self, n: int, cleaned: dict) -> tuple[int, dict]:
        return n, cleaned

    def key(self, cleaned):
        if cleaned["certificate_no"]:
            return cleaned["certificate_no"]
        return ("expert", cleaned["department_id"], cleaned["name"])

    def raw_key(self, row):
        cert = str(row.get("certificate_no") or "").strip().replace(" ", "")
        return cert or None

    def duplicate_error(self, key, other_row: int, *, first_row: bool) -> RowError:
        if isinstance(key, tuple):
            return RowError(INSPECTOR_LABELS["name"], "duplicate_in_file",
                            _("同一部门的专家“%(name)s”（无执法证号）在文件中重复出现（另见第 %(row)s 行）。请删除或合并重复的行。",
                              name=key[2], row=other_row), "name")
        return RowError(INSPECTOR_LABELS["certificate_no"], "duplicate_in_file",
                        _("执法证号“%(cert)s”在文件中重复出现（另见第 %(row)s 行）。同一证号只能出现一次，请删除或合并重复的行。",
                          cert=key, row=other_row), "certificate_no")

    def write(self, batch: list[tuple[int, dict]]) -> tuple[int, int, int]:
        t = Inspector.__table__
        et = InspectorExpertise.__table__
        now = self.now
        present_cols = [c for c in INSPECTOR_DB_COLUMNS if _INSPECTOR_FIELD_OF[c] in self.present]
        with_expertise = "expertise" in self.present
        certs = [c["certificate_no"] for _n, c in batch if c["certificate_no"]]
        experts = [(c["department_id"], c["name"]) for _n, c in batch if not c["certificate_no"]]
        cols = [t.c.id, *[t.c[c] for c in INSPECTOR_DB_COLUMNS]]
        existing: dict[Any, Any] = {}
        if certs:
            for r in db.session.execute(select(*cols).where(t.c.certificate_no.in_(certs))).mappings():
                existing[r["certificate_no"]] = r
        if experts:
            names = {name for _d, name in experts}
            for r in db.session.execute(select(*cols).where(t.c.certificate_no.is_(None), t.c.name.in_(names))).mappings():
                existing.setdefault(("expert", r["department_id"], r["name"]), r)
        current_tags: dict[int, list[str]] = {}
        if existing:
            ids = [r["id"] for r in existing.values()]
            for iid, tag in db.session.execute(select(et.c.inspector_id, et.c.tag).where(et.c.inspector_id.in_(ids))):
                current_tags.setdefault(iid, []).append(tag)
        inserts, insert_meta, updates, changes, tag_adds, tag_removes = [], [], [], [], [], []
        updates_audited: list[Change] = []
        unchanged = 0
        for n, c in batch:
            old = existing.get(self.key(c))
            tags = c["expertise"]
            if old is None:
                values = {col: c[col] for col in INSPECTOR_DB_COLUMNS}
                inserts.append({**values, "version": 1, "created_at": now, "updated_at": now})
                insert_meta.append((n, values, tags))
                continue
            changed = [col for col in present_cols if old[col] != c[col]]
            old_tags = sorted(current_tags.get(old["id"], []))
            if not with_expertise:
                tags = old_tags
            if not changed and old_tags == tags:
                unchanged += 1
                continue
            before = {col: old[col] for col in changed}
            after = {col: c[col] for col in changed}
            if old_tags != tags:
                before["expertise"], after["expertise"] = old_tags, tags
                tag_adds += [{"inspector_id": old["id"], "tag": tg} for tg in sorted(set(tags) - set(old_tags))]
                tag_removes += [{"i": old["id"], "g": tg} for tg in set(old_tags) - set(tags)]
            if changed:
                updates.append({"p_id": old["id"], "p_updated_at": now, **{f"p_{col}": c[col] for col in present_cols}})
            change = Change("inspector.update", "inspector", old["id"], before, after, self.note(n))
            changes.append(change)
            updates_audited.append(change)
        if inserts:
            ids = _insert_ids(t, t.c.certificate_no, inserts)
            per_row = self.per_row_create_audit
            created = []
            for iid, (n, values, tags) in zip(ids, insert_meta, strict=True):
                tag_adds += [{"inspector_id": iid, "tag": tg} for tg in tags]
                if per_row:
                    changes.append(Change("inspector.create", "inspector", iid, None,
                                          {**values, "expertise": tags}, self.note(n)))
                else:
                    created.append([n, iid, values["certificate_no"] or values["name"]])
            if created:
                changes.append(self.batch_create_change("inspector.import_create", created))
        if updates:
            stmt = (update(t).where(t.c.id == bindparam("p_id"))
                    .values(version=t.c.version + 1, updated_at=bindparam("p_updated_at"),
                            **{col: bindparam(f"p_{col}") for col in present_cols}))
            db.session.execute(stmt, updates)
        if tag_removes:
            db.session.execute(delete(et).where(et.c.inspector_id == bindparam("i"), et.c.tag == bindparam("g")),
                               tag_removes)
        if tag_adds:
            db.session.execute(insert(et), tag_adds)
        if changes:
            record_many(changes)
        return len(inserts), len(updates_audited), unchanged


# -- reports ------------------------------------------------------------------------------------


def report_rows(job: ImportJob) -> Iterator[ImportRowError]:
    """Yield every report line of a job in row order (streamed in chunks)."""
    last_id = 0
    while True:
        chunk = db.session.execute(
            select(ImportRowError).where(ImportRowError.job_id == job.id, ImportRowError.id > last_id)
            .order_by(ImportRowError.id).limit(5000)).scalars().all()
        if not chunk:
            return
        yield from sorted(chunk, key=lambda e: (e.row, e.id))
        last_id = chunk[-1].id


def report_query(job: ImportJob):
    return select(ImportRowError).where(ImportRowError.job_id == job.id).order_by(ImportRowError.row, ImportRowError.id)


REPORT_HEADERS = ("行号", "列", "原因代码", "说明", "原值")


def _report_records(job: ImportJob) -> Iterator[list[Any]]:
    file_error = (job.report or {}).get("code")
    if file_error:
        yield ["", "", file_error, (job.report or {}).get("message", ""), ""]
    for e in report_rows(job):
        yield [e.row, e.column, e.reason_code, e.message, e.value or ""]


def write_report(job: ImportJob, fh: IO[bytes], fmt: str) -> None:
    """Write the validation report (row, column, reason) as CSV (UTF-8 with BOM, opens in Excel)
    or XLSX."""
    write_table(fh, fmt, REPORT_HEADERS, _report_records(job), sheet_title="导入校验报告")


# -- export -------------------------------------------------------------------------------------


def _csv_cell(value: Any) -> Any:
    """Defuse spreadsheet formulas (CSV injection): a text cell starting with = + - @ gets a
    leading apostrophe, which the import takes off again (so exports still round-trip)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def write_table(fh: IO[bytes], fmt: str, headers: Iterable[str], records: Iterable[list[Any]], *,
                sheet_title: str = "Sheet1") -> int:
    """Write rows to ``fh`` as ``csv`` or ``xlsx``; return the number of data rows."""
    count = 0
    if fmt == "xlsx":
        import openpyxl
        from openpyxl.cell import WriteOnlyCell

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet(title=sheet_title[:31])
        ws.append(list(headers))

        def cell(v: Any) -> Any:
            if is_formula_text(v):
                # stored as a text cell, never as a formula
                c = WriteOnlyCell(ws, value=v)
                c.data_type = "s"
                return c
            return v

        for rec in records:
            ws.append([cell(v) for v in rec])
            count += 1
        wb.save(fh)
        return count
    import io

    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="", write_through=False)
    try:
        writer = csv.writer(text)
        writer.writerow(list(headers))
        for rec in records:
            writer.writerow([_csv_cell(v) for v in rec])
            count += 1
        text.flush()
    finally:
        text.detach()
    return count


def _label(labels: dict, value: Any) -> str:
    return "" if value is None else labels.get(value, str(getattr(value, "value", value)))


def _dept_names() -> dict[int, str]:
    """Department id → the name an import resolves back to the same department (the name, or the
    code when two departments share the name)."""
    depts = db.session.execute(select(Department)).scalars().all()
    index = departments_index(depts)
    return {d.id: (d.name if index.get(d.name) is d else d.code) for d in depts}


def object_records(ids: Select | None = None, chunk: int = 5000) -> Iterator[list[Any]]:
    """Yield export rows (in :data:`OBJECT_COLUMNS` order) for all objects, or those whose id is
    in the ``ids`` select (e.g. the registry list's current filters)."""
    t = InspectedObject.__table__
    names = _dept_names()
    where = [t.c.id.in_(ids)] if ids is not None else []
    last = 0
    while True:
        rows = db.session.execute(select(t).where(t.c.id > last, *where).order_by(t.c.id).limit(chunk)).mappings().all()
        if not rows:
            return
        ids = [r["id"] for r in rows]
        depts: dict[int, list[str]] = {}
        for oid, did in db.session.execute(select(object_departments.c.object_id, object_departments.c.department_id)
                                           .where(object_departments.c.object_id.in_(ids))
                                           .order_by(object_departments.c.department_id)):
            depts.setdefault(oid, []).append(names.get(did, str(did)))
        for r in rows:
            yield [
                r["code"], r["name"], _label(OBJECT_TYPE_LABELS, r["object_type"]), r["legal_representative"] or "",
                r["address"] or "", r["region_county"] or "", r["region_town"] or "",
                _label(LEVEL_LABELS, r["jurisdiction_level"]), r["industry"] or "", r["business_scope"] or "",
                _label(STATUS_LABELS, r["registration_status"]),
                r["registered_on"].isoformat() if r["registered_on"] else "",
                r["risk_class"].value if r["risk_class"] else "",
                BOOL_LABELS[bool(r["abnormal_list"])], BOOL_LABELS[bool(r["serious_violation"])],
                r["complaint_count"], "；".join(depts.get(r["id"], [])), r["business_peak"] or "",
            ]
        last = ids[-1]


def inspector_records(ids: Select | None = None, chunk: int = 2000) -> Iterator[list[Any]]:
    """Yield export rows (in :data:`INSPECTOR_COLUMNS` order) for all inspectors, or those whose
    id is in the ``ids`` select."""
    t = Inspector.__table__
    et = InspectorExpertise.__table__
    names = _dept_names()
    where = [t.c.id.in_(ids)] if ids is not None else []
    last = 0
    while True:
        rows = db.session.execute(select(t).where(t.c.id > last, *where).order_by(t.c.id).limit(chunk)).mappings().all()
        if not rows:
            return
        ids = [r["id"] for r in rows]
        tags: dict[int, list[str]] = {}
        for iid, tag in db.session.execute(select(et.c.inspector_id, et.c.tag).where(et.c.inspector_id.in_(ids))
                                           .order_by(et.c.tag)):
            tags.setdefault(iid, []).append(tag)
        for r in rows:
            yield [
                names.get(r["department_id"], ""), names.get(r["unit_id"], "") if r["unit_id"] else "",
                r["name"], _label(GENDER_LABELS, r["gender"]), r["title"] or "", "；".join(tags.get(r["id"], [])),
                r["certificate_no"] or "", r["phone"] or "", r["qualification"] or "",
                r["qualification_valid_from"].isoformat() if r["qualification_valid_from"] else "",
                r["qualification_valid_until"].isoformat() if r["qualification_valid_until"] else "",
                _label(INSPECTOR_STATUS_LABELS, r["status"]), BOOL_LABELS[bool(r["is_expert"])],
            ]
        last = ids[-1]


def export_registry(kind: str, fh: IO[bytes], fmt: str, ids: Select | None = None) -> int:
    """Write the objects or inspectors (``kind``) — all, or those whose id is in ``ids`` — to
    ``fh`` in the import format (Chinese headers); return the number of rows. The file imports
    back unchanged."""
    if kind == "objects":
        headers = [c[1] for c in OBJECT_COLUMNS]
        return write_table(fh, fmt, headers, object_records(ids), sheet_title="检查对象名录库")
    headers = [c[1] for c in INSPECTOR_COLUMNS]
    return write_table(fh, fmt, headers, inspector_records(ids), sheet_title="执法检查人员名录库")


def export_to_path(kind: str, path: str, ids: Select | None = None) -> int:
    """Export to a file, format by extension (``.csv`` / ``.xlsx``); return the row count."""
    fmt = "xlsx" if path.lower().endswith(".xlsx") else "csv"
    tmp = path + ".part"
    with open(tmp, "wb") as fh:
        n = export_registry(kind, fh, fmt, ids)
    shutil.move(tmp, path)
    return n


def count_jobs() -> int:
    return db.session.execute(select(func.count(ImportJob.id))).scalar_one()
