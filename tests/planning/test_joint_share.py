"""The 10% indicator: joint tasks / all tasks a department takes part in [001#7]."""

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
    assert _share(depts["swj"]).percent == "100.0%"


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
