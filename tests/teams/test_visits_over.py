"""Marking a task's visits over lifts confidentiality; only the initiators or the joint office may,
and only once every visit has a finished record or the initiator gave the reason why it has none."""

from __future__ import annotations

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.audit.services import history
from server.extensions import db
from server.planning.models import TaskStatus
from server.teams.models import MissingRecordReason
from server.visits.models import VisitStatus


def _finish(*visits) -> None:
    for visit in visits:
        visit.status = VisitStatus.DONE
    db.session.commit()


def _reasons() -> int:
    return db.session.execute(select(func.count()).select_from(MissingRecordReason)).scalar_one()


def _over_entries() -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "task.visits_over")).scalar_one()


def test_initiator_marks_visits_over(drawn, login):
    _finish(drawn.v1, drawn.v2, drawn.v3)
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over")
    assert resp.status_code == 302
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.VISITS_OVER
    assert drawn.task.visits_over_at is not None
    assert history("task", drawn.task.id)[0].action == "task.visits_over"


def test_joint_office_marks_visits_over(drawn, login):
    _finish(drawn.v1, drawn.v2, drawn.v3)
    assert login(drawn.joint).post(f"/tasks/{drawn.task.id}/visits-over").status_code == 302
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.VISITS_OVER


def test_member_cannot_mark_visits_over(drawn, login):
    resp = login(drawn.u_a1).post(f"/tasks/{drawn.task.id}/visits-over")
    assert resp.status_code == 403
    assert "发起部门" in resp.get_data(as_text=True)
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.INSPECTORS_DRAWN


def test_visits_over_refused_before_inspectors_drawn(drawn, login):
    drawn.task.status = TaskStatus.OBJECTS_DRAWN
    db.session.commit()
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over")
    assert resp.status_code == 409
    assert "尚未抽取检查人员" in resp.get_data(as_text=True)
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.OBJECTS_DRAWN


# -- visits without a finished record ------------------------------------------------------------------


def test_refused_while_a_visit_lacks_a_finished_record(drawn, login):
    _finish(drawn.v1, drawn.v2)
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "没有完成的检查记录" in html and "丙公司" in html and f'name="reason_{drawn.v3.id}"' in html
    assert "甲公司" not in html  # only the visits that lack a record are listed
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.INSPECTORS_DRAWN
    assert _over_entries() == 0 and _reasons() == 0


def test_refusal_as_json_lists_the_visits(drawn, login):
    _finish(drawn.v1)
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over", headers={"Accept": "application/json"})
    assert resp.status_code == 409
    err = resp.get_json()["error"]
    assert err["code"] == "visits_unrecorded"
    assert sorted(v["visit_id"] for v in err["details"]["visits"]) == sorted([drawn.v2.id, drawn.v3.id])
    assert {v["object"] for v in err["details"]["visits"]} == {"乙公司", "丙公司"}


def test_an_in_progress_visit_also_needs_its_record(drawn, login):
    _finish(drawn.v1, drawn.v2)
    drawn.v3.status = VisitStatus.IN_PROGRESS
    db.session.commit()
    assert login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over").status_code == 409


def test_withdrawn_visit_needs_no_record(drawn, login):
    _finish(drawn.v1, drawn.v2)
    drawn.v3.status = VisitStatus.WITHDRAWN
    db.session.commit()
    assert login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over").status_code == 302
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.VISITS_OVER


def test_allowed_with_a_reason_for_each_unfinished_visit(drawn, login):
    _finish(drawn.v1)
    client = login(drawn.initiator)
    resp = client.post(f"/tasks/{drawn.task.id}/visits-over",
                       data={f"reason_{drawn.v2.id}": " 企业已注销 ", f"reason_{drawn.v3.id}": "无法联系，已取证"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert drawn.task.status is TaskStatus.VISITS_OVER
    rows = {r.visit_id: r for r in db.session.execute(select(MissingRecordReason)).scalars()}
    assert rows[drawn.v2.id].reason == "企业已注销" and rows[drawn.v3.id].reason == "无法联系，已取证"
    assert rows[drawn.v2.id].recorded_by_id == drawn.initiator.id
    assert drawn.v1.id not in rows
    over = history("task", drawn.task.id)[0]
    assert over.action == "task.visits_over"
    assert {r["visit_id"] for r in over.after["missing_record_reasons"]} == {drawn.v2.id, drawn.v3.id}
    assert history("visit", drawn.v3.id)[0].action == "visit.missing_record_reason"
    assert "无检查记录：无法联系，已取证" in client.get(f"/tasks/{drawn.task.id}/teams").get_data(as_text=True)


def test_a_blank_reason_is_refused_with_input_kept_and_nothing_changed(drawn, login):
    _finish(drawn.v1)
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over",
                                       data={f"reason_{drawn.v2.id}": "企业已注销", f"reason_{drawn.v3.id}": "   "})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert 'value="企业已注销"' in html
    assert "请填写没有检查记录的原因" in html
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.INSPECTORS_DRAWN
    assert _reasons() == 0 and _over_entries() == 0


def test_a_too_long_reason_is_refused_and_nothing_changed(drawn, login):
    _finish(drawn.v1, drawn.v2)
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/visits-over",
                                       data={f"reason_{drawn.v3.id}": "注" * 501})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "不能超过 500 个字" in html
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.INSPECTORS_DRAWN
    assert _reasons() == 0 and _over_entries() == 0


def test_service_refusal_codes(drawn, as_user):
    import pytest

    from server.core.errors import DomainError
    from server.teams.services import mark_visits_over

    _finish(drawn.v1, drawn.v2)
    with as_user(drawn.initiator), pytest.raises(DomainError) as exc:
        mark_visits_over(drawn.task, drawn.initiator, {drawn.v3.id: "x" * 501})
    assert (exc.value.code, exc.value.status, exc.value.details["field"]) == (
        "missing_reason_too_long", 400, f"reason_{drawn.v3.id}")
    with as_user(drawn.initiator), pytest.raises(DomainError) as exc:
        mark_visits_over(drawn.task, drawn.initiator, {})
    assert (exc.value.code, exc.value.status) == ("visits_unrecorded", 409)
    assert [v["visit_id"] for v in exc.value.details["visits"]] == [drawn.v3.id]


def test_joint_office_is_refused_without_seeing_the_objects(drawn, login):
    """The joint office may not see the object list before the visits are over, nor give reasons."""
    _finish(drawn.v1, drawn.v2)
    client = login(drawn.joint)
    page = client.get(f"/tasks/{drawn.task.id}/visits-over").get_data(as_text=True)
    resp = client.post(f"/tasks/{drawn.task.id}/visits-over", data={f"reason_{drawn.v3.id}": "企业已注销"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    for text in (page, html):
        assert "第 2 组：1 个" in text
        assert "丙公司" not in text and drawn.obj3.code not in text and "reason_" not in text
    db.session.refresh(drawn.task)
    assert drawn.task.status is TaskStatus.INSPECTORS_DRAWN
    assert _reasons() == 0


def test_confirmation_page_lists_unfinished_visits_for_the_initiator(drawn, login):
    _finish(drawn.v1)
    resp = login(drawn.initiator).get(f"/tasks/{drawn.task.id}/visits-over")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "乙公司" in html and "丙公司" in html and "甲公司" not in html
    assert f'name="reason_{drawn.v2.id}"' in html and "企业已注销" in html
