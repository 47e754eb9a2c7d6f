"""The field record's rules, enforced on every push of a FINISHED section (docs/field-record.md):
a refused record answers 422 ``record_invalid`` with ``details.fields`` and nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.fieldwork import reference
from server.fieldwork.models import VisitRecord
from tests.sync.conftest import app_record, new_uuid, png_data_url, put_record, record_body


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(VisitRecord)).scalar_one()


def _push(field, login, content, *, finished=True, user=None, dept=None):
    dept = dept or field.a.id
    return put_record(login(user or field.u_a1), field.v_z.id, new_uuid(),
                      record_body(dept, content=content, finished=finished))


def _refused(resp) -> dict[str, str]:
    """Assert a 422 record_invalid and return its field messages."""
    assert resp.status_code == 422, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == "record_invalid" and "校验" in err["message"]
    return err["details"]["fields"]


def _item(field) -> str:
    return str(field.item_a.id)


def test_complete_record_built_like_the_app_is_stored(field, login):
    resp = _push(field, login, app_record(field.v_z, field.a.id))
    assert resp.status_code == 201, resp.get_json()


def test_unknown_result_code_is_refused_and_nothing_stored(field, login):
    content = app_record(field.v_z, field.a.id, result="made_up_code")
    fields = _refused(_push(field, login, content))
    assert "made_up_code" in fields[f"results.{_item(field)}.code"]
    assert _count() == 0


def test_record_without_any_signature_is_refused(field, login):
    content = app_record(field.v_z, field.a.id, inspectors={})
    content["business"]["signature"] = None
    fields = _refused(_push(field, login, content))
    assert fields["business.signature"] == "请被检查对象签字。"
    assert f"inspectors.{field.i_a1.id}.signature" in fields and f"inspectors.{field.i_b1.id}.signature" in fields
    assert _count() == 0


def test_notice_served_on_an_unannounced_task_is_refused(field, login):
    fields = _refused(_push(field, login, app_record(field.v_z, field.a.id, notice="served")))
    assert "不得事先告知" in fields["notice"]
    assert _count() == 0


def test_unannounced_notice_on_an_announced_task_is_refused(field, login):
    field.task.unannounced = False
    db.session.commit()
    fields = _refused(_push(field, login, app_record(field.v_z, field.a.id, notice="unannounced")))
    assert "notice" in fields


def test_problem_result_needs_legal_basis_follow_up_problems_and_handling(field, login):
    fields = _refused(_push(field, login, app_record(field.v_z, field.a.id, result="rectified")))
    item = _item(field)
    assert {f"results.{item}.legal_basis", f"results.{item}.follow_up", f"results.{item}.problems",
            f"results.{item}.handling"} <= set(fields)
    assert _count() == 0


def test_problem_result_with_everything_filled_is_stored(field, login):
    content = app_record(field.v_z, field.a.id, result="rectified")
    content["results"][_item(field)].update(problems="未亮照经营", handling="当场责令改正",
                                            legal_basis="《食品安全法》第三十五条", follow_up="order_rectify")
    assert _push(field, login, content).status_code == 201


def test_follow_up_none_is_not_a_follow_up_for_a_problem(field, login):
    content = app_record(field.v_z, field.a.id, result="rectified")
    content["results"][_item(field)].update(problems="问题", handling="处理", legal_basis="依据", follow_up="none")
    fields = _refused(_push(field, login, content))
    assert set(fields) == {f"results.{_item(field)}.follow_up"}


def test_missing_item_result_is_refused(field, login):
    fields = _refused(_push(field, login, app_record(field.v_z, field.a.id, results={})))
    assert fields[f"results.{_item(field)}.code"] == "请选择检查结果。"


def test_missing_method_is_refused(field, login):
    content = app_record(field.v_z, field.a.id)
    content["results"][_item(field)]["method"] = ""
    fields = _refused(_push(field, login, content))
    assert set(fields) == {f"results.{_item(field)}.method"}


def test_missing_required_answer_is_refused(field, login):
    content = app_record(field.v_z, field.a.id, answers={})
    fields = _refused(_push(field, login, content))
    assert any("是否亮照经营" in msg for msg in fields.values())
    assert all(path.startswith("answers.") for path in fields)


def test_missing_team_members_signature_is_refused(field, login):
    content = app_record(field.v_z, field.a.id)
    del content["inspectors"][str(field.i_b1.id)]
    fields = _refused(_push(field, login, content))
    assert fields == {f"inspectors.{field.i_b1.id}.signature": "insp_b1姓名 尚未签字。"}


def test_no_check_result_needs_evidence(field, login):
    content = app_record(field.v_z, field.a.id, result="uncooperative", answers={})
    content["results"][_item(field)].update(problems="拒绝检查", handling="记录在案", legal_basis="依据",
                                            follow_up="notify_dept")
    fields = _refused(_push(field, login, content))
    assert set(fields) == {"evidence_notes"}
    content["evidence_notes"] = "现场拍摄门店照片，负责人拒绝出示证照。"
    assert _push(field, login, content).status_code == 201


def _absent(field, **business):
    content = app_record(field.v_z, field.a.id, result="unreachable", answers={},
                         evidence_notes="按登记地址上门，大门紧闭，无人应答，邻居称已数月未营业。")
    content["results"][_item(field)]["method"] = ""
    content["business"] = {**content["business"], "mode": "absent", "name": "", "role": "", "signature": None,
                           **business}
    return content


def test_nobody_present_with_evidence_and_no_signature_is_stored(field, login):
    resp = _push(field, login, _absent(field))
    assert resp.status_code == 201, resp.get_json()


def test_nobody_present_needs_evidence(field, login):
    fields = _refused(_push(field, login, _absent(field) | {"evidence_notes": ""}))
    assert set(fields) >= {"evidence_notes"}


def test_nobody_present_refuses_a_business_signature(field, login):
    fields = _refused(_push(field, login, _absent(field, signature=png_data_url())))
    assert "business.signature" in fields


def test_nobody_present_is_refused_unless_every_result_is_party_absent(field, login):
    content = app_record(field.v_z, field.a.id, evidence_notes="无人")
    content["business"]["mode"] = "absent"
    content["business"]["signature"] = None
    fields = _refused(_push(field, login, content))
    assert "无法联系" in fields["business.mode"]


def test_all_unreachable_results_refuse_a_false_refusal_statement(field, login):
    content = _absent(field, mode="refusal")
    content["business"]["refusal"].update(reason="无人", at="2026-12-02T02:00:00Z",
                                          inspector_signature=png_data_url())
    fields = _refused(_push(field, login, content))
    assert "不得填写拒签说明" in fields["business.mode"]


def test_refusal_statement_without_the_inspectors_signature_is_refused(field, login):
    content = app_record(field.v_z, field.a.id)
    content["business"].update(mode="refusal", signature=None)
    content["business"]["refusal"].update(reason="负责人拒绝签字", at="2026-12-02T02:40:00.000Z")
    fields = _refused(_push(field, login, content))
    assert set(fields) == {"business.refusal.inspector_signature"}
    assert _count() == 0


def test_refusal_statement_signed_by_the_inspector_is_stored(field, login):
    content = app_record(field.v_z, field.a.id)
    content["business"].update(mode="refusal", signature=None)
    content["business"]["refusal"].update(reason="负责人拒绝签字", at="2026-12-02T02:40:00.000Z",
                                          inspector_signature=png_data_url(), inspector_id=field.i_a1.id)
    assert _push(field, login, content).status_code == 201


def test_schema_1_finished_record_is_refused(field, login):
    old = {"answers": {"1": "yes"}, "results": {str(field.item_a.id): {"code": "no_problem"}}}
    fields = _refused(_push(field, login, old))
    assert "schema 2" in fields["schema"]
    assert _count() == 0


def test_incomplete_schema_2_draft_is_stored(field, login):
    draft = {"schema": 2, "check_in": None, "notice": None, "answers": {}, "results": {}, "inspectors": {}}
    assert _push(field, login, draft, finished=False).status_code == 201


@pytest.mark.parametrize(("patch", "path"), [
    ({"party": {"liaison_phone": "call me maybe"}}, "party.liaison_phone"),
    ({"results": {"1": {"code": 7}}}, "results.1.code"),
    ({"business": {"mode": "shrug"}}, "business.mode"),
    ({"inspectors": {"1": {"signature": "not an image"}}}, "inspectors.1.signature"),
])
def test_draft_of_the_wrong_type_is_refused_with_the_field(field, login, patch, path):
    draft = {"schema": 2, "answers": {}, "results": {}, **patch}
    fields = _refused(_push(field, login, draft, finished=False))
    assert path in fields and "格式无效" in fields[path]
    assert _count() == 0


def test_added_result_code_is_accepted_and_a_deactivated_one_refused(field, login):
    code = reference.add_result_code("closed", "已关闭停业或正在组织清算", "Closed or in liquidation")
    db.session.commit()
    content = app_record(field.v_z, field.a.id, result="closed")
    assert _push(field, login, content).status_code == 201
    reference.set_result_code_active(code, False)
    db.session.commit()
    fields = _refused(put_record(login(field.u_a1), field.v_z.id, new_uuid(),
                                 record_body(field.a.id, 1, content=content, finished=True)))
    assert "已停用" in fields[f"results.{_item(field)}.code"]


def test_resend_of_a_stored_record_gets_its_receipt_after_the_list_changed(field, login):
    code = reference.add_result_code("moved_out", "迁出")
    db.session.commit()
    uid, body = new_uuid(), record_body(field.a.id, content=app_record(field.v_z, field.a.id, result="moved_out"),
                                        finished=True)
    client = login(field.u_a1)
    first = put_record(client, field.v_z.id, uid, body)
    reference.set_result_code_active(code, False)
    db.session.commit()
    again = put_record(client, field.v_z.id, uid, body)
    assert again.status_code == 200 and again.get_json() == first.get_json()


@pytest.mark.parametrize("name", ["base_version", "department_id"])
def test_integer_beyond_the_database_range_is_400_not_500(field, login, name):
    body = record_body(field.a.id)
    body[name] = 2**63
    resp = put_record(login(field.u_a1), field.v_z.id, new_uuid(), body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "missing_idempotency_data"
    assert _count() == 0
