"""Benchmark: object search over N rows (goal: p95 ≤ 200 ms at 1,000,000 rows).

    python -m bench.bench_search --rows 1000000 [--database-url postgresql+psycopg://…] [--queries 200]

Fills a fresh SQLite database (in a temporary folder) — and, given ``--database-url``, a fresh
PostgreSQL database created next to the one named in the URL — with N synthetic objects
(realistic Chinese names, valid GB 32100-2015 codes, the full schema and its indexes), then
times :func:`server.registry.services.search_objects` over ~200 queries: name fragments of 2–4
Chinese characters (cut from existing names, and random ones that mostly match nothing — the
worst case, a full scan), full codes and code prefixes. Two timings per query:

* ``page``: the first page of 50 alone (51 rows fetched, to know whether a next page exists);
* ``page+count``: what the list screen does — ``fetch_page(stmt, 1, 50)``: the page and the
  total capped at 10,000 (one pass over the ordered ids of up to 10,001 matches, then the 50 rows).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime

TRADE = ("鑫盛华达丰源隆泰恒昌兴利福瑞祥宏伟嘉德信诚和润泽金银宝晟万通顺安康乐佳美新天元海峰博远创众鼎辉腾旺益"
         "永成正弘辰卓越凯旋豪聚锦绣中国东方南北京津豫焦作武陟温修孟沁济博爱山阳解放马村怀川太行黄河园圣亚威龙凤"
         "麟鹏翔飞云星月光明春秋冬夏雨露青松柏竹梅兰菊荷桃李杏梨枣栗")
INDUSTRIES = ["食品", "商贸", "建材", "农业科技", "机械制造", "餐饮管理", "超市", "石油化工", "种业", "电子科技",
              "物流", "汽车销售", "医药", "纺织", "家具", "装饰工程", "建筑工程", "房地产开发", "酒业", "茶叶",
              "粮油", "养殖", "服装", "五金", "塑料制品", "环保科技", "信息技术", "文化传媒", "印刷", "钢结构"]
FORMS = ["有限公司", "有限责任公司", "股份有限公司"]
SHOPS = ["便利店", "烟酒店", "小吃部", "五金店", "理发店", "服装店", "副食店", "饭店", "诊所", "药店", "农资店"]
COUNTIES = [("武陟县", "410823"), ("温县", "410825"), ("修武县", "410821"), ("博爱县", "410822"),
            ("沁阳市", "410882"), ("孟州市", "410883"), ("解放区", "410802"), ("山阳区", "410811")]
TOWNS = ["木城街道", "龙源街道", "詹店镇", "西陶镇", "谢旗营镇", "大封镇", "乔庙镇", "三阳乡", "小董乡", "北郭乡",
         "嘉应观乡", "圪垱店乡", "大虹桥乡", "龙泉街道", "宁郭镇"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志海燕红梅玉"
SCOPE = ("食品销售；日用百货、五金交电、建筑材料、化工产品（不含危险化学品）销售；农副产品收购；"
         "（依法须经批准的项目，经相关部门批准后方可开展经营活动）")


def synthetic_rows(n: int, seed: int = 20240301):
    """Yield ``n`` dicts of object values (valid, unique codes)."""
    from server.registry import codes

    rnd = random.Random(seed)
    alphabet = codes.ALPHABET
    space = 31 ** 8
    step = 2_147_483_647  # prime, coprime with 31**8: i → i·step mod 31^8 is a bijection
    for i in range(n):
        county, region = rnd.choice(COUNTIES)
        k = rnd.random()
        trade = "".join(rnd.choice(TRADE) for _ in range(rnd.choice((2, 2, 3))))
        if k < 0.55:
            name = county + trade + rnd.choice(INDUSTRIES) + rnd.choice(FORMS)
            otype, first2 = "enterprise", "91"
        elif k < 0.9:
            name = county + trade + rnd.choice(SHOPS)
            otype, first2 = "individual", "92"
        else:
            name = county + rnd.choice(TOWNS)[:2] + trade + rnd.choice(["种植", "养殖", "农机", "蔬菜"]) + "专业合作社"
            otype, first2 = "cooperative", "93"
        x = (i * step) % space
        org = ""
        for _ in range(8):
            x, r = divmod(x, 31)
            org += alphabet[r]
        code = codes.make_valid(first2 + region + org + rnd.choice(alphabet))
        yield {
            "code": code, "name": name, "object_type": otype,
            "legal_representative": rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
            "address": f"河南省焦作市{county}{rnd.choice(TOWNS)}人民路{rnd.randint(1, 999)}号",
            "region_county": county, "region_town": rnd.choice(TOWNS),
            "industry": rnd.choice(INDUSTRIES), "business_scope": SCOPE,
            "risk_class": rnd.choices("ABCD", (50, 35, 12, 3))[0],
            "abnormal_list": rnd.random() < 0.03, "serious_violation": rnd.random() < 0.005,
            "complaint_count": rnd.choices((0, 1, 2, 5), (90, 6, 3, 1))[0],
            "registered_on": date(2000 + rnd.randint(0, 24), rnd.randint(1, 12), rnd.randint(1, 28)),
        }


def _fill(app, n: int) -> float:
    """Insert ``n`` objects with the driver's bulk path; return seconds (indexes rebuilt after)."""
    from sqlalchemy import text

    from server.extensions import db
    from server.org.models import Level
    from server.registry.models import CodeKind, InspectedObject, RegistrationStatus, RiskClass

    table = InspectedObject.__table__
    dialect = db.engine.dialect

    def bind(column: str, value):
        proc = table.c[column].type._cached_bind_processor(dialect)
        return proc(value) if proc else value

    now = bind("created_at", datetime.now(UTC))
    level = bind("jurisdiction_level", Level.COUNTY)
    status = bind("registration_status", RegistrationStatus.ACTIVE)
    kind = bind("code_kind", CodeKind.USCC)
    risks = {r.value: bind("risk_class", r) for r in RiskClass}
    cols = ["version", "code", "code_kind", "name", "object_type", "legal_representative", "address",
            "region_county", "region_town", "jurisdiction_level", "industry", "business_scope",
            "registration_status", "registered_on", "risk_class", "abnormal_list", "serious_violation",
            "complaint_count", "created_at", "updated_at"]

    def tuples():
        for r in synthetic_rows(n):
            yield (1, r["code"], kind, r["name"], r["object_type"], r["legal_representative"], r["address"],
                   r["region_county"], r["region_town"], level, r["industry"], r["business_scope"], status,
                   r["registered_on"], risks[r["risk_class"]], r["abnormal_list"], r["serious_violation"],
                   r["complaint_count"], now, now)

    started = time.perf_counter()
    with db.engine.begin() as conn:
        if dialect.name == "sqlite":
            index_sql = [row[0] for row in conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='inspected_objects' "
                "AND sql IS NOT NULL")).all()]
            names = [row[0] for row in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='inspected_objects' "
                "AND sql IS NOT NULL")).all()]
            for name in names:
                conn.execute(text(f'DROP INDEX "{name}"'))
            raw = conn.connection.driver_connection
            raw.executemany(f"INSERT INTO inspected_objects ({', '.join(cols)}) "
                            f"VALUES ({', '.join('?' for _ in cols)})", tuples())
        else:
            rows = conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename='inspected_objects' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)")).all()
            index_sql = [r[1] for r in rows]
            for r in rows:
                conn.execute(text(f'DROP INDEX "{r[0]}"'))
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY inspected_objects ({', '.join(cols)}) FROM STDIN") as copy:
                for t in tuples():
                    copy.write_row(t)
        for sql in index_sql:
            conn.execute(text(sql))
        conn.execute(text("ANALYZE"))
    if dialect.name == "postgresql":
        # what autovacuum does soon after a bulk load: sets the visibility map, so that the
        # (name, id) index can be scanned without visiting the table
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE inspected_objects"))
    return time.perf_counter() - started


