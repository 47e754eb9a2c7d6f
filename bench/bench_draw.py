"""Benchmark: the objects draw over 1,000,000 candidates and the inspectors draw.

    python -m bench.bench_draw [--rows 1000000] [--database-url postgresql+psycopg://…] [--skip-sqlite]

Goals (issue 3): the objects draw over 1,000,000 candidates in 4 strata (A/B/C/D) with the
exclusions computed — ≤ 5 s, and ≤ 3× the time the same database takes just to read the
candidates' (stratum, code) pairs, measured in the same run; the inspectors draw with 5,000
inspectors and 200 teams — ≤ 1 s.

Fills a fresh SQLite file (and, given ``--database-url``, a fresh PostgreSQL database created next
to the one named in the URL, dropped afterwards) with N synthetic objects (``bench_search``'s
generator: risk mix A 50 %, B 35 %, C 12 %, D 3 %), two earlier joint checks of the same 30,000
objects this year (so the non-exempt ones are capped) and a check of 10,000 objects by the city
bureau (a higher-level department). Times, through the real services:

* ``read``: ``SELECT risk_class, code … WHERE registration_status = 'active'``, fetched (median of 3);
* ``commit``: candidates and exclusions computed, the candidates fixed into the draw, nonce stored;
* ``draw``: the record computed (digest, seed, selection) and stored, the locked list written;
* ``inspectors``: pools, commitment and the draw for 200 teams × (2 + 2) members from 5,000
  inspectors, with teams, members, visits and visit items written.
Each step ends with a COMMIT, as a request would. Each is reported as wall time and as this
process's CPU time (on a shared, loaded machine the CPU time is the steadier figure; on PostgreSQL
it leaves out the server's share). Both records are then composed and verified (not timed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date

from bench.bench_search import _fill

WITNESSES = {"operator": "王丽", "technical": "赵强", "supervisor": "刘洋"}


def _departments():
    from server.extensions import db
    from server.org.models import Department, Level

    city = Department(code="B-CITY", name="焦作市市场监督管理局", level=Level.CITY)
    samr = Department(code="B-SCJG", name="武陟县市场监督管理局", level=Level.COUNTY, parent=city)
    commerce = Department(code="B-SWJ", name="武陟县商务局", level=Level.COUNTY)
    db.session.add_all([city, samr, commerce])
    db.session.commit()
    return city, samr, commerce


def _task(code, initiator, others, *, strata, scope=None, teams=1, members=1, status=None):
    from server.extensions import db
    from server.planning.models import Acceptance, Task, TaskDepartment, TaskStatus

    task = Task(code=code, name=code, initiating_department_id=initiator.id, status=status or TaskStatus.ACCEPTED,
                period_start=date(2026, 6, 1), period_end=date(2026, 6, 30), teams_count=teams,
                strata=strata, scope=scope or {"statuses": ["active"]}, adhoc_reason="bench")
    for d in [initiator, *others]:
        task.departments.append(TaskDepartment(department_id=d.id, is_initiator=d is initiator,
                                               acceptance=Acceptance.ACCEPTED, members_per_team=members))
    db.session.add(task)
    db.session.commit()
    return task


def _past_check(task, object_ids):
    """A final objects draw of ``task`` selecting ``object_ids`` (inserted in bulk)."""
    from sqlalchemy import insert

    from server.draws import spec
    from server.draws.models import Draw, DrawKind, DrawSelection, DrawStatus
    from server.extensions import db
    from server.planning.models import TaskStatus

    nonce = spec.new_nonce()
    draw = Draw(task_id=task.id, kind=DrawKind.OBJECTS, status=DrawStatus.FINAL, nonce=nonce,
                nonce_commitment=spec.nonce_commitment(nonce), record="{}")
    db.session.add(draw)
    db.session.flush()
    db.session.execute(insert(DrawSelection.__table__), [
        {"draw_id": draw.id, "task_id": task.id, "object_id": oid, "stratum": "ALL", "position": k}
        for k, oid in enumerate(object_ids)])
    task.status = TaskStatus.OBJECTS_DRAWN
    db.session.commit()


def _inspectors(departments, per_department: int):
    from sqlalchemy import insert, select

    from server.extensions import db
    from server.registry.models import Inspector, InspectorExpertise

    rows, serial = [], 0
    for dept in departments:
        for _ in range(per_department):
            serial += 1
            rows.append({"version": 1, "department_id": dept.id, "name": f"检查员{serial}",
                         "certificate_no": f"豫B{serial:07d}", "status": "on_duty",
                         "qualification_valid_from": date(2020, 1, 1), "qualification_valid_until": date(2030, 12, 31),
                         "is_expert": False})
    db.session.execute(insert(Inspector), rows)
    ids = db.session.execute(select(Inspector.id)).scalars().all()
    db.session.execute(insert(InspectorExpertise.__table__),
                       [{"inspector_id": i, "tag": tag} for i in ids for tag in ("成品油", "商贸流通")])
    db.session.commit()


def _check_items(task, departments):
    from server.catalog import services as catalog
    from server.catalog.models import QuestionType
    from server.extensions import db
    from server.planning.models import TaskCheckItem

    edition = catalog.create_edition(title="bench", issuer_id=departments[0].id)
    item = catalog.create_item(edition, catalog.clean_item_data({
        "domain": "成品油市场监管", "name": "成品油经营资质检查", "content": "是否具备经营条件",
        "legal_basis": "《成品油市场管理办法》", "object_scope": "成品油经营企业", "object_type": "enterprise",
        "initiating_department_id": str(departments[0].id),
        "cooperating_department_ids": [str(departments[1].id)], "methods": ["onsite"],
        "default_ratio": "0.03", "frequency": "每年1次", "times_per_year": "1", "code": "B-001"}))
    for dept in departments:
        template = catalog.create_template(item, dept.id)
        catalog.add_question(template, catalog.QuestionData(
            kind=QuestionType.YES_NO_NA, text="问题", required=True, help_text=None, legal_basis=None,
            options=None, unit=None, min_value=None, max_value=None))
        catalog.publish_template(template)
        db.session.add(TaskCheckItem(task_id=task.id, department_id=dept.id, check_item_id=item.id,
                                     template_id=template.id))
    db.session.commit()


def _read_pairs() -> tuple[float, float, int]:
    """Median (wall, CPU of this process) of 3 plain reads of the (stratum, code) pairs."""
    from sqlalchemy import text

    from server.extensions import db

    times, cpus, n = [], [], 0
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        rows = db.session.execute(text(
            "SELECT risk_class, code FROM inspected_objects WHERE registration_status = 'active'")).all()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        n = len(rows)
        del rows
        db.session.commit()
    return statistics.median(times), statistics.median(cpus), n


def run(url: str, rows: int, label: str) -> dict:
    from sqlalchemy import func, select

    from server import create_app
    from server.audit.services import set_actor
    from server.draws import services, spec
    from server.draws.candidates import registry_state
    from server.extensions import db
    from server.registry.models import InspectedObject

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False})
    out: dict = {"label": label, "rows": rows}
    with app.app_context():
        set_actor(None, "bench")
        db.create_all()
        t0 = time.perf_counter()
        _fill(app, rows)
        city, samr, commerce = _departments()
        n = db.session.execute(select(func.max(InspectedObject.id))).scalar_one()
        capped = list(range(1, n + 1, max(1, n // 30_000)))[:30_000]
        for k in (1, 2):
            _past_check(_task(f"JOINT-{k}", commerce, [samr], strata=[{"name": "ALL", "ratio": "1"}]), capped)
        _past_check(_task("CITY-1", city, [], strata=[{"name": "ALL", "ratio": "1"}]),
                    list(range(n // 2, min(n, n // 2 + 10_000))))
        _inspectors([commerce, samr], 2_500)
        print(f"\n{label}: filled {rows:,} objects and fixtures in {time.perf_counter() - t0:.1f} s")
        sys.stdout.flush()

        strata = [{"name": "A", "ratio": "0.01"}, {"name": "B", "ratio": "0.03"},
                  {"name": "C", "ratio": "0.1"}, {"name": "D", "ratio": "0.2"}]
        task = _task("BENCH-OBJ", commerce, [samr], strata=strata)
        read_s, read_cpu, read_n = _read_pairs()

        t0, c0 = time.perf_counter(), time.process_time()
        draw = services.commit_object_draw(task, registry=registry_state(task))
        db.session.commit()
        t1, c1 = time.perf_counter(), time.process_time()
        draw = services.perform_draw(draw.id, witnesses=services.clean_witnesses(WITNESSES), witness_entropy="3 1 4 1 5")
        db.session.commit()
        t2, c2 = time.perf_counter(), time.process_time()
        read_after, cpu_after, _ = _read_pairs()
        read_s, read_cpu = min(read_s, read_after), min(read_cpu, cpu_after)
        rec = services.draw_record(draw)
        assert spec.verify(rec) == [], "the benchmark's record does not verify"
        out.update(read=read_s, read_cpu=read_cpu, read_rows=read_n, commit=t1 - t0, commit_cpu=c1 - c0,
                   draw=t2 - t1, draw_cpu=c2 - c1, total=t2 - t0, total_cpu=c2 - c0,
                   candidates=sum(len(s["ids"]) for s in rec["strata"]), excluded=len(draw.exclusions or []),
                   selected=sum(len(s["selected"]) for s in rec["strata"]))
        del rec

        # inspectors: a second task over ~1/10 of the registry, all its objects drawn, 200 teams
        itask = _task("BENCH-INS", commerce, [samr], strata=[{"name": "ALL", "ratio": "0.01"}],
                      teams=200, members=2, scope={"statuses": ["active"], "industries": ["食品", "商贸", "建材"]})
        _check_items(itask, [commerce, samr])
        odraw = services.commit_object_draw(itask, registry=registry_state(itask))
        services.perform_draw(odraw.id, witnesses=services.clean_witnesses(WITNESSES), witness_entropy="2")
        db.session.commit()
        itask = services.get_task(itask.id)
        t0, c0 = time.perf_counter(), time.process_time()
        idraw = services.commit_inspector_draw(itask)
        db.session.commit()
        idraw = services.perform_draw(idraw.id, witnesses=services.clean_witnesses(WITNESSES), witness_entropy="6")
        db.session.commit()
        t1, c1 = time.perf_counter(), time.process_time()
        rec = services.draw_record(idraw)
        assert spec.verify(rec) == [], "the benchmark's inspectors record does not verify"
        out.update(inspectors=t1 - t0, inspectors_cpu=c1 - c0,
                   inspector_pool=sum(len(s["ids"]) for s in rec["strata"]), teams=rec["teams"],
                   visits=len(rec["objects"]), load=os.getloadavg())
        _report(out)
        db.session.remove()
        db.engine.dispose()
    return out


def _report(r: dict) -> None:
    ratio = r["total"] / r["read"] if r["read"] else float("inf")
    cpu_ratio = r["total_cpu"] / r["read_cpu"] if r["read_cpu"] else float("inf")
    print(f"{r['label']}: objects draw over {r['candidates']:,} candidates in 4 strata "
          f"({r['excluded']:,} excluded, {r['selected']:,} selected, {r['read_rows']:,} rows read by the baseline)")
    print(f"  {'':28s}{'wall':>8s}  {'CPU (this process)':>18s}")
    print(f"  read (stratum, code) pairs  {r['read']:7.2f} s  {r['read_cpu']:7.2f} s")
    print(f"  commit (candidates+excl.)   {r['commit']:7.2f} s  {r['commit_cpu']:7.2f} s")
    print(f"  draw (record, locked list)  {r['draw']:7.2f} s  {r['draw_cpu']:7.2f} s")
    print(f"  objects draw total          {r['total']:7.2f} s  {r['total_cpu']:7.2f} s   = {ratio:.1f}× the read "
          f"(CPU {cpu_ratio:.1f}×)   [goal ≤ 5 s and ≤ 3×: {'OK' if r['total'] <= 5 and ratio <= 3 else 'MISSED'}]")
    print(f"  inspectors draw             {r['inspectors']:7.2f} s  {r['inspectors_cpu']:7.2f} s   "
          f"({r['inspector_pool']:,} inspectors in the pools, {r['teams']} teams, {r['visits']:,} visits)   "
          f"[goal ≤ 1 s: {'OK' if r['inspectors'] <= 1 else 'MISSED'}]")
    print("  load average at the end: " + " ".join(f"{x:.2f}" for x in r["load"]))
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="PostgreSQL server URL; a private database is created and dropped")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)

    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="bench-draw-") as tmp:
            run(f"sqlite:///{os.path.join(tmp, 'bench.sqlite3')}", args.rows, "SQLite")
    if args.database_url:
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        server_url = make_url(args.database_url)
        name = f"bench_draw_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            run(server_url.set(database=name).render_as_string(hide_password=False), args.rows, "PostgreSQL")
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
