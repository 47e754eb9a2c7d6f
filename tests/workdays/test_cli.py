"""``flask calendar …`` through the CLI runner."""

from __future__ import annotations

import json

from sqlalchemy import select

from server.audit.models import AuditEntry
from server.extensions import db
from server.workdays.models import CalendarYear
from tests.workdays.conftest import EXAMPLE_2026, TEST_2027


def _last_audit():
    return db.session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()


def test_add_workdays_prints_the_date(runner):
    # 2025-09-30 → 1 10/9 2 10/10 3 10/11 Sat(调休) 4 10/13 5 10/14 6 10/15 7 10/16 8 10/17 9 10/20 10 10/21
    result = runner.invoke(args=["calendar", "add-workdays", "2025-09-30", "10"])
    assert result.exit_code == 0 and result.output == "2025-10-21\n"
    # 2026-09-30 → 7 working days: 10/8 10/9 10/10(Sat) 10/12 10/13 10/14 10/15
    assert runner.invoke(args=["calendar", "add-workdays", "2026-09-30", "7"]).output == "2026-10-15\n"


def test_add_workdays_marks_a_provisional_date_with_the_reason(runner):
    result = runner.invoke(args=["calendar", "add-workdays", "2026-12-15", "20"])
    assert result.exit_code == 0
    first, reason = result.output.splitlines()
    assert first == "2027-01-12（暂定）"
    assert "2027" in reason and "尚未载入" in reason


def test_add_workdays_refuses_bad_input(runner):
    for args, fragment in ((["2026-02-30", "5"], "不是有效日期"), (["tomorrow", "5"], "不是有效日期"),
                           (["2026-02-13", "-1"], "工作日数"), (["2026-02-13", "x"], "工作日数"),
                           (["2026-02-13", "100000"], "工作日数")):
        result = runner.invoke(args=["calendar", "add-workdays", *args])
        assert result.exit_code == 2, args
        assert fragment in result.output, (args, result.output)


def test_load_adds_a_year_audited_as_cli(runner, tmp_path, counts):
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(TEST_2027, ensure_ascii=False), encoding="utf-8")
    before = counts()
    result = runner.invoke(args=["calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "已载入 2027 年" in result.output and "11 天放假" in result.output and "1 天调休上班" in result.output
    assert counts() == (before[0] + 1, before[1] + 12, before[2] + 1)
    entry = _last_audit()
    assert (entry.action, entry.actor_name, entry.entity_id) == ("calendar.load", "cli", "2027")
    assert db.session.get(CalendarYear, 2027).source == "2027.json"
    # now final: 2026-12-15 → … 12 12/31 | 1/1–1/3 off | 13 1/4 … 20 1/13
    assert runner.invoke(args=["calendar", "add-workdays", "2026-12-15", "20"]).output == "2027-01-13\n"
    # loading it again needs --replace
    again = runner.invoke(args=["calendar", "load", str(path)])
    assert again.exit_code == 2 and "--replace" in again.output and counts()[2] == before[2] + 1
    replaced = runner.invoke(args=["calendar", "load", str(path), "--replace"])
    assert replaced.exit_code == 0 and "已替换 2027 年" in replaced.output


def test_load_lists_the_errors_and_stores_nothing(runner, tmp_path, counts):
    path = tmp_path / "bad.json"
    bad = {"year": 2027, "holidays": [{"name": "春节", "off": ["2027-02-30"], "work": ["2027-02-22"]}]}
    path.write_text(json.dumps(bad), encoding="utf-8")
    before = counts()
    result = runner.invoke(args=["calendar", "load", str(path)])
    assert result.exit_code == 2
    assert "未载入任何内容" in result.output and "2027-02-30" in result.output and "2027-02-22" in result.output
    assert counts() == before
    path.write_bytes(b"\xff\xfe not utf-8")
    result = runner.invoke(args=["calendar", "load", str(path)])
    assert result.exit_code == 2 and counts() == before


def test_load_the_2026_example_after_removing_2026(runner, remove_year):
    remove_year(2026)
    # without 2026: 2026-09-30 + 7 by the weekly rule only, provisional
    assert "暂定" in runner.invoke(args=["calendar", "add-workdays", "2026-09-30", "7"]).output
    result = runner.invoke(args=["calendar", "load", str(EXAMPLE_2026)])
    assert result.exit_code == 0 and "国办发明电〔2025〕7号" in result.output
    assert runner.invoke(args=["calendar", "add-workdays", "2026-09-30", "7"]).output == "2026-10-15\n"


def test_show_lists_the_exceptions(runner):
    result = runner.invoke(args=["calendar", "show", "2026"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "33 天放假" in lines[0] and "6 天调休上班" in lines[0]
    assert "2026-02-14 周六 班 春节" in lines
    assert "2026-10-01 周四 休 国庆节" in lines
    assert "2026-10-10 周六 班 国庆节" in lines
    missing = runner.invoke(args=["calendar", "show", "2027"])
    assert missing.exit_code == 1 and "2027 年未载入" in missing.output


def test_seed_from_the_package(runner, remove_year, counts):
    remove_year(2025)
    before = counts()
    result = runner.invoke(args=["calendar", "seed", "--year", "2025"])
    assert result.exit_code == 0 and "2025" in result.output
    assert counts()[0] == before[0] + 1 and counts()[2] == before[2] + 1
    entry = _last_audit()
    assert (entry.action, entry.actor_name, entry.entity_id, entry.before) == ("calendar.load", "cli", "2025", None)
    # already loaded: refused without --replace, nothing written
    before = counts()
    refused = runner.invoke(args=["calendar", "seed", "--year", "2025"])
    assert refused.exit_code == 1 and "--replace" in refused.output and counts() == before
    replaced = runner.invoke(args=["calendar", "seed", "--year", "2025", "--replace"])
    assert replaced.exit_code == 0 and _last_audit().before["year"] == 2025
    unknown = runner.invoke(args=["calendar", "seed", "--year", "2027"])
    assert unknown.exit_code == 1 and "flask calendar load" in unknown.output
    nothing = runner.invoke(args=["calendar", "seed"])
    assert nothing.exit_code == 0 and "没有要载入的年份" in nothing.output
