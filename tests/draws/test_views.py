"""Draw screens, the record APIs and ``flask draw export`` / ``verify``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.auth.roles import Role
from server.draws import services
from server.draws.models import Draw, DrawStatus
from server.extensions import db
from server.planning.models import TaskStatus


@pytest.fixture
def depts(make_department):
    return make_department("武陟县商务局"), make_department("武陟县市场监督管理局")


@pytest.fixture
def task(make_task, depts, bulk_objects):
    bulk_objects(12, "A")
    bulk_objects(4, "D")
    return make_task(depts[0], [depts[1]], accepted=True,
                     strata=[{"name": "A", "ratio": "0.25"}, {"name": "D", "ratio": "0.5"}])


@pytest.fixture
def login_as(make_user, auth):
    def login(username: str, *roles, department=None):
        user = make_user(username, roles=roles, department=department)
        auth.login(username)
        return user

    return login


def _audit(action: str) -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == action)).scalar_one()


def registry_form(task) -> dict:
    """The registries' confirmation the prepare page shows, ticked [000#11]."""
    from server.draws.candidates import registry_state

    state = registry_state(task)
    return {"registry_confirmed": "1", "registry_as_of": state.as_of,
            "registry_object_count": str(state.object_count), "registry_inspector_count": str(state.inspector_count)}


WITNESS_FORM = {"operator": "王丽", "technical": "赵强", "supervisor": "刘洋", "witness_entropy": "6 2 5",
                "rep_0_role": "新闻媒体代表", "rep_0_name": "周敏", "rep_0_organisation": "县融媒体中心"}


def _run_draw_over_http(client, task) -> Draw:
    resp = client.post(f"/tasks/{task.id}/draws/objects/commit", data=registry_form(task))
    assert resp.status_code == 302
    draw_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    resp = client.post(f"/draws/{draw_id}/perform", data=WITNESS_FORM)
    assert resp.status_code == 302
    return db.session.get(Draw, draw_id)


def test_initiator_prepares_and_sees_counts_and_exclusions(client, login_as, depts, task):
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    resp = client.get(f"/tasks/{task.id}/draws/objects/prepare")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'data-stratum="A"' in html and "<td data-label=\"N\">12</td>" in html
    assert "<td data-label=\"n\">3</td>" in html


def test_draw_over_http_is_final_and_shows_commitment_and_result(client, login_as, depts, task):
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    draw = _run_draw_over_http(client, task)
    assert draw.status is DrawStatus.FINAL
    assert draw.witnesses[-1] == {"name": "周敏", "role": "新闻媒体代表", "organisation": "县融媒体中心"}
    before = _audit("task.view_confidential")
    resp = client.get(f"/draws/{draw.id}")
    html = resp.get_data(as_text=True)
    assert draw.nonce_commitment in html and "6 2 5" in html and draw.record_sha256 in html
    assert 'id="result-totals"' in html and "<strong>16</strong>" in html and "<strong>5</strong>" in html
    first = services.draw_record(draw)["strata"][0]["selected"][0]
    assert first not in html and draw.seed not in html  # the projected screen: totals only
    assert resp.headers["Cache-Control"] == "no-store"
    # the selection is on the confidential view, for those who may see the lists; the view is logged
    resp = client.get(f"/draws/{draw.id}/selection")
    assert resp.status_code == 200 and first in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"
    assert _audit("task.view_confidential") == before + 1


def test_projected_screen_shows_no_per_stratum_count_or_ratio(client, login_as, depts, task):
    """A: 12 candidates at 0.25 (3 drawn), D: 4 at 0.5 (2 drawn): none of these appears, only 16 and 5."""
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    resp = client.post(f"/tasks/{task.id}/draws/objects/commit", data=registry_form(task))
    draw_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    committed = client.get(f"/draws/{draw_id}").get_data(as_text=True)
    assert client.post(f"/draws/{draw_id}/perform", data=WITNESS_FORM).status_code == 302
    final = client.get(f"/draws/{draw_id}").get_data(as_text=True)
    for html in (committed, final):
        assert "data-stratum" not in html
        for per_stratum in ("<strong>12</strong>", "<strong>4</strong>", "<strong>3</strong>", "<strong>2</strong>",
                            "3 / 12", "2 / 4", "0.25", "0.5", "比例"):
            assert per_stratum not in html
    assert "<strong>16</strong>" in committed
    assert "<strong>16</strong>" in final and "<strong>5</strong>" in final


