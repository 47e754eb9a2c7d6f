"""One rule of who writes which section (谁检查、谁录入, or 谁主导、谁填报): the record store
(``check_can_write``) and the pull (the returned content given to the writers) both apply
``fieldwork.services.writable_departments``."""

from __future__ import annotations

import pytest

from server.extensions import db
from server.fieldwork.services import writable_departments
from server.rules.services import (
    RESULTS_BY_INSPECTING_DEPARTMENT,
    RESULTS_BY_LEAD_DEPARTMENT,
    set_rule,
)
from server.sync.services import _writer_departments
from server.visits.services import visits_for_user
from tests.sync.conftest import new_uuid, put_record, record_body

BY_DEPT, BY_LEAD = RESULTS_BY_INSPECTING_DEPARTMENT, RESULTS_BY_LEAD_DEPARTMENT


def test_the_rule():
    assert writable_departments(set(), 1, {1, 2}, BY_DEPT) == set()
    assert writable_departments(set(), 1, {1, 2}, BY_LEAD) == set()
    assert writable_departments({2}, 1, {1, 2}, BY_DEPT) == {2}
    assert writable_departments({3}, 1, {1, 2}, BY_DEPT) == {3}  # no section of 3: nothing to write there
    assert writable_departments({1}, 1, {1, 2}, BY_LEAD) == {1, 2}
    assert writable_departments({2}, 1, {1, 2}, BY_LEAD) == set()
    assert writable_departments({1}, 1, set(), BY_LEAD) == set()


@pytest.mark.parametrize("rule", [BY_DEPT, BY_LEAD])
def test_the_store_and_the_pull_agree(field, login, rule):
    set_rule("results_entry", rule)
    db.session.commit()
    for user, inspector in ((field.u_a1, field.i_a1), (field.u_b1, field.i_b1)):
        assigned = next(a for a in visits_for_user(user) if a.visit.id == field.v_z.id)
        writable = _writer_departments(assigned, inspector.id, rule)
        if rule == BY_LEAD:  # a leads: its member writes every section, b's member none
            expected = {field.a.id, field.b.id} if user is field.u_a1 else set()
        else:
            expected = {field.a.id} if user is field.u_a1 else {field.b.id}
        assert writable == expected
        for dept in (field.a, field.b):
            resp = put_record(login(user), field.v_z.id, new_uuid(), record_body(dept.id))
            assert (resp.status_code == 201) == (dept.id in writable), (user.username, dept.id, resp.get_json())
            if resp.status_code != 201:
                assert resp.get_json()["error"]["code"] in ("other_department", "not_results_entrant")