def _queries(app, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Return (kind, text) pairs: fragments of existing names, random fragments, codes, prefixes."""
    from sqlalchemy import func, select

    from server.extensions import db
    from server.registry.models import InspectedObject

    rnd = random.Random(seed)
    n = db.session.execute(select(func.max(InspectedObject.id))).scalar_one()
    ids = [rnd.randint(1, n) for _ in range(count)]
    rows = dict(db.session.execute(select(InspectedObject.id, InspectedObject.code)
                                   .where(InspectedObject.id.in_(ids))).all())
    names = dict(db.session.execute(select(InspectedObject.id, InspectedObject.name)
                                    .where(InspectedObject.id.in_(ids))).all())
    out: list[tuple[str, str]] = []
    quarter = count // 4
    for i in ids[:2 * quarter]:  # fragments cut from the distinctive part of existing names
        name = names[i]
        start = 3 if name[2] == "县" or name[2] in "市区" else 2
        length = rnd.choice((2, 3, 4))
        pos = rnd.randint(start, max(start, len(name) - length - 2))
        out.append(("name-fragment", name[pos:pos + length]))
    for _ in range(quarter // 2):  # random fragments: few or no matches, a full scan
        out.append(("name-random", "".join(rnd.choice(TRADE) for _ in range(rnd.choice((2, 3, 4))))))
    for i in ids[2 * quarter:3 * quarter]:
        out.append(("code-full", rows[i]))
    for i in ids[3 * quarter:3 * quarter + quarter // 2 + quarter % 2 + count % 4]:
        out.append(("code-prefix", rows[i][:rnd.randint(8, 14)]))
    rnd.shuffle(out)
    return out


def _measure(app, queries: list[tuple[str, str]]) -> dict[str, dict[str, list[float]]]:
    from server.extensions import db
    from server.registry import services

    timings: dict[str, dict[str, list[float]]] = {}
    for kind, q in queries:
        stmt = services.search_objects(services.ObjectFilters(q=q), internal=True)
        t0 = time.perf_counter()
        services.fetch_page(stmt, 1, 50, count_cap=None)
        t1 = time.perf_counter()
        db.session.expunge_all()
        t2 = time.perf_counter()
        services.fetch_page(stmt, 1, 50)  # as the list screen calls it
        t3 = time.perf_counter()
        db.session.expunge_all()
        for key in (kind, "all"):
            bucket = timings.setdefault(key, {"page": [], "page+count": []})
            bucket["page"].append((t1 - t0) * 1000)
            bucket["page+count"].append((t3 - t2) * 1000)
    return timings


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _report(label: str, rows: int, fill_s: float, timings) -> None:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{label}: {rows:,} objects, filled and indexed in {fill_s:.1f} s; load average {load}")
    print(f"{'queries':<14}{'n':>5}  {'page p50':>9}{'page p95':>10}{'page max':>10}"
          f"  {'+count p50':>11}{'+count p95':>11}{'+count max':>11}   (ms)")
    for kind in ("name-fragment", "name-random", "code-full", "code-prefix", "all"):
        if kind not in timings:
            continue
        t = timings[kind]
        print(f"{kind:<14}{len(t['page']):>5}  {_pct(t['page'], 50):>9.1f}{_pct(t['page'], 95):>10.1f}"
              f"{max(t['page']):>10.1f}  {_pct(t['page+count'], 50):>11.1f}{_pct(t['page+count'], 95):>11.1f}"
              f"{max(t['page+count']):>11.1f}")
    sys.stdout.flush()


def run(url: str, rows: int, queries: int, label: str) -> None:
    from sqlalchemy import func, select

    from server import create_app
    from server.extensions import db
    from server.registry.models import InspectedObject

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False})
    with app.app_context():
        db.create_all()
        have = db.session.execute(select(func.count()).select_from(InspectedObject)).scalar_one()
        db.session.rollback()
        fill_s = _fill(app, rows) if have == 0 else 0.0  # a kept database (--keep) is reused as is
        qs = _queries(app, queries)
        _measure(app, qs[:20])  # warm the caches as a running server would be
        timings = _measure(app, qs)
        _report(label, rows, fill_s, timings)
        db.session.remove()
        db.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database-url", help="PostgreSQL server URL; a private database is created and dropped")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", metavar="NAME",
                        help="keep the filled databases for another run (or EXPLAIN): the SQLite file "
                             "/tmp/NAME.sqlite3 and the PostgreSQL database NAME; a later run with the "
                             "same NAME reuses them; drop them by hand when done")
    args = parser.parse_args(argv)

    if not args.skip_sqlite:
        if args.keep:
            run(f"sqlite:///{os.path.join(tempfile.gettempdir(), args.keep + '.sqlite3')}", args.rows,
                args.queries, "SQLite")
        else:
            with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
                run(f"sqlite:///{os.path.join(tmp, 'bench.sqlite3')}", args.rows, args.queries, "SQLite")
    if args.database_url:
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        server_url = make_url(args.database_url)
        name = args.keep or f"bench_search_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            run(server_url.set(database=name).render_as_string(hide_password=False), args.rows, args.queries,
                "PostgreSQL")
        finally:
            if not args.keep:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
