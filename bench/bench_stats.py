"""Benchmark: the statistics page for a year with 100,000 visits (goal: ≤ 1 s) and its XLSX export.

    python -m bench.bench_stats [--visits 100000] [--tasks 200] [--departments 20] [--follow-ups 5000]
                                [--runs 7] [--database-url postgresql+psycopg://…] [--skip-sqlite]

Fills a fresh SQLite database (in a temporary folder) — and, given ``--database-url``, a fresh
PostgreSQL database created next to the one named in the URL and dropped afterwards — with the full
schema and, by bulk inserts, one year (2026) of: ``--departments`` departments; ``--tasks`` submitted
tasks (each led by one department, 80 % of them joint with one or two others, average two departments
per task), each with a final objects draw by risk class (candidates per class, the drawn objects);
``--visits`` visits spread over the tasks and their stages (5 % planned, 10 % scheduled, 10 % visited,
15 % consolidated, 2 % returned, 53 % reviewed, 5 % published), one item per department and visit;
for every consolidated-or-later visit one section result per department (about 150,000: accepted,
some late, some pending and overdue, one to three result codes each) with its record and
consolidation rows; ``--follow-ups`` follow-ups in every status.

Then times, through the Flask test client (the whole request: filters, queries, template), the median
of ``--runs`` runs after one warm-up: ``GET /stats?year=2026`` as the joint office (all departments),
``GET /stats?year=2026&department=…`` as a department administrator (per-task table and risk
classes), and ``GET /stats.xlsx?year=2026`` as the joint office.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal

PASSWORD = "bench password 123"
YEAR = 2026
STAGE_SHARES = (("planned", 5), ("scheduled", 10), ("visited", 10), ("consolidated", 15), ("returned", 2),
                ("reviewed", 53), ("published", 5))
CODES = ("no_problem", "not_disclosed", "false_disclosure", "unreachable", "rectified", "uncooperative",
         "no_activity", "pending_followup", "qualified", "unqualified")


def _insert(conn, table, rows: list[dict], chunk: int = 20_000) -> None:
    for i in range(0, len(rows), chunk):
        conn.execute(table.insert(), rows[i:i + chunk])


def fill(app, *, visits: int, tasks: int, departments: int, follow_ups: int) -> dict:
    """Bulk-insert the data set; return the ids the timing needs."""
    from server.auth.roles import Role
    from server.auth.services import create_user
    from server.catalog.models import CheckItem, CheckItemKey, ListEdition, Status
    from server.draws.models import Draw, DrawCandidates, DrawKind, DrawSelection, DrawStatus
    from server.extensions import db
    from server.fieldwork.models import RecordStatus, VisitRecord
    from server.followup.models import FollowUp, FollowUpKind, FollowUpStatus
    from server.org.models import Department, Kind, Level
    from server.planning.models import Acceptance, Task, TaskDepartment, TaskStatus
    from server.registry import codes
    from server.registry.models import InspectedObject, ObjectType, RiskClass
    from server.review.models import Consolidation, ResultStatus, SectionResult
    from server.teams.models import Team
    from server.visits.models import Visit, VisitItem, VisitStage, VisitStatus

    rnd = random.Random(2026)
    today = date.today()
    depts = [Department(id=i + 1, code=f"B{i + 1:03d}", name=f"武陟县第{i + 1}局", level=Level.COUNTY,
                        kind=Kind.DEPARTMENT) for i in range(departments)]
    db.session.add_all(depts)
    db.session.flush()
    joint = create_user(username="joint", display_name="联合办", password=PASSWORD, roles=[Role.JOINT_OFFICE])
    create_user(username="dadmin", display_name="部门管理员", password=PASSWORD, roles=[Role.DEPT_ADMIN],
                department_id=1)
    edition = ListEdition(number=1, title="清单", issuer_id=1, status=Status.DRAFT)
    key = CheckItemKey(code="K001")
    item = CheckItem(edition=edition, key=key, seq=1, domain="食品", name="食品经营", content="内容",
                     legal_basis="依据", object_scope="企业", object_type=ObjectType.ENTERPRISE,
                     initiating_department_id=1, methods=["onsite"], default_ratio=Decimal("0.05"),
                     frequency="每年1次")
    db.session.add(item)
    db.session.flush()
    uid, item_id = joint.id, item.id
    db.session.commit()

    per_task = -(-visits // tasks)
    n_objects = max(per_task * 4, 20_000)
    conn = db.session.connection()
    classes = ["A"] * 40 + ["B"] * 30 + ["C"] * 20 + ["D"] * 10
    _insert(conn, InspectedObject.__table__, [
        {"id": i, "version": 1, "code": codes.make_valid(f"91410823MA{i:07d}"), "name": f"武陟县测试{i}有限公司",
         "object_type": ObjectType.ENTERPRISE, "region_county": "武陟县", "risk_class": RiskClass(classes[i % 100])}
        for i in range(1, n_objects + 1)])
    task_rows, td_rows, team_rows, task_depts = [], [], [], {}
    for t in range(1, tasks + 1):
        lead = (t - 1) % departments + 1
        r = rnd.random()
        n = 1 if r < 0.2 else (2 if r < 0.8 else 3)
        others = rnd.sample([d for d in range(1, departments + 1) if d != lead], n - 1)
        start = date(YEAR, 1, 1) + timedelta(days=rnd.randrange(0, 300))
        task_rows.append({"id": t, "version": 1, "code": f"WZ-{YEAR}-{t:04d}", "name": f"联合抽查任务{t}",
                          "initiating_department_id": lead, "status": TaskStatus.VISITS_OVER if t % 3 else
                          TaskStatus.INSPECTORS_DRAWN, "period_start": start, "period_end": start + timedelta(days=60),
                          "teams_count": 1, "unannounced": False, "scope": {}, "candidate_source": "registry",
                          "strata": [{"name": c, "ratio": "0.1"} for c in "ABCD"], "adhoc_reason": "基准测试"})
        task_depts[t] = [lead, *others]
        for d in task_depts[t]:
            td_rows.append({"task_id": t, "department_id": d, "is_initiator": d == lead,
                            "acceptance": Acceptance.ACCEPTED, "members_per_team": 1, "required_expertise": [],
                            "unit_ids": []})
        team_rows.append({"id": t, "task_id": t, "number": 0})
    _insert(conn, Task.__table__, task_rows)
    _insert(conn, TaskDepartment.__table__, td_rows)
    _insert(conn, Team.__table__, team_rows)

    stages = [s for s, w in STAGE_SHARES for _ in range(w)]
    visit_rows, item_rows, record_rows, cons_rows, sr_rows = [], [], [], [], []
    draw_rows, cand_rows, sel_rows = [], [], []
    vid = rid = 0
    for t in range(1, tasks + 1):
        objs = rnd.sample(range(1, n_objects + 1), per_task)
        start = task_rows[t - 1]["period_start"]
        by_class: dict[str, list[int]] = {}
        for pos, o in enumerate(objs):
            by_class.setdefault(classes[o % 100], []).append(o)
            sel_rows.append({"draw_id": t, "task_id": t, "object_id": o, "stratum": classes[o % 100],
                             "position": pos + 1})
        draw_rows.append({"id": t, "task_id": t, "kind": DrawKind.OBJECTS, "status": DrawStatus.FINAL,
                          "nonce": "0" * 64, "nonce_commitment": "1" * 64, "witnesses": []})
        cand_rows.append({"draw_id": t, "strata": json.dumps([
            {"name": c, "ratio": "0.1", "ids": [f"X{t}{c}{i}" for i in range(len(by_class.get(c, [])) * 9)]}
            for c in "ABCD"])})
        for o in objs:
            if vid >= visits:
                break
            vid += 1
            stage = rnd.choice(stages)
            visited_on = due = None
            if stage not in ("planned", "scheduled"):
                visited_on = min(start + timedelta(days=rnd.randrange(0, 60)), today)
                due = visited_on + timedelta(days=28)
            visit_rows.append({"id": vid, "task_id": t, "object_id": o, "team_id": t,
                               "status": VisitStatus.DONE if visited_on else VisitStatus.PLANNED,
                               "stage": VisitStage(stage), "visited_on": visited_on, "result_due": due,
                               "scheduled_on": visited_on or (start + timedelta(days=5) if stage == "scheduled" else None),
                               "result_due_provisional": False})
            for d in task_depts[t]:
                item_rows.append({"visit_id": vid, "department_id": d, "check_item_id": item_id})
            if stage in ("consolidated", "returned", "reviewed", "published"):
                cons_rows.append({"id": vid, "visit_id": vid, "round": 1, "record_ids": {},
                                  "consolidated_by_id": uid})
                for d in task_depts[t]:
                    rid += 1
                    record_rows.append({"id": rid, "uuid": str(uuid.UUID(int=rid)), "visit_id": vid,
                                        "department_id": d, "base_version": 0, "version": 1, "server_version": 0,
                                        "status": RecordStatus.STORED, "content": {}, "content_sha256": "0" * 64,
                                        "request_sha256": "0" * 64, "photos": [], "finished": True, "late": False,
                                        "created_by_id": uid})
                    accepted = stage in ("reviewed", "published") or rnd.random() < 0.5
                    status = (ResultStatus.PUBLISHED if stage == "published" else ResultStatus.ACCEPTED) if accepted \
                        else (ResultStatus.RETURNED if stage == "returned" else ResultStatus.PENDING)
                    late = accepted and rnd.random() < 0.1
                    result_codes = rnd.sample(CODES, rnd.choice((1, 1, 1, 2, 3)))
                    problem = any(c not in ("no_problem", "qualified", "no_activity", "unreachable")
                                  for c in result_codes)
                    sr_rows.append({"id": rid, "visit_id": vid, "department_id": d, "task_id": t, "object_id": o,
                                    "consolidation_id": vid, "record_id": rid, "status": status,
                                    "result_codes": result_codes, "problem": problem, "visited_on": visited_on,
                                    "result_due": due, "result_due_provisional": False,
                                    "entered_on": (due + timedelta(days=3) if late else due - timedelta(days=5))
                                    if accepted else None, "entered_late": late,
                                    "referral_due": due + timedelta(days=9) if accepted and problem else None,
                                    "referral_due_provisional": False})
    _insert(conn, Visit.__table__, visit_rows)
    _insert(conn, VisitItem.__table__, item_rows)
    _insert(conn, Draw.__table__, draw_rows)
    _insert(conn, DrawCandidates.__table__, cand_rows)
    _insert(conn, DrawSelection.__table__, sel_rows)
    _insert(conn, Consolidation.__table__, cons_rows)
    _insert(conn, VisitRecord.__table__, record_rows)
    _insert(conn, SectionResult.__table__, sr_rows)
    problems = [r for r in sr_rows if r["referral_due"]]
    fu_rows = []
    for i, sr in enumerate(rnd.sample(problems, min(follow_ups, len(problems)))):
        fu_rows.append({"section_result_id": sr["id"], "visit_id": sr["visit_id"], "task_id": sr["task_id"],
                        "object_id": sr["object_id"], "department_id": sr["department_id"],
                        "kind": FollowUpKind.REFERRAL if i % 2 else FollowUpKind.TRANSFER, "target_name": "某局",
                        "matter": "移送", "due_on": sr["referral_due"], "due_provisional": False,
                        "status": (FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS, FollowUpStatus.CLOSED)[i % 3],
                        "created_by_id": uid})
    _insert(conn, FollowUp.__table__, fu_rows)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.connect() as c:
            c.exec_driver_sql("ANALYZE")
    return {"visits": len(visit_rows), "results": len(sr_rows), "follow_ups": len(fu_rows), "tasks": tasks,
            "departments": departments, "items": len(item_rows)}


def _time(client, url: str, runs: int) -> tuple[float, list[float], float, int]:
    """Median wall time, the wall times, and the median CPU time of this process (with SQLite the
    database work is in-process, so on a busy machine the CPU time is the better guide)."""
    resp = client.get(url)  # warm-up (as a running server would be)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:500])
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        resp = client.get(url)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert resp.status_code == 200
    return statistics.median(times), times, statistics.median(cpu), len(resp.data)


def run(url: str, label: str, args) -> None:
    from server import create_app
    from server.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False,
                      "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
        t0 = time.perf_counter()
        from server.visits.models import Visit

        if db.session.query(Visit).count():  # a kept database (--keep) is reused as is
            sizes = {"visits": db.session.query(Visit).count(), "results": 0, "follow_ups": 0, "items": 0,
                     "tasks": args.tasks, "departments": args.departments}
        else:
            sizes = fill(app, visits=args.visits, tasks=args.tasks, departments=args.departments,
                         follow_ups=args.follow_ups)
        fill_s = time.perf_counter() - t0
        db.session.remove()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{label}: {sizes['visits']:,} visits, {sizes['results']:,} section results, {sizes['follow_ups']:,} "
          f"follow-ups, {sizes['items']:,} visit items, {sizes['tasks']} tasks, {sizes['departments']} departments; "
          f"filled in {fill_s:.1f} s; load average {load}")
    pages = [("joint", f"/stats?year={YEAR}", "page, joint office (all departments)"),
             ("dadmin", f"/stats?year={YEAR}&department=1", "page, department admin (tasks + risk classes)"),
             ("joint", f"/stats.xlsx?year={YEAR}", "XLSX export, joint office")]
    for user, path, what in pages:
        client = app.test_client()
        resp = client.post("/login", data={"username": user, "password": PASSWORD})
        assert resp.status_code in (302, 303), resp.status_code
        med, times, cpu, size = _time(client, path, args.runs)
        print(f"  {what:<48} median {med * 1000:6.0f} ms, CPU {cpu * 1000:6.0f} ms  "
              f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)}; {size / 1024:.0f} KB; "
              f"load {os.getloadavg()[0]:.1f})")
    sys.stdout.flush()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--departments", type=int, default=20)
    parser.add_argument("--follow-ups", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", help="PostgreSQL server URL; a private database is created and dropped")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", metavar="PATH", help="SQLite only: keep the filled database in PATH and reuse it")
    args = parser.parse_args(argv)
    print(f"bench_stats on {os.cpu_count()} CPU(s): {_cpu_model()}")
    if args.keep:
        run(f"sqlite:///{os.path.abspath(args.keep)}", "SQLite (kept)", args)
    elif not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
            run(f"sqlite:///{os.path.join(tmp, 'bench.sqlite3')}", "SQLite", args)
    if args.database_url:
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        server_url = make_url(args.database_url)
        name = f"bench_stats_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            run(server_url.set(database=name).render_as_string(hide_password=False), "PostgreSQL", args)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