def test_missing_witness_rerenders_form_with_input_kept(client, login_as, depts, task):
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    resp = client.post(f"/tasks/{task.id}/draws/objects/commit", data=registry_form(task))
    draw_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    resp = client.post(f"/draws/{draw_id}/perform", data={**WITNESS_FORM, "supervisor": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "请填写监督人员的姓名" in html
    assert 'value="6 2 5"' in html and 'value="王丽"' in html
    assert db.session.get(Draw, draw_id).status is DrawStatus.COMMITTED


def test_unaccepted_task_commit_is_refused_over_http(client, login_as, depts, task):
    from server.planning.models import Acceptance

    task.departments[1].acceptance = Acceptance.RETURNED
    task.status = TaskStatus.PENDING
    db.session.commit()
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    resp = client.post(f"/tasks/{task.id}/draws/objects/commit", headers={"Accept": "application/json"})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "task_not_accepted"
    assert "武陟县市场监督管理局" in resp.get_json()["error"]["message"]
    assert db.session.execute(select(func.count()).select_from(Draw)).scalar_one() == 0


def test_void_over_http_shows_who_and_why(client, login_as, depts, task):
    user = login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    resp = client.post(f"/tasks/{task.id}/draws/objects/commit", data=registry_form(task))
    draw_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/draws/{draw_id}/void", data={"reason": "监督人员缺席"}).status_code == 302
    html = client.get(f"/tasks/{task.id}/draws").get_data(as_text=True)
    assert 'data-status="voided"' in html and "监督人员缺席" in html and user.display_name in html


def test_other_department_cannot_operate(client, login_as, make_department, task):
    login_as("stranger", Role.TASK_INITIATOR, department=make_department("武陟县农业农村局"))
    assert client.post(f"/tasks/{task.id}/draws/objects/commit", data=registry_form(task)).status_code == 403
    assert client.get(f"/tasks/{task.id}/draws").status_code == 403
    assert db.session.execute(select(func.count()).select_from(Draw)).scalar_one() == 0


def test_task_draws_page_has_the_named_endpoint(app, client, login_as, depts, task):
    from flask import url_for

    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    with app.test_request_context():
        url = url_for("draws.task_draws", task_id=task.id)
    assert url == f"/tasks/{task.id}/draws"
    assert client.get(url).status_code == 200


def test_auditor_downloads_full_record_and_the_view_is_logged(client, login_as, depts, task, draw_objects):
    draw = draw_objects(task)
    login_as("auditor", Role.AUDITOR)
    resp = client.get(f"/api/draws/{draw.id}/record")
    assert resp.status_code == 200
    assert resp.get_json() == services.draw_record(draw)
    assert _audit("draw.view_record") == 1


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.JOINT_OFFICE, Role.DEPT_HEAD, Role.REVIEWER,
                                  Role.INSPECTOR, Role.TASK_INITIATOR])
def test_record_api_refuses_those_not_entitled_to_the_full_record(client, login_as, make_department, depts, task,
                                                                 draw_objects, role):
    """Seed, nonce and strata: only auditors and the task's initiators; a system administrator, the
    joint office and an initiator of another department get 403, and no view is logged."""
    draw = draw_objects(task)
    login_as("someone", role, department=depts[1] if role is Role.DEPT_HEAD else make_department("武陟县农业农村局"))
    assert client.get(f"/api/draws/{draw.id}/record").status_code == 403
    assert _audit("draw.view_record") == 0


def test_the_task_initiator_gets_the_full_record_never_cached(client, login_as, depts, task, draw_objects):
    draw = draw_objects(task)
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    resp = client.get(f"/api/draws/{draw.id}/record")
    assert resp.status_code == 200 and resp.get_json()["seed"] == draw.seed
    assert resp.headers["Cache-Control"] == "no-store"
    assert _audit("draw.view_record") == 1


