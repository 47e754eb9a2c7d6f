"""Annual plans: create/edit, publish (then frozen), and the public plans (page and API)."""

from __future__ import annotations

import pytest

from server.extensions import db
from server.planning.models import AnnualPlan, PlanStatus, Task

from .conftest import audit_count, count, task_form


def plan_form(depts, **overrides) -> dict:
    form = {"year": "2026", "level": "county", "department_id": str(depts["scj"].id),
            "title": "2026年度武陟县部门联合抽查工作计划", "note": "全县联合抽查"}
    form.update(overrides)
    return form


@pytest.fixture
def plan(depts, users, login):
    assert login("office").post("/plans/new", data=plan_form(depts)).status_code == 302
    return db.session.execute(db.select(AnnualPlan)).scalar_one()


@pytest.fixture
def planned_task(plan, depts, edition, login):
    form = task_form(depts, edition, plan_id=str(plan.id), adhoc_reason="")
    assert login("scj_init").post("/tasks/new", data=form).status_code == 302
    return db.session.execute(db.select(Task)).scalar_one()


def test_joint_office_creates_plan(plan):
    assert (plan.year, plan.status, plan.title) == (2026, PlanStatus.DRAFT, "2026年度武陟县部门联合抽查工作计划")
    from server.audit.services import history

    assert history("annual_plan", plan.id)[0].action == "annual_plan.create"


def test_task_initiator_cannot_create_plan(depts, users, login):
    resp = login("scj_init").post("/plans/new", data=plan_form(depts))
    assert resp.status_code == 403
    assert count(AnnualPlan) == 0


def test_plan_without_title_is_refused_and_input_kept(depts, users, login):
    resp = login("office").post("/plans/new", data=plan_form(depts, title="", note="保留的说明"))
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "请填写计划名称" in body and "保留的说明" in body
    assert count(AnnualPlan) == 0


def test_issuing_department_level_must_match(depts, users, login):
    resp = login("office").post("/plans/new", data=plan_form(depts, level="city"))
    assert resp.status_code == 422
    assert "层级须与计划层级一致" in resp.get_data(as_text=True)
    assert count(AnnualPlan) == 0


def test_planned_task_needs_no_filing_reason(planned_task, plan):
    assert planned_task.plan_id == plan.id and planned_task.adhoc_reason is None


def test_task_year_must_match_plan(plan, depts, edition, login):
    form = task_form(depts, edition, plan_id=str(plan.id), period_start="2027-01-05", period_end="2027-01-31")
    resp = login("scj_init").post("/tasks/new", data=form)
    assert resp.status_code == 422
    assert "计划年度（2026 年）" in resp.get_data(as_text=True)
    assert count(Task) == 0


def test_empty_plan_cannot_be_published(plan, login):
    resp = login("office").post(f"/plans/{plan.id}/publish")
    assert resp.status_code == 400
    assert "还没有任何任务" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(AnnualPlan, plan.id).status is PlanStatus.DRAFT


def test_publish_then_plan_is_frozen(plan, planned_task, depts, edition, login):
    client = login("office")
    assert client.post(f"/plans/{plan.id}/publish").status_code == 302
    db.session.expire_all()
    assert db.session.get(AnnualPlan, plan.id).status is PlanStatus.PUBLISHED
    before = audit_count("annual_plan")
    resp = client.post(f"/plans/{plan.id}/edit", data=plan_form(depts, title="改名"))
    assert resp.status_code == 409
    assert "已发布的年度计划不能修改" in resp.get_data(as_text=True)
    assert audit_count("annual_plan") == before
    # a new task cannot join the published plan: it is ad-hoc
    resp = login("scj_init").post("/tasks/new", data=task_form(depts, edition, plan_id=str(plan.id), name="新任务"))
    assert resp.status_code == 422
    assert "已发布，不能再加入任务" in resp.get_data(as_text=True)
    assert count(Task) == 1


