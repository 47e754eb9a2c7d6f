"""The back-office schedule screens: the leader's form (errors next to the fields, input kept), the
agenda per team and per inspector, the month view, access before the visits are over, the index,
and the registry's business-peak field."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.extensions import db
from server.registry.models import InspectedObject
from server.registry.validation import parse_business_peak
from server.visits.models import Visit, VisitStage
from tests.schedules.conftest import put_schedule


def _form(**kw):
    data = {"scheduled_on": "", "window_start": "", "window_end": "", "route_order": "", "note": ""}
    data.update(kw)
    return data


def test_leader_sets_a_schedule_through_the_form(sched, login):
    client = login(sched.u_a1)
    page = client.get(f"/tasks/{sched.task.id}/schedule").get_data(as_text=True)
    # the leader sees a form per visit of their team, the date limited to the task period
    assert f'action="/tasks/{sched.task.id}/schedule/visits/{sched.v_z.id}' in page
    assert 'min="2026-12-01" max="2026-12-31"' in page
    assert "待安排" in page
    resp = client.post(f"/tasks/{sched.task.id}/schedule/visits/{sched.v_z.id}",
                       data=_form(scheduled_on="2026-12-07", window_start="09:30", window_end="11:00",
                                  route_order="1", note="带计量器具"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"#visit-{sched.v_z.id}")
    db.session.expire_all()
    v = db.session.get(Visit, sched.v_z.id)
    assert v.stage is VisitStage.SCHEDULED and v.scheduled_on == date(2026, 12, 7) and v.schedule_note == "带计量器具"
    assert db.session.execute(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "visit.schedule")).scalar_one() == 1
    page = client.get(f"/tasks/{sched.task.id}/schedule").get_data(as_text=True)
    assert 'id="day-2026-12-07"' in page and "09:30–11:00" in page
    # clearing
    resp = client.post(f"/tasks/{sched.task.id}/schedule/visits/{sched.v_z.id}", data={**_form(), "clear": "1"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Visit, sched.v_z.id).stage is VisitStage.PLANNED


def test_form_errors_are_shown_next_to_the_fields_with_the_input_kept(sched, login):
    client = login(sched.u_a1)
    count = db.session.execute(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "visit.schedule")).scalar_one()
    resp = client.post(f"/tasks/{sched.task.id}/schedule/visits/{sched.v_z.id}",
                       data=_form(scheduled_on="2027-02-01", note="我的备注"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'value="2027-02-01"' in html and 'value="我的备注"' in html
    assert "2026-12-01" in html and 'class="field-error"' in html
    resp = client.post(f"/tasks/{sched.task.id}/schedule/visits/{sched.v_z.id}",
                       data=_form(scheduled_on="2026-12-03", window_start="15:00", window_end="14:00"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "结束时间须晚于开始时间" in html and 'value="15:00"' in html
    db.session.expire_all()
    v = db.session.get(Visit, sched.v_z.id)
    assert v.scheduled_on is None and v.stage is VisitStage.PLANNED
    assert db.session.execute(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "visit.schedule")).scalar_one() == count


def test_others_read_only(sched, login):
    put_schedule(login(sched.u_a1), sched.v_z.id, scheduled_on="2026-12-03")
    for user in (sched.u_b1, sched.initiator, sched.auditor):
        resp = login(user).get(f"/tasks/{sched.task.id}/schedule")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and sched.obj_z.name in html
        assert "/schedule/visits/" not in html, user.username
        resp = login(user).post(f"/tasks/{sched.task.id}/schedule/visits/{sched.v_z.id}",
                                data=_form(scheduled_on="2026-12-04"))
        assert resp.status_code == 403
    db.session.expire_all()
    assert db.session.get(Visit, sched.v_z.id).scheduled_on == date(2026, 12, 3)


def test_an_inspector_of_another_team_cannot_see_the_task_schedule_before_the_visits_are_over(sched, login):
    # an inspector outside the task: 403, nothing of the lists
    resp = login(sched.u_none).get(f"/tasks/{sched.task.id}/schedule")
    assert resp.status_code == 403
    html = resp.get_data(as_text=True)
    assert sched.obj_z.name not in html and sched.obj_other.name not in html
    # the leader of team 2 sees their own team only, even when asking for team 1
    client = login(sched.u_a2)
    for url in (f"/tasks/{sched.task.id}/schedule", f"/tasks/{sched.task.id}/schedule?team={sched.team1.id}",
                f"/tasks/{sched.task.id}/schedule?inspector={sched.i_a1.id}",
                f"/tasks/{sched.task.id}/schedule?view=month&month=2026-12"):
        html = client.get(url).get_data(as_text=True)
        assert sched.obj_other.name in html or "view=month" in url
        assert sched.obj_z.name not in html and sched.obj_a.name not in html and sched.i_b1.name not in html
    # the view is logged
    assert db.session.execute(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "task.view_confidential", AuditEntry.entity_id == str(sched.task.id))).scalar_one() >= 4


def test_the_per_inspector_agenda_shows_only_that_inspectors_visits(sched, login):
    client = login(sched.initiator)
    html = client.get(f"/tasks/{sched.task.id}/schedule?inspector={sched.i_a2.id}").get_data(as_text=True)
    assert sched.obj_other.name in html
    assert sched.obj_z.name not in html and sched.obj_a.name not in html
    assert f"{sched.i_a2.name} 的日程" in html
    html = client.get(f"/tasks/{sched.task.id}/schedule?inspector={sched.i_b1.id}").get_data(as_text=True)
    assert sched.obj_z.name in html and sched.obj_a.name in html and sched.obj_other.name not in html
    html = client.get(f"/tasks/{sched.task.id}/schedule?team={sched.team2.id}").get_data(as_text=True)
    assert sched.obj_other.name in html and sched.obj_z.name not in html


def test_the_agenda_lists_unscheduled_first_then_days_in_route_order(sched, login):
    client = login(sched.u_a1)
    put_schedule(client, sched.v_a.id, scheduled_on="2026-12-04", route_order=1)
    put_schedule(client, sched.v_z.id, scheduled_on="2026-12-04", route_order=2)
    html = login(sched.initiator).get(f"/tasks/{sched.task.id}/schedule").get_data(as_text=True)
    assert html.index("待安排") < html.index(sched.obj_other.name) < html.index('id="day-2026-12-04"')
    assert html.index(sched.obj_a.name) < html.index(sched.obj_z.name)
    # the leader gets the route-order form for that day
    html = login(sched.u_a1).get(f"/tasks/{sched.task.id}/schedule").get_data(as_text=True)
    assert "按路线排序" in html and f'name="order-{sched.v_z.id}"' in html


def test_the_month_view_counts_visits_per_day(sched, login):
    client = login(sched.u_a1)
    put_schedule(client, sched.v_a.id, scheduled_on="2026-12-04")
    put_schedule(client, sched.v_z.id, scheduled_on="2026-12-04")
    html = login(sched.initiator).get(f"/tasks/{sched.task.id}/schedule?view=month&month=2026-12").get_data(as_text=True)
    assert 'data-day="2026-12-04" data-count="2"' in html
    assert 'data-day="2026-12-05" data-count="0"' in html
    assert "2026 年 12 月" in html and "month=2027-01" in html and "month=2026-11" in html
    # a bad month falls back to the period's month
    html = login(sched.u_a1).get(f"/tasks/{sched.task.id}/schedule?view=month&month=xx").get_data(as_text=True)
    assert 'data-day="2026-12-04" data-count="2"' in html


def test_schedules_index_lists_the_visible_tasks_with_counts(sched, login):
    put_schedule(login(sched.u_a1), sched.v_z.id, scheduled_on="2026-12-03")
    html = login(sched.u_a1).get("/schedules").get_data(as_text=True)
    assert sched.task.name in html and "已安排 1 / 共 2" in html and "我是组长" in html
    assert "第 2 组" not in html  # a member sees their own team only
    html = login(sched.initiator).get("/schedules").get_data(as_text=True)
    assert "已安排 1 / 共 3" in html and "第 2 组" in html
    html = login(sched.u_none).get("/schedules").get_data(as_text=True)
    assert sched.task.name not in html and "没有您可以查看日程的进行中任务" in html
    assert login(sched.u_none).get("/schedules?show=over").status_code == 200


def test_parse_business_peak():
    parsed = parse_business_peak("11:00-13:30, 17:00-20:00")
    assert [(a.strftime("%H:%M"), b.strftime("%H:%M")) for a, b in parsed] == [("11:00", "13:30"), ("17:00", "20:00")]
    parsed = parse_business_peak("11:00-13:30、17:00-20:00")
    assert [(a.strftime("%H:%M"), b.strftime("%H:%M")) for a, b in parsed] == [("11:00", "13:30"), ("17:00", "20:00")]
    assert parse_business_peak("") == [] and parse_business_peak(None) == []
    assert [(a.hour, b.hour) for a, b in parse_business_peak("9:00~10:00；18:00-24:00")] == [(9, 10), (18, 23)]
    for bad in ("午市", "13:00-11:00", "25:00-26:00", "11:00"):
        assert parse_business_peak(bad) is None, bad


def _object_form(obj, **kw):
    data = {"code": obj.code, "name": obj.name, "object_type": "enterprise", "jurisdiction_level": "county",
            "registration_status": "active", "complaint_count": "0", "risk_class": obj.risk_class.value,
            "abnormal_list": "是" if obj.abnormal_list else "", "version": str(obj.version)}
    data.update(kw)
    return data


def test_business_peak_on_the_object_form(admin, client, make_object):
    obj = make_object("高峰测试餐饮有限公司")
    page = client.get(f"/objects/{obj.id}/edit").get_data(as_text=True)
    assert 'name="business_peak"' in page
    resp = client.post(f"/objects/{obj.id}/edit", data=_object_form(obj, business_peak="中午很忙"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'value="中午很忙"' in html and "时:分-时:分" in html
    db.session.expire_all()
    assert db.session.get(InspectedObject, obj.id).business_peak is None
    resp = client.post(f"/objects/{obj.id}/edit", data=_object_form(obj, business_peak="11:00-13:30，17:00-20:00"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(InspectedObject, obj.id).business_peak == "11:00-13:30，17:00-20:00"
    html = client.get(f"/objects/{obj.id}").get_data(as_text=True)
    assert "经营高峰时段" in html and "11:00-13:30，17:00-20:00" in html
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "object.update")
                               .order_by(AuditEntry.seq.desc())).scalars().first()
    assert entry.after.get("business_peak") == "11:00-13:30，17:00-20:00"


def test_odd_query_strings_do_not_break_the_page(sched, login):
    client = login(sched.u_a1)
    for q in ("view=month&month=9999-12", "view=month&month=0001-01", "view=month&month=2026-12-01",
              "team=²", "inspector=٣", "task_id=5&visit_id=7", "team=99999999999999"):
        resp = client.get(f"/tasks/{sched.task.id}/schedule?{q}")
        assert resp.status_code == 200, q


def test_the_schedule_pages_in_english(sched, login):
    client = login(sched.u_a1)
    client.get("/lang/en")
    put_schedule(client, sched.v_z.id, scheduled_on="2026-12-05")  # a Saturday
    html = client.get(f"/tasks/{sched.task.id}/schedule").get_data(as_text=True)
    assert "Inspection schedule" in html and "Non-working day" in html and "is not a working day" in html
    html = client.get(f"/tasks/{sched.task.id}/schedule?view=month&month=2026-12").get_data(as_text=True)
    assert "12/2026" in html
    assert "I am the leader" in client.get("/schedules").get_data(as_text=True)
