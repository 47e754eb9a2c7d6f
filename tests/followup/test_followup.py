"""Follow-up of problems found (issue 8 §5) [000#23, 001#16, 002#17]: referral (移送), transfer (转办), judiciary,
abnormal list, case filed — each tracked to closure, with due dates in Chinese working days [000#20(三)]."""

from __future__ import annotations

from datetime import date

import pytest

from server.extensions import db
from server.followup.models import FollowUp, FollowUpEvent, FollowUpKind, FollowUpStatus
from tests.followup.conftest import counts


def _post_new(client, sr, **form):
    return client.post(f"/results/{sr.id}/follow-ups/new", data=form)


def _actions(entity_id):
    from server.audit.models import AuditEntry

    return [e.action for e in db.session.execute(
        db.select(AuditEntry).where(AuditEntry.entity_type == "follow_up", AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.seq)).scalars()]


@pytest.mark.parametrize("kind, target", [
    ("referral", "dept"), ("transfer", "dept"), ("judiciary", "name"), ("abnormal_list", None), ("case_filed", None),
])
def test_create_each_kind(fw, make_result, login, kind, target):
    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    assert client.get(f"/results/{sr.id}/follow-ups/new").status_code == 200
    form = {"kind": kind, "matter": "未公示食品经营许可证，涉嫌无证经营，移送处理。",
            "target_department_id": str(fw.c.id) if target == "dept" else "",
            "target_name": "武陟县公安局" if target == "name" else ""}
    resp = _post_new(client, sr, **form)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    fu = db.session.execute(db.select(FollowUp)).scalar_one()
    assert fu.kind is FollowUpKind(kind) and fu.status is FollowUpStatus.OPEN
    assert fu.department_id == fw.a.id and fu.object_id == fw.obj_z.id and fu.task_id == fw.task.id
    assert fu.target_department_id == (fw.c.id if target == "dept" else None)
    assert fu.target_name == ("武陟县公安局" if target == "name" else None)
    assert fu.due_on == sr.referral_due and fu.due_provisional is False
    assert [e.status for e in fu.events] == [FollowUpStatus.OPEN]
    assert _actions(fu.id) == ["follow_up.create"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert fw.obj_z.name in page and "未公示食品经营许可证" in page and sr.referral_due.isoformat() in page


def test_referral_without_a_target_is_refused_with_target_required_and_nothing_changes(fw, make_result, login):
    """The issue's bad input "a referral without a target": 422 ``target_required``, nothing stored."""
    from server.core.errors import DomainError
    from server.followup import services

    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    before = counts()
    for kind in ("referral", "transfer"):
        resp = _post_new(client, sr, kind=kind, target_department_id="", target_name="某局", matter="线索移交")
        assert resp.status_code == 422
        html = resp.get_data(as_text=True)
        assert "必须指定接收部门" in html and "线索移交" in html  # the message, and the typed text kept
    assert counts() == before
    with pytest.raises(DomainError) as exc:
        services.create(fw.reviewer_a, sr, "referral", None, "", "线索移交")
    assert exc.value.code == "target_required" and exc.value.status == 422
    db.session.rollback()
    assert counts() == before


def test_judiciary_without_a_target_name_is_refused_and_nothing_changes(fw, make_result, login):
    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    before = counts()
    resp = _post_new(client, sr, kind="judiciary", target_department_id=str(fw.c.id), target_name="  ",
                     matter="涉嫌生产销售伪劣产品罪")
    assert resp.status_code == 422
    assert "必须写明接收机关" in resp.get_data(as_text=True)
    assert counts() == before


def test_referral_to_the_own_department_and_missing_matter_are_refused(fw, make_result, login):
    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    before = counts()
    resp = _post_new(client, sr, kind="referral", target_department_id=str(fw.a.id), matter="x")
    assert resp.status_code == 422 and "不能移送给本部门" in resp.get_data(as_text=True)
    resp = _post_new(client, sr, kind="case_filed", matter="  ")
    assert resp.status_code == 422 and "请写明移送或处置的事项" in resp.get_data(as_text=True)
    resp = _post_new(client, sr, kind="", matter="x")
    assert resp.status_code == 422 and "请选择处置方式" in resp.get_data(as_text=True)
    assert counts() == before


def test_another_departments_user_is_refused_403(fw, make_result, login):
    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_b)
    before = counts()
    assert client.get(f"/results/{sr.id}/follow-ups/new").status_code == 403
    resp = _post_new(client, sr, kind="case_filed", matter="立案")
    assert resp.status_code == 403
    assert counts() == before
    # and a follow-up of department a is not theirs to see or close
    client = login(fw.reviewer_a)
    _post_new(client, sr, kind="case_filed", matter="立案")
    fu = db.session.execute(db.select(FollowUp)).scalar_one()
    client = login(fw.reviewer_b)
    assert client.get(f"/follow-ups/{fu.id}").status_code == 403
    assert client.post(f"/follow-ups/{fu.id}/close", data={"done_on": "2026-12-02", "outcome": "x"}).status_code == 403
    assert fw.obj_z.name not in client.get("/followups").get_data(as_text=True)


