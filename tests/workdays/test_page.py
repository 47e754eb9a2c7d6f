"""The calendar page /admin/calendar: everyone logged in reads it, the joint office and the system
administrator load or replace a year."""

from __future__ import annotations

import io
import json
import re

from server.auth.roles import Role
from server.extensions import db
from server.workdays.models import CalendarYear
from tests.workdays.conftest import TEST_2027


def _cell(html: str, day: str) -> str:
    match = re.search(rf'<td class="[^"]*" data-date="{day}"[^>]*>(.*?)</td>', html)
    assert match, day
    return match.group(0)


def test_login_required(client):
    response = client.get("/admin/calendar")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_inspector_reads_but_cannot_load(make_user, auth, client, counts):
    make_user("insp", roles=(Role.INSPECTOR,))
    auth.login("insp")
    page = client.get("/admin/calendar?year=2026")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "calendar-load-form" not in html and "只有联席办和系统管理员" in html
    before = counts()
    response = client.post("/admin/calendar", data={"text": json.dumps(TEST_2027)})
    assert response.status_code == 403
    assert counts() == before


def test_month_grids_mark_holidays_and_adjusted_workdays(joint_office, client):
    html = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    holiday = _cell(html, "2026-10-01")
    assert 'data-kind="holiday"' in holiday and "休" in holiday
    workday = _cell(html, "2026-10-10")
    assert 'data-kind="workday"' in workday and "班" in workday
    assert 'data-kind="weekend"' in _cell(html, "2026-10-11")
    assert 'data-kind="weekday"' in _cell(html, "2026-10-12")
    assert html.count('class="cal-month"') == 12
    assert "chinese-calendar" in html
    # 2027 is not loaded: said so, with what it means
    assert "2027 未载入：跨入 2027 年的期限将显示为暂定" in html.replace("</a> ", " ")


def test_year_parameter_is_validated(joint_office, client):
    for bad in ("abc", "1999", "2101", "-5"):
        response = client.get(f"/admin/calendar?year={bad}")
        assert response.status_code == 400
        assert "年份应是 2000 到 2100 之间的整数" in response.get_data(as_text=True)
    not_loaded = client.get("/admin/calendar?year=2030").get_data(as_text=True)
    assert "2030 年未载入" in not_loaded


def test_calculator(joint_office, client):
    # 2026-09-30 + 7: 10/8 10/9 10/10(Sat 调休) 10/12 10/13 10/14 10/15
    html = client.get("/admin/calendar?from=2026-09-30&n=7").get_data(as_text=True)
    assert "<strong>2026-10-15</strong>" in html and "暂定" not in html.split('id="calc-result"')[1][:300]
    html = client.get("/admin/calendar?from=2026-12-15&n=20").get_data(as_text=True)
    result = html.split('id="calc-result"')[1][:800]
    assert "2027-01-12" in result and "暂定" in result and "2027 年的节假日安排尚未载入" in result
    bad = client.get("/admin/calendar?from=2026-02-30&n=x")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "请填写有效日期" in text and "请填写 0 到 1000 之间的整数" in text and 'value="2026-02-30"' in text


def test_joint_office_pastes_a_year(joint_office, client, counts):
    before = counts()
    response = client.post("/admin/calendar", data={"text": json.dumps(TEST_2027, ensure_ascii=False)})
    assert response.status_code == 302 and "year=2027" in response.headers["Location"]
    row = db.session.get(CalendarYear, 2027)
    assert row.loaded_by_id == joint_office.id and row.notice == "测试用（虚构）"
    assert counts() == (before[0] + 1, before[1] + 12, before[2] + 1)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已载入 2027 年的节假日安排" in page
    assert 'data-kind="workday"' in _cell(page, "2027-02-20")
    assert "2027 未载入" not in page


def test_upload_a_file_and_replace_only_when_ticked(make_user, auth, client, counts):
    make_user("admin")
    auth.login("admin")
    body = json.dumps(TEST_2027).encode()
    response = client.post("/admin/calendar", data={"file": (io.BytesIO(body), "notice-2027.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.get(CalendarYear, 2027).source == "notice-2027.json"
    before = counts()
    again = client.post("/admin/calendar", data={"file": (io.BytesIO(body), "notice-2027.json")},
                        content_type="multipart/form-data")
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert "替换已载入的年份" in html and counts() == before
    # the uploaded text comes back in the text area, so ticking the box and sending again works
    assert "&#34;year&#34;: 2027" in html or "&quot;year&quot;: 2027" in html
    replaced = client.post("/admin/calendar", data={"text": body.decode(), "replace": "yes"})
    assert replaced.status_code == 302
    assert counts()[2] == before[2] + 1 and db.session.get(CalendarYear, 2027).source == "页面粘贴"


def test_pasted_text_with_errors_is_kept_and_nothing_stored(joint_office, client, counts):
    text = '{"year": 2027, "holidays": [{"name": "春节", "off": ["2027-02-30"], "work": ["2027-02-22"]}]}'
    before = counts()
    response = client.post("/admin/calendar", data={"text": text})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = html.split('id="load-errors"')[1].split("</div>")[0]
    assert "2027-02-30" in errors and "不是周末" in errors
    textarea = html.split('id="cal-text"')[1].split("</textarea>")[0]
    assert "2027-02-30" in textarea and "春节" in textarea
    assert counts() == before
    broken = client.post("/admin/calendar", data={"text": "{\"year\": 2027,"})
    assert broken.status_code == 422 and "不是有效的 JSON" in broken.get_data(as_text=True)
    assert counts() == before
