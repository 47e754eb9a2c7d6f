"""Run every benchmark in turn at the sizes the issues set, on SQLite and PostgreSQL.

``make bench`` (or ``python -m bench.run_all [--pg URL]``). Run it on an otherwise idle machine:
the figures are wall-clock times. Results go to stdout; docs/benchmarks.md records them with the
machine they came from.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URL (a private database is used)")
    parser.add_argument("--only", nargs="*", help="run only these: import search draw sync pwa stats record_pdf")
    args = parser.parse_args()
    runs = {
        "import": ["bench.bench_import", "--rows", "1000000"],
        "search": ["bench.bench_search", "--rows", "1000000", "--database-url", args.pg],
        "draw": ["bench.bench_draw", "--rows", "1000000", "--database-url", args.pg],
        "sync": ["bench.bench_sync", "--database-url", args.pg],
        "pwa": ["bench.bench_pwa"],
        "stats": ["bench.bench_stats", "--visits", "100000", "--database-url", args.pg],
        "record_pdf": ["bench.bench_record_pdf", "--database-url", args.pg],
    }
    failed = []
    for name, argv in runs.items():
        if args.only and name not in args.only:
            continue
        print(f"\n=== {name}: python -m {' '.join(argv)}", flush=True)
        result = subprocess.run([sys.executable, "-m", *argv], env=os.environ.copy(), check=False)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print("\nfailed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
