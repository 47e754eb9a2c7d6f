"""Benchmark: the field app's sync API under gunicorn, many inspectors pushing at once.

    python -m bench.bench_sync [--inspectors 100] [--records 10] [--photos 3] [--photo-kb 500]
                               [--database-url postgresql+psycopg://…] [--workers 4] [--threads 32]
                               [--clients 4] [--skip-sqlite]

Seeds a fresh database (a SQLite file by default; with ``--database-url`` a fresh PostgreSQL
database created next to the named one and dropped afterwards): one task, one team and
``--records`` visits per inspector. Starts gunicorn (gthread) on 127.0.0.1 with CSRF on, then
the simulated inspectors — ``--clients`` processes, one thread and one keep-alive ``http.client``
connection per inspector, loopback only — log in through ``POST /api/session`` and pull. Then, all
at once and without pauses, each does what the field app's outbox does for every visit: for each
of ``--photos`` unique 2048×1536 JPEGs of about ``--photo-kb`` KB, ``HEAD /api/photos/<sha256>``
and ``PATCH`` it in 256 KiB chunks (the app's chunk size); then ``PUT`` the record referencing them,
and resends it as a phone does after a lost response. Reported:

* errors (any unexpected status or exception), duplicates (record rows beyond one per visit),
  missing (visits without a record), receipts not ``complete``, photos stored and audited;
* record push latency p50/p95/max (goal p95 ≤ 500 ms), and per photo chunk;
* photo upload throughput (photo bytes / wall time of the push phase) against the same server's
  plain upload sink ``PUT /api/_bench/sink`` (test-only, enabled by ``SPOTCHECK_SYNC_BENCH_SINK=1``:
  reads the body into a temporary file, no hashing, no decoding), fed the same bytes in the same
  256 KiB chunks by the same number of connections, in the same run;
* the CPU used in each phase by the server's workers and by the benchmark's own clients (they
  share the machine), the machine's busy share and load average.

A request that fails on a reused keep-alive connection before any response byte arrived is sent
again once on a new connection, as browsers do; such retries are counted and reported.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from http.cookies import SimpleCookie

from PIL import Image

PASSWORD = "bench password 123"
CHUNK = 256 * 1024  # pwa/src/outbox.js CHUNK_BYTES


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_jpeg(kb: int) -> bytes:
    """A 2048×1536 JPEG (what the phone makes: ≤ 2048 px on the long side) of about ``kb`` KB:
    smooth coloured noise with some grain, the JPEG quality picked to come closest to ``kb``."""
    rnd = random.Random(7)
    w, h = 2048, 1536
    coarse = Image.frombytes("RGB", (128, 96), rnd.randbytes(128 * 96 * 3)).resize((w, h), Image.BICUBIC)
    grain = Image.frombytes("L", (w, h), rnd.randbytes(w * h)).convert("RGB")
    img = Image.blend(coarse, grain, 0.04)
    best = b""
    lo, hi = 20, 95
    while lo <= hi:
        q = (lo + hi) // 2
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q)
        data = buf.getvalue()
        if not best or abs(len(data) - kb * 1024) < abs(len(best) - kb * 1024):
            best = data
        if len(data) < kb * 1024:
            lo = q + 1
        else:
            hi = q - 1
    return best


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


def check_store(url: str, inspectors: int, records: int, photos: int) -> dict[str, int]:
    """Count what the database holds after the push phase."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    q = {
        "rows": "SELECT count(*) FROM visit_records",
        "visits_with_record": "SELECT count(DISTINCT visit_id) FROM visit_records",
        "photos": "SELECT count(*) FROM photos",
        "record_audits": "SELECT count(*) FROM audit_entries WHERE action = 'visit_record.store'",
        "photo_audits": "SELECT count(*) FROM audit_entries WHERE action = 'photo.store'",
        "uploads_left": "SELECT count(*) FROM photo_uploads",
    }
    with engine.connect() as conn:
        out = {k: conn.execute(sa.text(v)).scalar_one() for k, v in q.items()}
    engine.dispose()
    out["duplicates"] = out["rows"] - out["visits_with_record"]
    out["missing"] = inspectors * records - out["visits_with_record"]
    out["photos_missing"] = inspectors * records * photos - out["photos"]
    return out


def verify_audit_chain(url: str) -> str:
    from server import create_app
    from server.audit.services import verify_chain
    from server.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        result = verify_chain()
        db.engine.dispose()
    return f"ok, {result.checked} entries" if result.ok else f"BROKEN at #{result.bad_seq}: {result.reason}"


# -- the simulated phones --------------------------------------------------------------------------


