"""Candidates and exclusions of an objects draw [000#10, 003#15, 003#28]."""

from __future__ import annotations

from datetime import date

import pytest

from server.draws.candidates import build_candidates
from server.extensions import db
from server.org.models import Level
from server.planning.models import TaskCandidate
from server.registry.models import RegistrationStatus

STRATA = [{"name": s, "ratio": "1"} for s in "ABCD"]


@pytest.fixture
def two_depts(make_department):
    return make_department("武陟县商务局"), make_department("武陟县市场监督管理局")


def _codes(cands, name="ALL"):
    return next(s["ids"] for s in cands.strata if s["name"] == name)


def _excluded(cands):
    return {e["code"]: e["reason"] for e in cands.excluded}


def _checked_twice(make_task, past_check, depts, obj, *, joint=True, year=2026):
    for k in range(2):
        t = make_task(depts[0], depts[1:] if joint else (), accepted=True,
                      period=(date(year, 3 + k, 1), date(year, 3 + k, 20)))
        past_check(t, [obj])


def test_candidates_are_split_by_risk_class(make_task, two_depts, bulk_objects):
    a = bulk_objects(3, "A")
    d = bulk_objects(2, "D")
    task = make_task(*two_depts[:1], [two_depts[1]], accepted=True, strata=STRATA)
    cands = build_candidates(task)
    assert sorted(_codes(cands, "A")) == a
    assert sorted(_codes(cands, "D")) == d
    assert _codes(cands, "B") == [] and _codes(cands, "C") == []


def test_scope_filters_status_and_industry(make_task, two_depts, make_object):
    oil = make_object(industry="成品油零售")
    make_object(industry="餐饮服务")
    make_object(industry="成品油零售", registration_status=RegistrationStatus.REVOKED)
    task = make_task(two_depts[0], [two_depts[1]], accepted=True,
                     scope={"statuses": ["active"], "industries": ["成品油零售"]})
    assert _codes(build_candidates(task)) == [oil.code]


def test_object_in_two_joint_checks_this_year_is_excluded(make_task, two_depts, make_object, past_check):
    obj = make_object()
    other = make_object()
    _checked_twice(make_task, past_check, two_depts, obj)
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    cands = build_candidates(task)
    assert _excluded(cands) == {obj.code: "joint_cap"}
    assert _codes(cands) == [other.code]


def test_one_joint_check_does_not_exclude(make_task, two_depts, make_object, past_check):
    obj = make_object()
    past_check(make_task(two_depts[0], [two_depts[1]], accepted=True), [obj])
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert _codes(build_candidates(task)) == [obj.code]


def test_single_department_checks_do_not_count(make_task, two_depts, make_object, past_check):
    obj = make_object()
    _checked_twice(make_task, past_check, two_depts, obj, joint=False)
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert build_candidates(task).excluded == []


def test_checks_of_another_year_do_not_count(make_task, two_depts, make_object, past_check):
    obj = make_object()
    _checked_twice(make_task, past_check, two_depts, obj, year=2025)
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert _codes(build_candidates(task)) == [obj.code]


@pytest.mark.parametrize("fields", [
    {"risk": "D"}, {"abnormal_list": True}, {"serious_violation": True}, {"complaint_count": 3},
], ids=["risk-D", "abnormal-list", "serious-violation", "complaints"])
def test_exempt_objects_are_not_capped(make_task, two_depts, make_object, past_check, fields):
    obj = make_object(**fields)
    _checked_twice(make_task, past_check, two_depts, obj)
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    cands = build_candidates(task)
    assert cands.excluded == []
    assert _codes(cands) == [obj.code]


def test_complaints_below_threshold_are_capped(make_task, two_depts, make_object, past_check):
    obj = make_object(complaint_count=2)
    _checked_twice(make_task, past_check, two_depts, obj)
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert _excluded(build_candidates(task)) == {obj.code: "joint_cap"}


