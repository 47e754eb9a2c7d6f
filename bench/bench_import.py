"""Benchmark: import N objects from CSV into a fresh SQLite database.

    python -m bench.bench_import --rows 1000000

1. Generates a CSV of N valid objects (valid GB 32100-2015 codes, realistic columns).
2. Imports it in a subprocess through the same code path as ``flask objects import``
   (:func:`server.registry.cli.run_import` → :func:`server.imports.services.run_job`: validation
   of every row, duplicate check, upsert by code, audit — creations in files above
   ``IMPORT_AUDIT_PER_ROW_LIMIT`` rows one entry per batch); measures the import's wall time, the
   subprocess's CPU time (user + sys, start-up included) and peak RSS
   (``getrusage(RUSAGE_CHILDREN).ru_maxrss``).
3. In another subprocess, a bare ``sqlite3`` ``executemany`` of the same rows (CSV parsed with
   the csv module, no validation, no audit) into a fresh database of the same schema.
4. Prints time, rows/s, peak RSS, the ratios import / bare (wall and CPU) and the load average
   before and after (other processes on the machine stretch wall times; CPU seconds much less).
   Goal: ≤ 60 s and ≤ 600 MB for 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

HEADERS = ["统一社会信用代码", "名称", "类型", "法定代表人", "住所", "区县", "乡镇", "管辖层级", "行业",
           "经营范围", "登记状态", "成立日期", "信用风险分类", "经营异常名录", "严重违法失信", "投诉举报次数",
           "监管部门"]
DEPARTMENT = "武陟县市场监督管理局"


def generate_csv(path: str, rows: int, seed: int = 20240301) -> None:
    """Write ``rows`` valid objects to ``path`` (UTF-8)."""
    from server.registry.codes import make_valid

    rnd = random.Random(seed)
    towns = ["木城街道", "龙源街道", "詹店镇", "西陶镇", "谢旗营镇", "大封镇", "乔庙镇", "三阳乡"]
    industries = ["批发和零售业", "餐饮业", "制造业", "农业", "住宿业", "道路运输业"]
    types = ["企业"] * 5 + ["个体工商户"] * 4 + ["农民专业合作社"]
    risks = ["A"] * 50 + ["B"] * 35 + ["C"] * 12 + ["D"] * 3
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(rows):
            code = make_valid(f"9141{i % 100:02d}23MA{i:07d}")
            w.writerow([
                code, f"武陟县{rnd.choice(industries)[:2]}测试有限公司{i}", rnd.choice(types), f"张{i % 997}",
                f"河南省焦作市武陟县{rnd.choice(towns)}{i % 500}号", "武陟县", rnd.choice(towns), "县区级",
                rnd.choice(industries), "食品销售；日用百货零售", "存续",
                f"{2000 + i % 24}-{1 + i % 12:02d}-{1 + i % 28:02d}", rnd.choice(risks),
                "是" if i % 50 == 0 else "否", "否", str(i % 4 if i % 10 == 0 else 0), DEPARTMENT,
            ])


def _app(db_path: str):
    from server import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": "bench",
        "UPLOAD_DIR": os.path.join(os.path.dirname(db_path), "uploads"), "IMPORT_RUN_INLINE": True,
    })


def child_import(db_path: str, csv_path: str) -> dict:
    """Fresh schema, one department, then the CLI's import; return timings."""
    from server.extensions import db
    from server.org.models import Department, Level
    from server.registry.cli import run_import

    app = _app(db_path)
    with app.app_context():
        db.create_all()
        db.session.add(Department(code="WZ-SCJG", name=DEPARTMENT, level=Level.COUNTY))
        db.session.commit()
        lines: list[str] = []
        t0 = time.perf_counter()
        code = run_import("objects", csv_path, False, echo=lambda msg, err=False: lines.append(msg))
        seconds = time.perf_counter() - t0
        from server.audit.models import AuditEntry
        from server.registry.models import InspectedObject

        n_obj = db.session.execute(db.select(db.func.count(InspectedObject.id))).scalar_one()
        n_audit = db.session.execute(db.select(db.func.count(AuditEntry.id))).scalar_one()
    return {"seconds": seconds, "exit": code, "objects": n_obj, "audit_entries": n_audit, "output": lines}


