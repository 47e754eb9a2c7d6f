"""Strata under the rules: the unstratified mode where risk classes exist, the floors, and objects
without a risk class drawn in a stratum of their own [000#4, 000#13]."""

from __future__ import annotations

from sqlalchemy import select

from server.draws.models import DrawSelection
from server.extensions import db
from server.planning.models import Task
from server.rules.services import update_rules
from tests.planning.conftest import task_form

from .conftest import settings_count


def _login(client, auth, username="scj_init"):
    auth.login(username)
    return client


def test_unstratified_mode_is_refused_where_the_candidates_have_risk_classes(client, auth, depts, users, edition,
                                                                             make_object):
    make_object(risk="D")
    resp = _login(client, auth).post("/tasks/new", data=task_form(depts, edition, strata_mode="all", ratio_ALL="0.05"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "不分层抽取会绕过各类的最低抽查比例" in html
    assert 'value="0.05"' in html  # the input is kept
    assert db.session.execute(select(Task)).first() is None


def test_unstratified_mode_is_allowed_when_the_rule_allows_it(client, auth, depts, users, edition, make_object):
    make_object(risk="D")
    update_rules({"unstratified_with_classes": "yes"})
    db.session.commit()
    resp = _login(client, auth).post("/tasks/new", data=task_form(depts, edition, strata_mode="all", ratio_ALL="0.05"))
    assert resp.status_code == 302
    assert db.session.execute(select(Task)).scalar_one().strata == [{"name": "ALL", "ratio": "0.05"}]


def test_unstratified_mode_refused_on_submit_after_the_rule_was_withdrawn(client, auth, depts, users, edition,
                                                                          make_object):
    make_object(risk="A")
    update_rules({"unstratified_with_classes": "yes"})
    db.session.commit()
    client = _login(client, auth)
    assert client.post("/tasks/new", data=task_form(depts, edition, strata_mode="all", ratio_ALL="0.5")).status_code == 302
    task = db.session.execute(select(Task)).scalar_one()
    update_rules({"unstratified_with_classes": "no"})
    db.session.commit()
    from server.core.errors import ValidationFailed
    from server.planning.services import submit_task

    try:
        submit_task(task)
    except ValidationFailed as err:
        assert "不分层抽取会绕过" in err.errors["strata_mode"]
    else:  # pragma: no cover - the assertion below names the failure
        raise AssertionError("submit accepted an unstratified task whose candidates have risk classes")


def test_d_floor_from_the_rules_is_enforced(client, auth, depts, users, edition):
    update_rules({"min_ratio.D": "0.3"})
    db.session.commit()
    resp = _login(client, auth).post("/tasks/new", data=task_form(depts, edition, ratio_D="0.25"))
    assert resp.status_code == 422
    assert "D类的抽查比例不得低于 30%" in resp.get_data(as_text=True)
    assert db.session.execute(select(Task)).first() is None


def test_unrated_stratum_has_its_own_minimum(client, auth, depts, users, edition):
    resp = _login(client, auth).post("/tasks/new", data=task_form(depts, edition, ratio_U="0.01"))
    assert resp.status_code == 422
    assert "未评级对象的抽查比例不得低于 3%" in resp.get_data(as_text=True)


def test_new_task_form_offers_the_unrated_stratum_at_the_rules_minimum(client, auth, depts, users, edition):
    update_rules({"min_ratio.U": "0.04"})
    db.session.commit()
    html = _login(client, auth).get("/tasks/new").get_data(as_text=True)
    assert 'name="ratio_U" type="text" inputmode="decimal" value="0.04"' in html
    assert settings_count() == 1


def test_objects_without_a_risk_class_are_drawn_in_their_own_stratum(make_department, make_task, bulk_objects,
                                                                     draw_objects):
    depts = make_department("武陟县商务局"), make_department("武陟县市场监督管理局")
    rated = bulk_objects(4, "A")
    unrated = bulk_objects(3, None)
    task = make_task(depts[0], [depts[1]], accepted=True,
                     strata=[*({"name": c, "ratio": "1"} for c in "ABCD"), {"name": "U", "ratio": "1"}])
    draw_objects(task)
    drawn = dict(db.session.execute(select(DrawSelection.object_id, DrawSelection.stratum)).all())
    assert sorted(drawn.values()) == ["A"] * len(rated) + ["U"] * len(unrated)