def test_complaint_threshold_is_configurable(app, make_task, two_depts, make_object, past_check):
    from server.rules.services import update_rules

    update_rules({"complaint_threshold": "5"})  # a rule in the database, no longer a config key
    db.session.commit()
    obj = make_object(complaint_count=3)
    _checked_twice(make_task, past_check, two_depts, obj)
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert _excluded(build_candidates(task)) == {obj.code: "joint_cap"}


def test_object_checked_by_higher_level_department_is_excluded(make_task, make_department, make_object,
                                                                past_check):
    city = make_department("焦作市市场监督管理局", level=Level.CITY)
    county = make_department("武陟县市场监督管理局", parent=city)
    county_other = make_department("武陟县商务局")
    obj = make_object(risk="D")  # exempt from the cap, not from the higher-level rule
    past_check(make_task(city, accepted=True, code="CITY-1"), [obj])
    task = make_task(county, [county_other], accepted=True)
    cands = build_candidates(task)
    assert cands.excluded == [{"code": obj.code, "name": obj.name, "reason": "higher_level", "detail": "CITY-1"}]


def test_check_by_same_level_department_does_not_exclude(make_task, two_depts, make_department, make_object,
                                                         past_check):
    obj = make_object()
    past_check(make_task(make_department("武陟县农业农村局"), accepted=True), [obj])
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert build_candidates(task).excluded == []


def test_object_without_risk_class_is_a_candidate_of_its_own_stratum(make_task, two_depts, bulk_objects):
    # [000#4]: never silently never-drawn; a task saved before the U stratum existed gets it appended
    unclassified = bulk_objects(1, None)
    task = make_task(two_depts[0], [two_depts[1]], accepted=True, strata=STRATA)
    cands = build_candidates(task)
    assert cands.excluded == []
    assert _codes(cands, "U") == unclassified


def test_imported_list_is_the_candidate_source(make_task, two_depts, make_object):
    listed = make_object()
    make_object()
    task = make_task(two_depts[0], [two_depts[1]], accepted=True, candidate_source="imported")
    db.session.add(TaskCandidate(task_id=task.id, object_id=listed.id))
    db.session.commit()
    assert _codes(build_candidates(task)) == [listed.code]


def test_dispatched_task_draws_from_parent_selection(make_task, make_department, make_object, past_check):
    city = make_department("焦作市市场监督管理局", level=Level.CITY)
    county = make_department("武陟县市场监督管理局", parent=city)
    drawn = make_object()
    make_object()
    parent = make_task(city, accepted=True)
    past_check(parent, [drawn])
    child = make_task(county, accepted=True, parent_task_id=parent.id)
    cands = build_candidates(child)
    assert _codes(cands) == [drawn.code]
    assert cands.excluded == []
    assert cands.source == "dispatched"


def test_dispatched_child_counts_as_its_parents_check(make_task, two_depts, make_object, past_check):
    obj = make_object()
    parent = make_task(two_depts[0], [two_depts[1]], accepted=True)
    past_check(parent, [obj])
    past_check(make_task(two_depts[0], [two_depts[1]], accepted=True, parent_task_id=parent.id), [obj])
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert _codes(build_candidates(task)) == [obj.code]  # one check (drawn once, executed below), not two


def test_dispatched_child_draws_only_the_objects_dispatched_to_it(make_task, make_department, make_object,
                                                                  past_check):
    from server.extensions import db
    from server.planning.models import TaskCandidate

    city = make_department("焦作市市场监督管理局", level=Level.CITY)
    wuzhi = make_department("武陟县市场监督管理局", parent=city)
    mine, theirs = make_object(), make_object()
    parent = make_task(city, accepted=True)
    past_check(parent, [mine, theirs])
    child = make_task(wuzhi, accepted=True, parent_task_id=parent.id, candidate_source="dispatched")
    db.session.add(TaskCandidate(task_id=child.id, object_id=mine.id))
    db.session.commit()
    cands = build_candidates(child)
    assert _codes(cands) == [mine.code]
    assert cands.source == "dispatched"
