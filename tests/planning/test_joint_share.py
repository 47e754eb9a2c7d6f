"""The 10% indicator [001#7]: joint tasks a department LEADS / all tasks it LEADS.

The article: "市场监管领域相关部门应确保年度部门联合抽查任务占对应牵头抽查事项任务总数的10%以上" —
the base is the number of tasks on the items the department leads (牵头), and the initiating
department leads a task [001#8]. The earlier tests counted every task a department merely took
part in (a cooperating department reached 100 % without leading anything): the wrong base.
"""

from __future__ import annotations

from datetime import date

from server.planning import services
from server.planning.models import TaskStatus


def _share(dept, year=2026):
    return next(r for r in services.joint_shares(year) if r.department.id == dept.id)


def test_share_counts_joint_tasks(depts, make_task):
    make_task(depts["scj"], [depts["swj"]])
    for _ in range(9):
        make_task(depts["scj"])
    row = _share(depts["scj"])
    assert (row.total, row.joint, row.percent) == (10, 1, "10.0%")
    assert not row.below(services.joint_min_share())
    # SWJ only cooperates in SCJ's joint task: it leads nothing, so it has no share (the old
    # assertion "100.0%" counted a task SWJ does not lead)
    swj = _share(depts["swj"])
    assert (swj.total, swj.joint, swj.percent) == (0, 0, "—")
    assert not swj.below(services.joint_min_share())


def test_share_below_ten_percent_is_flagged(depts, make_task):
    make_task(depts["scj"], [depts["swj"]])
    for _ in range(10):
        make_task(depts["scj"])
    assert _share(depts["scj"]).below(services.joint_min_share())


def test_drafts_cancelled_and_other_years_do_not_count(depts, make_task):
    make_task(depts["nyj"], status=TaskStatus.DRAFT)
    make_task(depts["nyj"], status=TaskStatus.CANCELLED)
    make_task(depts["nyj"], period=(date(2025, 6, 1), date(2025, 6, 30)))
    assert _share(depts["nyj"]).total == 0
    assert _share(depts["nyj"], 2025).total == 1


def test_page_shows_warning_badge(depts, users, make_task, login):
    make_task(depts["scj"])
    make_task(depts["swj"], [depts["nyj"]])
    body = login("swj_insp").get("/tasks/joint-share?year=2026").get_data(as_text=True)
    scj_row = body.split(f'data-department-id="{depts["scj"].id}"')[1].split("</tr>")[0]
    swj_row = body.split(f'data-department-id="{depts["swj"].id}"')[1].split("</tr>")[0]
    assert "0.0%" in scj_row and "低于 10%" in scj_row
    assert "100.0%" in swj_row and "达标" in swj_row
    nyj_row = body.split(f'data-department-id="{depts["nyj"].id}"')[1].split("</tr>")[0]
    assert "—" in nyj_row and "达标" not in nyj_row  # NYJ takes part in SWJ's task but leads none
    assert "牵头的联合任务" in body


def test_base_is_the_tasks_the_department_leads(depts, make_task):
    """Hand-computed: NYJ leads 1 joint + 10 single tasks = 1/11 = 9.1 % (below 10 %), although it
    takes part in 5 joint tasks led by SCJ (the old base gave (1+5)/(11+5) = 37.5 %). SCJ leads those
    5 joint tasks + 15 single ones = 5/20 = 25.0 %; SWJ takes part in 2 of SCJ's and leads 20
    single tasks = 0/20 = 0.0 % (the old base: 2/22 = 9.1 %)."""
    make_task(depts["nyj"], [depts["scj"]])
    for _ in range(10):
        make_task(depts["nyj"])
    for k in range(5):
        make_task(depts["scj"], [depts["nyj"], depts["swj"]] if k < 2 else [depts["nyj"]])
    for _ in range(15):
        make_task(depts["scj"])
    for _ in range(20):
        make_task(depts["swj"])
    minimum = services.joint_min_share()
    nyj, scj, swj = _share(depts["nyj"]), _share(depts["scj"]), _share(depts["swj"])
    assert (nyj.total, nyj.joint, nyj.percent, nyj.below(minimum)) == (11, 1, "9.1%", True)
    assert (scj.total, scj.joint, scj.percent, scj.below(minimum)) == (20, 5, "25.0%", False)
    assert (swj.total, swj.joint, swj.percent, swj.below(minimum)) == (20, 0, "0.0%", True)


def test_a_task_led_counts_once_for_its_leader_only(depts, make_task):
    """A three-department joint task counts 1/1 for its initiator and nothing for the others."""
    make_task(depts["swj"], [depts["scj"], depts["nyj"]])
    assert (_share(depts["swj"]).total, _share(depts["swj"]).joint) == (1, 1)
    assert _share(depts["scj"]).total == 0 and _share(depts["nyj"]).total == 0
