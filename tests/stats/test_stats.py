"""Statistics (issue 8 §6): every figure on the hand-made year of tests/stats/conftest.py, the
filters and their refusals, who sees the internal risk-class table, and the XLSX export.

Expected numbers worked out by hand ("today" = 2026-06-30):

* tasks of 2026 (submitted): T1 (甲 leads, 乙 joins), T2, T3 (甲 alone), T4 (乙 alone) → 4.
  甲 leads 3, 1 joint → 33.3 %; 乙 leads 1, 0 joint → 0.0 % (below 10 %), joins 1; 丙 leads none → "—".
* visits (withdrawn v7 excluded): T1 v1 planned, v2 scheduled, v3 visited, v4 consolidated,
  v5 reviewed, v6 consolidated; T2 v8 reviewed → 7 visits, 5 done.
  甲 takes part in T1+T2 → 7 (1/1/1/2/2); 乙 in T1 → 6 (1/1/1/2/1).
* results: 甲 entered v5 (late) and v8 (on time); overdue: v4 pending (due 06-08) and v3 (due 06-03,
  never consolidated); v6 due 07-17 not yet due → 1 on time / 4 due = 25.0 %.
  乙 entered v4, v5 (published) on time; overdue v3 → 2 / 3 = 66.7 %. Total 3 / 7 = 42.9 %.
* categories over the 4 entered results: 未发现问题 2, 发现问题已责令改正 1 (twice in one result:
  counted once), 未按规定公示 1, 合格 1.
* follow-ups: 甲 open 2 (one overdue: due 06-10), closed 1; 乙 open 1, overdue (due 06-29).
* risk classes (T1's draw: A 1/100, B 1/40, C 2/20, D 2/10; T2 unstratified 1/10): A 1.0 % met,
  B 2.5 % below 3 %, C 10.0 % met, D 20.0 % met, 不分层 10.0 % ≥ 5 % met.
"""

from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from server.audit.models import AuditEntry
from server.extensions import db
from server.stats import services
from server.visits.models import Visit


def login(client, username):
    client.post("/logout")
    return client.post("/login", data={"username": username, "password": "correct horse battery"})


def compute(world, user, **args):
    f = services.parse_filters({k: str(v) for k, v in args.items()}, user)
    return services.compute(f, user)


def dept_row(stats, dept):
    return next(r for r in stats.departments if r.department.id == dept.id)


def test_tasks_led_joined_and_joint_share(world):
    s = compute(world, world.joint, year=2026)
    a, b, c = dept_row(s, world.a), dept_row(s, world.b), dept_row(s, world.c)
    assert (a.led, a.joint_led, a.joined, services.percent_text(a.joint_share), a.joint_below) == \
        (3, 1, 0, "33.3%", False)
    assert (b.led, b.joint_led, b.joined, services.percent_text(b.joint_share), b.joint_below) == \
        (1, 0, 1, "0.0%", True)
    assert (c.led, c.joined, c.joint_share) == (0, 0, None)
    assert s.totals["tasks"] == 4


def test_visits_per_stage(world):
    s = compute(world, world.joint, year=2026)
    assert s.totals["visits_total"] == 7 and s.totals["visits_done"] == 5
    assert s.totals["visits"] == {"planned": 1, "scheduled": 1, "visited": 1, "consolidated": 2, "reviewed": 2}
    a, b = dept_row(s, world.a), dept_row(s, world.b)
    assert (a.visits_total, a.visits_done, a.visits) == (
        7, 5, {"planned": 1, "scheduled": 1, "visited": 1, "consolidated": 2, "reviewed": 2})
    assert (b.visits_total, b.visits_done, b.visits) == (
        6, 4, {"planned": 1, "scheduled": 1, "visited": 1, "consolidated": 2, "reviewed": 1})


def test_on_time_rate_and_overdue_results(world):
    s = compute(world, world.joint, year=2026)
    a, b = dept_row(s, world.a), dept_row(s, world.b)
    assert (a.entered, a.on_time, a.overdue, a.due, services.percent_text(a.on_time_rate)) == (2, 1, 2, 4, "25.0%")
    assert (b.entered, b.on_time, b.overdue, b.due, services.percent_text(b.on_time_rate)) == (2, 2, 1, 3, "66.7%")
    t = s.totals
    assert (t["entered"], t["on_time"], t["overdue"], t["due"]) == (4, 3, 3, 7)
    assert services.percent_text(t["on_time_rate"]) == "42.9%"
    assert dept_row(s, world.c).on_time_rate is None


