"""Fixtures of the review tests: the sync fixtures (a task with two teams; visit ``v_z`` has one
item of department a and one of department b; leader ``u_a1``, member ``u_b1``), reviewers of both
departments, the joint office, and helpers that send the finished sections as the phone does."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from server.auth.roles import Role
from tests.sync.conftest import (  # noqa: F401
    _photo_dir,
    app_record,
    assigned,
    field,
    login,
    new_uuid,
    put_record,
    record_body,
)


@pytest.fixture
def flow(field, make_user, login):  # noqa: F811
    ns = SimpleNamespace(**vars(field))
    ns.rev_a = make_user("rev_a", roles=(Role.REVIEWER,), department=field.a)
    ns.rev_b = make_user("rev_b", roles=(Role.REVIEWER,), department=field.b)
    ns.joint = make_user("joint", roles=(Role.JOINT_OFFICE,))
    ns.login = login

    def send(user, department, *, base=0, visit=None, expect=201, photos=(), **content):
        visit = visit or ns.v_z
        client = login(user)
        body = record_body(department.id, base, content=app_record(visit, department.id, **content),
                           photos=photos, finished=True)
        resp = put_record(client, visit.id, new_uuid(), body)
        assert resp.status_code == expect, resp.get_json()
        return resp

    def both(**content):
        send(ns.u_a1, ns.a, **content)
        send(ns.u_b1, ns.b, **content)

    ns.send, ns.both = send, both
    return ns
