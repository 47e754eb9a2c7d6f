"""Late records (arriving after the visits are over) are kept and flagged; the pull carries the
result, method and follow-up lists and each held version's late/attention state."""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.fieldwork import reference
from server.fieldwork.models import VisitRecord
from server.planning.models import TaskStatus
from tests.sync.conftest import app_record, new_uuid, put_record, record_body


def _visits_over(field) -> None:
    field.task.status = TaskStatus.VISITS_OVER
    db.session.commit()


def _pulled_visit(client, visit_id):
    body = client.get("/api/sync/pull").get_json()
    return next(v for v in body["visits"] if v["id"] == visit_id)


def test_record_after_visits_over_is_kept_and_flagged_late(field, login):
    _visits_over(field)
    client = login(field.u_a1)
    uid = new_uuid()
    resp = put_record(client, field.v_z.id, uid, record_body(field.a.id, content=app_record(field.v_z, field.a.id),
                                                            finished=True))
    assert resp.status_code == 201 and resp.get_json()["late"] is True
    row = db.session.execute(select(VisitRecord).where(VisitRecord.uuid == uid)).scalar_one()
    assert row.late is True and row.finished is True


def test_record_before_visits_over_is_not_late(field, login):
    resp = put_record(login(field.u_a1), field.v_z.id, new_uuid(), record_body(field.a.id))
    assert resp.get_json()["late"] is False


def test_late_record_is_returned_in_the_pull(field, login):
    _visits_over(field)
    client = login(field.u_a1)
    uid = new_uuid()
    put_record(client, field.v_z.id, uid, record_body(field.a.id))
    held = _pulled_visit(client, field.v_z.id)["records"]
    assert held == [{"uuid": uid, "department_id": field.a.id, "version": 1, "status": "stored",
                     "finished": False, "late": True, "attention": None}]


def test_late_record_is_shown_on_the_visit_page(field, login):
    _visits_over(field)
    client = login(field.u_a1)
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id))
    html = client.get(f"/visits/{field.v_z.id}").get_data(as_text=True)
    assert 'data-late="1"' in html and "迟交" in html


def test_conflict_is_held_with_attention_in_the_pull(field, login):
    client = login(field.u_a1)
    put_record(client, field.v_z.id, new_uuid(), record_body(field.a.id))
    uid = new_uuid()
    put_record(client, field.v_z.id, uid, record_body(field.a.id, 0, content={"other": 1}))
    held = {r["uuid"]: r for r in _pulled_visit(client, field.v_z.id)["records"]}
    assert held[uid]["attention"]["code"] == "stale_version" and "冲突" in held[uid]["attention"]["message"]


def test_pull_sends_the_result_method_and_follow_up_lists(field, login):
    visit = _pulled_visit(login(field.u_a1), field.v_z.id)
    results = {o["code"]: o for o in visit["result_options"]}
    assert len(results) == 10
    assert results["unreachable"] == {"code": "unreachable", "label": "通过登记的住所（经营场所）无法联系",
                                      "label_en": "Unreachable at the registered address",
                                      "problem": False, "no_check": True, "party_absent": True}
    assert results["uncooperative"]["no_check"] is True and results["uncooperative"]["party_absent"] is False
    assert {o["code"] for o in visit["method_options"]} == {"onsite", "documents", "online", "sampling"}
    assert "case_filing" in {o["code"] for o in visit["follow_up_options"]}


def test_pull_sends_the_configured_list(field, login):
    reference.add_result_code("cancelled", "注销", "Deregistered", no_check=True, party_absent=True)
    reference.set_result_code_active(reference.get_result_code("qualified"), False)
    db.session.commit()
    codes = [o["code"] for o in _pulled_visit(login(field.u_a1), field.v_z.id)["result_options"]]
    assert codes[-1] == "cancelled" and "qualified" not in codes and len(codes) == 10


def test_method_options_are_the_check_item_lists_methods():
    from server.catalog.models import CheckMethod

    assert [c for c, _label in reference.METHOD_OPTIONS] == [m.value for m in CheckMethod]
