"""The agenda (日程) and the team leader's schedule in the field app (issue 8 §1, §3, §7), in a real
Chromium on a phone-sized screen: the team sees it offline after a pull; the leader changes a date
offline, it is queued and reaches the server when back online; a date outside the task period
comes back as "需处理" with the server's message, and nothing changes on the server."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from server.core.models import utcnow
from server.extensions import db
from server.visits.models import Visit, VisitStage, VisitStatus
from server.workdays.services import beijing_today
from tests.browser.field_helpers import ask_sync, login, open_app, wait_outbox_empty, wait_sw_ready

pytestmark = pytest.mark.browser


def _agenda(page):
    page.click("#tab-agenda")
    page.wait_for_selector("section.agenda-day")


def _item(visit_id):
    return f"li.agenda-item[data-visit-id='{visit_id}']"


def _visit(visit_id) -> Visit:
    db.session.expire_all()
    return db.session.get(Visit, visit_id)


@pytest.fixture
def planned(team):
    """visit: 2026-12-03 11:00–12:00 (the object's business peak is 11:00-13:30), route 1; visit2:
    visited, with a result due date already past."""
    team.obj.business_peak = "11:00-13:30, 17:00-20:00"
    team.visit.window_start, team.visit.window_end = time(11, 0), time(12, 0)
    team.visit.route_order, team.visit.schedule_note = 1, "先到仓库"
    team.visit.stage = VisitStage.SCHEDULED
    team.visit2.stage, team.visit2.visited_on = VisitStage.VISITED, date(2026, 11, 2)
    team.visit2.result_due, team.visit2.result_due_provisional = beijing_today() - timedelta(days=1), False
    db.session.commit()
    return team


def test_the_team_sees_the_agenda_offline_after_a_pull(phone, server, planned):
    team = planned
    open_app(phone, server)
    wait_sw_ready(phone)
    login(phone, "lisi")  # a member, not the leader
    _agenda(phone)
    first = phone.locator(_item(team.visit.id))
    assert first.get_attribute("data-date") == "2026-12-03"
    assert "11:00–12:00" in first.inner_text()
    assert phone.locator(f"{_item(team.visit.id)} p.peak.clash").count() == 1  # 11:00–12:00 is in the peak
    assert "先到仓库" in first.inner_text() and "检查小组 1" in first.inner_text()
    # said once above the agenda, not on every visit
    assert phone.locator("#member-hint.lock-reason").inner_text().startswith("日程由组长")
    assert phone.inner_text("#member-hint") == "日程由组长张检查安排。"
    assert phone.locator(f"{_item(team.visit.id)} .lock-reason").count() == 0
    assert phone.locator(f"{_item(team.visit.id)} .sched-edit").count() == 0  # only the leader edits
    due = phone.locator(f"{_item(team.visit2.id)} p.due")
    assert due.get_attribute("data-overdue") == "1" and "结果录入截止" in due.inner_text()
    assert phone.locator(f"{_item(team.visit2.id)} .badge.stage").inner_text() == "已检查"

    server.offline()
    phone.reload()  # offline: the shell from the service worker, the agenda from IndexedDB
    phone.wait_for_selector("body[data-ready='1']")
    phone.goto(server.url + "/app/#/agenda")
    phone.wait_for_selector(_item(team.visit.id))
    days = phone.eval_on_selector_all("section.agenda-day", "els => els.map(e => e.dataset.date)")
    assert set(days) == {"2026-12-03", "2026-12-04"}
    assert phone.get_attribute(_item(team.visit2.id), "data-date") == "2026-12-04"
    assert phone.is_visible("#offline")


def test_the_leader_changes_a_date_offline_and_it_syncs(phone, server, planned):
    team = planned
    open_app(phone, server)
    wait_sw_ready(phone)
    login(phone, "zhang")  # the team's leader
    _agenda(phone)
    # visit2 was already visited: its schedule is locked, and the phone says why
    assert "日程已锁定" in phone.inner_text(f"{_item(team.visit2.id)} .lock-reason")
    assert phone.locator(f"{_item(team.visit2.id)} .sched-edit").count() == 0
    server.offline()
    phone.click(f"{_item(team.visit.id)} .sched-edit")
    phone.fill(f"#sched-date-{team.visit.id}", "2026-12-10")
    phone.fill(f"#sched-start-{team.visit.id}", "09:00")
    phone.fill(f"#sched-end-{team.visit.id}", "10:30")
    phone.fill(f"#sched-note-{team.visit.id}", "上午先去")
    phone.click("#sched-save")
    phone.wait_for_selector(f"{_item(team.visit.id)}[data-local='pending'][data-date='2026-12-10']")
    phone.wait_for_selector("#outbox-count[data-count='1']")
    assert phone.locator(f"{_item(team.visit.id)} p.peak.clash").count() == 0  # 09:00–10:30 avoids the peak
    assert _visit(team.visit.id).scheduled_on == date(2026, 12, 3)  # nothing reached the server yet
    # the list sorts by the pending edit, and the visit page shows it, marked as not synced yet
    phone.click("#tab-list")
    phone.wait_for_selector(f"h2.date:text-is('2026-12-10') + ul.visits a.visit[data-visit-id='{team.visit.id}']")
    phone.click(f"a.visit[data-visit-id='{team.visit.id}']")
    phone.wait_for_selector("#visit-schedule[data-local='pending']")
    card = phone.inner_text("#visit-schedule")
    assert "2026-12-10" in card and "09:00–10:30" in card and "上午先去" in card and "本机修改，待同步" in card

    phone.reload()  # still offline: the edit is in IndexedDB
    phone.wait_for_selector("body[data-ready='1']")
    phone.goto(server.url + "/app/#/agenda")
    phone.wait_for_selector(f"{_item(team.visit.id)}[data-local='pending'][data-date='2026-12-10']")

    server.online()
    ask_sync(phone)
    wait_outbox_empty(phone)
    v = _visit(team.visit.id)
    assert (v.scheduled_on, v.window_start, v.window_end, v.schedule_note) == (
        date(2026, 12, 10), time(9, 0), time(10, 30), "上午先去")
    assert v.route_order == 1
    # the pull after the push brought the server's state: no local edit left
    phone.wait_for_selector(f"{_item(team.visit.id)}[data-local=''][data-date='2026-12-10']")


def test_the_leader_reorders_the_route_of_a_day(phone, server, planned):
    team = planned
    team.visit2.stage, team.visit2.result_due, team.visit2.visited_on = VisitStage.SCHEDULED, None, None
    team.visit2.scheduled_on, team.visit2.route_order = date(2026, 12, 3), 2
    db.session.commit()
    open_app(phone, server)
    login(phone, "zhang")
    _agenda(phone)
    order = phone.eval_on_selector_all("section.agenda-day[data-date='2026-12-03'] li.agenda-item",
                                       "els => els.map(e => Number(e.dataset.visitId))")
    assert order == [team.visit.id, team.visit2.id]
    phone.click(f"{_item(team.visit2.id)} .move-up")
    phone.wait_for_selector(f"{_item(team.visit2.id)}[data-order='1']")
    ask_sync(phone)
    wait_outbox_empty(phone)
    assert (_visit(team.visit2.id).route_order, _visit(team.visit.id).route_order) == (1, 2)


def test_a_date_outside_the_period_comes_back_as_needing_attention(phone, server, planned):
    team = planned
    open_app(phone, server)
    login(phone, "zhang")
    _agenda(phone)
    phone.click(f"{_item(team.visit.id)} .sched-edit")
    phone.fill(f"#sched-date-{team.visit.id}", "2027-01-05")  # the task runs 2026-12-01 — 2026-12-31
    phone.click("#sched-save")
    ask_sync(phone)
    phone.wait_for_selector(f"{_item(team.visit.id)}[data-local='attention']", timeout=20_000)
    box = phone.inner_text(f"{_item(team.visit.id)} .schedule-attention")
    assert "需处理" in box and "2027-01-05" in box and "2026-12-31" in box  # the server's own message
    assert phone.get_attribute(_item(team.visit.id), "data-date") == "2027-01-05"  # the edit stays visible
    v = _visit(team.visit.id)
    assert v.scheduled_on == date(2026, 12, 3) and v.window_start == time(11, 0)  # nothing changed

    # the leader fixes it: the corrected edit replaces the refused one and syncs
    phone.click(f"{_item(team.visit.id)} .sched-edit")
    phone.fill(f"#sched-date-{team.visit.id}", "2026-12-30")
    phone.click("#sched-save")
    ask_sync(phone)
    wait_outbox_empty(phone)
    assert _visit(team.visit.id).scheduled_on == date(2026, 12, 30)
    phone.wait_for_selector(f"{_item(team.visit.id)}[data-local=''][data-date='2026-12-30']")


def _edit_offline(phone, server, visit_id, day):
    server.offline()
    phone.click(f"{_item(visit_id)} .sched-edit")
    phone.fill(f"#sched-date-{visit_id}", day)
    phone.click("#sched-save")
    phone.wait_for_selector(f"{_item(visit_id)}[data-local='pending'][data-date='{day}']")
    phone.wait_for_selector("#outbox-count[data-count='1']")


def test_a_schedule_edit_of_a_withdrawn_visit_is_dropped_and_logout_works(phone, server, planned):
    """The visit was withdrawn from the team while the leader's edit waited offline: the edit has
    nothing left to save; it must not stay in the outbox out of sight, blocking the logout."""
    team = planned
    open_app(phone, server)
    login(phone, "zhang")
    _agenda(phone)
    _edit_offline(phone, server, team.visit.id, "2026-12-10")
    phone.evaluate("location.hash = '#/settings'")
    phone.click("#logout")
    phone.wait_for_selector("#logout-error:not([hidden])")
    assert phone.inner_text("#logout-error") == "还有未同步的记录或日程修改，不能退出登录。请先联网同步。"
    phone.evaluate("location.hash = '#/agenda'")
    phone.wait_for_selector(_item(team.visit.id))

    visit = _visit(team.visit.id)
    visit.status, visit.changed_at = VisitStatus.WITHDRAWN, utcnow()
    db.session.commit()
    server.online()
    ask_sync(phone)
    wait_outbox_empty(phone)  # refused by the server, then dropped with the withdrawn visit
    phone.wait_for_selector(_item(team.visit.id), state="detached")
    assert _visit(team.visit.id).scheduled_on == date(2026, 12, 3)
    phone.evaluate("location.hash = '#/settings'")
    phone.click("#logout")
    phone.wait_for_selector("#login-submit")


def test_a_locked_schedule_edit_can_only_be_dropped(phone, server, planned):
    """visit2 (already visited, locked) shares the day: visit has no editable neighbour to swap with.
    The visit is then visited while the leader's edit waits offline: the server refuses it as locked,
    and the phone offers only to drop it."""
    team = planned
    team.visit2.scheduled_on, team.visit2.route_order = date(2026, 12, 3), 2
    db.session.commit()
    open_app(phone, server)
    login(phone, "zhang")
    _agenda(phone)
    assert phone.locator(f"{_item(team.visit.id)} .move-up").is_disabled()
    assert phone.locator(f"{_item(team.visit.id)} .move-down").is_disabled()  # no duplicate route number 2
    assert phone.locator(f"{_item(team.visit2.id)} .move-up").count() == 0
    _edit_offline(phone, server, team.visit.id, "2026-12-11")

    visit = _visit(team.visit.id)
    visit.stage, visit.visited_on = VisitStage.VISITED, date(2026, 12, 3)
    db.session.commit()
    server.online()
    ask_sync(phone)
    phone.wait_for_selector(f"{_item(team.visit.id)}[data-local='attention']", timeout=20_000)
    box = phone.locator(f"{_item(team.visit.id)} .schedule-attention")
    assert box.get_attribute("data-locked") == "1"
    assert "该日程已不能修改，请放弃本机修改。" in box.inner_text() and "请修改后重新保存" not in box.inner_text()
    assert phone.locator(f"{_item(team.visit.id)} .sched-edit").count() == 0
    assert phone.locator(f"{_item(team.visit.id)} .move-up").count() == 0
    phone.click(f"{_item(team.visit.id)} .sched-drop")
    phone.wait_for_selector(f"{_item(team.visit.id)}[data-local=''][data-date='2026-12-03']")
    wait_outbox_empty(phone)
    assert _visit(team.visit.id).scheduled_on == date(2026, 12, 3)
