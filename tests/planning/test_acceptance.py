"""Submitting a task and its acceptance (or return) by each participating department."""

from __future__ import annotations

import pytest

from server.catalog.models import ChecklistTemplate
from server.extensions import db
from server.planning.models import Acceptance, Task, TaskStatus

from .conftest import audit_count, task_form


@pytest.fixture
def draft(depts, users, edition, login):
    """A draft task of SCJ with SWJ and NYJ taking part (oil and seed items)."""
    form = task_form(depts, edition, participant_ids=[str(depts["swj"].id), str(depts["nyj"].id)],
                     check_item_ids=[str(edition["oil"].id), str(edition["seed"].id)])
    assert login("scj_init").post("/tasks/new", data=form).status_code == 302
    return db.session.execute(db.select(Task)).scalar_one()


@pytest.fixture
def pending(draft, login):
    assert login("scj_init").post(f"/tasks/{draft.id}/submit").status_code == 302
    db.session.expire_all()
    return db.session.get(Task, draft.id)


def _row(task, dept):
    return next(d for d in task.departments if d.department_id == dept.id)


def test_submit_moves_to_pending_and_initiator_accepts(pending, depts):
    assert pending.status is TaskStatus.PENDING
    assert _row(pending, depts["scj"]).acceptance is Acceptance.ACCEPTED
    assert _row(pending, depts["swj"]).acceptance is Acceptance.PENDING


def test_submit_fixes_and_locks_checklist_versions(pending):
    assert all(c.template_id is not None for c in pending.check_items)
    for c in pending.check_items:
        assert db.session.get(ChecklistTemplate, c.template_id).used_at is not None


def test_submit_without_items_is_refused(depts, users, edition, login):
    client = login("scj_init")
    client.post("/tasks/new", data=task_form(depts, edition, check_item_ids=[]))
    task = db.session.execute(db.select(Task)).scalar_one()
    before = audit_count("task")
    resp = client.post(f"/tasks/{task.id}/submit")
    assert resp.status_code == 422
    assert "请至少选择一个检查事项" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status is TaskStatus.DRAFT
    assert audit_count("task") == before


def test_single_department_task_is_accepted_on_submit(depts, users, edition, login):
    client = login("scj_init")
    client.post("/tasks/new", data=task_form(depts, edition, participant_ids=[]))
    task = db.session.execute(db.select(Task)).scalar_one()
    client.post(f"/tasks/{task.id}/submit")
    db.session.expire_all()
    assert db.session.get(Task, task.id).status is TaskStatus.ACCEPTED


def test_one_acceptance_of_two_keeps_pending(pending, depts, login):
    resp = login("swj_admin").post(f"/tasks/{pending.id}/accept", data={"department_id": depts["swj"].id})
    assert resp.status_code == 302
    db.session.expire_all()
    task = db.session.get(Task, pending.id)
    assert _row(task, depts["swj"]).acceptance is Acceptance.ACCEPTED
    assert task.status is TaskStatus.PENDING


def test_all_acceptances_make_task_accepted(pending, depts, login):
    login("swj_admin").post(f"/tasks/{pending.id}/accept", data={"department_id": depts["swj"].id})
    login("nyj_head").post(f"/tasks/{pending.id}/accept", data={"department_id": depts["nyj"].id})
    db.session.expire_all()
    task = db.session.get(Task, pending.id)
    assert task.status is TaskStatus.ACCEPTED
    from server.audit.services import history

    assert [e.action for e in history("task", task.id)][:2] == ["task.accept", "task.accept"]


def test_acceptance_by_another_department_is_forbidden(pending, depts, login):
    before = audit_count("task")
    resp = login("swj_admin").post(f"/tasks/{pending.id}/accept", data={"department_id": depts["nyj"].id})
    assert resp.status_code == 403
    assert "农业农村局" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert _row(db.session.get(Task, pending.id), depts["nyj"]).acceptance is Acceptance.PENDING
    assert audit_count("task") == before


def test_acceptance_by_inspector_of_the_department_is_forbidden(pending, depts, login):
    resp = login("swj_insp").post(f"/tasks/{pending.id}/accept", data={"department_id": depts["swj"].id})
    assert resp.status_code == 403
    db.session.expire_all()
    assert _row(db.session.get(Task, pending.id), depts["swj"]).acceptance is Acceptance.PENDING


def test_return_without_comment_is_refused(pending, depts, login):
    before = audit_count("task")
    resp = login("swj_admin").post(f"/tasks/{pending.id}/return",
                                   data={"department_id": depts["swj"].id, "comment": "  "})
    assert resp.status_code == 422
    assert "须填写退回意见" in resp.get_data(as_text=True)
    db.session.expire_all()
    task = db.session.get(Task, pending.id)
    assert task.status is TaskStatus.PENDING
    assert _row(task, depts["swj"]).acceptance is Acceptance.PENDING
    assert audit_count("task") == before


def test_return_with_comment_sends_back_to_draft_and_resubmit_resets(pending, depts, login):
    resp = login("swj_admin").post(f"/tasks/{pending.id}/return",
                                   data={"department_id": depts["swj"].id, "comment": "请补充成品油专长要求"})
    assert resp.status_code == 302
    db.session.expire_all()
    task = db.session.get(Task, pending.id)
    assert task.status is TaskStatus.DRAFT
    assert _row(task, depts["swj"]).acceptance is Acceptance.RETURNED
    assert _row(task, depts["swj"]).comment == "请补充成品油专长要求"
    body = login("scj_init").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "请补充成品油专长要求" in body
    login("scj_init").post(f"/tasks/{task.id}/submit")
    db.session.expire_all()
    task = db.session.get(Task, pending.id)
    assert task.status is TaskStatus.PENDING
    assert _row(task, depts["swj"]).acceptance is Acceptance.PENDING


def test_accepting_a_draft_is_refused(draft, depts, login):
    resp = login("swj_admin").post(f"/tasks/{draft.id}/accept", data={"department_id": depts["swj"].id})
    assert resp.status_code == 409
    db.session.expire_all()
    assert _row(db.session.get(Task, draft.id), depts["swj"]).acceptance is Acceptance.PENDING


def test_pending_task_cannot_be_edited(pending, depts, edition, login):
    resp = login("scj_init").post(f"/tasks/{pending.id}/edit", data=task_form(depts, edition, name="偷改"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Task, pending.id).name == "成品油市场联合检查"


def test_detail_offers_decision_only_to_the_department(pending, depts, login):
    body = login("swj_admin").get(f"/tasks/{pending.id}").get_data(as_text=True)
    assert body.count("接受任务") == 1
    body = login("swj_insp").get(f"/tasks/{pending.id}").get_data(as_text=True)
    assert "接受任务" not in body
