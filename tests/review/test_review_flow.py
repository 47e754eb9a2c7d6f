"""Consolidation and review (issue 8 §2–3): the flow from synced sections to reviewed results,
every refusal with nothing changed, the deadlines in Chinese working days, the API and the
overdue lists."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.extensions import db
from server.fieldwork.models import VisitRecord
from server.review.models import Consolidation, ResultStatus, ReviewDecision, SectionResult
from server.visits.models import VisitStage
from server.workdays.services import beijing_today, result_due


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _snapshot():
    """Everything a refused action must leave as it was."""
    db.session.expire_all()
    results = [(r.id, r.status.value, r.record_id, r.entered_on, r.review_comment) for r in
               db.session.execute(select(SectionResult).order_by(SectionResult.id)).scalars()]
    from server.visits.models import Visit

    visits = [(v.id, v.stage.value, v.changed_at) for v in db.session.execute(select(Visit).order_by(Visit.id)).scalars()]
    audit = db.session.execute(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.entity_type.in_(["visit", "visit_record"]))).scalar_one()  # not logins, not page views
    return (audit, _count(Consolidation), _count(ReviewDecision), _count(VisitRecord), results, visits)


def _result(flow, dept) -> SectionResult:
    db.session.expire_all()
    return db.session.execute(select(SectionResult).where(SectionResult.visit_id == flow.v_z.id,
                                                          SectionResult.department_id == dept.id)).scalar_one()


def _consolidate(flow, user=None, summary="两部门均已完成检查"):
    client = flow.login(user or flow.u_a1)
    return client.post(f"/visits/{flow.v_z.id}/consolidate", data={"summary": summary})


def _review(flow, user, sr, decision, comment=""):
    client = flow.login(user)
    return client.post(f"/results/{sr.id}/review", data={"decision": decision, "comment": comment})


def _actions(visit_id) -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).where(
        AuditEntry.entity_type == "visit", AuditEntry.entity_id == str(visit_id)).order_by(AuditEntry.seq)).scalars())


def test_the_full_flow_from_synced_sections_to_a_reviewed_visit(flow):
    flow.send(flow.u_a1, flow.a)
    db.session.refresh(flow.v_z)
    assert flow.v_z.stage is VisitStage.PLANNED  # one section is not enough
    flow.send(flow.u_b1, flow.b)
    db.session.refresh(flow.v_z)
    v = flow.v_z
    # check-in 2026-12-02T02:00Z = 10:00 in Beijing on Wednesday 2 December 2026; 20 working days
    # later (no holiday in December 2026): 3–4, 7–11, 14–18, 21–25, 28–30 December → 30 December
    assert v.stage is VisitStage.VISITED and v.visited_on == date(2026, 12, 2)
    assert v.result_due == date(2026, 12, 30) and not v.result_due_provisional
    assert "visit.visited" in _actions(v.id)

    resp = _consolidate(flow)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.refresh(v)
    assert v.stage is VisitStage.CONSOLIDATED
    cons = db.session.execute(select(Consolidation)).scalar_one()
    assert cons.round == 1 and set(cons.record_ids) == {str(flow.a.id), str(flow.b.id)}
    sr_a, sr_b = _result(flow, flow.a), _result(flow, flow.b)
    assert sr_a.status is ResultStatus.PENDING and sr_a.result_codes == ["no_problem"] and not sr_a.problem
    assert sr_a.result_due == date(2026, 12, 30) and sr_a.visited_on == date(2026, 12, 2)

    # a consolidated section that was not returned refuses new versions from the phone
    latest_a = db.session.execute(select(func.max(VisitRecord.version)).where(
        VisitRecord.visit_id == v.id, VisitRecord.department_id == flow.a.id)).scalar_one()
    before = _count(VisitRecord)
    resp = flow.send(flow.u_a1, flow.a, base=latest_a, expect=409)
    assert resp.get_json()["error"]["code"] == "section_locked"
    assert _count(VisitRecord) == before

    assert _review(flow, flow.rev_a, sr_a, "accept").status_code == 302
    sr_a = _result(flow, flow.a)
    assert sr_a.status is ResultStatus.ACCEPTED and sr_a.entered_on == beijing_today()
    assert sr_a.entered_late is (beijing_today() > date(2026, 12, 30)) and sr_a.referral_due is None

    changed_before = db.session.get(type(v), v.id).changed_at
    assert _review(flow, flow.rev_b, sr_b, "return", "计量器具检定情况未拍照留证，请补拍后重新提交").status_code == 302
    db.session.expire_all()
    sr_b, v = _result(flow, flow.b), db.session.get(type(v), v.id)
    assert sr_b.status is ResultStatus.RETURNED and sr_b.review_comment.startswith("计量器具")
    assert v.stage is VisitStage.RETURNED and v.changed_at >= changed_before
    page = flow.login(flow.u_a1).get(f"/visits/{v.id}").get_data(as_text=True)
    assert "计量器具检定情况未拍照留证" in page and 'data-stage="returned"' in page

    # the returned section takes a corrected version (not locked); the visit is ready again
    flow.send(flow.u_b1, flow.b, base=1)
    db.session.expire_all()
    v = db.session.get(type(v), v.id)
    assert v.stage is VisitStage.VISITED and v.visited_on == date(2026, 12, 2)

    assert _consolidate(flow, summary="第二轮：协作局已更正").status_code == 302
    assert db.session.execute(select(func.max(Consolidation.round))).scalar_one() == 2
    sr_a, sr_b = _result(flow, flow.a), _result(flow, flow.b)
    assert sr_a.status is ResultStatus.ACCEPTED  # unchanged record: stays accepted
    assert sr_b.status is ResultStatus.PENDING and sr_b.review_comment is None
    new_b = db.session.execute(select(VisitRecord).where(VisitRecord.visit_id == v.id, VisitRecord.department_id == flow.b.id,
                                                         VisitRecord.version == 2)).scalar_one()
    assert sr_b.record_id == new_b.id

    assert _review(flow, flow.rev_b, sr_b, "accept", "已补正").status_code == 302
    db.session.expire_all()
    assert db.session.get(type(v), v.id).stage is VisitStage.REVIEWED
    decisions = db.session.execute(select(ReviewDecision.decision).order_by(ReviewDecision.id)).scalars().all()
    assert decisions == [ResultStatus.ACCEPTED, ResultStatus.RETURNED, ResultStatus.ACCEPTED]
    actions = _actions(v.id)
    for action in ("visit.visited", "visit.consolidate", "section.accept", "section.return", "visit.corrected",
                   "visit.reviewed"):
        assert action in actions, action
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "section.return")).scalar_one()
    assert entry.after["comment"].startswith("计量器具")
    cons_entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "visit.consolidate")
                                    .order_by(AuditEntry.seq)).scalars().first()
    assert cons_entry.after["summary_length"] == len("两部门均已完成检查") and "两部门" not in str(cons_entry.after)

    page = flow.login(flow.u_a1).get(f"/visits/{v.id}").get_data(as_text=True)
    assert 'data-stage="reviewed"' in page and 'data-result-due="2026-12-30"' in page


def test_a_reviewer_acting_on_another_departments_section_is_refused_and_nothing_changes(flow):
    flow.both()
    assert _consolidate(flow).status_code == 302
    sr_a = _result(flow, flow.a)
    before = _snapshot()
    resp = _review(flow, flow.rev_b, sr_a, "accept")
    assert resp.status_code == 403 and "审核本部门" in resp.get_data(as_text=True)
    resp = flow.login(flow.rev_b).post(f"/results/{sr_a.id}/review", data={"decision": "return", "comment": "越权"},
                                       headers={"Accept": "application/json"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "other_department_section"
    # a team member without the reviewer role, and an inspector of the section's department
    assert _review(flow, flow.u_a1, sr_a, "accept").status_code == 403
    assert _snapshot() == before


def test_returning_without_a_comment_is_refused_with_the_message_next_to_the_field(flow):
    flow.both()
    _consolidate(flow)
    sr_b = _result(flow, flow.b)
    before = _snapshot()
    resp = _review(flow, flow.rev_b, sr_b, "return", "   ")
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert 'data-error="comment_required"' in body and "请填写退回意见" in body
    assert _review(flow, flow.rev_b, sr_b, "maybe").status_code == 422
    assert _snapshot() == before


def test_only_pending_sections_can_be_decided(flow):
    flow.both()
    _consolidate(flow)
    sr_a = _result(flow, flow.a)
    _review(flow, flow.rev_a, sr_a, "accept")
    before = _snapshot()
    resp = flow.login(flow.rev_a).post(f"/results/{sr_a.id}/review", data={"decision": "return", "comment": "再看看"},
                                       headers={"Accept": "application/json"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_pending"
    assert _snapshot() == before


def test_only_the_active_team_leader_consolidates(flow):
    flow.both()
    before = _snapshot()
    for user in (flow.u_b1, flow.rev_a, flow.joint, flow.u_a2):
        resp = flow.login(user).post(f"/visits/{flow.v_z.id}/consolidate", data={"summary": "x"},
                                     headers={"Accept": "application/json"})
        assert resp.status_code == 403, user.username
        if resp.is_json:
            assert resp.get_json()["error"]["code"] in ("not_team_leader", "lists_confidential")
    assert _snapshot() == before


def test_consolidating_with_an_unsynced_section_names_the_department_and_changes_nothing(flow):
    flow.send(flow.u_a1, flow.a)
    before = _snapshot()
    resp = _consolidate(flow, summary="我写的汇总意见")
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert 'data-error="section_unsynced"' in body and "协作局" in body and "尚未同步任何记录" in body
    assert "我写的汇总意见" in body  # the form keeps what the leader typed
    resp = flow.login(flow.u_a1).post(f"/visits/{flow.v_z.id}/consolidate", headers={"Accept": "application/json"})
    err = resp.get_json()["error"]
    assert err["code"] == "section_unsynced" and [d["department"] for d in err["details"]["departments"]] == ["协作局"]
    assert _snapshot() == before


def test_a_conflict_version_newer_than_the_latest_blocks_the_consolidation(flow):
    flow.both()
    resp = flow.send(flow.u_b1, flow.b, base=0, expect=409)  # made from a stale base: kept as a conflict
    assert resp.get_json()["error"]["code"] == "stale_version"
    before = _snapshot()
    resp = flow.login(flow.u_a1).post(f"/visits/{flow.v_z.id}/consolidate", headers={"Accept": "application/json"})
    err = resp.get_json()["error"]
    assert resp.status_code == 409 and err["code"] == "section_unsynced"
    (dept,) = err["details"]["departments"]
    assert dept["department_id"] == flow.b.id and "冲突版本" in dept["reasons"][0]
    assert _snapshot() == before
    # a version made on top of the latest resolves it
    flow.send(flow.u_b1, flow.b, base=1)
    assert _consolidate(flow).status_code == 302


def test_a_photo_not_yet_arrived_blocks_the_consolidation(flow):
    flow.send(flow.u_a1, flow.a)
    flow.send(flow.u_b1, flow.b, photos=["ab" * 32])
    before = _snapshot()
    resp = flow.login(flow.u_a1).post(f"/visits/{flow.v_z.id}/consolidate", headers={"Accept": "application/json"})
    err = resp.get_json()["error"]
    assert resp.status_code == 409 and err["code"] == "section_unsynced" and "协作局" in err["message"]
    assert "照片尚未上传" in err["details"]["departments"][0]["reasons"][0]
    assert _snapshot() == before


def test_a_visit_already_consolidated_cannot_be_consolidated_again(flow):
    flow.both()
    assert _consolidate(flow).status_code == 302
    before = _snapshot()
    resp = flow.login(flow.u_a1).post(f"/visits/{flow.v_z.id}/consolidate", headers={"Accept": "application/json"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_ready_to_consolidate"
    assert _snapshot() == before


def test_a_result_accepted_after_its_due_date_is_entered_late_and_listed(flow):
    # Monday 6 January 2025; the 2025 notice: Spring Festival 28 Jan–4 Feb off, Sunday 26 Jan and
    # Saturday 8 Feb worked. 20 working days: 7–10 Jan (4), 13–17 (9), 20–24 (14), Sun 26 (15),
    # Mon 27 (16), 5–7 Feb (19), Sat 8 Feb (20) → 8 February 2025
    check_in = {"at": "2025-01-06T02:00:00.000Z", "gps": {"lat": 35.08, "lng": 113.38, "accuracy_m": 12},
                "gps_error": None}
    flow.both(check_in=check_in)
    db.session.refresh(flow.v_z)
    assert flow.v_z.visited_on == date(2025, 1, 6) and flow.v_z.result_due == date(2025, 2, 8)
    _consolidate(flow)
    sr_a = _result(flow, flow.a)
    _review(flow, flow.rev_a, sr_a, "accept")
    sr_a = _result(flow, flow.a)
    assert sr_a.entered_late and sr_a.entered_on == beijing_today()

    # the overdue page: department b's result is overdue, department a's is listed as entered late
    page = flow.login(flow.joint).get("/review/overdue")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "逾期录入（视为未完成）" in body
    assert f'data-department-id="{flow.b.id}"' in body and 'data-overdue-count="1"' in body
    assert "张三食品有限公司" not in body  # the joint office is not entitled before the visits are over
    assert "（检查结束后显示）" in body
    # a reviewer sees their own department only, with the object of their section
    body = flow.login(flow.rev_b).get("/review/overdue").get_data(as_text=True)
    assert f'data-department-id="{flow.b.id}"' in body and f'data-department-id="{flow.a.id}"' not in body
    assert "张三食品有限公司" in body
    body = flow.login(flow.rev_a).get("/review/overdue").get_data(as_text=True)
    assert 'data-late-count="1"' in body and f'data-department-id="{flow.b.id}"' not in body
    # the API's overdue filter
    data = flow.login(flow.rev_b).get("/api/results?overdue=1").get_json()
    assert [i["department_id"] for i in data["items"]] == [flow.b.id]


def test_visits_never_visited_after_the_task_period_plus_20_working_days_are_overdue(flow):
    flow.task.period_start, flow.task.period_end = date(2025, 3, 1), date(2025, 3, 31)
    db.session.commit()
    body = flow.login(flow.joint).get("/review/overdue").get_data(as_text=True)
    assert body.count('data-kind="never_visited"') == 2  # v_z: one row per department with items
    assert "张三食品有限公司" not in body
    body = flow.login(flow.u_a1).get("/review").get_data(as_text=True)  # the leader has nothing to consolidate
    assert "张三食品有限公司" not in body


def test_result_due_across_national_day_2026(flow):
    # the 2026 notice: National Day 1–7 October off, Sunday 20 September and Saturday 10 October
    # worked. From Wednesday 30 September: Thu 8 (1), Fri 9 (2), Sat 10 (3), 12–16 (8), 19–23 (13),
    # 26–30 (18), Mon 2 Nov (19), Tue 3 Nov (20) → 3 November 2026
    assert result_due(date(2026, 9, 30)).date == date(2026, 11, 3)
    check_in = {"at": "2026-09-30T01:00:00.000Z", "gps": None, "gps_error": "denied"}
    flow.both(check_in=check_in)
    db.session.refresh(flow.v_z)
    assert flow.v_z.visited_on == date(2026, 9, 30) and flow.v_z.result_due == date(2026, 11, 3)


def test_a_check_in_in_the_future_or_unparseable_falls_back_to_the_arrival(flow):
    future = (date.today() + timedelta(days=40)).isoformat() + "T02:00:00.000Z"
    flow.send(flow.u_a1, flow.a, check_in={"at": future, "gps": None, "gps_error": "denied"})
    flow.send(flow.u_b1, flow.b, check_in={"at": "gestern", "gps": None, "gps_error": "denied"})
    db.session.refresh(flow.v_z)
    assert flow.v_z.visited_on == beijing_today()


def test_the_api_gives_stage_deadlines_and_sections(flow):
    flow.both()
    client = flow.login(flow.u_a1)
    data = client.get(f"/api/visits/{flow.v_z.id}/results").get_json()
    assert data == {"visit_id": flow.v_z.id, "stage": "visited", "visited_on": "2026-12-02",
                    "result_due": {"date": "2026-12-30", "provisional": False, "reason": None}, "sections": []}
    _consolidate(flow)
    _review(flow, flow.rev_a, _result(flow, flow.a), "accept")
    resp = flow.login(flow.u_a1).get(f"/api/visits/{flow.v_z.id}/results")
    assert "no-store" in resp.headers["Cache-Control"]
    sections = {s["department_id"]: s for s in resp.get_json()["sections"]}
    a = sections[flow.a.id]
    for key in ("department", "status", "result_codes", "problem", "entered_on", "entered_late", "referral_due",
                "reviewed_at", "review_comment"):
        assert key in a
    assert a["status"] == "accepted" and a["result_codes"] == ["no_problem"] and a["referral_due"] is None
    assert sections[flow.b.id]["status"] == "pending_review" and sections[flow.b.id]["department"] == "协作局"
    # a reviewer sees their own department's section only; others are refused
    data = flow.login(flow.rev_b).get(f"/api/visits/{flow.v_z.id}/results").get_json()
    assert [s["department_id"] for s in data["sections"]] == [flow.b.id]
    assert flow.login(flow.joint).get(f"/api/visits/{flow.v_z.id}/results").status_code == 403
    listed = flow.login(flow.rev_a).get("/api/results?status=accepted").get_json()
    assert listed["total"] == 1 and listed["items"][0]["object_name"] == "张三食品有限公司"
    assert flow.login(flow.joint).get("/api/results").get_json()["total"] == 0
    assert flow.login(flow.rev_a).get("/api/results?status=nonsense").status_code == 422


def test_a_problem_result_gets_a_referral_deadline_when_accepted(flow):
    problem = {"code": "rectified", "method": "onsite", "problems": "许可证未悬挂", "handling": "责令改正",
               "legal_basis": "《食品安全法》第三十五条", "follow_up": "order_rectify"}
    flow.send(flow.u_a1, flow.a, results={str(flow.item_a.id): problem})
    flow.send(flow.u_b1, flow.b)
    _consolidate(flow)
    sr_a = _result(flow, flow.a)
    assert sr_a.problem and sr_a.result_codes == ["rectified"]
    _review(flow, flow.rev_a, sr_a, "accept")
    sr_a = _result(flow, flow.a)
    from server.workdays.services import referral_due

    assert sr_a.referral_due == referral_due(sr_a.entered_on).date
    body = flow.login(flow.rev_a).get(f"/visits/{flow.v_z.id}").get_data(as_text=True)
    assert f'data-referral-due="{sr_a.referral_due.isoformat()}"' in body


def test_the_queue_lists_each_users_work(flow):
    flow.both()
    body = flow.login(flow.u_a1).get("/review").get_data(as_text=True)
    assert f'data-visit-id="{flow.v_z.id}" data-ready="1"' in body
    _consolidate(flow)
    body = flow.login(flow.rev_b).get("/review").get_data(as_text=True)
    assert "张三食品有限公司" in body and 'id="pending-table"' in body
    assert flow.login(flow.rev_b).get("/review?q=不存在的公司").get_data(as_text=True).count("data-section-result-id") == 0
    body = flow.login(flow.joint).get("/review").get_data(as_text=True)
    assert 'id="overview"' in body and "张三食品有限公司" not in body and "协作局" in body
    # the reviewer sees the visit page with their own section only
    body = flow.login(flow.rev_b).get(f"/visits/{flow.v_z.id}").get_data(as_text=True)
    assert f'id="dept-{flow.b.id}"' in body and f'id="dept-{flow.a.id}"' not in body
    assert 'class="review-form"' in body


def test_a_calendar_load_recomputes_provisional_deadlines(flow, app):
    from server.workdays.services import calendar_changed

    flow.both()
    v = flow.v_z
    v.visited_on, v.result_due, v.result_due_provisional = date(2026, 12, 2), date(2026, 12, 29), True
    db.session.commit()
    calendar_changed.send(app, years=[2026])
    db.session.commit()
    db.session.refresh(v)
    assert v.result_due == date(2026, 12, 30) and not v.result_due_provisional


def test_a_reviewer_sees_the_photos_of_the_section_they_review_and_no_other(flow):
    """Before the visits are over a department's reviewer sees its consolidated section on the visit
    page: the section's photos must open for them too, and for no other department's reviewer."""
    from tests.sync.conftest import jpeg_bytes, sha, upload

    data = jpeg_bytes(7)
    assert upload(flow.login(flow.u_b1), data).status_code == 204
    flow.send(flow.u_a1, flow.a)
    flow.send(flow.u_b1, flow.b, photos=[sha(data)])
    url = f"/api/photos/{sha(data)}/thumb"

    def status(user, path=url) -> int:
        resp = flow.login(user).get(path)
        resp.close()  # a sent file stays open until the response is closed
        return resp.status_code

    assert status(flow.rev_b) == 403  # not consolidated yet: no section to review
    assert _consolidate(flow).status_code == 302
    assert status(flow.rev_b) == 200
    assert status(flow.rev_b, f"/api/photos/{sha(data)}") == 200
    assert status(flow.rev_a) == 403  # department a's reviewer: not their section
