"""Experts [002#9, 004§5] are chosen (选派) as supplements, never drawn from the ordinary pool."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.audit.services import history
from server.extensions import db
from server.teams.models import MemberSource, ReplacementRequest, TeamMember


def _members() -> int:
    return db.session.execute(select(func.count()).select_from(TeamMember)).scalar_one()


def test_experts_are_not_in_the_inspector_pool(make_department, make_task, make_inspector):
    from server.draws.services import inspector_pools

    dept = make_department("市场监管局")
    task = make_task(dept, accepted=True)
    ordinary = make_inspector(dept, "普通检查员")
    make_inspector(dept, "持证专家", is_expert=True)
    assert inspector_pools(task)[0].ids == [ordinary.certificate_no]


def test_an_expert_is_never_drawn(make_department, make_task, make_inspector, make_object):
    """A real inspector draw where the experts outnumber the ordinary inspectors: no expert joins a
    team. (The object list is locked directly: the objects draw is tested under tests/draws.)"""
    from server.draws import services, spec
    from server.draws.models import Draw, DrawKind, DrawSelection, DrawStatus
    from server.planning.models import TaskStatus

    a, b = make_department("商务局"), make_department("市场监管局")
    task = make_task(a, [b], accepted=True, teams=2)
    nonce = spec.new_nonce()
    objects_draw = Draw(task_id=task.id, kind=DrawKind.OBJECTS, status=DrawStatus.FINAL, nonce=nonce,
                        nonce_commitment=spec.nonce_commitment(nonce), record="{}")
    db.session.add(objects_draw)
    db.session.flush()
    for k in range(4):
        obj = make_object(f"对象{k}公司")
        db.session.add(DrawSelection(draw_id=objects_draw.id, task_id=task.id, object_id=obj.id, stratum="ALL",
                                     position=k))
    task.status = TaskStatus.OBJECTS_DRAWN
    db.session.commit()
    ordinary = {make_inspector(d).id for d in (a, b) for _ in range(2)}
    experts = {make_inspector(d, is_expert=True).id for d in (a, b) for _ in range(4)}
    draw = services.commit_inspector_draw(task)
    db.session.commit()
    services.perform_draw(draw.id, witnesses=services.clean_witnesses(
        {"operator": "王丽", "technical": "赵强", "supervisor": "刘洋"}), witness_entropy="3 1 4")
    db.session.commit()
    db.session.refresh(task)
    assert task.status is TaskStatus.INSPECTORS_DRAWN
    drawn_ids = set(db.session.execute(select(TeamMember.inspector_id)).scalars())
    assert drawn_ids == ordinary
    assert not drawn_ids & experts


@pytest.fixture
def expert(drawn, make_inspector):
    return make_inspector(drawn.c, "王专家", is_expert=True, certificate_no=None, expertise=["成品油检测"])


def _add(client, drawn, **data):
    return client.post(f"/tasks/{drawn.task.id}/experts", data=data)


def test_initiator_adds_an_expert_with_a_reason(drawn, expert, login):
    client = login(drawn.initiator)
    assert "王专家" in client.get(f"/tasks/{drawn.task.id}/experts").get_data(as_text=True)
    resp = _add(client, drawn, team_id=drawn.team2.id, inspector_id=expert.id, reason="需要油品检测专业支持")
    assert resp.status_code == 302
    member = db.session.execute(select(TeamMember).where(TeamMember.inspector_id == expert.id)).scalar_one()
    assert member.source is MemberSource.EXPERT and member.team_id == drawn.team2.id
    assert member.active and not member.is_leader
    assert member.selection_reason == "需要油品检测专业支持"
    entry = history("task", drawn.task.id)[0]
    assert entry.action == "team.expert_added" and entry.actor_id == drawn.initiator.id
    assert entry.after["member"]["selection_reason"] == "需要油品检测专业支持"
    html = client.get(f"/tasks/{drawn.task.id}/teams").get_data(as_text=True)
    assert "专家（选派）" in html and "王专家" in html


def test_participating_head_may_add_an_expert(drawn, expert, login):
    resp = _add(login(drawn.head_b), drawn, team_id=drawn.team1.id, inspector_id=expert.id, reason="检测")
    assert resp.status_code == 302


def test_adding_a_non_expert_is_refused_with_input_kept(drawn, expert, login):
    resp = _add(login(drawn.initiator), drawn, team_id=drawn.team1.id, inspector_id=drawn.i_idle.id,
                reason="人手不足")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "不在专家名录库中" in html and "人手不足" in html
    assert _members() == 4


def test_expert_without_reason_is_refused(drawn, expert, login):
    resp = _add(login(drawn.initiator), drawn, team_id=drawn.team1.id, inspector_id=expert.id, reason=" ")
    assert resp.status_code == 400
    assert "请填写选派理由" in resp.get_data(as_text=True)
    assert _members() == 4


def test_expert_already_in_the_task_is_refused(drawn, expert, login):
    client = login(drawn.initiator)
    assert _add(client, drawn, team_id=drawn.team1.id, inspector_id=expert.id, reason="检测").status_code == 302
    resp = _add(client, drawn, team_id=drawn.team2.id, inspector_id=expert.id, reason="检测")
    assert resp.status_code == 400 and "已在本任务" in resp.get_data(as_text=True)
    assert _members() == 5


@pytest.mark.parametrize("who", ["outsider", "u_a1", "joint", "head_c"])
def test_others_may_not_add_an_expert(drawn, expert, login, who):
    resp = _add(login(getattr(drawn, who)), drawn, team_id=drawn.team1.id, inspector_id=expert.id, reason="x")
    assert resp.status_code == 403
    assert _members() == 4


def test_an_expert_cannot_be_a_substitute(drawn, login, make_inspector):
    """A substitute is chosen among qualified inspectors [000#16]; experts join only as supplements."""
    certified_expert = make_inspector(drawn.b, "持证专家", is_expert=True)
    login(drawn.u_b1).post(f"/tasks/{drawn.task.id}/members/{drawn.m_b1.id}/replacement",
                           data={"reason": "health", "explanation": "住院"})
    req = db.session.execute(select(ReplacementRequest)).scalar_one()
    client = login(drawn.head_b)
    assert "持证专家" not in client.get(f"/replacements/{req.id}").get_data(as_text=True)
    resp = client.post(f"/replacements/{req.id}/decision",
                       data={"decision": "approve", "substitute_id": certified_expert.id})
    assert resp.status_code == 400 and "专家只能作为补充人员选派" in resp.get_data(as_text=True)
    assert _members() == 4