def test_results_by_category(world):
    s = compute(world, world.joint, year=2026)
    counts = {c["code"]: c["count"] for c in s.categories}
    assert counts["no_problem"] == 2 and counts["rectified"] == 1
    assert counts["not_disclosed"] == 1 and counts["qualified"] == 1
    assert sum(counts.values()) == 5  # 4 results, one of them with two categories
    labels = {c["code"]: c["label"] for c in s.categories}
    assert labels["rectified"] == "发现问题已责令改正"
    assert next(c for c in s.categories if c["code"] == "no_problem")["share"] == Decimal("0.5")


def test_follow_ups_open_closed_overdue(world):
    s = compute(world, world.joint, year=2026)
    a, b = dept_row(s, world.a), dept_row(s, world.b)
    assert (a.fu_open, a.fu_closed, a.fu_overdue) == (2, 1, 1)
    assert (b.fu_open, b.fu_closed, b.fu_overdue) == (1, 0, 1)
    assert (s.totals["fu_open"], s.totals["fu_closed"], s.totals["fu_overdue"]) == (3, 1, 2)


def test_objects_drawn_per_risk_class_against_the_minimums(world):
    s = compute(world, world.auditor, year=2026)
    rows = {r.name: r for r in s.risk}
    assert [(rows[c].candidates, rows[c].drawn) for c in "ABCD"] == [(100, 1), (40, 1), (20, 2), (10, 2)]
    assert [services.percent_text(rows[c].share) for c in "ABCD"] == ["1.0%", "2.5%", "10.0%", "20.0%"]
    assert [rows[c].minimum for c in "ABCD"] == [Decimal("0.01"), Decimal("0.03"), Decimal("0.10"), Decimal("0.20")]
    assert [rows[c].met for c in "ABCD"] == [True, False, True, True]
    assert rows["U"].candidates == 0 and rows["U"].met is None
    assert (rows["ALL"].candidates, rows["ALL"].drawn, rows["ALL"].met) == (10, 1, True)


def test_risk_classes_of_open_tasks_only_for_their_initiators_and_auditors(world):
    # T2 (甲 alone, visits not over) is drawn without strata: the joint office does not see it yet
    joint = compute(world, world.joint, year=2026)
    assert "ALL" not in {r.name for r in joint.risk} and joint.risk_left_out == 1
    assert {r.name: r.drawn for r in joint.risk}["D"] == 2  # T1 is over: counted
    assert "ALL" in {r.name for r in compute(world, world.dadmin_a, year=2026).risk}
    assert compute(world, world.auditor, year=2026).risk_left_out == 0
    # with T1 reopened, 乙's department admin (a participant, not the initiator) sees no counts of it
    from server.auth.roles import Role
    from server.auth.services import create_user
    from server.planning.models import TaskStatus

    world.t1.status = TaskStatus.INSPECTORS_DRAWN
    b_admin = create_user(username="dadmin_b", display_name="b", password="correct horse battery",
                          roles=[Role.DEPT_ADMIN], department_id=world.b.id)
    db.session.commit()
    s = compute(world, b_admin, year=2026, task="T-2026-001")
    assert all(r.drawn == 0 and r.candidates == 0 for r in s.risk) and s.risk_left_out == 1
    assert {r.name: r.drawn for r in compute(world, world.dadmin_a, year=2026, task="T-2026-001").risk}["C"] == 2


def test_minimum_ratios_come_from_the_rules(world):
    from server.rules.services import update_rules

    update_rules({"min_ratio.B": "0.02"}, user_id=world.admin.id)
    db.session.commit()
    rows = {r.name: r for r in compute(world, world.auditor, year=2026).risk}
    assert rows["B"].minimum == Decimal("0.02") and rows["B"].met is True


def test_date_range_counts_visits_visited_in_it(world):
    s = compute(world, world.joint, year=2026, **{"from": "2026-05-01", "to": "2026-05-31"})
    assert s.totals["visits_total"] == 2  # v3 and v4
    assert (s.totals["entered"], s.totals["overdue"]) == (1, 3)
    assert s.totals["fu_open"] == 1  # the follow-up of v4's result
    # the annual indicators ignore the range
    assert dept_row(s, world.a).led == 3


def test_department_filter_gives_the_per_task_table(world):
    s = compute(world, world.joint, year=2026, department=world.a.id)
    assert [r.department.id for r in s.departments] == [world.a.id]
    tasks = {r.task.code: r for r in s.tasks}
    assert sorted(tasks) == ["T-2026-001", "T-2026-002", "T-2026-003"]
    t1 = tasks["T-2026-001"]
    assert (t1.joint, t1.visits_total, t1.visits_done, t1.entered, t1.on_time, t1.overdue) == (True, 6, 4, 1, 0, 2)
    assert (t1.fu_open, t1.fu_overdue) == (2, 1)
    t2 = tasks["T-2026-002"]
    assert (t2.joint, t2.visits_total, t2.entered, services.percent_text(t2.on_time_rate)) == (False, 1, 1, "100.0%")
    assert tasks["T-2026-003"].visits_total == 0 and tasks["T-2026-003"].on_time_rate is None


