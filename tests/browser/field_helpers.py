"""Helpers for the field-app browser tests: a demo-like team with visits built directly in the
test's database, a live server that can really go offline (stopped: connections refused) and come
back on the same port, and page helpers that use the app as an inspector would on a phone."""

from __future__ import annotations

import io
import os
import random
import threading
import time
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from server.extensions import db

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIST = os.path.join(ROOT, "pwa", "dist")
PHONE = {"viewport": {"width": 360, "height": 740}, "locale": "zh-CN", "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "service_workers": "allow",
         "permissions": ["geolocation"], "geolocation": {"latitude": 35.0853, "longitude": 113.4036, "accuracy": 12}}


def require_build() -> None:
    if not os.path.isfile(os.path.join(DIST, "sw.js")):
        pytest.fail("the field app is not built: run `make pwa` (pwa/dist/sw.js missing)")


class _Http10(WSGIRequestHandler):
    # one request per connection: once the server stops, nothing answers any more (no kept-alive
    # connection keeps serving), so "offline" is real for the page and the service worker alike
    protocol_version = "HTTP/1.0"

    def log_request(self, *args, **kwargs):  # quiet
        pass


class SwitchableServer:
    """The real app on localhost; ``offline()`` stops it, ``online()`` starts it on the same port."""

    def __init__(self, app):
        self.app = app
        self.port = 0
        self._server = None
        self.online()

    def online(self) -> None:
        if self._server is not None:
            return
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True, request_handler=_Http10)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def offline(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None


def _template(item_key, dept, title):
    from server.catalog.models import ChecklistQuestion, ChecklistTemplate, QuestionType, Status

    tpl = ChecklistTemplate(item_key=item_key, department_id=dept.id, version=1, title=title, status=Status.DRAFT)  # drafts: questions may be added
    tpl.questions = [
        ChecklistQuestion(position=1, kind=QuestionType.YES_NO_NA, text="是否取得有效许可证？", required=True),
        ChecklistQuestion(position=2, kind=QuestionType.TEXT, text="许可证编号", required=False),
        ChecklistQuestion(position=3, kind=QuestionType.NUMBER, text="从业人员数", required=True,
                          min_value=Decimal(0), max_value=Decimal(1000), unit="人"),
    ]
    return tpl


def _item(edition, dept, name, seq):
    from server.catalog.models import CheckItem, CheckItemKey
    from server.registry.models import ObjectType

    key = CheckItemKey(code=f"FK{seq:03d}")
    item = CheckItem(edition=edition, key=key, seq=seq, domain="食品", name=name, content="检查内容",
                     legal_basis=f"《{name}管理办法》第十条", object_scope="企业", object_type=ObjectType.ENTERPRISE,
                     initiating_department_id=dept.id, methods=["onsite"], default_ratio=Decimal("0.05"),
                     frequency="每年1次")
    db.session.add(item)
    tpl = _template(key, dept, f"{name}检查表")
    db.session.add(tpl)
    return item, tpl


def build_field_team(make_department, make_user, make_inspector, make_object, make_task, *, same_dept_pair=False):
    """Two departments (市场监管局 leads, 商务局 cooperates), one team, two visits on one object each.

    ``same_dept_pair``: a second inspector of 市场监管局 in the same team (two phones, one section)."""
    from server.auth.roles import Role
    from server.catalog.models import ListEdition, Status
    from server.planning.models import TaskStatus
    from server.teams.models import Team, TeamMember
    from server.visits.models import Visit, VisitItem

    a, b = make_department("武陟县市场监督管理局"), make_department("武陟县商务局")
    ns = SimpleNamespace(a=a, b=b)

    def inspector(username, dept, name):
        user = make_user(username, roles=(Role.INSPECTOR,), department=dept, display_name=name)
        return user, make_inspector(dept, name=name, user_id=user.id)

    ns.u_a, ns.i_a = inspector("zhang", a, "张检查")
    ns.u_b, ns.i_b = inspector("lisi", b, "李检查")
    if same_dept_pair:
        ns.u_a2, ns.i_a2 = inspector("wang", a, "王检查")
    ns.task = make_task(a, [b], accepted=True, period=(date(2026, 12, 1), date(2026, 12, 31)), unannounced=False,
                        name="2026年食品经营联合抽查")
    ns.task.status = TaskStatus.INSPECTORS_DRAWN
    ns.team = Team(task_id=ns.task.id, number=0)
    db.session.add(ns.team)
    db.session.flush()
    members = [TeamMember(team_id=ns.team.id, task_id=ns.task.id, inspector_id=ns.i_a.id, department_id=a.id, is_leader=True),
               TeamMember(team_id=ns.team.id, task_id=ns.task.id, inspector_id=ns.i_b.id, department_id=b.id)]
    if same_dept_pair:
        members.append(TeamMember(team_id=ns.team.id, task_id=ns.task.id, inspector_id=ns.i_a2.id, department_id=a.id))
    db.session.add_all(members)
    ns.obj = make_object("武陟县好味道餐饮有限公司", risk="D", address="武陟县木城镇建设路18号", legal_representative="赵六",
                         abnormal_list=True)
    ns.obj2 = make_object("武陟县放心超市", risk="B", address="武陟县龙源路2号")
    edition = ListEdition(number=1, title="抽查事项清单第一版", issuer_id=a.id, status=Status.DRAFT)
    db.session.add(edition)
    ns.item_a, ns.tpl_a = _item(edition, a, "食品经营许可", 1)
    ns.item_b, ns.tpl_b = _item(edition, b, "成品油经营", 2)
    db.session.add_all([ns.item_a, ns.tpl_a, ns.item_b, ns.tpl_b])
    db.session.flush()
    ns.visit = Visit(task_id=ns.task.id, object_id=ns.obj.id, team_id=ns.team.id, scheduled_on=date(2026, 12, 3))
    ns.visit2 = Visit(task_id=ns.task.id, object_id=ns.obj2.id, team_id=ns.team.id, scheduled_on=date(2026, 12, 4))
    db.session.add_all([ns.visit, ns.visit2])
    db.session.flush()
    for v in (ns.visit, ns.visit2):
        v.items.append(VisitItem(department_id=a.id, check_item_id=ns.item_a.id, template_id=ns.tpl_a.id))
        v.items.append(VisitItem(department_id=b.id, check_item_id=ns.item_b.id, template_id=ns.tpl_b.id))
    db.session.commit()
    return ns


def jpeg_bytes(width=3000, height=2000, seed=1) -> bytes:
    """A noisy JPEG (noise keeps it large after resizing, so the upload takes several chunks)."""
    from PIL import Image

    rnd = random.Random(seed)
    small = Image.frombytes("RGB", (width // 8, height // 8), bytes(rnd.getrandbits(8) for _ in range(width // 8 * height // 8 * 3)))
    img = small.resize((width, height), Image.Resampling.NEAREST)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92)
    return out.getvalue()


# -- page helpers -------------------------------------------------------------------------------


def open_app(page, server):
    page.goto(server.url + "/app/")
    page.wait_for_selector("body[data-ready='1']")


def wait_js(page, expression: str, timeout: float = 15.0):
    """Poll ``expression`` with page.evaluate until it is truthy (wait_for_function would need
    'unsafe-eval', which the app's CSP refuses)."""
    deadline = time.time() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(100)


def wait_sw_ready(page):
    """Wait until the service worker controls the page (the shell is then precached)."""
    wait_js(page, "!!(navigator.serviceWorker && navigator.serviceWorker.controller)", timeout=20)


def login(page, username, password=None):
    from tests.conftest import PASSWORD

    page.goto(page.url.split("#")[0] + "#/login")
    page.fill("#username", username)
    page.fill("#password", password or PASSWORD)
    page.click("#login-submit")
    try:
        page.wait_for_selector("a.visit", timeout=20_000)
    except Exception:
        print("field app at failure:", page.url, page.inner_html("body")[:3000])
        print("field app meta store:", page.evaluate("""new Promise((ok) => { const r = indexedDB.open('spotcheck-field');
          r.onsuccess = () => { const q = r.result.transaction('meta').objectStore('meta').getAll();
          q.onsuccess = () => ok(JSON.stringify(q.result).slice(0, 2000)); }; })"""))
        raise


def sign(page, selector):
    """Draw a stroke on a signature canvas and confirm it."""
    canvas = page.locator(selector)
    canvas.evaluate("el => el.scrollIntoView({block: 'center'})")  # clear of the sticky header and footer
    box = canvas.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 120)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(x + 30 + i * 20, y + 120 - (i % 3) * 30, steps=2)
    page.mouse.up()
    key = selector.split('"')[1]
    page.click(f'button[data-confirm="{key}"]')
    page.wait_for_selector(f'div.sig[data-sig="{key}"][data-signed="1"]')


def saved(page):
    page.wait_for_selector("#save-state[data-state='saved']")


def fill_section(page, *, photos=(), refusal=False, inspector_ids=(), notice="served"):
    """Fill the open form of the logged-in inspector's section (one check item, three questions),
    content schema 2: method, problems and handling per item, the party's liaison and opinion."""
    page.click("#checkin")
    page.wait_for_selector("#checkin-info")
    if notice:
        page.check(f"#notice-{notice}")
    page.locator(".question input[type=radio][value=yes]").first.check()
    page.locator(".question input[type=number]").first.fill("12")
    saved(page)
    for path in photos:
        before = int(page.get_attribute("#photo-count", "data-count"))
        page.set_input_files("#photo-input", path)
        page.wait_for_selector(f"#photo-count[data-count='{before + 1}']", timeout=20_000)
    page.select_option("select[id^=result-]", "rectified")
    page.check("input[id^=method-][value=onsite]")
    page.fill("textarea[id^=problems-]", "许可证未在经营场所显著位置悬挂")
    page.fill("textarea[id^=handling-]", "当场责令改正，已重新悬挂")
    page.fill("textarea[id^=basis-]", "《食品安全法》第三十五条")
    page.select_option("select[id^=followup-]", "order_rectify")
    page.fill("#findings", "许可证未悬挂于显著位置")
    page.check("#measure-order_rectify")
    page.select_option("#measure-order_rectify-form", "printed")
    page.fill("#evidence_notes", "现场拍照两张")
    page.fill("#party-liaison", "赵六")
    page.fill("#party-phone", "0391-7221234")
    page.fill("#party-opinion", "无异议，已当场整改")
    saved(page)
    if refusal:
        page.check("#biz-mode-refusal")
        page.fill("#refusal-reason", "负责人称需请示总公司，拒绝签字")
        page.fill("#refusal-witness", "隔壁商户 陈七")
        saved(page)
        sign(page, 'canvas[data-sig="refusal"]')
    else:
        page.fill("#biz-name", "赵六")
        page.fill("#biz-role", "法定代表人")
        saved(page)
        sign(page, 'canvas[data-sig="business"]')
    for iid in inspector_ids:
        sign(page, f'canvas[data-sig="inspector-{iid}"]')
    saved(page)


def finish(page):
    page.click("#finish")
    page.wait_for_selector("#record-locked")


def server_records(visit_id):
    from server.fieldwork.models import VisitRecord

    db.session.expire_all()
    return db.session.execute(db.select(VisitRecord).where(VisitRecord.visit_id == visit_id)
                              .order_by(VisitRecord.id)).scalars().all()


def local_photo_hashes(page):
    return page.evaluate("""async () => {
      const req = indexedDB.open('spotcheck-field');
      const idb = await new Promise((ok, no) => { req.onsuccess = () => ok(req.result); req.onerror = no; });
      const tx = idb.transaction('photos');
      const keys = await new Promise((ok) => { const r = tx.objectStore('photos').getAllKeys(); r.onsuccess = () => ok(r.result); });
      idb.close();
      return keys;
    }""")


def wait_outbox_empty(page, timeout=30_000):
    page.wait_for_selector("#outbox-count[data-count='0']", timeout=timeout)


def idb_records(page):
    """Every record in the phone's IndexedDB (content included)."""
    return page.evaluate("""async () => {
      const req = indexedDB.open('spotcheck-field');
      const idb = await new Promise((ok, no) => { req.onsuccess = () => ok(req.result); req.onerror = no; });
      const all = await new Promise((ok) => { const r = idb.transaction('records').objectStore('records').getAll();
        r.onsuccess = () => ok(r.result); });
      idb.close();
      return all;
    }""")


def idb_put_record(page, record):
    """Write one record straight into the phone's IndexedDB (what an older app version left there)."""
    page.evaluate("""async (rec) => {
      const req = indexedDB.open('spotcheck-field');
      const idb = await new Promise((ok, no) => { req.onsuccess = () => ok(req.result); req.onerror = no; });
      await new Promise((ok, no) => { const tx = idb.transaction('records', 'readwrite');
        tx.objectStore('records').put(rec); tx.oncomplete = ok; tx.onerror = no; });
      idb.close();
    }""", record)


def ask_sync(page) -> None:
    """Press "立即同步" unless a sync is already running. The app also syncs by itself (its timer,
    the browser's `online` event, after a save); a run in progress serves the test as well, and a
    click on the disabled button would only wait. Checked and clicked in one step in the page."""
    page.evaluate("() => { const b = document.querySelector('#sync-now'); if (b && !b.disabled) b.click(); }")


def review_section(team, record, status, comment=None):
    """The leader consolidated department a's section of ``team.visit`` (holding ``record``) and its
    reviewer decided ``status`` (a ResultStatus): the rows as the review area writes them, with the
    visit's stage and ``changed_at`` bumped so the next pull brings it."""
    from server.core.models import utcnow
    from server.review.models import Consolidation, ResultStatus, ReviewDecision, SectionResult
    from server.visits.models import VisitStage

    cons = Consolidation(visit_id=team.visit.id, round=1, record_ids={str(team.a.id): record.id},
                         consolidated_by_id=team.u_a.id)
    db.session.add(cons)
    db.session.flush()
    result = SectionResult(visit_id=team.visit.id, department_id=team.a.id, task_id=team.task.id,
                           object_id=team.obj.id, consolidation_id=cons.id, record_id=record.id, status=status,
                           result_codes=["rectified"], problem=True, visited_on=date(2026, 12, 3),
                           result_due=date(2026, 12, 31), review_comment=comment,
                           reviewed_at=utcnow() if comment else None)
    db.session.add(result)
    db.session.flush()
    if status is ResultStatus.RETURNED:
        db.session.add(ReviewDecision(section_result_id=result.id, visit_id=team.visit.id, department_id=team.a.id,
                                      record_id=record.id, decision=status, comment=comment,
                                      decided_by_id=team.u_b.id))
    team.visit.stage = VisitStage.RETURNED if status is ResultStatus.RETURNED else VisitStage.CONSOLIDATED
    team.visit.visited_on, team.visit.result_due = date(2026, 12, 3), date(2026, 12, 31)
    team.visit.changed_at = utcnow()
    db.session.commit()
