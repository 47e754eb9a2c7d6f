"""Benchmark: the field app's sync API under gunicorn, many inspectors pushing at once.

    python -m bench.bench_sync [--inspectors 100] [--records 10] [--photos 3] [--photo-kb 500]
                               [--database-url postgresql+psycopg://…] [--workers 4] [--threads 8]

Seeds a fresh database (a SQLite file by default; with ``--database-url`` a fresh PostgreSQL
database created next to the named one and dropped afterwards): one task, one team and
``--records`` visits per inspector. Starts gunicorn (gthread) on 127.0.0.1 with CSRF on, then
every simulated inspector (one thread each, its own ``httpx`` client, loopback only) logs in
through ``POST /api/session``, pulls, and for each visit uploads ``--photos`` unique JPEGs of about
``--photo-kb`` KB in 256 KiB chunks (``PATCH /api/photos/<sha256>``) and pushes one record
(``PUT /api/visits/<id>/records/<uuid>``) referencing them, then resends the same record as a phone
does after a lost response. Reported:

* errors (any unexpected status) and duplicates (rows in ``visit_records`` minus records sent,
  resends included) — both expected 0; every receipt ``complete``;
* record push latency p50/p95/max (goal p95 ≤ 500 ms);
* photo upload throughput (photo bytes / wall time of the push phase) against the same server's
  plain upload sink ``PUT /api/_bench/sink`` (test-only, enabled by ``SPOTCHECK_SYNC_BENCH_SINK=1``:
  reads the body into a temporary file, no hashing, no decoding), fed the same bytes in the same
  256 KiB chunks by the same number of threads, in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date

import httpx
from PIL import Image

PASSWORD = "bench password 123"
CHUNK = 256 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_jpeg(kb: int) -> bytes:
    """A noise JPEG of roughly ``kb`` kilobytes (noise does not compress)."""
    rnd = random.Random(7)
    side = 200
    while True:
        img = Image.frombytes("RGB", (side, side), bytes(rnd.getrandbits(8) for _ in range(side * side * 3)))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        if buf.tell() >= kb * 1024:
            return buf.getvalue()
        side = int(side * 1.25)


def unique_jpeg(base: bytes, tag: str) -> bytes:
    """The same image with a unique JPEG comment segment after SOI: a valid, different file."""
    comment = tag.encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


def seed(url: str, inspectors: int, records: int) -> list[tuple[str, list[int], int]]:
    """Create the users, inspectors, teams and visits; return (username, visit ids, department id)."""
    from argon2 import PasswordHasher

    from server import create_app
    from server.auth import sessions
    from server.auth.models import User, UserRole
    from server.extensions import db
    from server.org.models import Department, Kind, Level
    from server.planning.models import Task, TaskStatus
    from server.registry import codes
    from server.registry.models import InspectedObject, Inspector, ObjectType, RiskClass
    from server.teams.models import Team, TeamMember
    from server.visits.models import Visit

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    out = []
    with app.app_context():
        db.create_all()
        pw_hash = PasswordHasher().hash(PASSWORD)  # one hash for all: seeding stays fast
        _ = sessions
        dept = Department(code="B0001", name="武陟县市场监督管理局", level=Level.COUNTY, kind=Kind.DEPARTMENT)
        db.session.add(dept)
        db.session.flush()
        task = Task(code="T-BENCH", name="同步基准任务", initiating_department_id=dept.id,
                    period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), teams_count=inspectors,
                    strata=[{"name": "ALL", "ratio": "1"}], scope={}, adhoc_reason="benchmark",
                    status=TaskStatus.INSPECTORS_DRAWN)
        db.session.add(task)
        db.session.flush()
        n = 0
        for i in range(inspectors):
            user = User(username=f"bench{i}", display_name=f"检查员{i}", password_hash=pw_hash,
                        department_id=dept.id)
            user.role_rows = [UserRole(role="inspector")]
            db.session.add(user)
            db.session.flush()
            insp = Inspector(department_id=dept.id, name=f"检查员{i}", certificate_no=f"BENCH{i:06d}", user_id=user.id)
            team = Team(task_id=task.id, number=i)
            db.session.add_all([insp, team])
            db.session.flush()
            db.session.add(TeamMember(team_id=team.id, task_id=task.id, inspector_id=insp.id,
                                      department_id=dept.id, is_leader=True))
            visit_ids = []
            for _r in range(records):
                n += 1
                obj = InspectedObject(code=codes.make_valid(f"91410823MB{n:07d}"), name=f"基准对象{n}",
                                      object_type=ObjectType.ENTERPRISE, risk_class=RiskClass.A)
                db.session.add(obj)
                db.session.flush()
                v = Visit(task_id=task.id, object_id=obj.id, team_id=team.id)
                db.session.add(v)
                db.session.flush()
                visit_ids.append(v.id)
            out.append((user.username, visit_ids, dept.id))
        db.session.commit()
        db.engine.dispose()
    return out


def count_records(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM visit_records")).scalar_one()
    engine.dispose()
    return n


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self.record_ms: list[float] = []
        self.incomplete = 0
        self.records_sent = 0

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def upload_photo(client: httpx.Client, data: bytes, headers: dict, stats: Stats) -> None:
    digest = hashlib.sha256(data).hexdigest()
    for off in range(0, len(data), CHUNK):
        part = data[off:off + CHUNK]
        resp = client.patch(f"/api/photos/{digest}", content=part, headers={
            **headers, "Upload-Offset": str(off), "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream"})
        if resp.status_code != 204:
            stats.error(f"photo {resp.status_code} {resp.text[:120]}")
            return


def inspector(base_url: str, username: str, visit_ids: list[int], dept_id: int, photos: int, base: bytes,
              stats: Stats, start: threading.Barrier) -> None:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        resp = client.post("/api/session", json={"username": username, "password": PASSWORD})
        if resp.status_code != 200:
            stats.error(f"login {resp.status_code}")
            start.wait()
            return
        headers = {"X-CSRFToken": resp.json()["csrf_token"]}
        if client.get("/api/sync/pull").status_code != 200:
            stats.error("pull")
        start.wait()
        for v in visit_ids:
            shas = []
            for p in range(photos):
                data = unique_jpeg(base, f"{username}/{v}/{p}")
                upload_photo(client, data, headers, stats)
                shas.append(hashlib.sha256(data).hexdigest())
            uid = str(uuid.uuid4())
            body = {"department_id": dept_id, "base_version": 0, "photos": shas, "finished": True,
                    "content": {"checkin": {"at": "2026-12-02T09:00:00+08:00", "gps": [35.1, 113.4]},
                                "answers": {str(q): "yes" for q in range(30)}, "notes": "现场检查正常。" * 20}}
            t0 = time.perf_counter()
            resp = client.put(f"/api/visits/{v}/records/{uid}", json=body, headers=headers)
            ms = (time.perf_counter() - t0) * 1000
            with stats.lock:
                stats.records_sent += 1
                stats.record_ms.append(ms)
            if resp.status_code != 201:
                stats.error(f"record {resp.status_code} {resp.text[:120]}")
                continue
            if not resp.json()["complete"]:
                with stats.lock:
                    stats.incomplete += 1
            again = client.put(f"/api/visits/{v}/records/{uid}", json=body, headers=headers)  # lost response
            with stats.lock:
                stats.records_sent += 1
            if again.status_code != 200 or again.json() != resp.json():
                stats.error(f"resend {again.status_code}")


def sink_worker(base_url: str, n_photos: int, base: bytes, stats: Stats, start: threading.Barrier) -> None:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        start.wait()
        for i in range(n_photos):
            data = unique_jpeg(base, f"sink/{i}")
            for off in range(0, len(data), CHUNK):
                resp = client.put("/api/_bench/sink", content=data[off:off + CHUNK])
                if resp.status_code != 200:
                    stats.error(f"sink {resp.status_code}")


def _counted(fn):
    """Count an exception in a simulated phone (e.g. a client timeout) as an error."""
    def run(*args):
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - reported in the figures
            args[-2].error(f"{fn.__name__}: {type(exc).__name__}: {exc}")
            start = args[-1]
            if not start.broken and start.n_waiting:
                start.abort()
    return run


def run_threads(targets) -> float:
    start = threading.Barrier(len(targets) + 1)
    threads = [threading.Thread(target=_counted(fn), args=(*args, start)) for fn, args in targets]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def bench(url: str, args, label: str) -> None:
    workdir = tempfile.mkdtemp(prefix="bench-sync-")
    print(f"\n== {label}: seeding {args.inspectors} inspectors × {args.records} visits …", flush=True)
    people = seed(url, args.inspectors, args.records)
    port = _free_port()
    env = {**os.environ, "SPOTCHECK_DATABASE_URL": url, "SPOTCHECK_SECRET_KEY": "bench",
           "SPOTCHECK_SECURE_COOKIES": "0", "SPOTCHECK_LOGIN_RATE_LIMIT": "100000 per minute",
           "SPOTCHECK_SYNC_BENCH_SINK": "1", "SPOTCHECK_PHOTO_DIR": os.path.join(workdir, "photos")}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "-k", "gthread",
         "--threads", str(args.threads), "--timeout", "120", "--log-level", "warning", "server:create_app()"],
        env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base_url + "/api/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        base = base_jpeg(args.photo_kb)
        stats = Stats()
        push_s = run_threads([(inspector, (base_url, u, vids, d, args.photos, base, stats)) for u, vids, d in people])
        photo_bytes = args.inspectors * args.records * args.photos * (len(base) + 40)
        sink_stats = Stats()
        sink_s = run_threads([(sink_worker, (base_url, args.records * args.photos, base, sink_stats))
                              for _ in range(args.inspectors)])
        rows = count_records(url)
        unique_sent = stats.records_sent // 2
        ms = sorted(stats.record_ms)
        p95 = ms[int(0.95 * (len(ms) - 1))] if ms else float("nan")
        print(f"records pushed {unique_sent} (+{stats.records_sent - unique_sent} resends); rows stored {rows}; "
              f"duplicates {rows - unique_sent}; errors {len(stats.errors) + len(sink_stats.errors)}; "
              f"incomplete receipts {stats.incomplete}")
        for e in (stats.errors + sink_stats.errors)[:5]:
            print("  error:", e)
        print(f"record push latency: p50 {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms "
              f"(goal p95 ≤ 500 ms)")
        print(f"push phase {push_s:.1f} s: photos {photo_bytes / 1e6:.0f} MB → {photo_bytes / 1e6 / push_s:.1f} MB/s "
              f"(chunked, hashed, decoded, thumbnailed, with the records)")
        print(f"plain upload sink, same bytes and chunks: {sink_s:.1f} s → {photo_bytes / 1e6 / sink_s:.1f} MB/s; "
              f"sync photo upload at {100 * sink_s / push_s:.0f} % of the sink's throughput")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspectors", type=int, default=100)
    parser.add_argument("--records", type=int, default=10)
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--photo-kb", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", help="PostgreSQL server URL: a fresh database is made next to it")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        tmp = tempfile.mkdtemp(prefix="bench-sync-db-")
        try:
            bench(f"sqlite:///{tmp}/bench.sqlite3", args, "SQLite")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.database_url:
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        server_url = make_url(args.database_url)
        name = f"bench_sync_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            bench(server_url.set(database=name).render_as_string(hide_password=False), args, "PostgreSQL")
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