def test_anonymous_gets_no_full_record(client, task, draw_objects):
    draw = draw_objects(task)
    resp = client.get(f"/api/draws/{draw.id}/record")
    assert resp.status_code in (302, 401, 403)  # to the login page, or refused
    assert draw.seed not in resp.get_data(as_text=True)
    assert _audit("draw.view_record") == 0


PUBLIC_FIELDS = ["spec", "task", "kind", "created_at", "nonce_commitment", "witness_entropy", "witnesses",
                 "candidates_digest", "record_sha256", "candidates_total", "selected_total", "selected"]


def test_public_record_only_after_visits_are_over(client, login_as, task, draw_objects):
    draw = draw_objects(task)
    for status in (TaskStatus.OBJECTS_DRAWN, TaskStatus.INSPECTORS_DRAWN):
        task.status = status
        db.session.commit()
        assert client.get(f"/api/public/draws/{draw.id}/record").status_code == 404
    task.status = TaskStatus.VISITS_OVER
    db.session.commit()
    body = client.get(f"/api/public/draws/{draw.id}/record").get_json()
    assert sorted(body) == sorted(PUBLIC_FIELDS)  # exactly the fields of draw-v2 §6
    full = services.draw_record(draw)
    selected = [c for s in full["strata"] for c in s["selected"]]
    assert body["selected"] == sorted(selected) and body["selected_total"] == 5 and body["candidates_total"] == 16
    assert body["record_sha256"] == draw.record_sha256 and body["spec"] == "draw-v2"
    assert all("name" not in w for w in body["witnesses"])  # nobody agreed to publish their name
    text = json.dumps(body, ensure_ascii=False)
    for secret in (draw.nonce, draw.seed, '"A"', '"D"', "ratio", "strata", "王丽"):
        assert secret not in text


def test_export_writes_records_that_verify(runner, tmp_path, task, draw_objects):
    draw_objects(task)
    result = runner.invoke(args=["draw", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    path = tmp_path / "out" / f"{task.code}-objects.json"
    assert path.exists()
    verify = runner.invoke(args=["draw", "verify", str(path)])
    assert verify.exit_code == 0
    assert "OK" in verify.output


def test_tampered_export_fails_verification(runner, tmp_path, task, draw_objects):
    draw_objects(task)
    runner.invoke(args=["draw", "export", str(tmp_path)])
    path = tmp_path / f"{task.code}-objects.json"
    rec = json.loads(path.read_text("utf-8"))
    rec["witness_entropy"] = "1 1 1"
    path.write_text(json.dumps(rec, ensure_ascii=False), "utf-8")
    verify = runner.invoke(args=["draw", "verify", str(path)])
    assert verify.exit_code == 1 and "FAILED" in verify.output


def test_inspector_screen_shows_teams_and_leaders(client, login_as, depts, task, draw_objects, make_inspector):
    draw_objects(task)
    for dept in depts:
        for _ in range(2):
            make_inspector(dept)
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    resp = client.post(f"/tasks/{task.id}/draws/inspectors/commit")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    draw_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/draws/{draw_id}/perform", data=WITNESS_FORM).status_code == 302
    html = client.get(f"/draws/{draw_id}").get_data(as_text=True)
    assert 'data-team="0"' not in html and 'id="result-totals"' in html  # the projected screen: totals
    html = client.get(f"/draws/{draw_id}/selection").get_data(as_text=True)
    assert 'data-team="0"' in html and "组长" in html
    assert services.get_task(task.id).status is TaskStatus.INSPECTORS_DRAWN


def test_inspector_shortfall_over_http_names_the_department(client, login_as, depts, task, draw_objects):
    draw_objects(task)
    login_as("initiator", Role.TASK_INITIATOR, department=depts[0])
    resp = client.post(f"/tasks/{task.id}/draws/inspectors/commit")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "武陟县商务局 需要 1 人，符合条件 0 人，缺 1 人" in html
