"""Benchmark: the field app in headless Chromium (goals of the field-app issue).

    python -m bench.bench_pwa [--runs 5] [--chromium /usr/bin/chromium]

Needs the built app (``make pwa``). Measures:

* ``size``: the initial JS + CSS the shell loads (those referenced by dist/index.html), gzipped
  (level 9) — goal ≤ 150 KB;
* ``cold start``: the installed app opened offline (server stopped) in a freshly launched browser
  with the profile of an earlier online session, from navigation start to the visit list drawn
  (``performance.now()`` when the first screen is drawn, ``body[data-ready-ms]``, and the wall time
  of ``page.goto`` until the list is visible) — goal ≤ 1 s (median of N fresh launches);
* ``photo``: a 12-megapixel JPEG (4000×3000) picked in the form, resized on the device to ≤ 2048 px
  as JPEG, SHA-256 computed, stored in IndexedDB; from ``set_input_files`` to the photo listed —
  goal ≤ 2 s (median of N).

The server is the real app on a temporary SQLite database with one team and two visits.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = os.path.join(ROOT, "pwa", "dist")
PASSWORD = "correct horse battery"


def initial_size_kb() -> dict:
    """Return the raw and gzipped size (KB) of the JS and CSS the shell loads first."""
    with open(os.path.join(DIST, "index.html"), encoding="utf-8") as fh:
        html = fh.read()
    raw = gz = 0
    files = re.findall(r'(?:src|href)="/app/(assets/[^"]+\.(?:js|css))"', html)
    for rel in files:
        with open(os.path.join(DIST, rel), "rb") as fh:
            data = fh.read()
        raw += len(data)
        gz += len(gzip.compress(data, 9))
    return {"files": files, "raw_kb": raw / 1024, "gzip_kb": gz / 1024}


def _app(tmp: str):
    from server import create_app
    from server.extensions import db

    app = create_app({"TESTING": False, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                      "WTF_CSRF_ENABLED": True, "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                      "RATELIMIT_STORAGE_URI": "memory://", "LOGIN_RATE_LIMIT": "1000 per minute",
                      "UPLOAD_DIR": os.path.join(tmp, "uploads")})
    with app.app_context():
        db.create_all()
        _team()
    return app


def _team():
    """One team (two departments) with two visits, built with the shared test helper."""
    from server.auth.roles import Role
    from server.auth.services import create_user
    from server.extensions import db
    from server.org.models import Department, Kind, Level
    from server.planning.models import Acceptance, Task, TaskDepartment
    from server.registry import codes
    from server.registry.models import InspectedObject, Inspector, ObjectType, RiskClass
    from tests.browser.field_helpers import build_field_team

    n = {"d": 0, "o": 0, "i": 0}

    def make_department(name):
        n["d"] += 1
        d = Department(code=f"BD{n['d']}", name=name, level=Level.COUNTY, kind=Kind.DEPARTMENT)
        db.session.add(d)
        db.session.commit()
        return d

    def make_user(username, *, roles, department, display_name):
        u = create_user(username=username, display_name=display_name, password=PASSWORD, roles=list(roles),
                        department_id=department.id)
        db.session.commit()
        return u

    def make_inspector(dept, name, user_id):
        n["i"] += 1
        i = Inspector(department=dept, name=name, certificate_no=f"豫B{n['i']:06d}", user_id=user_id,
                      qualification_valid_from=date(2020, 1, 1), qualification_valid_until=date(2030, 12, 31))
        i.set_expertise([])
        db.session.add(i)
        db.session.commit()
        return i

    def make_object(name, *, risk, **fields):
        n["o"] += 1
        o = InspectedObject(code=codes.make_valid(f"91410823MA{n['o']:07d}"), name=name, object_type=ObjectType.ENTERPRISE,
                            region_county="武陟县", risk_class=RiskClass(risk), **fields)
        db.session.add(o)
        db.session.commit()
        return o

    def make_task(initiator, participants, *, accepted, period, **fields):
        from server.planning.models import TaskStatus

        t = Task(code="BENCH-1", name=fields.pop("name"), initiating_department_id=initiator.id, period_start=period[0],
                 period_end=period[1], teams_count=1, strata=[{"name": "ALL", "ratio": "0.5"}],
                 scope={"statuses": ["active"]}, adhoc_reason="bench", status=TaskStatus.ACCEPTED, **fields)
        for d in [initiator, *participants]:
            t.departments.append(TaskDepartment(department_id=d.id, is_initiator=d is initiator, members_per_team=1,
                                                acceptance=Acceptance.ACCEPTED))
        db.session.add(t)
        db.session.commit()
        return t

    del Role
    return build_field_team(make_department, make_user, make_inspector, make_object, make_task)


def _photo(path: str) -> None:
    from PIL import Image

    rnd = random.Random(12)
    small = Image.frombytes("RGB", (500, 375), bytes(rnd.getrandbits(8) for _ in range(500 * 375 * 3)))
    img = small.resize((4000, 3000), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    with open(path, "wb") as fh:
        fh.write(out.getvalue())


def run(runs: int, chromium: str) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS
    from tests.browser.field_helpers import (
        PHONE,
        SwitchableServer,
        login,
        open_app,
        wait_js,
        wait_sw_ready,
    )

    result = {"size": initial_size_kb()}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        app = _app(tmp)
        with app.app_context():
            server = SwitchableServer(app)
            profile = os.path.join(tmp, "profile")
            options = dict(PHONE, executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            ctx = p.chromium.launch_persistent_context(profile, **options)
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.set_default_timeout(30_000)
            open_app(page, server)
            wait_sw_ready(page)
            login(page, "zhang")  # installs the app and downloads the visits
            ctx.close()
            server.offline()

            starts = []
            for _ in range(runs):
                ctx = p.chromium.launch_persistent_context(profile, **options)
                page = ctx.pages[0] if ctx.pages else ctx.new_page()
                t0 = time.perf_counter()
                page.goto(server.url + "/app/")
                page.wait_for_selector("body[data-ready='1'] a.visit")
                wall = (time.perf_counter() - t0) * 1000
                nav = float(page.get_attribute("body", "data-ready-ms"))
                starts.append({"nav_to_list_ms": nav, "wall_ms": wall})
                ctx.close()
            result["cold_start"] = starts

            photo = os.path.join(tmp, "12mp.jpg")
            _photo(photo)
            server.online()
            ctx = p.chromium.launch_persistent_context(profile, **options)
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.set_default_timeout(30_000)
            open_app(page, server)
            page.click("a.visit")
            page.click("#open-form")
            page.wait_for_selector("#onsite-form")
            times = []
            for i in range(runs):
                t0 = time.perf_counter()
                page.set_input_files("#photo-input", photo)
                wait_js(page, f"document.querySelector('#photo-count')?.dataset.count === '{i + 1}'", timeout=30)
                times.append((time.perf_counter() - t0) * 1000)
            result["photo_ms"] = times
            result["photo_size_mb"] = os.path.getsize(photo) / 1e6
            ctx.close()
            server.offline()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chromium", default=os.environ.get("SPOTCHECK_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(DIST, "sw.js")):
        sys.exit("the field app is not built: run `make pwa`")
    sys.path.insert(0, ROOT)
    r = run(args.runs, args.chromium)
    nav = [s["nav_to_list_ms"] for s in r["cold_start"]]
    wall = [s["wall_ms"] for s in r["cold_start"]]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"field app benchmark ({args.runs} runs, load average {load:.2f})")
    print(f"initial JS+CSS: {r['size']['raw_kb']:.1f} KB raw, {r['size']['gzip_kb']:.1f} KB gzipped (goal ≤ 150 KB)")
    print(f"cold start offline to the visit list: median {statistics.median(nav):.0f} ms from navigation start "
          f"(max {max(nav):.0f}); page.goto→list median {statistics.median(wall):.0f} ms (goal ≤ 1000 ms)")
    print(f"12 MP photo ({r['photo_size_mb']:.1f} MB) resized, hashed, stored: median {statistics.median(r['photo_ms']):.0f} ms "
          f"(max {max(r['photo_ms']):.0f}) (goal ≤ 2000 ms)")
    os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "out", "bench_pwa.json"), "w") as fh:
        json.dump(r, fh, indent=2)


if __name__ == "__main__":
    main()
