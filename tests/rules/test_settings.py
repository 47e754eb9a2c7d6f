"""Rules as configuration (issue 7 §6): stored per deployment, changed on a screen and by CLI,
validated, audited, and in force at the next task or draw."""

from __future__ import annotations

from datetime import date

import pytest

from server.auth.roles import Role
from server.draws.candidates import build_candidates
from server.extensions import db
from server.rules.services import get_rules, update_rules

from .conftest import audit_count, settings_count

RULES_FORM = {
    "min_ratio.A": "0.01", "min_ratio.B": "0.03", "min_ratio.C": "0.10", "min_ratio.D": "0.20", "min_ratio.U": "0.03",
    "unstratified_min_ratio": "0.05", "unstratified_with_classes": "no", "yearly_cap": "2",
    "yearly_cap_counts": "joint", "complaint_threshold": "3", "results_entry": "inspecting_department",
}


@pytest.fixture
def two_depts(make_department):
    return make_department("武陟县商务局"), make_department("武陟县市场监督管理局")


def _excluded(cands) -> dict[str, str]:
    return {e["code"]: e["reason"] for e in cands.excluded}


def test_defaults_apply_until_a_rule_is_set(app):
    rules = get_rules()
    assert rules.min_ratios == {"A": "0.01", "B": "0.03", "C": "0.10", "D": "0.20", "U": "0.03"}
    assert rules.unstratified_with_classes is False
    assert (rules.yearly_cap, rules.yearly_cap_counts, rules.complaint_threshold) == (2, "joint", 3)
    assert settings_count() == 0


def test_screen_change_is_audited_and_applies_to_the_next_draw(client, login_as, make_task, two_depts,
                                                                make_object, past_check):
    obj = make_object()
    past_check(make_task(two_depts[0], [two_depts[1]], accepted=True,
                         period=(date(2026, 3, 1), date(2026, 3, 20))), [obj])
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert _excluded(build_candidates(task)) == {}  # one joint check: under the default cap of 2

    login_as("office", Role.JOINT_OFFICE)
    resp = client.post("/admin/rules", data={**RULES_FORM, "yearly_cap": "1"})
    assert resp.status_code == 302
    from server.audit.models import AuditEntry

    entry = db.session.execute(db.select(AuditEntry).where(AuditEntry.action == "rules.update")).scalar_one()
    assert (entry.before, entry.after, entry.actor_name) == ({"yearly_cap": 2}, {"yearly_cap": 1}, "office")
    assert _excluded(build_candidates(task)) == {obj.code: "joint_cap"}


def test_cli_set_is_audited_and_applies_to_the_next_draw(runner, make_task, two_depts, make_object, past_check):
    obj = make_object()
    for k in range(2):  # two single-department checks: not joint
        past_check(make_task(two_depts[0], accepted=True, period=(date(2026, 3 + k, 1), date(2026, 3 + k, 20))),
                   [obj])
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert _excluded(build_candidates(task)) == {}

    result = runner.invoke(args=["rules", "set", "yearly_cap_counts", "all"])
    assert result.exit_code == 0, result.output
    assert "joint -> all" in result.output
    assert audit_count("rules.update") == 1
    assert _excluded(build_candidates(task)) == {obj.code: "yearly_cap"}
    assert "yearly_cap_counts = all" in runner.invoke(args=["rules", "show"]).output


@pytest.mark.parametrize(("key", "value", "message"), [
    ("min_ratio.A", "0", "大于 0"),
    ("min_ratio.D", "1.5", "大于 0"),
    ("min_ratio.B", "abc", "不是有效的比例"),
    ("yearly_cap", "-1", "超出范围"),
    ("yearly_cap", "two", "不是整数"),
    ("yearly_cap_counts", "some", "不是有效的选项"),
    ("no_such_rule", "1", "没有名为"),
], ids=["ratio-0", "ratio-1.5", "ratio-abc", "cap-minus-1", "cap-text", "bad-choice", "unknown-key"])
def test_cli_refuses_bad_values_with_exit_2_and_changes_nothing(runner, key, value, message):
    result = runner.invoke(args=["rules", "set", key, value])
    assert result.exit_code == 2
    assert message in result.output
    assert settings_count() == 0 and audit_count("rules.update") == 0
    assert get_rules() == type(get_rules())()


def test_screen_refuses_a_bad_value_keeps_the_input_and_changes_nothing(client, login_as):
    login_as("admin", Role.SYSTEM_ADMIN)
    resp = client.post("/admin/rules", data={**RULES_FORM, "min_ratio.C": "0.5", "min_ratio.D": "1.5"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "不超过 1" in html
    assert 'value="1.5"' in html and 'value="0.5"' in html  # what the user typed is kept
    assert settings_count() == 0 and audit_count("rules.update") == 0  # not even the valid C changed
    assert get_rules().min_ratios["C"] == "0.10"


def test_only_the_system_admin_and_joint_office_may_change_the_rules(client, login_as, make_department):
    login_as("initiator", Role.TASK_INITIATOR, department=make_department("武陟县商务局"))
    page = client.get("/admin/rules")
    assert page.status_code == 200 and "只有系统管理员和联席办可以修改规则" in page.get_data(as_text=True)
    assert client.post("/admin/rules", data={**RULES_FORM, "yearly_cap": "1"}).status_code == 403
    assert settings_count() == 0


def test_complaint_threshold_is_a_rule_not_a_config_key(app, make_task, two_depts, make_object, past_check):
    obj = make_object(complaint_count=4)
    for k in range(2):
        past_check(make_task(two_depts[0], [two_depts[1]], accepted=True,
                             period=(date(2026, 3 + k, 1), date(2026, 3 + k, 20))), [obj])
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert _excluded(build_candidates(task)) == {}  # 4 ≥ 3 complaints: exempt from the cap
    update_rules({"complaint_threshold": "5"})
    db.session.commit()
    assert _excluded(build_candidates(task)) == {obj.code: "joint_cap"}


def test_cap_counts_joint_checks_by_default_and_all_checks_when_set(app, make_task, two_depts, make_object,
                                                                   past_check):
    obj = make_object()
    past_check(make_task(two_depts[0], [two_depts[1]], accepted=True,
                         period=(date(2026, 3, 1), date(2026, 3, 20))), [obj])  # joint
    past_check(make_task(two_depts[1], accepted=True, period=(date(2026, 4, 1), date(2026, 4, 20))), [obj])  # alone
    task = make_task(two_depts[0], [two_depts[1]], accepted=True)
    assert _excluded(build_candidates(task)) == {}  # one joint check [000#10]
    update_rules({"yearly_cap_counts": "all"})
    db.session.commit()
    assert _excluded(build_candidates(task)) == {obj.code: "yearly_cap"}  # two checks [003#15]
