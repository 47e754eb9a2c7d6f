"""The result list as reference data: seeded with the ten of [000#20], configurable by the system
administrator and the joint office (page and CLI), never deleted, every change audited."""

from __future__ import annotations

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.auth.roles import Role
from server.extensions import db
from server.fieldwork import reference
from server.fieldwork.models import ResultCode


def _codes() -> dict[str, ResultCode]:
    return {r.code: r for r in db.session.execute(select(ResultCode)).scalars()}


def test_ensure_default_result_codes_seeds_the_ten_once(app):
    assert reference.ensure_default_result_codes() == 10
    assert reference.ensure_default_result_codes() == 0
    codes = _codes()
    assert len(codes) == 10
    assert codes["unreachable"].no_check and codes["unreachable"].party_absent
    assert codes["uncooperative"].no_check and not codes["uncooperative"].party_absent
    assert codes["rectified"].problem and not codes["no_problem"].problem
    assert db.session.execute(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "result_code.create")).scalar_one() == 10


def test_office_adds_a_zhejiang_result_on_the_page_and_it_is_audited(client, auth, make_user):
    make_user("office", roles=(Role.JOINT_OFFICE,))
    auth.login("office")
    page = client.get("/admin/result-codes").get_data(as_text=True)
    assert "通过登记的住所（经营场所）无法联系" in page and 'id="add-result-code"' in page
    resp = client.post("/admin/result-codes", data={"code": "closed_liquidating", "label_zh": "已关闭停业或正在组织清算",
                                                    "no_check": "1"})
    assert resp.status_code == 302
    row = _codes()["closed_liquidating"]
    assert row.active and row.no_check and not row.problem
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "result_code.create",
                                                        AuditEntry.entity_id == str(row.id))).scalar_one()
    assert entry.actor_name == "office" and entry.after["label_zh"] == "已关闭停业或正在组织清算"


def test_bad_code_keeps_the_input_and_adds_nothing(client, admin):
    resp = client.post("/admin/result-codes", data={"code": "Bad Code!", "label_zh": "迁出"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "小写英文字母" in html and 'value="Bad Code!"' in html and 'value="迁出"' in html
    assert "Bad Code!" not in _codes()


def test_existing_code_is_refused(client, admin):
    client.get("/admin/result-codes")
    resp = client.post("/admin/result-codes", data={"code": "qualified", "label_zh": "合格2"})
    assert resp.status_code == 409 and _codes()["qualified"].label_zh == "合格"


def test_labels_are_edited_and_a_code_deactivated_never_deleted(client, admin):
    client.get("/admin/result-codes")
    assert client.post("/admin/result-codes/qualified", data={"label_zh": "检查合格", "label_en": "Passed",
                                                              "position": "5"}).status_code == 302
    assert client.post("/admin/result-codes/qualified", data={"active": "0"}).status_code == 302
    row = _codes()["qualified"]
    assert row.label_zh == "检查合格" and row.label_en == "Passed" and row.active is False
    assert "qualified" not in {o.code for o in reference.result_options()}
    actions = db.session.execute(select(AuditEntry.action).where(AuditEntry.entity_id == str(row.id),
                                                                 AuditEntry.entity_type == "result_code")).scalars().all()
    assert {"result_code.update", "result_code.deactivate"} <= set(actions)
    html = client.get("/admin/result-codes").get_data(as_text=True)
    assert 'data-code="qualified" data-active="0"' in html


def test_inspector_may_read_but_not_change_the_list(client, auth, make_user):
    make_user("insp", roles=(Role.INSPECTOR,))
    auth.login("insp")
    assert client.get("/admin/result-codes").status_code == 200
    assert client.post("/admin/result-codes", data={"code": "moved_out", "label_zh": "迁出"}).status_code == 403
    assert client.post("/admin/result-codes/qualified", data={"active": "0"}).status_code in (403, 404)
    assert _codes() == {}


def test_cli_lists_adds_and_refuses(runner):
    out = runner.invoke(args=["results", "list"]).output
    assert "unreachable\tno_check,party_absent\t通过登记的住所（经营场所）无法联系" in out
    result = runner.invoke(args=["results", "add", "cancelled", "注销", "--party-absent"])
    assert result.exit_code == 0, result.output
    row = _codes()["cancelled"]
    assert row.party_absent and row.no_check and len(_codes()) == 11
    bad = runner.invoke(args=["results", "add", "X", "迁出"])
    assert bad.exit_code == 2 and "refused (invalid_result_code)" in bad.output
    assert runner.invoke(args=["results", "deactivate", "cancelled"]).exit_code == 0
    assert "cancelled" not in runner.invoke(args=["results", "list"]).output
    assert "inactive" in runner.invoke(args=["results", "list", "--all"]).output


def test_demo_load_seeds_the_result_list(runner):
    result = runner.invoke(args=["demo", "load", "--objects", "30"])
    assert result.exit_code == 0, result.output
    codes = _codes()
    assert len(codes) == 10 and codes["unreachable"].party_absent
