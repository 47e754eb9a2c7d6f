"""A task after both draws, built directly (the draw engine is tested elsewhere): departments A
(initiator) and B, two teams of one A member (leader) and one B member, three visits, and the
users around them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from server.auth.roles import Role
from server.extensions import db
from server.planning.models import TaskStatus
from server.teams.models import Team, TeamMember
from server.visits.models import Visit


@pytest.fixture
def drawn(make_department, make_user, make_inspector, make_object, make_task):
    a = make_department("发起局")
    b = make_department("协作局")
    c = make_department("无关局")
    ns = SimpleNamespace(a=a, b=b, c=c)
    ns.initiator = make_user("initiator", roles=(Role.TASK_INITIATOR,), department=a)
    ns.head_a = make_user("head_a", roles=(Role.DEPT_HEAD,), department=a)
    ns.head_b = make_user("head_b", roles=(Role.DEPT_HEAD,), department=b)
    ns.head_c = make_user("head_c", roles=(Role.DEPT_HEAD,), department=c)
    ns.auditor = make_user("auditor", roles=(Role.AUDITOR,))
    ns.sysadmin = make_user("sysadmin", roles=(Role.SYSTEM_ADMIN,))
    ns.joint = make_user("joint", roles=(Role.JOINT_OFFICE,))
    ns.outsider = make_user("outsider", roles=(Role.TASK_INITIATOR,), department=c)
    ns.task = make_task(a, [b], accepted=True, teams=2)
    ns.task.status = TaskStatus.INSPECTORS_DRAWN
    db.session.commit()

    def inspector(username, dept, **fields):
        user = make_user(username, roles=(Role.INSPECTOR,), department=dept)
        return user, make_inspector(dept, name=fields.pop("name", username), user_id=user.id, **fields)

    ns.u_a1, ns.i_a1 = inspector("insp_a1", a)
    ns.u_b1, ns.i_b1 = inspector("insp_b1", b)
    ns.u_a2, ns.i_a2 = inspector("insp_a2", a)
    ns.u_b2, ns.i_b2 = inspector("insp_b2", b)
    ns.u_idle, ns.i_idle = inspector("insp_idle", b)  # not in the task: a possible substitute
    ns.team1, ns.team2 = Team(task_id=ns.task.id, number=0), Team(task_id=ns.task.id, number=1)
    db.session.add_all([ns.team1, ns.team2])
    db.session.flush()

    def member(team, insp, leader=False):
        m = TeamMember(team_id=team.id, task_id=ns.task.id, inspector_id=insp.id,
                       department_id=insp.department_id, is_leader=leader)
        db.session.add(m)
        return m

    ns.m_a1 = member(ns.team1, ns.i_a1, True)
    ns.m_b1 = member(ns.team1, ns.i_b1)
    ns.m_a2 = member(ns.team2, ns.i_a2, True)
    ns.m_b2 = member(ns.team2, ns.i_b2)
    ns.obj1 = make_object("甲公司", address="武陟县一路1号")
    ns.obj2 = make_object("乙公司", address="武陟县二路2号")
    ns.obj3 = make_object("丙公司", address="武陟县三路3号", risk="D")
    ns.v1 = Visit(task_id=ns.task.id, object_id=ns.obj1.id, team_id=ns.team1.id)
    ns.v2 = Visit(task_id=ns.task.id, object_id=ns.obj2.id, team_id=ns.team1.id)
    ns.v3 = Visit(task_id=ns.task.id, object_id=ns.obj3.id, team_id=ns.team2.id)
    db.session.add_all([ns.v1, ns.v2, ns.v3])
    db.session.commit()
    return ns


@pytest.fixture
def login(client, auth):
    """Log in as the given user (logging out whoever was logged in)."""

    def do(user):
        auth.logout()
        resp = auth.login(user.username)
        assert resp.status_code in (302, 303)
        return client

    return do


@pytest.fixture
def as_user(app):
    """Run service code as ``user`` (the audit actor) inside a request context."""
    from contextlib import contextmanager

    from server.audit.services import set_actor

    @contextmanager
    def ctx(user):
        with app.test_request_context():
            set_actor(user.id, user.username)
            yield user

    return ctx
