"""The audit log screen: access, filters, paging, entry detail, chain verification.

Fixtures are requested as ``chain`` before ``auditor`` so that the five chain entries are #1–#5."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.audit.services import record
from server.auth.roles import Role
from server.core.models import utcnow
from server.extensions import db


@pytest.fixture
def auditor(make_user, auth):
    user = make_user("auditor", roles=(Role.AUDITOR,))
    auth.login("auditor")
    return user


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.SYSTEM_ADMIN, Role.JOINT_OFFICE])
def test_audit_readers_open_the_log(make_user, auth, client, role):
    make_user("reader", roles=(role,))
    auth.login("reader")
    assert client.get("/audit/").status_code == 200


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.DEPT_ADMIN, Role.DEPT_HEAD])
def test_others_cannot_open_the_log(make_user, auth, client, role):
    make_user("someone", roles=(role,))
    auth.login("someone")
    assert client.get("/audit/").status_code == 403
    assert client.post("/audit/verify").status_code == 403


def test_list_is_newest_first(chain, auditor, client):
    html = client.get("/audit/").get_data(as_text=True)
    assert html.index('data-audit-seq="5"') < html.index('data-audit-seq="1"')


def test_filter_by_entity_and_action(chain, auditor, client):
    html = client.get("/audit/?entity_type=department&entity_id=3").get_data(as_text=True)
    assert 'data-audit-seq="3"' in html and 'data-audit-seq="4"' not in html
    html = client.get("/audit/?action=user.login").get_data(as_text=True)
    assert "department.update</code>" not in html and "user.login</code>" in html


def test_filter_by_actor(chain, auditor, client):
    html = client.get("/audit/?actor=test").get_data(as_text=True)
    assert 'data-audit-seq="2"' in html and "user.login</code>" not in html


def test_filter_by_date_range(chain, auditor, client):
    today = utcnow().astimezone().date()
    assert 'data-audit-seq="1"' in client.get(f"/audit/?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}").get_data(as_text=True)
    html = client.get(f"/audit/?from={today + timedelta(days=2)}").get_data(as_text=True)
    assert "没有符合条件的记录" in html


def test_bad_date_gets_a_message(auditor, client):
    resp = client.get("/audit/?from=31.12.2024")
    assert resp.status_code == 400
    assert "日期格式应为 年-月-日" in resp.get_data(as_text=True)


def test_reversed_date_range_gets_a_message(auditor, client):
    resp = client.get("/audit/?from=2024-05-02&to=2024-05-01")
    assert resp.status_code == 400
    assert "结束日期不能早于开始日期" in resp.get_data(as_text=True)


def test_list_pages(app, chain, auditor, client):
    app.config["PAGE_SIZE"] = 3
    html = client.get("/audit/?page=2").get_data(as_text=True)
    assert "第 2 / " in html


def test_entry_detail_shows_before_after_and_hashes(chain, auditor, client):
    e = db.session.execute(select(AuditEntry).where(AuditEntry.seq == 2)).scalar_one()
    html = client.get(f"/audit/{e.id}").get_data(as_text=True)
    assert "旧2" in html.split('data-side="before"')[1].split("</pre>")[0]
    assert "新2" in html.split('data-side="after"')[1].split("</pre>")[0]
    assert e.hash in html and e.prev_hash in html
    assert "UTC+0800" in html


def test_entry_detail_escapes_markup(auditor, client):
    e = record("department.update", "department", 1, after={"name": "<img src=x onerror=alert(1)>"})
    db.session.commit()
    html = client.get(f"/audit/{e.id}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_unknown_entry_is_404(auditor, client):
    assert client.get("/audit/99999").status_code == 404


def test_verify_button_reports_ok(chain, auditor, client):
    html = client.post("/audit/verify").get_data(as_text=True)
    assert 'data-verify="ok"' in html and "哈希链完整" in html


def test_verify_button_names_the_first_bad_entry(chain, auditor, client, out_of_band):
    out_of_band("UPDATE audit_entries SET note = 'x' WHERE seq = 4")
    html = client.post("/audit/verify").get_data(as_text=True)
    assert 'data-verify="broken"' in html
    assert "第一条有问题的记录是 #4" in html
