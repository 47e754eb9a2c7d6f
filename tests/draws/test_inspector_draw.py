"""The inspectors draw (draw-v1 §5): pools, shortfall, teams, leaders, visits, conflicts."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from server.core.errors import DomainError
from server.draws import services, spec
from server.extensions import db
from server.org.models import Kind
from server.planning.models import TaskCheckItem, TaskStatus
from server.registry.models import InspectorStatus
from server.teams.models import ConflictDeclaration, Team, TeamMember
from server.visits.models import Visit, VisitItem
from tests.draws.conftest import draw_count


@pytest.fixture
def depts(make_department):
    return make_department("武陟县商务局"), make_department("武陟县市场监督管理局")


@pytest.fixture
def drawn_task(make_task, depts, bulk_objects, draw_objects):
    """A joint task (2 teams, 1 member per department per team) whose objects are drawn."""
    bulk_objects(8, "A")
    task = make_task(depts[0], [depts[1]], accepted=True, teams=2, strata=[{"name": "A", "ratio": "0.5"}])
    draw_objects(task)
    return task


def _staff(make_inspector, dept, n, **fields):
    return [make_inspector(dept, **fields) for _ in range(n)]


def test_pool_has_only_qualified_on_duty_inspectors_with_expertise(make_task, depts, make_inspector,
                                                                   make_department, drawn_task):
    commerce = depts[0]
    ok = make_inspector(commerce, expertise=["成品油", "商贸流通"])
    make_inspector(commerce, expertise=["商贸流通"])  # lacks a required tag
    make_inspector(commerce, expertise=["成品油"], status=InspectorStatus.TRANSFERRED)
    make_inspector(commerce, expertise=["成品油"], qualification_valid_until=date(2026, 12, 15))  # expires mid-visit
    make_inspector(commerce, expertise=["成品油"], certificate_no=None)
    drawn_task.departments[0].required_expertise = ["成品油"]
    db.session.commit()
    pools = services.inspector_pools(drawn_task)
    assert pools[0].name == "武陟县商务局"
    assert pools[0].ids == [ok.certificate_no]
    assert pools[0].needed == 2


def test_pool_can_be_narrowed_to_units(make_department, make_inspector, depts, drawn_task):
    samr = depts[1]
    station = make_department("木城市场监管所", kind=Kind.UNIT, parent=samr)
    other_station = make_department("龙泉市场监管所", kind=Kind.UNIT, parent=samr)
    hq = make_inspector(samr)
    at_station = make_inspector(samr, unit_id=station.id)
    make_inspector(samr, unit_id=other_station.id)
    td = drawn_task.departments[1]
    td.unit_ids = [0, station.id]
    db.session.commit()
    assert services.inspector_pools(drawn_task)[1].ids == sorted([hq.certificate_no, at_station.certificate_no])
    td.unit_ids = [station.id]
    db.session.commit()
    assert services.inspector_pools(drawn_task)[1].ids == [at_station.certificate_no]
    td.unit_ids = []
    db.session.commit()
    assert len(services.inspector_pools(drawn_task)[1].ids) == 3


def test_shortfall_is_refused_per_department(make_inspector, depts, drawn_task):
    _staff(make_inspector, depts[0], 1)
    _staff(make_inspector, depts[1], 5)
    with pytest.raises(DomainError) as err:
        services.commit_inspector_draw(drawn_task)
    db.session.rollback()
    assert err.value.code == "inspector_shortfall"
    assert err.value.details["shortfall"] == {"武陟县商务局": {"needed": 2, "available": 1, "short": 1}}
    assert "武陟县商务局 需要 2 人，符合条件 1 人，缺 1 人" in err.value.message
    assert draw_count(drawn_task) == 1  # only the objects draw


def test_inspector_draw_needs_the_objects_drawn(make_task, depts, make_inspector):
    task = make_task(depts[0], [depts[1]], accepted=True)
    with pytest.raises(DomainError) as err:
        services.commit_inspector_draw(task)
    db.session.rollback()
    assert err.value.code == "objects_not_drawn"
    assert draw_count(task) == 0


def test_teams_leaders_and_visits(make_inspector, depts, drawn_task, draw_inspectors, make_check_item):
    _staff(make_inspector, depts[0], 3)
    _staff(make_inspector, depts[1], 4)
    item, template = make_check_item(depts[0], [depts[1]])
    db.session.add(TaskCheckItem(task_id=drawn_task.id, department_id=depts[0].id, check_item_id=item.id))
    db.session.commit()
    draw = draw_inspectors(drawn_task)
    rec = services.draw_record(draw)
    assert spec.verify(rec) == []
    assert rec["lead_stratum"] == "武陟县商务局" and rec["teams"] == 2
    assert rec["objects"] == services.selected_object_codes(drawn_task)
    teams = db.session.execute(select(Team).where(Team.task_id == drawn_task.id).order_by(Team.number)).scalars().all()
    assert [t.number for t in teams] == [0, 1]
    for t in teams:
        entry = rec["assignment"][str(t.number)]
        assert sorted(m.inspector.certificate_no for m in t.members) == sorted(entry["members"])
        assert t.leader.inspector.certificate_no == entry["leader"]
        assert t.leader.department_id == depts[0].id
        visits = db.session.execute(select(Visit).where(Visit.team_id == t.id)).scalars().all()
        assert sorted(v.object.code for v in visits) == sorted(entry["objects"])
        assert all([(i.check_item_id, i.template_id) for i in v.items] == [(item.id, template.id)] for v in visits)
    assert template.used_at is not None  # the checklist version is now in use, never edited again
    assert db.session.get(type(drawn_task), drawn_task.id).status is TaskStatus.INSPECTORS_DRAWN


def test_declared_conflict_flags_the_member(make_inspector, depts, drawn_task, draw_inspectors):
    commerce = _staff(make_inspector, depts[0], 2)
    samr = _staff(make_inspector, depts[1], 2)
    objects = services.selected_object_codes(drawn_task)
    from server.registry.models import InspectedObject

    objs = {o.code: o for o in db.session.execute(select(InspectedObject)).scalars()}
    for person in commerce + samr:  # everyone declares a relation to every drawn object
        for code in objects:
            db.session.add(ConflictDeclaration(inspector_id=person.id, object_id=objs[code].id, relation="亲属"))
    db.session.commit()
    draw_inspectors(drawn_task)
    members = db.session.execute(select(TeamMember).where(TeamMember.task_id == drawn_task.id)).scalars().all()
    assert members and all(m.conflict_flag for m in members)
    assert "亲属" in members[0].conflict_note


def test_withdrawn_declaration_does_not_flag(make_inspector, depts, drawn_task, draw_inspectors):
    from server.core.models import utcnow
    from server.registry.models import InspectedObject

    people = _staff(make_inspector, depts[0], 2) + _staff(make_inspector, depts[1], 2)
    for person in people:
        for obj in db.session.execute(select(InspectedObject)).scalars():
            db.session.add(ConflictDeclaration(inspector_id=person.id, object_id=obj.id, relation="曾任职",
                                               withdrawn_at=utcnow()))
    db.session.commit()
    draw_inspectors(drawn_task)
    flagged = db.session.execute(select(func.count()).select_from(TeamMember)
                                 .where(TeamMember.conflict_flag.is_(True))).scalar_one()
    assert flagged == 0


def test_second_inspector_draw_is_refused(make_inspector, depts, drawn_task, draw_inspectors):
    _staff(make_inspector, depts[0], 2)
    _staff(make_inspector, depts[1], 2)
    draw_inspectors(drawn_task)
    with pytest.raises(DomainError) as err:
        services.commit_inspector_draw(drawn_task)
    db.session.rollback()
    assert err.value.code == "draw_exists"
    assert db.session.execute(select(func.count()).select_from(Team)).scalar_one() == 2


def test_visit_items_cover_every_task_check_item(make_inspector, depts, drawn_task, draw_inspectors):
    _staff(make_inspector, depts[0], 2)
    _staff(make_inspector, depts[1], 2)
    draw_inspectors(drawn_task)
    visits = db.session.execute(select(func.count()).select_from(Visit)).scalar_one()
    assert visits == 4
    assert db.session.execute(select(func.count()).select_from(VisitItem)).scalar_one() == 0  # task has no items