def test_task_filter_by_code_or_id(world):
    by_code = compute(world, world.joint, year=2026, task="T-2026-002")
    by_id = compute(world, world.joint, year=2026, task=world.t2.id)
    assert [r.task.id for r in by_code.tasks] == [r.task.id for r in by_id.tasks] == [world.t2.id]
    assert by_code.totals["visits_total"] == 1


def test_page_shows_the_figures_and_charts(client, world):
    login(client, "joint")
    resp = client.get("/stats?year=2026")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert re.search(r'data-figure="visits_total">7<', html)
    assert re.search(r'data-figure="on_time_rate">42.9%<', html)
    assert re.search(r'data-figure="overdue"[^>]*>3<', html)
    assert re.search(r'data-figure="fu_overdue"[^>]*>2<', html)
    assert html.count("<svg class=\"stats-chart\"") == 3
    assert "<title id=\"chart-cat-t\">检查结果分类：" in html and "未发现问题 2" in html
    assert 'id="table-risk"' in html and 'data-stratum="B"' in html
    assert 'id="table-tasks"' not in html  # no department or task chosen


def test_default_year_is_the_beijing_year(client, world, fixed_today):
    login(client, "joint")
    html = client.get("/stats").get_data(as_text=True)
    assert 'name="year" type="text" inputmode="numeric" value="2026"' in html
    assert 'data-figure="tasks">4<' in html


def test_empty_year_says_no_data(client, world):
    login(client, "joint")
    resp = client.get("/stats?year=2030")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'id="stats-empty"' in html and "暂无数据" in html
    assert 'data-figure=' not in html


@pytest.mark.parametrize("query, field, message", [
    ("year=2026&from=2026-06-01&to=2026-05-01", "to", "结束日期 2026-05-01 早于开始日期 2026-06-01"),
    ("year=2026&from=2026-13-01", "from", "“2026-13-01”不是有效日期"),
    ("year=2026&to=yesterday", "to", "“yesterday”不是有效日期"),
    ("year=2026&from=2025-01-01&to=2026-06-30", "to", "日期范围最长 366 天"),
    ("year=1999", "year", "年度应为 2000 至 2100"),
    ("year=abcd", "year", "年度应为 2000 至 2100"),
    ("year=2026&department=99999", "department", "没有这个部门"),
    ("year=2026&task=NOPE-1", "task", "没有编号为“NOPE-1”的已提交任务"),
    ("year=2026&task=T-2026-005", "task", "没有编号为“T-2026-005”的已提交任务"),  # a draft
    ("year=2026&task=T-2025-001", "task", "请把年度改为 2025"),
])
def test_invalid_date_range_is_refused_with_a_clear_message(client, world, query, field, message):
    login(client, "joint")
    audit_before = db.session.query(AuditEntry).count()
    visits_before = db.session.query(Visit).count()
    resp = client.get(f"/stats?{query}")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert message in html and 'role="alert"' in html
    assert f'id="{field}"' in html and 'aria-invalid="true"' in html
    assert 'data-figure=' not in html  # nothing computed
    for part in query.split("&"):  # the filters the user typed are kept
        key, value = part.split("=")
        if key in ("from", "to", "task"):
            assert f'value="{value}"' in html
    assert db.session.query(AuditEntry).count() == audit_before
    assert db.session.query(Visit).count() == visits_before
    # the export refuses the same input the same way
    resp = client.get(f"/stats.xlsx?{query}")
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)


def test_task_not_of_the_chosen_department_is_refused(client, world):
    login(client, "joint")
    resp = client.get(f"/stats?year=2026&department={world.c.id}&task=T-2026-001")
    assert resp.status_code == 400
    assert "丙局 没有参加任务 T-2026-001" in resp.get_data(as_text=True)


def test_department_head_sees_only_their_bureau(client, world):
    login(client, "head_a")
    resp = client.get("/stats?year=2026")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert f'data-department-id="{world.a.id}"' in html and f'data-department-id="{world.b.id}"' not in html
    assert 'id="table-tasks"' in html  # their department is the filter
    # picking another department is forbidden: 403, with the message next to the field
    resp = client.get(f"/stats?year=2026&department={world.b.id}")
    assert resp.status_code == 403
    html = resp.get_data(as_text=True)
    assert "您只能查看本部门的统计" in html and 'data-figure=' not in html
    assert client.get(f"/stats.xlsx?year=2026&department={world.b.id}").status_code == 403
    # and so is a task their department does not take part in
    resp = client.get("/stats?year=2026&task=T-2026-004")
    assert resp.status_code == 403 and "本部门没有参加任务 T-2026-004" in resp.get_data(as_text=True)


