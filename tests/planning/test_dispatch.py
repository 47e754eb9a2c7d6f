"""Dispatching a higher-level task's drawn objects to lower-level departments [000#13]."""

from __future__ import annotations

import pytest

from server.draws.models import Draw, DrawKind, DrawSelection, DrawStatus
from server.extensions import db
from server.org.models import Level
from server.planning import services
from server.planning.models import Task, TaskCandidate, TaskStatus

from .conftest import audit_count


@pytest.fixture
def city_task(depts, make_task, make_object, make_user):
    """A city-level task whose objects draw is final: 2 objects supervised by SCJ, 1 by SWJ, 1 by nobody."""
    make_user("city_init", roles=(services.Role.TASK_INITIATOR,), department=depts["city"])
    task = make_task(depts["city"], accepted=True)
    task.status = TaskStatus.OBJECTS_DRAWN
    objs = [make_object(f"对象{i}") for i in range(4)]
    objs[0].supervising_departments.append(depts["scj"])
    objs[1].supervising_departments.append(depts["scj"])
    objs[2].supervising_departments.append(depts["swj"])
    draw = Draw(task_id=task.id, kind=DrawKind.OBJECTS, status=DrawStatus.FINAL, nonce="0" * 64,
                nonce_commitment="1" * 64)
    db.session.add(draw)
    db.session.flush()
    for pos, obj in enumerate(objs):
        db.session.add(DrawSelection(draw_id=draw.id, task_id=task.id, object_id=obj.id, stratum="ALL", position=pos))
    db.session.commit()
    return task, objs


def test_dispatch_creates_one_child_per_department(city_task, depts):
    task, objs = city_task
    # objs[3] is supervised by nobody: it is no longer dropped silently but needs a decision
    report = services.dispatch_task(task, [depts["scj"], depts["swj"]], teams_count=2, members_per_team=2,
                                    decisions={objs[3].id: {"decision": "keep"}})
    db.session.commit()
    assert report.undispatched == 0 and report.kept == [objs[3].id] and report.skipped == []
    children = {c.initiating_department_id: c for c in services.child_tasks(task)}
    assert set(children) == {depts["scj"].id, depts["swj"].id}
    scj = children[depts["scj"].id]
    assert (scj.parent_task_id, scj.candidate_source, scj.status) == (task.id, "dispatched", TaskStatus.ACCEPTED)
    assert scj.strata == [{"name": "ALL", "ratio": "1"}]  # the whole dispatched list, no new lottery
    assert scj.teams_count == 2 and scj.departments[0].members_per_team == 2
    assert sorted(services.dispatched_object_ids(scj)) == sorted([objs[0].id, objs[1].id])
    assert services.dispatched_object_ids(children[depts["swj"].id]) == [objs[2].id]


def test_department_without_objects_gets_no_child(city_task, depts):
    task, objs = city_task
    report = services.dispatch_task(task, [depts["nyj"], depts["scj"]],
                                    decisions={o.id: {"decision": "keep"} for o in objs[2:]})
    assert [d.id for d in report.skipped] == [depts["nyj"].id]
    assert [c.initiating_department_id for c in report.children] == [depts["scj"].id]


def test_dispatch_before_objects_draw_is_refused(depts, make_task):
    task = make_task(depts["city"], accepted=True)
    with pytest.raises(services.Conflict) as err:
        services.dispatch_task(task, [depts["scj"]])
    assert err.value.code == "objects_not_drawn"
    assert db.session.execute(db.select(Task).where(Task.parent_task_id == task.id)).first() is None


def test_dispatch_to_a_department_not_below_is_refused(city_task, depts, make_department):
    task, _objs = city_task
    other_city = make_department("新乡市市场监督管理局", level=Level.CITY)
    with pytest.raises(services.ValidationFailed) as err:
        services.dispatch_task(task, [other_city])
    assert "不是焦作市市场监督管理局的下级部门" in err.value.message


def test_dispatch_twice_to_the_same_department_is_refused(city_task, depts):
    task, objs = city_task
    services.dispatch_task(task, [depts["scj"]], decisions={o.id: {"decision": "keep"} for o in objs[2:]})
    db.session.commit()
    with pytest.raises(services.Conflict) as err:
        services.dispatch_task(task, [depts["scj"]])
    assert err.value.code == "already_dispatched"
    assert len(services.child_tasks(task)) == 1


def test_dispatch_screen(city_task, depts, login):
    task, objs = city_task
    client = login("city_init")
    page = client.get(f"/tasks/{task.id}/dispatch")
    assert page.status_code == 200 and "武陟县市场监督管理局" in page.get_data(as_text=True)
    before = audit_count("task")
    resp = client.post(f"/tasks/{task.id}/dispatch", data={"department_ids": [depts["scj"].id, depts["swj"].id],
                                                            "teams_count": "1", "members_per_team": "1",
                                                            f"decision_{objs[3].id}": "exclude",
                                                            f"reason_{objs[3].id}": "无监管部门，另行处理"},
                       follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "已下派 2 个任务" in body and "排除 1 个" in body  # the unsupervised object: decided, not dropped
    assert audit_count("task") == before + 3  # one per child, one on the parent
    assert db.session.execute(db.select(db.func.count()).select_from(TaskCandidate)).scalar_one() == 3


def test_dispatch_screen_without_department_keeps_form(city_task, login):
    task, _objs = city_task
    resp = login("city_init").post(f"/tasks/{task.id}/dispatch", data={"teams_count": "3", "members_per_team": "1"})
    assert resp.status_code == 422
    assert "请至少选择一个下级部门" in resp.get_data(as_text=True)
    assert services.child_tasks(task) == []


def test_dispatch_screen_forbidden_to_other_departments(city_task, users, login):
    task, _objs = city_task
    assert login("scj_init").get(f"/tasks/{task.id}/dispatch").status_code == 403