class Phone:
    """One inspector's keep-alive HTTP connection with its cookies (``http.client``: lean, so the
    benchmark's own CPU use stays small next to the server's on the same cores)."""

    def __init__(self, port: int, local: dict):
        self.port, self.local = port, local
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}
        self.used = False

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt or not self.used:
                    raise
                self.local["retries"] += 1  # the server closed an idle keep-alive connection: resend once
        self.used = True
        for raw in resp.headers.get_all("Set-Cookie") or []:
            for k, morsel in SimpleCookie(raw).items():
                self.cookies[k] = morsel.value
        return resp.status, resp.headers, data

    def json(self, method: str, path: str, payload, headers: dict | None = None):
        return self.call(method, path, json.dumps(payload).encode(),
                         {**(headers or {}), "Content-Type": "application/json"})

    def close(self) -> None:
        self.conn.close()


def _upload_photo(phone: Phone, data: bytes, digest: str, headers: dict, local: dict) -> bool:
    """HEAD for the offset, then PATCH the rest in chunks, as pwa/src/outbox.js does."""
    t0 = time.perf_counter()
    status, resp_headers, _ = phone.call("HEAD", f"/api/photos/{digest}", headers=headers)
    local["head_ms"].append((time.perf_counter() - t0) * 1000)
    if status == 200 and resp_headers.get("Upload-Complete") == "1":
        return True
    if status not in (200, 404):
        local["errors"].append(f"head {status}")
        return False
    off = int(resp_headers.get("Upload-Offset") or 0) if status == 200 else 0
    for _ in range(4 * (len(data) // CHUNK + 2)):  # bounded
        if off >= len(data):
            return True
        part = data[off:off + CHUNK]
        t0 = time.perf_counter()
        status, resp_headers, body = phone.call("PATCH", f"/api/photos/{digest}", part, {
            **headers, "Upload-Offset": str(off), "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream"})
        local["chunk_ms"].append((time.perf_counter() - t0) * 1000)
        if status == 204:
            off = int(resp_headers["Upload-Offset"])
        elif status == 409 and json.loads(body)["error"]["code"] == "offset_mismatch":
            local["resumes"] += 1  # e.g. a resent chunk the server had already taken: resume there
            off = int(json.loads(body)["error"]["details"]["offset"])
        else:
            local["errors"].append(f"photo {status} {body[:120]!r}")
            return False
    local["errors"].append("photo: no progress")
    return False


# Logins (before the clock starts) two at a time per client process: 100 Argon2 verifications
# (64 MiB each) at once, each holding a database connection, exhaust the pools; phones do not all
# log in in the same second, and a session lasts 14 days.
LOGINS = threading.Semaphore(2)


def _inspector(port: int, username: str, visit_ids: list[int], dept_id: int, photos: int, base: bytes,
               local: dict, ready: threading.Barrier, go) -> None:
    phone = Phone(port, local)
    started = False
    try:
        with LOGINS:
            status, _, body = phone.json("POST", "/api/session", {"username": username, "password": PASSWORD})
        if status != 200:
            local["errors"].append(f"login {status}")
            return
        headers = {"X-CSRFToken": json.loads(body)["csrf_token"]}
        if phone.call("GET", "/api/sync/pull")[0] != 200:
            local["errors"].append("pull")
        plan = []  # tags and hashes made before the clock starts
        for v in visit_ids:
            tags = [f"{username}/{v}/{p}" for p in range(photos)]
            plan.append((v, [(t, hashlib.sha256(unique_jpeg(base, t)).hexdigest()) for t in tags]))
        started = True
        ready.wait()
        go.wait()
        for v, shots in plan:
            for tag, digest in shots:
                if not _upload_photo(phone, unique_jpeg(base, tag), digest, headers, local):
                    break
            uid = str(uuid.uuid4())
            body = {"department_id": dept_id, "base_version": 0, "photos": [d for _t, d in shots],
                    "finished": True, "device_id": f"bench-{username}", "saved_at": "2026-12-02T10:00:00+08:00",
                    "content": {"checkin": {"at": "2026-12-02T09:00:00+08:00", "gps": [35.1, 113.4]},
                                "answers": {str(q): "yes" for q in range(30)}, "notes": "现场检查正常。" * 20}}
            t0 = time.perf_counter()
            status, _, first = phone.json("PUT", f"/api/visits/{v}/records/{uid}", body, headers)
            local["record_ms"].append((time.perf_counter() - t0) * 1000)
            local["records_sent"] += 1
            if status != 201:
                local["errors"].append(f"record {status} {first[:120]!r}")
                continue
            if not json.loads(first)["complete"]:
                local["incomplete"] += 1
            status, _, again = phone.json("PUT", f"/api/visits/{v}/records/{uid}", body, headers)  # lost response
            local["resends"] += 1
            if status != 200 or json.loads(again) != json.loads(first):
                local["errors"].append(f"resend {status}")
    except Exception as exc:  # noqa: BLE001 - counted in the figures
        local["errors"].append(f"{type(exc).__name__}: {exc}")
    finally:
        phone.close()
        if not started:
            ready.wait()


def _sinker(port: int, n_photos: int, base: bytes, local: dict, ready: threading.Barrier, go) -> None:
    phone = Phone(port, local)
    try:
        ready.wait()
        go.wait()
        for i in range(n_photos):
            data = unique_jpeg(base, f"sink/{i}")
            for off in range(0, len(data), CHUNK):
                status, _, _ = phone.call("PUT", "/api/_bench/sink", data[off:off + CHUNK],
                                          {"Content-Type": "application/octet-stream"})
                if status != 200:
                    local["errors"].append(f"sink {status}")
    except Exception as exc:  # noqa: BLE001 - counted in the figures
        local["errors"].append(f"sink {type(exc).__name__}: {exc}")
    finally:
        phone.close()


def _new_local() -> dict:
    return {"errors": [], "record_ms": [], "chunk_ms": [], "head_ms": [], "records_sent": 0, "resends": 0,
            "incomplete": 0, "retries": 0, "resumes": 0}


def _client_process(kind: str, port: int, jobs: list, photos: int, base: bytes, ready_q, go, out_q) -> None:
    """One client process: a thread per simulated phone; reports its figures and its own CPU."""
    local = _new_local()
    lock = threading.Lock()
    per_thread = [_new_local() for _ in jobs]
    ready = threading.Barrier(len(jobs) + 1)
    if kind == "push":
        threads = [threading.Thread(target=_inspector, args=(port, u, vids, d, photos, base, loc, ready, go))
                   for (u, vids, d), loc in zip(jobs, per_thread, strict=True)]
    else:
        threads = [threading.Thread(target=_sinker, args=(port, n, base, loc, ready, go))
                   for n, loc in zip(jobs, per_thread, strict=True)]
    for t in threads:
        t.start()
    ready.wait()
    ready_q.put(1)
    go.wait()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for t in threads:
        t.join()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    with lock:
        for loc in per_thread:
            for k, v in loc.items():
                local[k] = local[k] + v
    local["cpu_s"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    out_q.put(local)


def _proc_cpu(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / tick


def _machine_busy() -> tuple[float, float]:
    with open("/proc/stat") as fh:
        vals = [int(x) for x in fh.readline().split()[1:]]
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


def _worker_pids(master: int) -> list[int]:
    try:
        with open(f"/proc/{master}/task/{master}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def _postgres_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the benchmark's database (their CPU is the database's)."""
    name = url.rsplit("/", 1)[-1]
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if f" {name} ".encode() in fh.read().replace(b"\0", b" "):
                        out.append(int(pid))
            except OSError:
                pass
    return out


def run_phase(kind: str, port: int, jobs: list, photos: int, base: bytes, clients: int, master: int,
              url: str) -> dict:
    """Run one phase in ``clients`` processes; return the merged figures, wall time and CPU."""
    ctx = mp.get_context("fork")
    ready_q, out_q, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    groups = [jobs[i::clients] for i in range(clients) if jobs[i::clients]]
    procs = [ctx.Process(target=_client_process, args=(kind, port, g, photos, base, ready_q, go, out_q))
             for g in groups]
    for p in procs:
        p.start()
    for _ in procs:
        ready_q.get(timeout=600)
    workers = _worker_pids(master)
    pg = _postgres_pids(url) if url.startswith("postgresql") else []
    cpu0, db0, (busy0, all0) = _proc_cpu(workers), _proc_cpu(pg), _machine_busy()
    t0 = time.perf_counter()
    go.set()
    results = [out_q.get(timeout=3600) for _ in procs]
    wall = time.perf_counter() - t0
    cpu1, db1, (busy1, all1) = _proc_cpu(workers), _proc_cpu(pg), _machine_busy()
    for p in procs:
        p.join(timeout=60)
    merged = _new_local()
    merged["cpu_s"] = 0.0
    for r in results:
        for k, v in r.items():
            merged[k] = merged[k] + v
    merged.update(wall=wall, server_cpu_s=cpu1 - cpu0, db_cpu_s=db1 - db0, busy=(busy1 - busy0) / max(1, all1 - all0),
                  load=os.getloadavg()[0])
    return merged


def _pct(values: list[float], q: float) -> float:
    ms = sorted(values)
    return ms[min(len(ms) - 1, int(q * len(ms)))] if ms else float("nan")


def bench(url: str, args, label: str) -> dict:
    workdir = tempfile.mkdtemp(prefix="bench-sync-")
    print(f"\n== {label}: seeding {args.inspectors} inspectors × {args.records} visits …", flush=True)
    people = seed(url, args.inspectors, args.records)
    port = _free_port()
    env = {**os.environ, "SPOTCHECK_DATABASE_URL": url, "SPOTCHECK_SECRET_KEY": "bench",
           "SPOTCHECK_SECURE_COOKIES": "0", "SPOTCHECK_LOGIN_RATE_LIMIT": "100000 per minute",
           "SPOTCHECK_SYNC_BENCH_SINK": "1", "SPOTCHECK_PHOTO_DIR": os.path.join(workdir, "photos")}
    # --preload: the workers fork from a loaded app, so all of them are ready when the phones
    # connect (without it, the first worker up accepted all 100 keep-alive connections while the
    # others were still importing, and served the whole run alone).
    # --keep-alive: gunicorn's default (2 s) closes connections of phones that pause between requests;
    # behind the production proxy that holds the connections, the proxy's longer timeout applies.
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "-k", "gthread",
         "--threads", str(args.threads), "--preload", "--keep-alive", "30", "--timeout", "120", "--log-level", "warning",
         "server:create_app()"],
        env=env, start_new_session=True)
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/api/openapi.json")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        base = base_jpeg(args.photo_kb)
        uptime = os.getloadavg()
        push = run_phase("push", port, people, args.photos, base, args.clients, server.pid, url)
        n_photos = args.inspectors * args.records * args.photos
        photo_bytes = n_photos * (len(base) + 40)
        sink = run_phase("sink", port, [args.records * args.photos] * args.inspectors, 0, base, args.clients,
                         server.pid, url)
        store = check_store(url, args.inspectors, args.records, args.photos)
        chain = verify_audit_chain(url)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    errors = push["errors"] + sink["errors"]
    ms = push["record_ms"]
    fig = {
        "label": label, "errors": len(errors), "duplicates": store["duplicates"], "missing": store["missing"],
        "incomplete": push["incomplete"], "p50": _pct(ms, 0.5), "p95": _pct(ms, 0.95), "max": max(ms or [0]),
        "mbps": photo_bytes / 1e6 / push["wall"], "sink_mbps": photo_bytes / 1e6 / sink["wall"],
    }
    print(f"load average before the run {uptime[0]:.2f} {uptime[1]:.2f} {uptime[2]:.2f}; "
          f"gunicorn {args.workers} workers × {args.threads} threads; {args.clients} client processes")
    print(f"records pushed {push['records_sent']} (+{push['resends']} resends); rows stored {store['rows']}; "
          f"duplicates {store['duplicates']}; missing {store['missing']}; errors {len(errors)}; "
          f"incomplete receipts {push['incomplete']}; keep-alive retries {push['retries'] + sink['retries']}; "
          f"chunk resumes {push['resumes']}")
    print(f"photos stored {store['photos']} of {n_photos} (missing {store['photos_missing']}); uploads left "
          f"{store['uploads_left']}; audited: {store['record_audits']} record stores, {store['photo_audits']} "
          f"photo stores; audit chain {chain}")
    for e in errors[:5]:
        print("  error:", e)
    print(f"record push latency: p50 {fig['p50']:.0f} ms, p95 {fig['p95']:.0f} ms, max {fig['max']:.0f} ms "
          f"(goal p95 ≤ 500 ms); photo chunk PATCH p50 {_pct(push['chunk_ms'], 0.5):.0f} ms, "
          f"p95 {_pct(push['chunk_ms'], 0.95):.0f} ms; HEAD p50 {_pct(push['head_ms'], 0.5):.0f} ms")
    print(f"push phase {push['wall']:.1f} s: photos {photo_bytes / 1e6:.0f} MB ({len(base) // 1024} KB each) → "
          f"{fig['mbps']:.1f} MB/s (HEAD + chunks, hashed, decoded, thumbnailed, with the records)")
    print(f"plain upload sink, same bytes and chunks: {sink['wall']:.1f} s → {fig['sink_mbps']:.1f} MB/s; "
          f"sync photo upload at {100 * sink['wall'] / push['wall']:.0f} % of the sink's throughput")
    for name, ph in (("push", push), ("sink", sink)):
        print(f"CPU in the {name} phase ({ph['wall']:.1f} s wall, 2 cores = {2 * ph['wall']:.0f} CPU-s): server workers "
              f"{ph['server_cpu_s']:.1f} s, PostgreSQL backends open at the start {ph['db_cpu_s']:.1f} s, benchmark clients {ph['cpu_s']:.1f} s; machine busy {100 * ph['busy']:.0f} %, "
              f"load average {ph['load']:.2f}")
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspectors", type=int, default=100)
    parser.add_argument("--records", type=int, default=10)
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--photo-kb", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    # threads ≥ the connections a worker holds (100 phones / 4 workers): a request must not wait for
    # a thread behind photo chunks; the app bounds the photo work itself (SYNC_PHOTO_CONCURRENCY)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--clients", type=int, default=4, help="client processes (the phones are split among them)")
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
