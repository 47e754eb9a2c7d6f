"""Joint dispatch [000#13, 000#15]: a city-level joint task dispatched to two counties stays joint,
and no drawn object is dropped silently (issue 7 §5)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.auth.roles import Role
from server.draws.models import Draw, DrawKind, DrawSelection, DrawStatus
from server.extensions import db
from server.org.models import Level
from server.planning import dispatch as dispatching
from server.planning import services
from server.planning.models import DispatchDecision, Task, TaskCandidate, TaskStatus

WZ, WX = "河南省焦作市武陟县", "河南省焦作市温县"


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def tree(make_department):
    """City 商务局 and 市场监管局, each with a county counterpart in 武陟县 and in 温县."""
    city_swj = make_department("焦作市商务局", level=Level.CITY, code="JZSWJ")
    city_scj = make_department("焦作市市场监督管理局", level=Level.CITY, code="JZSCJ")
    out = {"city_swj": city_swj, "city_scj": city_scj}
    for key, name, parent, region, code in (
            ("wz_swj", "武陟县商务局", city_swj, WZ, "WZSWJ"), ("wz_scj", "武陟县市场监督管理局", city_scj, WZ, "WZSCJ"),
            ("wx_swj", "温县商务局", city_swj, WX, "WXSWJ"), ("wx_scj", "温县市场监督管理局", city_scj, WX, "WXSCJ")):
        dept = make_department(name, parent=parent, code=code)
        dept.region = region
        out[key] = dept
    db.session.commit()
    return out


@pytest.fixture
def oil(app, tree):
    """The 成品油 item: led by the city 商务局 with the city 市场监管局; 武陟县市场监管局 is listed too and
    has its own checklist."""
    from server.catalog import services as cat

    ed = cat.create_edition(title="焦作市联合抽查事项清单", issuer_id=tree["city_scj"].id)
    item = cat.create_item(ed, cat.clean_item_data({
        "domain": "成品油市场监管", "name": "成品油经营", "content": "检查内容", "legal_basis": "《成品油流通管理办法》",
        "object_scope": "企业", "object_type": "enterprise", "methods": ["onsite"], "default_ratio": "0.05",
        "frequency": "每年1次", "initiating_department_id": tree["city_swj"].id,
        "cooperating_department_ids": [tree["city_scj"].id, tree["wz_scj"].id]}))
    cat.publish_edition(ed)
    templates = {}
    for key in ("city_swj", "city_scj", "wz_scj"):
        t = cat.create_template(item, tree[key].id)
        cat.add_question(t, cat.clean_question_data({"kind": "yes_no_na", "text": "是否合规？"}))
        cat.publish_template(t)
        templates[key] = t.id
    db.session.commit()
    return item, templates


@pytest.fixture
def parent(tree, oil, make_task, make_object, make_user):
    """A city joint task (商务局 leads, 市场监管局 joins) with its objects draw final:
    o1 武陟 both, o2 武陟 市场监管 only, o3 温县 both, o4 温县 商务 only, o5 nobody, o6 the city 市场监管局 only."""
    from server.planning.models import TaskCheckItem

    item, templates = oil
    make_user("city_init", roles=(Role.TASK_INITIATOR,), department=tree["city_swj"])
    task = make_task(tree["city_swj"], [tree["city_scj"]], accepted=True)
    task.status = TaskStatus.OBJECTS_DRAWN
    for key in ("city_swj", "city_scj"):
        task.check_items.append(TaskCheckItem(department_id=tree[key].id, check_item_id=item.id,
                                              template_id=templates[key]))
    sup = [["wz_swj", "wz_scj"], ["wz_scj"], ["wx_swj", "wx_scj"], ["wx_swj"], [], ["city_scj"]]
    objs = []
    for i, keys in enumerate(sup, start=1):
        obj = make_object(f"焦作市测试加油站{i}有限公司")
        obj.supervising_departments.extend(tree[k] for k in keys)
        objs.append(obj)
    draw = Draw(task_id=task.id, kind=DrawKind.OBJECTS, status=DrawStatus.FINAL, nonce="0" * 64,
                nonce_commitment="1" * 64)
    db.session.add(draw)
    db.session.flush()
    for pos, obj in enumerate(objs):
        db.session.add(DrawSelection(draw_id=draw.id, task_id=task.id, object_id=obj.id, stratum="ALL", position=pos))
    db.session.commit()
    return task, objs


def _children(task):
    return {c.initiating_department_id: c for c in services.child_tasks(task)}


def test_joint_parent_gives_children_with_every_supervising_department_and_their_items(parent, tree, oil):
    task, o = parent
    item, templates = oil
    services.dispatch_task(task, [tree["wz_swj"], tree["wx_swj"]], decisions={
        o[4].id: {"decision": "keep"}, o[5].id: {"decision": "exclude", "reason": "已由市局另案检查"}})
    db.session.commit()
    children = _children(task)
    assert set(children) == {tree["wz_swj"].id, tree["wx_swj"].id}
    wz, wx = children[tree["wz_swj"].id], children[tree["wx_swj"].id]
    # each child keeps the check joint: the county 商务局 leads, the county 市场监管局 joins
    assert [(d.department_id, d.is_initiator) for d in wz.departments] == [(tree["wz_swj"].id, True),
                                                                          (tree["wz_scj"].id, False)]
    assert [(d.department_id, d.is_initiator) for d in wx.departments] == [(tree["wx_swj"].id, True),
                                                                          (tree["wx_scj"].id, False)]
    assert wz.is_joint and wx.is_joint
    # o2 is supervised only by 武陟's 市场监管局: it goes to 武陟's child, not dropped
    assert sorted(services.dispatched_object_ids(wz)) == sorted([o[0].id, o[1].id])
    assert sorted(services.dispatched_object_ids(wx)) == sorted([o[2].id, o[3].id])
    # each department its own items and checklist: its own published one, else its city counterpart's
    assert sorted((c.department_id, c.check_item_id, c.template_id) for c in wz.check_items) == sorted([
        (tree["wz_swj"].id, item.id, templates["city_swj"]), (tree["wz_scj"].id, item.id, templates["wz_scj"])])
    assert sorted((c.department_id, c.check_item_id, c.template_id) for c in wx.check_items) == sorted([
        (tree["wx_swj"].id, item.id, templates["city_swj"]), (tree["wx_scj"].id, item.id, templates["city_scj"])])
    assert all(d.acceptance.value == "accepted" for c in (wz, wx) for d in c.departments)


def test_unmatched_objects_block_dispatch_with_a_clear_message_and_nothing_changes(parent, tree):
    task, o = parent
    audits = _count(AuditEntry)
    with pytest.raises(services.Conflict) as err:
        services.dispatch_task(task, [tree["wz_swj"], tree["wx_swj"]])
    assert err.value.code == "unmatched_objects"
    assert "有 2 个抽中对象" in err.value.message and "不能静默丢弃" in err.value.message
    assert o[4].code in err.value.message and o[5].code in err.value.message
    assert [u["object_id"] for u in err.value.details["unmatched"]] == [o[4].id, o[5].id]
    assert err.value.details["unmatched"][1]["supervisors"] == ["焦作市市场监督管理局"]
    db.session.rollback()
    assert services.child_tasks(task) == []
    assert _count(TaskCandidate) == 0 and _count(DispatchDecision) == 0 and _count(AuditEntry) == audits
    assert db.session.execute(select(func.count()).select_from(Task)).scalar_one() == 1


def test_a_partial_decision_still_blocks(parent, tree):
    task, o = parent
    with pytest.raises(services.Conflict) as err:
        services.dispatch_task(task, [tree["wz_swj"], tree["wx_swj"]], decisions={o[4].id: {"decision": "keep"}})
    assert err.value.code == "unmatched_objects" and o[5].code in err.value.message
    assert o[4].code not in err.value.message
    db.session.rollback()
    assert services.child_tasks(task) == [] and _count(DispatchDecision) == 0


def test_exclusion_without_a_reason_is_refused(parent, tree):
    task, o = parent
    with pytest.raises(services.ValidationFailed) as err:
        services.dispatch_task(task, [tree["wz_swj"], tree["wx_swj"]], decisions={
            o[4].id: {"decision": "keep"}, o[5].id: {"decision": "exclude", "reason": "  "}})
    assert set(err.value.errors) == {f"reason_{o[5].id}"} and "须填写理由" in err.value.message
    db.session.rollback()
    assert services.child_tasks(task) == [] and _count(DispatchDecision) == 0


def test_assigning_to_a_department_not_chosen_is_refused(parent, tree):
    task, o = parent
    with pytest.raises(services.ValidationFailed) as err:
        services.dispatch_task(task, [tree["wz_swj"], tree["wx_swj"]], decisions={
            o[4].id: {"decision": "keep"}, o[5].id: {"decision": "assign", "department_id": tree["wz_scj"].id}})
    assert set(err.value.errors) == {f"assign_{o[5].id}"}


def test_deciding_lets_dispatch_proceed_and_the_decisions_are_stored_and_audited(parent, tree):
    task, o = parent
    report = services.dispatch_task(task, [tree["wz_swj"], tree["wx_swj"]], decisions={
        o[4].id: {"decision": "keep", "reason": ""},
        o[5].id: {"decision": "assign", "department_id": str(tree["wx_swj"].id)}})
    db.session.commit()
    wx = _children(task)[tree["wx_swj"].id]
    assert (report.kept, report.assigned, report.excluded, report.undispatched) == ([o[4].id], [o[5].id], [], 0)
    assert sorted(services.dispatched_object_ids(wx)) == sorted([o[2].id, o[3].id, o[5].id])
    rows = {d.object_id: d for d in dispatching.decisions_of(task)}
    assert (rows[o[4].id].decision, rows[o[4].id].child_task_id) == ("keep", None)
    assert (rows[o[5].id].decision, rows[o[5].id].child_task_id) == ("assign", wx.id)
    assert dispatching.kept_object_ids(task) == [o[4].id]
    # every selected object is accounted for: dispatched to a child or decided
    assert dispatching.handled_object_ids(task) == {x.id for x in o}
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.entity_type == "task", AuditEntry.entity_id == str(task.id), AuditEntry.action == "task.dispatch")
    ).scalar_one()
    assert {(d["object_id"], d["decision"], d["child"]) for d in entry.after["decisions"]} == {
        (o[4].id, "keep", None), (o[5].id, "assign", wx.code)}


def test_dispatch_screen_lists_unmatched_objects_then_dispatches_once_decided(parent, tree, login):
    task, o = parent
    client = login("city_init")
    chosen = [tree["wz_swj"].id, tree["wx_swj"].id]
    preview = client.post(f"/tasks/{task.id}/dispatch", data={
        "department_ids": chosen, "teams_count": "1", "members_per_team": "1", "action": "preview"})
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "下派预览" in body
    assert "武陟县商务局、武陟县市场监督管理局" in body and o[4].code in body
    refused = client.post(f"/tasks/{task.id}/dispatch", data={
        "department_ids": chosen, "teams_count": "1", "members_per_team": "1", "action": "dispatch",
        f"decision_{o[4].id}": "keep", f"reason_{o[5].id}": "我写的理由"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "不能静默丢弃" in body
    assert f'name="decision_{o[5].id}"' in body and "我写的理由" in body  # the form keeps what was typed
    assert services.child_tasks(task) == []
    done = client.post(f"/tasks/{task.id}/dispatch", data={
        "department_ids": chosen, "teams_count": "1", "members_per_team": "1", "action": "dispatch",
        f"decision_{o[4].id}": "keep", f"decision_{o[5].id}": "exclude", f"reason_{o[5].id}": "已注销，无法检查"},
        follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "已下派 2 个任务" in text and "留在本级检查 1 个，指派 0 个，排除 1 个" in text
    assert len(services.child_tasks(task)) == 2
    assert {d.reason for d in dispatching.decisions_of(task)} == {None, "已注销，无法检查"}
    page = client.get(f"/tasks/{task.id}/dispatch").get_data(as_text=True)
    assert "已记录的未匹配对象处理" in page and f"{o[5].code} {o[5].name}：排除" in page and "已注销，无法检查" in page
