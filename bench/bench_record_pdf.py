"""Benchmark: the record-form PDF of a visit with 20 photos (goal: ≤ 2 s, issue 8).

    python -m bench.bench_record_pdf [--photos 20] [--runs 7] [--database-url postgresql+psycopg://…]
                                     [--save form.pdf]

Seeds a fresh SQLite file (or, with ``--database-url``, a fresh PostgreSQL database created next to
the named one and dropped afterwards): one task of two departments, one team of two inspectors, one
visit with a check item per department and two checklist questions on each item's checklist
(yes/no/n.a. and text). ``--photos`` unique
4000×3000 JPEGs of 2–4 MB (a phone camera's originals) are uploaded through the sync API, which
stores them and makes the thumbnails as the app does; both departments push a finished schema-2
record built by ``server.fieldwork.samples.finished_content`` (department A's references every
photo as evidence, with a problem result). Then
``GET /visits/<id>/record-form.pdf`` is timed through the Flask test client, ``--runs`` times;
reported: median, min, max, the PDF's size and pages, and the share spent gathering vs rendering.
The form embeds the stored thumbnails; originals are never decoded.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal

from PIL import Image

PASSWORD = "bench password 123"


def camera_jpeg(seed: int) -> bytes:
    """A 4000×3000 JPEG of 2–4 MB: smooth colour fields with sensor-like grain."""
    rnd = random.Random(seed)
    w, h = 4000, 3000
    coarse = Image.frombytes("RGB", (80, 60), rnd.randbytes(80 * 60 * 3)).resize((w, h), Image.BICUBIC)
    grain = Image.frombytes("L", (w // 2, h // 2), rnd.randbytes(w * h // 4)).resize((w, h)).convert("RGB")
    img = Image.blend(coarse, grain, 0.05)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def unique(base: bytes, tag: str) -> bytes:
    """The same picture with a JPEG comment segment: another file, another SHA-256."""
    text = tag.encode()
    return base[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + base[2:]


def seed():
    from server.auth.services import create_user
    from server.catalog.models import (
        CheckItem,
        CheckItemKey,
        ChecklistQuestion,
        ChecklistTemplate,
        ListEdition,
        QuestionType,
        Status,
    )
    from server.extensions import db
    from server.org.models import Department, Kind, Level
    from server.planning.models import Task, TaskDepartment, TaskStatus
    from server.registry import codes
    from server.registry.models import InspectedObject, Inspector, ObjectType, RiskClass
    from server.teams.models import Team, TeamMember
    from server.visits.models import Visit, VisitItem

    db.create_all()
    a = Department(code="B0001", name="武陟县市场监督管理局", level=Level.COUNTY, kind=Kind.DEPARTMENT)
    b = Department(code="B0002", name="武陟县卫生健康委员会", level=Level.COUNTY, kind=Kind.DEPARTMENT)
    db.session.add_all([a, b])
    db.session.flush()
    task = Task(code="T-PDF-BENCH", name="食品经营者联合抽查（基准）", initiating_department_id=a.id,
                period_start=date(2026, 12, 1), period_end=date(2026, 12, 31), teams_count=1,
                strata=[{"name": "ALL", "ratio": "1"}], scope={}, adhoc_reason="benchmark", unannounced=True,
                status=TaskStatus.INSPECTORS_DRAWN)
    task.departments = [TaskDepartment(department_id=a.id, is_initiator=True),
                        TaskDepartment(department_id=b.id)]
    db.session.add(task)
    db.session.flush()
    team = Team(task_id=task.id, number=0)
    db.session.add(team)
    db.session.flush()
    users = []
    for n, dept in enumerate((a, b)):
        user = create_user(username=f"pdf{n}", display_name=f"检查员{n}", password=PASSWORD, roles=["inspector"],
                           department_id=dept.id)
        insp = Inspector(department_id=dept.id, name=f"检查员{n}", certificate_no=f"豫A{n:06d}", user_id=user.id)
        db.session.add(insp)
        db.session.flush()
        db.session.add(TeamMember(team_id=team.id, task_id=task.id, inspector_id=insp.id, department_id=dept.id,
                                  is_leader=n == 0))
        users.append(user)
    obj = InspectedObject(code=codes.make_valid("91410823MB0000001"), name="武陟县某某食品有限公司",
                          object_type=ObjectType.ENTERPRISE, risk_class=RiskClass.B, address="武陟县木城街道建设路1号",
                          legal_representative="张三")
    db.session.add(obj)
    db.session.flush()
    visit = Visit(task_id=task.id, object_id=obj.id, team_id=team.id)
    db.session.add(visit)
    db.session.flush()
    edition = ListEdition(number=1, title="清单第一版", issuer_id=a.id, status=Status.DRAFT)
    db.session.add(edition)
    for seq, (dept, name) in enumerate(((a, "食品经营许可情况的检查"), (b, "公共场所卫生许可的检查")), start=1):
        key = CheckItemKey(code=f"K{seq:03d}")
        item = CheckItem(edition=edition, key=key, seq=seq, domain="食品", name=name, content="内容",
                         legal_basis="《食品安全法》第三十五条", object_scope="企业", object_type=ObjectType.ENTERPRISE,
                         initiating_department_id=dept.id, methods=["onsite"], default_ratio=Decimal("0.05"),
                         frequency="每年1次")
        tpl = ChecklistTemplate(item_key=key, department_id=dept.id, version=1, title=f"{name}检查表",
                                status=Status.DRAFT)
        db.session.add_all([item, tpl])
        db.session.flush()
        db.session.add_all([
            ChecklistQuestion(template_id=tpl.id, position=1, kind=QuestionType.YES_NO_NA, text="是否亮证经营",
                              required=True),
            ChecklistQuestion(template_id=tpl.id, position=2, kind=QuestionType.TEXT, text="现场情况描述",
                              required=False),
        ])
        visit.items.append(VisitItem(department_id=dept.id, check_item_id=item.id, template_id=tpl.id))
    db.session.commit()
    return visit.id, [(u.username, u.department_id) for u in users]


PROBLEM = {"problems": "未在经营场所醒目位置悬挂许可证" * 3, "handling": "当场责令改正，已悬挂",
           "legal_basis": "《食品经营许可和备案管理办法》第三十二条", "follow_up": "order_rectify"}


def content_for(visit_id: int, department_id: int, photo_shas: list[str]) -> dict:
    """The finished record as the field app builds it (a problem result when it has photos)."""
    from datetime import UTC, datetime

    from server.extensions import db
    from server.fieldwork.samples import finished_content
    from server.visits.models import Visit

    visit = db.session.get(Visit, visit_id)
    return finished_content(visit, department_id, at=datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
                            result="rectified" if photo_shas else "no_problem",
                            problem=PROBLEM if photo_shas else None, photo_refs=photo_shas)


def run(url: str, n_photos: int, runs: int, label: str, save: str | None = None) -> dict:
    from server import create_app
    from server.documents import record_form
    from server.extensions import db
    from server.visits.models import Visit

    photo_dir = tempfile.mkdtemp(prefix="bench-pdf-photos-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SESSION_COOKIE_SECURE": False, "RATELIMIT_STORAGE_URI": "memory://",
                      "LOGIN_RATE_LIMIT": "1000 per minute", "PHOTO_DIR": photo_dir,
                      "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}})
    try:
        # requests run outside an app context of ours: each gets its own (and its own login state)
        with app.app_context():
            visit_id, users = seed()
        t0 = time.perf_counter()
        base = camera_jpeg(1)
        photos = [unique(base, f"bench-photo-{i}") for i in range(n_photos)]
        shas = [hashlib.sha256(p).hexdigest() for p in photos]
        sizes = [len(p) for p in photos]
        made = time.perf_counter() - t0
        clients = []
        for username, dept_id in users:
            c = app.test_client()
            assert c.post("/login", data={"username": username, "password": PASSWORD}).status_code in (302, 303)
            clients.append((dept_id, c))
        (dept_a, ca), (dept_b, cb) = clients
        t0 = time.perf_counter()
        for data, digest in zip(photos, shas, strict=True):
            for off in range(0, len(data), 1 << 20):
                chunk = data[off:off + (1 << 20)]
                r = ca.patch(f"/api/photos/{digest}", data=chunk, headers={
                    "Upload-Offset": str(off), "Upload-Length": str(len(data)),
                    "Content-Type": "application/offset+octet-stream"})
                assert r.status_code == 204, (r.status_code, r.get_data(as_text=True)[:300])
        uploaded = time.perf_counter() - t0
        for c, dept, pics in ((ca, dept_a, shas), (cb, dept_b, [])):
            with app.app_context():
                content = content_for(visit_id, dept, pics)
            body = {"department_id": dept, "base_version": 0, "content": content, "photos": pics,
                    "finished": True, "device_id": "bench", "saved_at": "2026-12-02T10:00:00+08:00"}
            r = c.put(f"/api/visits/{visit_id}/records/{uuid.uuid4()}", json=body)
            assert r.status_code == 201, r.get_json()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            resp = ca.get(f"/visits/{visit_id}/record-form.pdf")
            data = resp.data
            times.append(time.perf_counter() - t0)
            assert resp.status_code == 200 and data.startswith(b"%PDF"), resp.status_code
        size = len(data)
        if save:
            with open(save, "wb") as fh:
                fh.write(data)
        import pypdf

        pages = len(pypdf.PdfReader(io.BytesIO(data)).pages)
        # where the time goes (one run, inside a request context as the view runs)
        with app.test_request_context():
            visit = db.session.get(Visit, visit_id)
            t0 = time.perf_counter()
            gathered = record_form.gather(visit)
            t1 = time.perf_counter()
            record_form.render(gathered)
            t2 = time.perf_counter()
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(photo_dir, ignore_errors=True)
    return {"label": label, "times": times, "median": statistics.median(times), "size": size, "pages": pages,
            "gather": t1 - t0, "render": t2 - t1, "photo_mb": (min(sizes) / 1e6, max(sizes) / 1e6),
            "made": made, "uploaded": uploaded}


def report(r: dict, n_photos: int) -> None:
    ms = [f"{t * 1000:.0f}" for t in r["times"]]
    print(f"{r['label']}: record-form PDF with {n_photos} photos ({r['photo_mb'][0]:.1f}–{r['photo_mb'][1]:.1f} MB "
          f"4000×3000 JPEG originals, uploaded in {r['uploaded']:.1f} s)")
    print(f"  runs (ms): {', '.join(ms)}")
    print(f"  median {r['median'] * 1000:.0f} ms (goal ≤ 2000 ms) · min {min(r['times']) * 1000:.0f} · "
          f"max {max(r['times']) * 1000:.0f}")
    print(f"  PDF {r['size'] / 1024:.0f} KB, {r['pages']} pages · gather {r['gather'] * 1000:.0f} ms, "
          f"render {r['render'] * 1000:.0f} ms")
    print("  " + ("OK" if r["median"] <= 2.0 else "SLOWER THAN THE GOAL"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", help="PostgreSQL server URL: a fresh database is made next to it")
    parser.add_argument("--save", help="write the (SQLite run's) PDF to this file, to look at it")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5 (the median of ≥ 5 runs is reported)")
    sys.path.insert(0, os.getcwd())
    print(f"machine: {platform.machine()} · {os.cpu_count()} CPUs · {platform.python_implementation()} "
          f"{platform.python_version()} · {platform.platform()}")
    tmp = tempfile.mkdtemp(prefix="bench-pdf-")
    try:
        r = run(f"sqlite:///{tmp}/bench.sqlite3", args.photos, args.runs, "SQLite", args.save)
        report(r, args.photos)
        if args.database_url:
            import sqlalchemy as sa

            server = sa.engine.make_url(args.database_url)
            name = f"bench_pdf_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            try:
                r = run(server.set(database=name).render_as_string(hide_password=False), args.photos, args.runs,
                        "PostgreSQL")
                report(r, args.photos)
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