def test_risk_class_table_hidden_from_a_department_head(client, world):
    login(client, "head_a")
    html = client.get("/stats?year=2026").get_data(as_text=True)
    assert 'id="table-risk"' not in html and "风险等级" not in html and "A 类" not in html
    wb = load_workbook(BytesIO(client.get("/stats.xlsx?year=2026").data))
    assert "风险等级（内部）" not in wb.sheetnames
    assert not any("风险" in str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value)


def test_risk_class_table_shown_to_a_department_admin(client, world):
    login(client, "dadmin_a")
    html = client.get("/stats?year=2026").get_data(as_text=True)
    assert 'id="table-risk"' in html


@pytest.mark.parametrize("username, status", [
    ("admin", 200), ("joint", 200), ("auditor", 200), ("head_a", 200), ("dadmin_a", 200),
    ("insp", 403), ("rev", 403),
])
def test_access_by_role(client, world, username, status):
    login(client, username)
    assert client.get("/stats?year=2026").status_code == status
    assert client.get("/stats.xlsx?year=2026").status_code == status


def test_xlsx_holds_the_same_numbers_as_the_page(client, world):
    login(client, "joint")
    resp = client.get(f"/stats.xlsx?year=2026&department={world.a.id}")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(BytesIO(resp.data))
    assert wb.sheetnames == ["概览", "各部门", "各任务", "结果分类", "风险等级（内部）"]
    first = {r[0]: r[1] for r in wb["概览"].iter_rows(values_only=True) if r and r[0]}
    assert first["年度"] == "2026" and first["部门"] == "甲局" and first["任务"] == "全部任务"
    assert first["检查对象（户次）"] == 7 and first["已录入结果"] == 2 and first["逾期未录入"] == 2
    assert first["按时录入率"] == pytest.approx(0.25)
    ws = wb["各部门"]
    headers = [c.value for c in ws[1]]
    row = dict(zip(headers, [c.value for c in ws[2]], strict=True))
    assert row["部门"] == "甲局" and row["牵头任务"] == 3 and row["牵头的联合任务"] == 1
    assert row["联合抽查占比"] == pytest.approx(1 / 3) and ws.cell(2, headers.index("联合抽查占比") + 1).number_format == "0.0%"
    assert (row["已录入结果"], row["按时录入"], row["应录入结果"], row["逾期未录入"]) == (2, 1, 4, 2)
    assert (row["待办移送"], row["已办结移送"], row["逾期移送"]) == (2, 1, 1)
    assert ws.column_dimensions["A"].width == 30
    tasks = {r[0]: r for r in wb["各任务"].iter_rows(min_row=2, values_only=True)}
    assert tasks["T-2026-001"][3:8] == (6, 4, 1, 0, 3)
    cats = {r[0]: r[2] for r in wb["结果分类"].iter_rows(min_row=2, values_only=True)}
    assert cats["rectified"] == 1 and cats["qualified"] == 1 and "no_problem" in cats
    risk = {r[0]: r for r in wb["风险等级（内部）"].iter_rows(min_row=2, values_only=True)}
    assert risk["B 类（中风险）"][1:5] == (40, 1, pytest.approx(0.025), pytest.approx(0.03))
    assert risk["B 类（中风险）"][5] == "未达标"
    # the page shows the same figures for the same filters
    html = client.get(f"/stats?year=2026&department={world.a.id}").get_data(as_text=True)
    assert 'data-figure="visits_total">7<' in html and 'data-figure="entered">2<' in html
    assert 'data-figure="on_time_rate">25.0%<' in html


def test_english_page_renders(client, world):
    login(client, "joint")
    resp = client.get("/stats?year=2026", headers={"Accept-Language": "en"})
    assert resp.status_code == 200


def test_xlsx_keeps_a_name_that_looks_like_a_formula_as_text(client, world):
    """A task name typed as "=HYPERLINK(…)" must not become a formula in the export."""
    world.t1.name = '=HYPERLINK("http://example.invalid","点击")'
    db.session.commit()
    login(client, "joint")
    resp = client.get(f"/stats.xlsx?year=2026&department={world.a.id}")
    assert resp.status_code == 200
    ws = load_workbook(BytesIO(resp.data))["各任务"]
    cell = next(row[1] for row in ws.iter_rows(min_row=2) if row[0].value == "T-2026-001")
    assert cell.value == world.t1.name and cell.data_type == "s"
