"""Confidentiality of a task's object and team lists [004§8(三)]."""

from __future__ import annotations

from server.extensions import db
from server.planning.models import TaskStatus
from server.teams.access import can_view_task_lists, log_confidential_view, visible_team_ids


def test_initiator_sees_all_teams(drawn):
    assert visible_team_ids(drawn.initiator, drawn.task) is None


def test_task_creator_of_another_role_sees_all_teams(drawn):
    drawn.task.created_by_id = drawn.joint.id
    db.session.commit()
    assert visible_team_ids(drawn.joint, drawn.task) is None


def test_participating_head_sees_all_teams(drawn):
    assert visible_team_ids(drawn.head_b, drawn.task) is None


def test_auditor_sees_all_teams(drawn):
    assert visible_team_ids(drawn.auditor, drawn.task) is None


def test_member_sees_only_own_team(drawn):
    assert visible_team_ids(drawn.u_b1, drawn.task) == {drawn.team1.id}


def test_replaced_member_sees_nothing(drawn):
    drawn.m_b1.active = False
    db.session.commit()
    assert not can_view_task_lists(drawn.u_b1, drawn.task)


def test_head_of_non_participating_department_is_refused(drawn):
    assert not can_view_task_lists(drawn.head_c, drawn.task)


def test_system_admin_and_joint_office_are_refused_before_visits_over(drawn):
    assert not can_view_task_lists(drawn.sysadmin, drawn.task)
    assert not can_view_task_lists(drawn.joint, drawn.task)


def test_inspector_outside_the_task_is_refused(drawn):
    assert not can_view_task_lists(drawn.u_idle, drawn.task)


def test_after_visits_over_every_back_office_user_sees_all(drawn):
    drawn.task.status = TaskStatus.VISITS_OVER
    db.session.commit()
    assert visible_team_ids(drawn.outsider, drawn.task) is None
    assert visible_team_ids(drawn.u_b1, drawn.task) is None


def test_log_confidential_view_records_what(drawn, as_user):
    from server.audit.services import history

    with as_user(drawn.initiator):
        log_confidential_view(drawn.task, "objects")
        db.session.commit()
    entry = history("task", drawn.task.id)[0]
    assert entry.action == "task.view_confidential"
    assert entry.after["what"] == "objects"
    assert entry.actor_id == drawn.initiator.id


def test_hidden_task_ids_in_bulk_agrees_with_the_per_task_rule(drawn):
    """``hidden_task_ids`` (two queries, on every page) must say exactly what ``visible_team_ids``
    says task by task, for every kind of user, including the task's creator of another role."""
    from server.planning.models import Task
    from server.teams.access import _hidden_open_task_ids

    drawn.task.created_by_id = drawn.joint.id
    db.session.commit()
    users = [drawn.initiator, drawn.head_b, drawn.head_c, drawn.u_b1, drawn.u_idle, drawn.sysadmin,
             drawn.joint, drawn.outsider]
    open_tasks = db.session.execute(db.select(Task).where(Task.status != TaskStatus.VISITS_OVER)).scalars().all()
    assert open_tasks
    for user in users:
        expected = frozenset(t.id for t in open_tasks if visible_team_ids(user, t) is not None)
        assert _hidden_open_task_ids(user) == expected, user.username
    assert drawn.task.id not in _hidden_open_task_ids(drawn.joint)  # the creator
    assert drawn.task.id in _hidden_open_task_ids(drawn.u_b1)  # a member sees one team only
