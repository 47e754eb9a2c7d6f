"""Replacement of a drawn member [000#16, 003#14]: request, approval by the member's department
head only, a qualified substitute chosen without lottery, the draw record untouched."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from server.audit.services import history
from server.draws.models import Draw, DrawKind, DrawStatus
from server.extensions import db
from server.registry.models import InspectorStatus
from server.teams.models import MemberSource, ReplacementRequest, ReplacementStatus, TeamMember


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def pending(drawn, login):
    """A pending request, filed by the member b1 themself."""
    client = login(drawn.u_b1)
    resp = client.post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                       data={"reason": "health", "explanation": "住院治疗"})
    assert resp.status_code == 302
    return db.session.execute(select(ReplacementRequest)).scalar_one()


def _decide(client, req, **data):
    return client.post(f"/replacements/{req.id}/decision", data=data)


# -- request ---------------------------------------------------------------------------------------


def test_member_requests_own_replacement(drawn, pending):
    assert pending.status is ReplacementStatus.PENDING
    assert pending.requested_by_id == drawn.u_b1.id
    assert history("task", drawn.task.id)[0].action == "team.replacement_requested"


def test_leader_may_request_for_a_member(drawn, login):
    resp = login(drawn.u_a1).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                                  data={"reason": "work_conflict", "explanation": "另有专项任务"})
    assert resp.status_code == 302


def test_initiator_may_request(drawn, login):
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b2.id}/replacement",
                                       data={"reason": "job_change", "explanation": "已调岗"})
    assert resp.status_code == 302


def test_member_of_another_team_may_not_request(drawn, login):
    resp = login(drawn.u_b2).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                                  data={"reason": "health", "explanation": "x"})
    assert resp.status_code == 403
    assert _count(ReplacementRequest) == 0


def test_request_without_explanation_is_refused_and_input_kept(drawn, login):
    resp = login(drawn.u_b1).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                                  data={"reason": "recusal", "explanation": "  "})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "请填写情况说明" in html
    assert 'value="recusal" selected' in html
    assert _count(ReplacementRequest) == 0


def test_request_without_reason_is_refused(drawn, login):
    resp = login(drawn.u_b1).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                                  data={"reason": "", "explanation": "住院"})
    assert resp.status_code == 400
    assert "请选择调整原因" in resp.get_data(as_text=True)
    assert _count(ReplacementRequest) == 0


def test_second_pending_request_for_same_member_is_refused(drawn, pending, login):
    resp = login(drawn.initiator).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                                       data={"reason": "health", "explanation": "again"})
    assert resp.status_code == 409
    assert "待审批" in resp.get_data(as_text=True)
    assert _count(ReplacementRequest) == 1


# -- decision: who ---------------------------------------------------------------------------------


def test_approval_by_a_non_head_is_403_and_nothing_changes(drawn, pending, login):
    resp = _decide(login(drawn.initiator), pending, decision="approve", substitute_id=drawn.i_idle.id)
    assert resp.status_code == 403
    assert "所在部门的负责人" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert pending.status is ReplacementStatus.PENDING
    assert drawn.m_b1.active is True
    assert _count(TeamMember) == 4


def test_approval_by_head_of_another_department_is_403(drawn, pending, login):
    # head_a heads the initiating department, not the member's (B)
    resp = _decide(login(drawn.head_a), pending, decision="approve", substitute_id=drawn.i_idle.id)
    assert resp.status_code == 403
    db.session.expire_all()
    assert pending.status is ReplacementStatus.PENDING
    assert _count(TeamMember) == 4


def test_service_refuses_non_head_with_domain_error(drawn, pending, as_user):
    from server.core.errors import Forbidden
    from server.teams.services import approve_replacement

    with as_user(drawn.head_c), pytest.raises(Forbidden) as exc:
        approve_replacement(drawn.head_c, pending, substitute_id=drawn.i_idle.id)
    assert exc.value.status == 403
    assert exc.value.code == "replacement_decision_forbidden"


# -- decision: approve -----------------------------------------------------------------------------


def test_approval_replaces_member_and_files_it(drawn, pending, login):
    resp = _decide(login(drawn.head_b), pending, decision="approve", substitute_id=drawn.i_idle.id, note="同意")
    assert resp.status_code == 302
    db.session.expire_all()
    old = drawn.m_b1
    new = db.session.execute(select(TeamMember).where(TeamMember.inspector_id == drawn.i_idle.id)).scalar_one()
    assert old.active is False and old.replaced_by_id == new.id
    assert new.team_id == drawn.team1.id and new.source is MemberSource.SUBSTITUTE and new.is_leader is False
    assert drawn.team1.leader.id == drawn.m_a1.id
    assert pending.status is ReplacementStatus.APPROVED
    assert pending.filed_at is not None and pending.substitute_inspector_id == drawn.i_idle.id
    actions = [e.action for e in history("task", drawn.task.id)]
    assert "team.member_replaced" in actions


def test_replaced_leader_is_succeeded_by_the_substitute(drawn, login, make_inspector):
    spare = make_inspector(drawn.a, "备用甲")
    login(drawn.initiator).post(f"/tasks/{drawn.task.id}/members/{drawn.m_a1.id}/replacement",
                                data={"reason": "recusal", "explanation": "与甲公司有亲属关系"})
    req = db.session.execute(select(ReplacementRequest)).scalar_one()
    resp = _decide(login(drawn.head_a), req, decision="approve", substitute_id=spare.id)
    assert resp.status_code == 302
    db.session.expire_all()
    assert drawn.team1.leader.inspector_id == spare.id
    assert drawn.m_a1.active is False


def test_history_shows_the_replacement_on_the_teams_page(drawn, pending, login):
    _decide(login(drawn.head_b), pending, decision="approve", substitute_id=drawn.i_idle.id)
    html = login(drawn.initiator).get(f"/tasks/{drawn.task.id}/teams").get_data(as_text=True)
    assert "已报联席办备案" in html
    assert "替补" in html and "insp_idle" in html


def test_draw_record_is_byte_identical_after_replacement(drawn, pending, login):
    record_text = '{"spec":"draw-v1","teams":[[1,2],[3,4]],"task":"T"}'
    draw = Draw(task_id=drawn.task.id, kind=DrawKind.INSPECTORS, status=DrawStatus.FINAL, nonce="n" * 64,
                nonce_commitment="c" * 64, record=record_text)
    db.session.add(draw)
    db.session.commit()
    before = db.session.execute(select(Draw.record, Draw.seed, Draw.status)).one()
    assert _decide(login(drawn.head_b), pending, decision="approve", substitute_id=drawn.i_idle.id).status_code == 302
    db.session.expire_all()
    after = db.session.execute(select(Draw.record, Draw.seed, Draw.status)).one()
    assert after == before
    assert after.record.encode() == record_text.encode()


# -- decision: bad substitutes ---------------------------------------------------------------------


def _refused(drawn, pending, login, substitute_id, message):
    resp = _decide(login(drawn.head_b), pending, decision="approve", substitute_id=substitute_id)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert message in html
    db.session.expire_all()
    assert pending.status is ReplacementStatus.PENDING
    assert drawn.m_b1.active is True
    assert _count(TeamMember) == 4


def test_substitute_already_in_the_task_is_refused(drawn, pending, login):
    _refused(drawn, pending, login, drawn.i_b2.id, "已在本任务")


def test_substitute_of_another_department_is_refused(drawn, pending, login, make_inspector):
    other = make_inspector(drawn.c, "外部门")
    _refused(drawn, pending, login, other.id, "同一部门")


def test_substitute_with_expired_qualification_is_refused(drawn, pending, login, make_inspector):
    expired = make_inspector(drawn.b, "过期", qualification_valid_until=date(2026, 12, 15))
    _refused(drawn, pending, login, expired.id, "执法资格")


def test_substitute_not_on_duty_is_refused(drawn, pending, login, make_inspector):
    gone = make_inspector(drawn.b, "调离", status=InspectorStatus.TRANSFERRED)
    _refused(drawn, pending, login, gone.id, "不在岗")


def test_substitute_without_required_expertise_is_refused(drawn, pending, login):
    td = next(d for d in drawn.task.departments if d.department_id == drawn.b.id)
    td.required_expertise = ["特种设备"]
    db.session.commit()
    _refused(drawn, pending, login, drawn.i_idle.id, "特种设备")


def test_missing_substitute_is_refused(drawn, pending, login):
    _refused(drawn, pending, login, "", "请选择替补人员")


def test_picker_lists_only_qualified_candidates(drawn, pending, login, make_inspector):
    make_inspector(drawn.c, "外部门人员")
    make_inspector(drawn.b, "过期人员", qualification_valid_until=date(2026, 12, 15))
    html = login(drawn.head_b).get(f"/replacements/{pending.id}").get_data(as_text=True)
    assert "insp_idle" in html
    assert "外部门人员" not in html and "过期人员" not in html


# -- decision: reject ------------------------------------------------------------------------------


def test_rejection_needs_a_note(drawn, pending, login):
    resp = _decide(login(drawn.head_b), pending, decision="reject", note="")
    assert resp.status_code == 400
    assert "审批意见" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert pending.status is ReplacementStatus.PENDING


def test_rejection_with_note(drawn, pending, login):
    assert _decide(login(drawn.head_b), pending, decision="reject", note="理由不充分").status_code == 302
    db.session.expire_all()
    assert pending.status is ReplacementStatus.REJECTED
    assert pending.decision_note == "理由不充分"
    assert drawn.m_b1.active is True


def test_queue_shows_pending_requests_to_the_members_head(drawn, pending, login):
    assert "insp_b1" in login(drawn.head_b).get("/replacements").get_data(as_text=True)
    assert "insp_b1" not in login(drawn.head_c).get("/replacements").get_data(as_text=True)


def test_outsider_cannot_open_a_request(drawn, pending, login):
    assert login(drawn.outsider).get(f"/replacements/{pending.id}").status_code == 403


def test_second_decision_is_refused(drawn, pending, login):
    client = login(drawn.head_b)
    assert _decide(client, pending, decision="reject", note="不同意").status_code == 302
    resp = _decide(client, pending, decision="approve", substitute_id=drawn.i_idle.id)
    assert resp.status_code == 409
    db.session.expire_all()
    assert pending.status is ReplacementStatus.REJECTED
    assert _count(TeamMember) == 4


def test_decision_racing_a_concurrent_one_is_refused(drawn, pending, as_user):
    """The in-memory request still says pending, but another head decided meanwhile."""
    from server.core.errors import Conflict
    from server.teams.services import approve_replacement

    db.session.execute(db.update(ReplacementRequest).values(status=ReplacementStatus.REJECTED)
                       .execution_options(synchronize_session=False))
    assert pending.status is ReplacementStatus.PENDING
    with as_user(drawn.head_b), pytest.raises(Conflict):
        approve_replacement(drawn.head_b, pending, substitute_id=drawn.i_idle.id)
    db.session.rollback()
    assert _count(TeamMember) == 4


def test_requester_sees_the_request_and_forms_render(drawn, pending, login):
    client = login(drawn.u_b1)
    html = client.get(f"/replacements/{pending.id}").get_data(as_text=True)
    assert "住院治疗" in html and "健康原因" in html
    assert "批准并指定替补" not in html
    assert client.get(f"/tasks/{drawn.task.id}/members/{drawn.m_b2.id}/replacement").status_code == 403
    leader = login(drawn.u_a1)
    assert "申请调整" in leader.get(f"/tasks/{drawn.task.id}/teams").get_data(as_text=True)
    assert leader.get(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement").status_code == 200
