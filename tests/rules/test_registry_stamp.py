"""The draw stamps the registries' state the initiator confirmed before the objects draw [000#11]."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.auth.roles import Role
from server.core.errors import DomainError
from server.draws import services
from server.draws.candidates import registry_state
from server.draws.models import Draw
from server.extensions import db


@pytest.fixture
def depts(make_department):
    return make_department("武陟县商务局"), make_department("武陟县市场监督管理局")


@pytest.fixture
def task(make_task, depts, bulk_objects, make_inspector):
    bulk_objects(6, "A")
    bulk_objects(2, None)
    for dept in depts:
        make_inspector(dept)
    make_inspector(depts[0])
    return make_task(depts[0], [depts[1]], accepted=True, strata=[{"name": "A", "ratio": "0.5"}])


def _draws() -> int:
    return db.session.execute(select(func.count()).select_from(Draw)).scalar_one()


def _form(state) -> dict:
    return {"registry_confirmed": "1", "registry_as_of": state.as_of,
            "registry_object_count": str(state.object_count), "registry_inspector_count": str(state.inspector_count)}


def test_confirmed_state_is_stored_on_the_draw_and_shown(client, login_as, depts, task):
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    page = client.get(f"/tasks/{task.id}/draws/objects/prepare").get_data(as_text=True)
    assert 'id="registry-objects">8<' in page and 'id="registry-inspectors">3<' in page
    state = registry_state(task)
    resp = client.post(f"/tasks/{task.id}/draws/objects/commit", data=_form(state))
    assert resp.status_code == 302
    draw = db.session.execute(select(Draw)).scalar_one()
    assert (draw.registry_object_count, draw.registry_inspector_count) == (8, 3)
    assert draw.registry_as_of is not None and draw.registry_as_of.isoformat() == state.as_of
    assert draw.registry_confirmed_by_id == draw.created_by_id and draw.registry_confirmed_at is not None
    html = client.get(f"/draws/{draw.id}").get_data(as_text=True)
    assert "检查对象 8 个 · 执法检查人员 3 人" in html


def test_commit_without_confirmation_is_refused(client, login_as, depts, task):
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    resp = client.post(f"/tasks/{task.id}/draws/objects/commit", data={}, follow_redirects=True)
    assert "请先确认检查对象名录库和执法检查人员名录库的状态" in resp.get_data(as_text=True)
    assert _draws() == 0
    with pytest.raises(DomainError) as err:
        services.commit_object_draw(task)
    assert err.value.code == "registry_not_confirmed"
    db.session.rollback()
    assert _draws() == 0


def test_registry_changed_since_confirmation_is_refused(client, login_as, depts, task, bulk_objects):
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    confirmed = registry_state(task)
    bulk_objects(1, "A")  # an object registered after the confirmation
    resp = client.post(f"/tasks/{task.id}/draws/objects/commit", data=_form(confirmed),
                       headers={"Accept": "application/json"})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "registry_changed"
    assert "确认时：检查对象 8 个" in resp.get_json()["error"]["message"]
    assert _draws() == 0


def test_an_edited_object_counts_as_a_change(depts, task):
    from server.registry.models import InspectedObject

    confirmed = registry_state(task)
    obj = db.session.execute(select(InspectedObject).limit(1)).scalar_one()
    obj.name = obj.name + "（更名）"
    db.session.commit()
    with pytest.raises(DomainError) as err:
        services.commit_object_draw(task, registry=confirmed)
    assert err.value.code == "registry_changed"
