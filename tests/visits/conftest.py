"""Two teams of one task with visits and items, built directly (the draw engine is tested
elsewhere), and a logged-in client helper."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from server.auth.roles import Role
from server.extensions import db
from server.planning.models import TaskStatus
from server.teams.models import Team, TeamMember
from server.visits.models import Visit, VisitItem


def _check_item(dept, name: str, seq: int):
    from server.catalog.models import (
        CheckItem,
        CheckItemKey,
        ChecklistTemplate,
        ListEdition,
        Status,
    )
    from server.registry.models import ObjectType

    # drafts: the catalog refuses to add items to a published edition, and the API ignores status

    edition = db.session.execute(db.select(ListEdition)).scalar_one_or_none()
    if edition is None:
        edition = ListEdition(number=1, title="清单第一版", issuer_id=dept.id, status=Status.DRAFT)
        db.session.add(edition)
    key = CheckItemKey(code=f"K{seq:03d}")
    item = CheckItem(edition=edition, key=key, seq=seq, domain="食品", name=name, content="内容", legal_basis="依据",
                     object_scope="企业", object_type=ObjectType.ENTERPRISE, initiating_department_id=dept.id, methods=["onsite"],
                     default_ratio=Decimal("0.05"), frequency="每年1次")
    template = ChecklistTemplate(item_key=key, department_id=dept.id, version=3, title=f"{name}检查表",
                                 status=Status.DRAFT)
    db.session.add_all([item, template])
    db.session.flush()
    return item, template


@pytest.fixture
def assigned(make_department, make_user, make_inspector, make_object, make_task):
    a, b = make_department("发起局"), make_department("协作局")
    ns = SimpleNamespace(a=a, b=b)

    def inspector(username, dept):
        user = make_user(username, roles=(Role.INSPECTOR,), department=dept)
        return user, make_inspector(dept, name=f"{username}姓名", user_id=user.id)

    ns.u_a1, ns.i_a1 = inspector("insp_a1", a)
    ns.u_b1, ns.i_b1 = inspector("insp_b1", b)
    ns.u_a2, ns.i_a2 = inspector("insp_a2", a)
    ns.u_none, ns.i_none = inspector("insp_none", a)
    ns.task = make_task(a, [b], accepted=True, teams=2, period=(date(2026, 12, 1), date(2026, 12, 31)),
                        unannounced=True, name="食品联合抽查")
    ns.task.status = TaskStatus.INSPECTORS_DRAWN
    ns.team1, ns.team2 = Team(task_id=ns.task.id, number=0), Team(task_id=ns.task.id, number=1)
    db.session.add_all([ns.team1, ns.team2])
    db.session.flush()
    db.session.add_all([
        TeamMember(team_id=ns.team1.id, task_id=ns.task.id, inspector_id=ns.i_a1.id, department_id=a.id,
                   is_leader=True),
        TeamMember(team_id=ns.team1.id, task_id=ns.task.id, inspector_id=ns.i_b1.id, department_id=b.id),
        TeamMember(team_id=ns.team2.id, task_id=ns.task.id, inspector_id=ns.i_a2.id, department_id=a.id,
                   is_leader=True),
    ])
    ns.obj_z = make_object("张三食品有限公司", risk="D", address="一路1号", legal_representative="张三",
                           abnormal_list=True)
    ns.obj_a = make_object("阿里食品有限公司", risk="C", address="二路2号")
    ns.obj_other = make_object("别组公司", risk="A")
    ns.item_a, ns.tpl_a = _check_item(a, "食品经营许可", 1)
    ns.item_b, ns.tpl_b = _check_item(b, "计量器具", 2)
    ns.v_z = Visit(task_id=ns.task.id, object_id=ns.obj_z.id, team_id=ns.team1.id)
    ns.v_a = Visit(task_id=ns.task.id, object_id=ns.obj_a.id, team_id=ns.team1.id)
    ns.v_other = Visit(task_id=ns.task.id, object_id=ns.obj_other.id, team_id=ns.team2.id)
    db.session.add_all([ns.v_z, ns.v_a, ns.v_other])
    db.session.flush()
    ns.v_z.items.append(VisitItem(department_id=a.id, check_item_id=ns.item_a.id, template_id=ns.tpl_a.id))
    ns.v_z.items.append(VisitItem(department_id=b.id, check_item_id=ns.item_b.id, template_id=ns.tpl_b.id))
    db.session.commit()
    return ns


@pytest.fixture
def login(client, auth):
    def do(user):
        auth.logout()
        assert auth.login(user.username).status_code in (302, 303)
        return client

    return do