def test_existing_task_added_to_draft_plan(plan, depts, edition, login):
    login("scj_init").post("/tasks/new", data=task_form(depts, edition))
    task = db.session.execute(db.select(Task)).scalar_one()
    resp = login("office").post(f"/plans/{plan.id}/tasks", data={"task_id": task.id})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Task, task.id).plan_id == plan.id


def test_public_api_lists_only_published_plans(plan, planned_task, client, login):
    assert client.get("/api/public/plans").get_json() == {"plans": []}
    assert client.get(f"/api/public/plans/{plan.id}").status_code == 404
    login("office").post(f"/plans/{plan.id}/publish")
    client.post("/logout")
    body = client.get("/api/public/plans").get_json()
    assert [p["title"] for p in body["plans"]] == ["2026年度武陟县部门联合抽查工作计划"]


def test_public_plan_detail_has_public_fields_only(plan, planned_task, client, login, make_object):
    from server.planning.models import TaskCandidate

    obj = make_object("绝密对象有限公司", risk="D")
    db.session.add(TaskCandidate(task_id=planned_task.id, object_id=obj.id))
    db.session.commit()
    login("office").post(f"/plans/{plan.id}/publish")
    client.post("/logout")
    resp = client.get(f"/api/public/plans/{plan.id}")
    assert resp.status_code == 200
    body = resp.get_json()
    task = body["tasks"][0]
    assert set(task) == {"code", "name", "initiating_department", "departments", "joint", "period_start",
                         "period_end", "check_items"}
    assert task["departments"] == ["武陟县市场监督管理局", "武陟县商务局"]
    assert task["check_items"] == [{"code": task["check_items"][0]["code"], "domain": "成品油市场监管",
                                    "name": "成品油经营"}]
    text = resp.get_data(as_text=True)
    assert obj.code not in text and "绝密对象" not in text and "ratio" not in text and "strata" not in text


def test_public_pages_need_no_login(plan, planned_task, client, login):
    login("office").post(f"/plans/{plan.id}/publish")
    client.post("/logout")
    assert "2026年度武陟县部门联合抽查工作计划" in client.get("/public/plans").get_data(as_text=True)
    body = client.get(f"/public/plans/{plan.id}").get_data(as_text=True)
    assert "成品油市场联合检查" in body and "成品油经营" in body


def test_plan_title_html_is_escaped(depts, users, login):
    client = login("office")
    client.post("/plans/new", data=plan_form(depts, title="<b>计划</b>"))
    plan = db.session.execute(db.select(AnnualPlan)).scalar_one()
    for url in ("/plans/", f"/plans/{plan.id}"):
        body = client.get(url).get_data(as_text=True)
        assert "<b>计划</b>" not in body and "&lt;b&gt;计划&lt;/b&gt;" in body


def test_publish_asks_for_confirmation_first(plan, planned_task, login):
    body = login("office").get(f"/plans/{plan.id}/publish").get_data(as_text=True)
    assert "确认发布" in body
    db.session.expire_all()
    assert db.session.get(AnnualPlan, plan.id).status is PlanStatus.DRAFT


def test_filed_adhoc_tasks_are_public_drafts_are_not(depts, users, edition, client, login):
    c = login("scj_init")
    c.post("/tasks/new", data=task_form(depts, edition, name="已备案任务"))
    c.post("/tasks/new", data=task_form(depts, edition, name="草稿任务"))
    filed = db.session.execute(db.select(Task).where(Task.name == "已备案任务")).scalar_one()
    c.post(f"/tasks/{filed.id}/submit")
    c.post("/logout")
    body = client.get("/api/public/adhoc-tasks?year=2026").get_json()
    assert [t["name"] for t in body["tasks"]] == ["已备案任务"]
    assert body["tasks"][0]["adhoc_reason"] == "群众举报较多，临时开展"
    assert "strata" not in body["tasks"][0]
    page = client.get("/public/plans").get_data(as_text=True)
    assert ">已备案任务</td>" in page and ">草稿任务</td>" not in page