def child_bare(db_path: str, csv_path: str) -> dict:
    """Fresh schema, then stream the CSV into one ``executemany`` through the sqlite3 module."""
    import sqlite3

    from server.extensions import db
    from server.imports.services import SQLITE_IMPORT_CACHE_KIB as IMPORT_CACHE_KIB

    app = _app(db_path)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    type_map = {"企业": "enterprise", "个体工商户": "individual", "农民专业合作社": "cooperative"}
    now = "2024-03-01 00:00:00.000000"

    def rows():
        with open(csv_path, encoding="utf-8", newline="") as fh:
            r = csv.reader(fh)
            next(r)
            for c in r:
                yield (c[0], "uscc", c[1], type_map[c[2]], c[3], c[4], c[5], c[6], "COUNTY", c[8], c[9],
                       "active", c[11], c[12], c[13] == "是", c[14] == "是", int(c[15]), 1, now, now)

    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")  # the same page cache the import uses
    t0 = time.perf_counter()
    conn.executemany(
        "INSERT INTO inspected_objects (code, code_kind, name, object_type, legal_representative, address, "
        "region_county, region_town, jurisdiction_level, industry, business_scope, registration_status, "
        "registered_on, risk_class, abnormal_list, serious_violation, complaint_count, version, created_at, "
        "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
    conn.commit()
    seconds = time.perf_counter() - t0
    n = conn.execute("SELECT count(*) FROM inspected_objects").fetchone()[0]
    conn.close()
    return {"seconds": seconds, "objects": n}


def _run_child(mode: str, db_path: str, csv_path: str) -> tuple[dict, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu0 = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    out = subprocess.run([sys.executable, "-m", "bench.bench_import", "--child", mode, "--db", db_path,
                          "--csv", csv_path], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"{mode} child failed ({out.returncode})")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss of children is the max over all waited-for children: run the import first
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime - cpu0  # whole child, start-up included
    return result, max(usage.ru_maxrss, before) / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dir", help="work directory (default: a temporary one, removed afterwards)")
    p.add_argument("--child", choices=["import", "bare"], help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--csv", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        result = child_import(args.db, args.csv) if args.child == "import" else child_bare(args.db, args.csv)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        csv_path = os.path.join(work, "objects.csv")
        t0 = time.perf_counter()
        generate_csv(csv_path, args.rows)
        gen = time.perf_counter() - t0
        size_mb = os.path.getsize(csv_path) / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {gen:.1f} s")
        imp, imp_rss = _run_child("import", os.path.join(work, "import.sqlite3"), csv_path)
        bare, _bare_rss = _run_child("bare", os.path.join(work, "bare.sqlite3"), csv_path)
    ok = imp["exit"] == 0 and imp["objects"] == args.rows
    rate = args.rows / imp["seconds"]
    print(f"import (flask objects import path): {imp['seconds']:.1f} s, {rate:,.0f} rows/s, "
          f"peak RSS {imp_rss:.0f} MB, CPU {imp['cpu_seconds']:.1f} s, {imp['objects']:,} objects, "
          f"{imp['audit_entries']:,} audit entries"
          f"{'' if ok else ' — FAILED: ' + ' | '.join(imp['output'])}")
    print(f"bare sqlite3 executemany:           {bare['seconds']:.1f} s, {args.rows / bare['seconds']:,.0f} rows/s, "
          f"CPU {bare['cpu_seconds']:.1f} s")
    print(f"ratio import / bare: {imp['seconds'] / bare['seconds']:.1f}x wall time, "
          f"{imp['cpu_seconds'] / bare['cpu_seconds']:.1f}x CPU time")
    print(f"load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs "
          "(other processes compete for the CPUs: compare CPU seconds too)")
    goal = imp["seconds"] <= 60 and imp_rss <= 600
    print(f"goal (≤ 60 s, ≤ 600 MB at 1,000,000 rows): {'met' if goal else 'NOT met'} at {args.rows:,} rows")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