def test_result_without_a_problem_or_not_accepted_is_refused_409(fw, make_result, login):
    from server.review.models import ResultStatus

    clean = make_result(fw.v_z, fw.a, problem=False)
    pending = make_result(fw.v_a, fw.a, status=ResultStatus.PENDING)
    client = login(fw.reviewer_a)
    before = counts()
    resp = client.post(f"/results/{clean.id}/follow-ups/new", data={"kind": "case_filed", "matter": "x"},
                       headers={"Accept": "application/json"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "no_problem_found"
    resp = client.post(f"/results/{pending.id}/follow-ups/new", data={"kind": "case_filed", "matter": "x"},
                       headers={"Accept": "application/json"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "result_not_accepted"
    assert counts() == before


def _create(client, sr, **form):
    form = {"kind": "case_filed", "matter": "立案查处", "target_department_id": "", "target_name": "", **form}
    resp = _post_new(client, sr, **form)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return db.session.execute(db.select(FollowUp).order_by(FollowUp.id.desc())).scalars().first()


def test_close_without_outcome_is_refused_and_keeps_the_entered_text(fw, make_result, login, set_today):
    set_today(date(2026, 12, 4))
    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    fu = _create(client, sr)
    before = counts()
    resp = client.post(f"/follow-ups/{fu.id}/close", data={"done_on": "2026-12-03", "reference": "武市监立〔2026〕12号",
                                                           "outcome": ""})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "请写明办理结果" in html and "武市监立〔2026〕12号" in html
    for bad, message in (("2026-12-05", "不能晚于今天"), ("2026-12-01", "不能早于检查结果形成之日"), ("12/3", "请填写办结日期")):
        resp = client.post(f"/follow-ups/{fu.id}/close", data={"done_on": bad, "outcome": "已立案"})
        assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert counts() == before
    db.session.refresh(fu)
    assert fu.status is FollowUpStatus.OPEN


def test_progress_then_close_tracks_the_history(fw, make_result, login, set_today):
    set_today(date(2026, 12, 4))
    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    fu = _create(client, sr)
    assert client.post(f"/follow-ups/{fu.id}/progress", data={"note": ""}).status_code == 422
    assert client.post(f"/follow-ups/{fu.id}/progress", data={"note": "已调取证据"}).status_code == 303
    resp = client.post(f"/follow-ups/{fu.id}/close", data={"done_on": "2026-12-04", "reference": "立案号 12",
                                                           "outcome": "已立案"})
    assert resp.status_code == 303
    db.session.expire_all()
    fu = db.session.get(FollowUp, fu.id)
    assert fu.status is FollowUpStatus.CLOSED and fu.done_on == date(2026, 12, 4) and fu.outcome == "已立案"
    assert [e.status for e in fu.events] == [FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS, FollowUpStatus.CLOSED]
    assert _actions(fu.id) == ["follow_up.create", "follow_up.progress", "follow_up.close"]
    page = client.get(f"/follow-ups/{fu.id}").get_data(as_text=True)
    assert "已调取证据" in page and "立案号 12" in page and "已办结" in page
    assert client.post(f"/follow-ups/{fu.id}/progress", data={"note": "再补充"}).status_code == 409
    # a mistaken closure can be reopened, with a reason
    assert client.post(f"/follow-ups/{fu.id}/reopen", data={"reopen_note": ""}).status_code == 422
    assert client.post(f"/follow-ups/{fu.id}/reopen", data={"reopen_note": "误办结"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(FollowUp, fu.id).status is FollowUpStatus.IN_PROGRESS


def test_closing_an_abnormal_list_follow_up_marks_the_object(fw, make_result, login, set_today):
    from server.audit.models import AuditEntry
    from server.registry.models import InspectedObject

    set_today(date(2026, 12, 4))
    sr = make_result(fw.v_a, fw.a)
    assert fw.obj_a.abnormal_list is False
    client = login(fw.reviewer_a)
    fu = _create(client, sr, kind="abnormal_list", matter="通过登记的住所无法联系，列入经营异常名录")
    assert client.post(f"/follow-ups/{fu.id}/close", data={"done_on": "2026-12-03", "reference": "武市监异〔2026〕3号",
                                                           "outcome": "已作出列入决定"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(InspectedObject, fw.obj_a.id).abnormal_list is True
    entry = db.session.execute(db.select(AuditEntry).where(AuditEntry.entity_type == "object",
                                                           AuditEntry.entity_id == str(fw.obj_a.id),
                                                           AuditEntry.action == "object.update")).scalar_one()
    assert entry.before == {"abnormal_list": False} and entry.after == {"abnormal_list": True}


def test_due_date_across_2026_national_day(fw, make_result, login):
    """Result accepted Wed 2026-09-30. 2026 notice (国办发明电〔2025〕7号): National Day 10/1–10/7 off,
    Sat 10/10 a working day. 7 working days: 10/8, 10/9, 10/10 (Sat), 10/12, 10/13, 10/14, 10/15."""
    sr = make_result(fw.v_z, fw.a, entered_on=date(2026, 9, 30))
    client = login(fw.reviewer_a)
    fu = _create(client, sr, kind="referral", target_department_id=str(fw.c.id))
    assert fu.due_on == date(2026, 10, 15) and fu.due_provisional is False


def test_due_date_running_into_2027_is_provisional_with_the_reason(fw, make_result, login):
    """Result Mon 2026-12-28: 12/29, 12/30, 12/31, then 2027 (not loaded: weekly rule) 1/1 Fri, 1/4, 1/5, 1/6."""
    sr = make_result(fw.v_z, fw.a, entered_on=date(2026, 12, 28))
    client = login(fw.reviewer_a)
    fu = _create(client, sr, kind="transfer", target_department_id=str(fw.c.id))
    assert fu.due_on == date(2027, 1, 6) and fu.due_provisional is True
    page = client.get(f"/follow-ups/{fu.id}").get_data(as_text=True)
    assert "暂定" in page and "2027 年的节假日安排尚未载入" in page
    data = client.get("/api/follow-ups").get_json()
    assert data["items"][0]["due_on"]["date"] == "2027-01-06" and data["items"][0]["due_on"]["provisional"] is True
    assert "2027" in data["items"][0]["due_on"]["reason"]


def test_loading_2027_recomputes_provisional_due_dates(fw, make_result, login):
    from server.workdays.models import CalendarDay, CalendarYear, DayKind
    from server.workdays.services import calendar_changed, forget_cache

    sr = make_result(fw.v_z, fw.a, entered_on=date(2026, 12, 28))
    client = login(fw.reviewer_a)
    fu = _create(client, sr, kind="transfer", target_department_id=str(fw.c.id))
    # 2027 arrangement (as a test fixture: New Year's Day off on Fri 1/1)
    db.session.add(CalendarYear(year=2027, source="test"))
    db.session.flush()
    db.session.add(CalendarDay(day=date(2027, 1, 1), year=2027, kind=DayKind.HOLIDAY, name="元旦"))
    db.session.flush()
    forget_cache()
    calendar_changed.send(None, years=[2027])
    db.session.commit()
    db.session.expire_all()
    fu = db.session.get(FollowUp, fu.id)
    assert fu.due_on == date(2027, 1, 7) and fu.due_provisional is False
    assert "follow_up.due_recomputed" in _actions(fu.id)


def test_due_soon_overdue_pending_lists_and_the_nav_badge(fw, make_result, login, set_today):
    # results accepted Wed 2026-12-02 → due Fri 12-11 (12-3, 4, 7, 8, 9, 10, 11); Mon 12-07 → due Wed 12-16
    old = make_result(fw.v_z, fw.a, entered_on=date(2026, 12, 2))
    soon = make_result(fw.v_a, fw.a, entered_on=date(2026, 12, 7))
    waiting = make_result(fw.v_other, fw.a, entered_on=date(2026, 12, 2))  # no follow-up yet: 待移送
    far = make_result(fw.v_z, fw.b, entered_on=date(2026, 12, 10))  # department b: not a's concern
    assert (old.referral_due, soon.referral_due, far.referral_due) == (date(2026, 12, 11), date(2026, 12, 16),
                                                                       date(2026, 12, 21))
    set_today(date(2026, 12, 2))
    client = login(fw.reviewer_a)
    f_old = _create(client, old, matter="甲事项")
    f_soon = _create(client, soon, matter="乙事项")
    # Fri 12-11: both due within 3 working days (12-14, 12-15, 12-16), nothing overdue yet
    set_today(date(2026, 12, 11))
    page = client.get("/followups").get_data(as_text=True)
    assert 'data-followups-due="3"' in page  # two follow-ups and one result waiting
    assert "即将到期/已逾期" in page and "逾期" not in page.split("全部后续处置")[0].replace("即将到期/已逾期", "")
    assert f'data-pending-result="{waiting.id}"' in page
    # Thu 12-17: 12-11 overdue by 4 working days (12-14..12-17), 12-16 overdue by 1
    set_today(date(2026, 12, 17))
    page = client.get("/followups").get_data(as_text=True)
    assert "逾期 4 个工作日" in page and "逾期 1 个工作日" in page
    data = client.get("/api/follow-ups?overdue=1").get_json()
    assert {i["id"]: i["overdue_workdays"] for i in data["items"]} == {f_old.id: 4, f_soon.id: 1}
    # closing one removes it from the reminders and the badge
    client.post(f"/follow-ups/{f_old.id}/close", data={"done_on": "2026-12-17", "outcome": "已立案"})
    page = client.get("/followups").get_data(as_text=True)
    assert 'data-followups-due="2"' in page
    assert client.get("/api/follow-ups?due_soon=1").get_json()["total"] == 0
    assert client.get("/api/follow-ups?status=closed").get_json()["total"] == 1
    # department b sees none of a's, only its own result waiting (due 12-21, within 3 working days of 12-17)
    client = login(fw.reviewer_b)
    page = client.get("/followups").get_data(as_text=True)
    assert 'data-followups-due="1"' in page and f'data-pending-result="{far.id}"' in page
    assert "data-follow-up-id" not in page and fw.obj_a.name not in page


def test_the_receiving_department_sees_the_transfer_and_acknowledges_it(fw, make_result, login, set_today):
    set_today(date(2026, 12, 4))
    sr = make_result(fw.v_z, fw.a)
    client = login(fw.reviewer_a)
    fu = _create(client, sr, kind="transfer", target_department_id=str(fw.c.id), matter="计量器具问题转办")
    client = login(fw.reviewer_c)
    page = client.get("/followups").get_data(as_text=True)
    assert f'data-follow-up-id="{fu.id}"' in page and fw.obj_z.name in page
    assert client.get("/api/follow-ups").get_json()["total"] == 1
    page = client.get(f"/follow-ups/{fu.id}").get_data(as_text=True)
    assert "确认接收并登记进展" in page and "办结日期" not in page
    assert client.post(f"/follow-ups/{fu.id}/progress", data={"note": "已接收，正在核查"}).status_code == 303
    assert client.post(f"/follow-ups/{fu.id}/close", data={"done_on": "2026-12-04", "outcome": "x"}).status_code == 403
    db.session.expire_all()
    fu = db.session.get(FollowUp, fu.id)
    assert fu.status is FollowUpStatus.IN_PROGRESS
    assert db.session.execute(db.select(FollowUpEvent.note).where(FollowUpEvent.follow_up_id == fu.id)
                              .order_by(FollowUpEvent.id.desc())).scalars().first() == "已接收，正在核查"


def test_joint_office_sees_every_department_once_the_visits_are_over(fw, make_result, login):
    from server.planning.models import TaskStatus

    sr = make_result(fw.v_z, fw.a)
    fu = _create(login(fw.reviewer_a), sr)
    client = login(fw.joint)
    # before the visits are over the object list is confidential [004§8(三)]
    assert fw.obj_z.name not in client.get("/followups").get_data(as_text=True)
    assert client.get(f"/follow-ups/{fu.id}").status_code == 403
    fw.task.status = TaskStatus.VISITS_OVER
    db.session.commit()
    page = client.get(f"/followups?department_id={fw.a.id}").get_data(as_text=True)
    assert fw.obj_z.name in page
    assert client.get(f"/follow-ups/{fu.id}").status_code == 200
    assert "登记办理进展" not in client.get(f"/follow-ups/{fu.id}").get_data(as_text=True)  # read only
    assert client.post(f"/follow-ups/{fu.id}/progress", data={"note": "x"}).status_code == 403
    assert client.get(f"/followups?q={fw.obj_z.code}").get_data(as_text=True).count("data-follow-up-id") >= 1
    assert 'data-follow-up-id' not in client.get("/followups?q=不存在的名字").get_data(as_text=True)


def test_api_refuses_roles_without_follow_up(fw, login):
    client = login(fw.u_a1)  # a plain inspector
    resp = client.get("/api/follow-ups")
    assert resp.status_code == 403
    assert client.get("/followups").status_code == 403
