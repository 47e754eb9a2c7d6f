"""The replacement filing (备案) with the joint office [000#16, 003#14]: an approved replacement
reaches the joint office as a queue with a notice; acknowledging it is audited; nobody else sees
the queue; before the visits are over the queue carries no names, certificates or objects."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.audit.services import history
from server.extensions import db
from server.planning.models import TaskStatus
from server.teams.models import ReplacementRequest


@pytest.fixture
def approved(drawn, login):
    """b1 asked to be replaced (recusal naming an object); head_b approved with insp_idle."""
    login(drawn.u_b1).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                           data={"reason": "recusal", "explanation": "与甲公司负责人系亲属"})
    req = db.session.execute(select(ReplacementRequest)).scalar_one()
    resp = login(drawn.head_b).post(f"/replacements/{req.id}/decision",
                                    data={"decision": "approve", "substitute_id": drawn.i_idle.id})
    assert resp.status_code == 302
    db.session.expire_all()
    return req


def test_approval_creates_a_filing_awaiting_acknowledgement(drawn, approved, as_user):
    from server.teams.services import filing_queue, filings_awaiting_count

    assert approved.filed_at is not None and approved.filing_acknowledged_at is None
    with as_user(drawn.joint):
        assert [r.id for r in db.session.execute(filing_queue(drawn.joint)).scalars()] == [approved.id]
        assert filings_awaiting_count(drawn.joint) == 1
        assert filings_awaiting_count(drawn.head_b) == 0


def test_pending_request_is_not_a_filing(drawn, login):
    login(drawn.u_b1).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                           data={"reason": "health", "explanation": "住院"})
    html = login(drawn.joint).get("/filings").get_data(as_text=True)
    assert "没有待备案的人员调整" in html
    assert "data-filings-awaiting" not in html


def test_joint_office_sees_the_filing_with_the_notice_count(drawn, approved, login):
    client = login(drawn.joint)
    resp = client.get("/filings")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert drawn.task.code in html and "协作局" in html and "回避" in html and "第 1 组" in html
    assert 'data-filings-awaiting="1"' in html
    home = client.get("/").get_data(as_text=True)
    assert "有 1 件人员调整备案待阅" in home and 'data-filings-awaiting="1"' in home


def test_queue_shows_no_names_before_the_visits_are_over(drawn, approved, login):
    html = login(drawn.joint).get("/filings").get_data(as_text=True)
    for secret in ("insp_b1", "insp_idle", drawn.i_b1.certificate_no, drawn.i_idle.certificate_no,
                   "甲公司", drawn.obj1.code):
        assert secret not in html
    assert "检查结束后显示姓名" in html


def test_queue_shows_names_after_the_visits_are_over(drawn, approved, login):
    drawn.task.status = TaskStatus.VISITS_OVER
    db.session.commit()
    html = login(drawn.joint).get("/filings?show=all").get_data(as_text=True)
    assert "insp_b1" in html and "insp_idle" in html and drawn.i_idle.certificate_no in html


def test_acknowledgement_is_audited_and_clears_the_notice(drawn, approved, login):
    client = login(drawn.joint)
    resp = client.post(f"/filings/{approved.id}/acknowledge")
    assert resp.status_code == 302
    db.session.expire_all()
    assert approved.filing_acknowledged_at is not None
    assert approved.filing_acknowledged_by_id == drawn.joint.id
    entry = history("task", drawn.task.id)[0]
    assert entry.action == "team.filing_acknowledged" and entry.actor_id == drawn.joint.id
    assert entry.after["request_id"] == approved.id
    assert "insp_b1" not in str(entry.after) + (entry.note or "")
    html = client.get("/filings").get_data(as_text=True)
    assert "data-filings-awaiting" not in html and "没有待备案的人员调整" in html
    assert drawn.task.code in client.get("/filings?show=acknowledged").get_data(as_text=True)


def test_second_acknowledgement_is_409(drawn, approved, login):
    client = login(drawn.joint)
    assert client.post(f"/filings/{approved.id}/acknowledge").status_code == 302
    assert client.post(f"/filings/{approved.id}/acknowledge").status_code == 409


def test_a_pending_request_cannot_be_acknowledged(drawn, login):
    login(drawn.u_b1).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                           data={"reason": "health", "explanation": "住院"})
    req = db.session.execute(select(ReplacementRequest)).scalar_one()
    assert login(drawn.joint).post(f"/filings/{req.id}/acknowledge").status_code == 409
    db.session.expire_all()
    assert req.filing_acknowledged_at is None


@pytest.mark.parametrize("who", ["head_b", "initiator", "sysadmin", "auditor", "u_b1"])
def test_others_are_refused(drawn, approved, login, who):
    client = login(getattr(drawn, who))
    assert client.get("/filings").status_code == 403
    assert client.post(f"/filings/{approved.id}/acknowledge").status_code == 403
    assert "data-filings-awaiting" not in client.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert approved.filing_acknowledged_at is None
