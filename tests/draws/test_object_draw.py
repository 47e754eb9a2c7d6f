"""The objects draw: commit, perform (final at once), void; the locked list and the record."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from server.core.errors import DomainError
from server.draws import services, spec
from server.draws.candidates import registry_state
from server.draws.models import Draw, DrawSelection, DrawStatus
from server.extensions import db
from server.planning.models import Acceptance, TaskStatus
from tests.draws.conftest import WITNESSES, draw_count


@pytest.fixture
def depts(make_department):
    return make_department("武陟县商务局"), make_department("武陟县市场监督管理局")


def _selections(task) -> int:
    return db.session.execute(select(func.count()).select_from(DrawSelection)
                              .where(DrawSelection.task_id == task.id)).scalar_one()


def test_selection_size_is_ceil_ratio_times_n(make_task, depts, bulk_objects, draw_objects):
    bulk_objects(1000, "B")
    bulk_objects(7, "C")
    task = make_task(depts[0], [depts[1]], accepted=True,
                     strata=[{"name": "B", "ratio": "0.03"}, {"name": "C", "ratio": "0.1"}])
    draw = draw_objects(task)
    rec = services.draw_record(draw)
    sizes = {s["name"]: len(s["selected"]) for s in rec["strata"]}
    assert sizes == {"B": 30, "C": 1}
    assert sizes["B"] == math.ceil(Decimal("0.03") * 1000)


def test_final_record_verifies_and_locks_the_list(make_task, depts, bulk_objects, draw_objects):
    bulk_objects(40, "A")
    bulk_objects(10, "D")
    task = make_task(depts[0], [depts[1]], accepted=True,
                     strata=[{"name": "A", "ratio": "0.1"}, {"name": "D", "ratio": "0.2"}])
    draw = draw_objects(task, entropy="骰子 6 3 1")
    rec = services.draw_record(draw)
    assert spec.verify(rec) == []
    assert draw.status is DrawStatus.FINAL
    assert rec["witnesses"] == [{"name": "王丽", "role": "承办"}, {"name": "赵强", "role": "技术操作"},
                                {"name": "刘洋", "role": "监督"}]
    assert rec["nonce_commitment"] == draw.nonce_commitment == spec.nonce_commitment(rec["nonce"])
    assert _selections(task) == 4 + 2
    assert db.session.get(type(task), task.id).status is TaskStatus.OBJECTS_DRAWN


def test_locked_list_follows_record_order(make_task, depts, bulk_objects, draw_objects):
    bulk_objects(20, "A")
    task = make_task(depts[0], [depts[1]], accepted=True, strata=[{"name": "A", "ratio": "0.25"}])
    draw = draw_objects(task)
    rec = services.draw_record(draw)
    assert services.selected_object_codes(task) == rec["strata"][0]["selected"]


def test_empty_stratum_is_recorded(make_task, depts, bulk_objects, draw_objects):
    bulk_objects(5, "A")
    task = make_task(depts[0], [depts[1]], accepted=True,
                     strata=[{"name": "A", "ratio": "0.2"}, {"name": "D", "ratio": "0.2"}])
    rec = services.draw_record(draw_objects(task))
    assert rec["strata"][1] == {"name": "D", "ratio": "0.2", "ids": [], "selected": []}
    assert spec.verify(rec) == []


def test_commitment_is_stored_before_the_draw(make_task, depts, bulk_objects):
    bulk_objects(3, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    draw = services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    assert draw.status is DrawStatus.COMMITTED
    assert draw.record is None and draw.seed is None
    assert draw.nonce_commitment == spec.nonce_commitment(draw.nonce)
    assert [len(s["ids"]) for s in services.candidate_strata(draw)] == [3]


def test_draw_on_unaccepted_task_is_refused(make_task, depts, bulk_objects):
    bulk_objects(3, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    task.departments[1].acceptance = Acceptance.PENDING
    task.status = TaskStatus.PENDING
    db.session.commit()
    with pytest.raises(DomainError) as err:
        services.commit_object_draw(task, registry=registry_state(task))
    db.session.rollback()
    assert err.value.code == "task_not_accepted"
    assert err.value.status == 409
    assert "武陟县市场监督管理局" in err.value.message
    assert err.value.details["departments"] == ["武陟县市场监督管理局"]
    assert draw_count(task) == 0


def test_second_objects_draw_is_refused(make_task, depts, bulk_objects, draw_objects):
    bulk_objects(4, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    first = draw_objects(task)
    record_before = first.record
    with pytest.raises(DomainError) as err:
        services.commit_object_draw(task, registry=registry_state(task))
    db.session.rollback()
    assert err.value.code == "draw_exists" and err.value.status == 409
    with pytest.raises(DomainError) as again:
        services.perform_draw(first.id, witnesses=services.clean_witnesses(WITNESSES), witness_entropy="x")
    db.session.rollback()
    assert again.value.code == "draw_exists"
    assert draw_count(task) == 1
    assert db.session.get(Draw, first.id).record == record_before


def test_second_commitment_while_one_is_pending_is_refused(make_task, depts, bulk_objects):
    bulk_objects(2, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    with pytest.raises(DomainError) as err:
        services.commit_object_draw(task, registry=registry_state(task))
    db.session.rollback()
    assert err.value.code == "draw_exists"
    assert draw_count(task) == 1


def test_missing_witnesses_are_refused_and_nothing_changes(make_task, depts, bulk_objects):
    bulk_objects(2, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    draw = services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    with pytest.raises(DomainError) as err:
        services.clean_witnesses({"operator": "王丽", "technical": " ", "supervisor": ""})
    assert err.value.code == "witnesses_missing"
    assert set(err.value.details["fields"]) == {"technical", "supervisor"}
    assert "技术操作人员" in err.value.message and "监督人员" in err.value.message
    assert db.session.get(Draw, draw.id).status is DrawStatus.COMMITTED


def test_representatives_are_recorded_with_role(make_task, depts, bulk_objects):
    witnesses = services.clean_witnesses(WITNESSES, [
        {"role": "新闻媒体代表", "name": "周敏", "organisation": "武陟县融媒体中心"},
        {"role": "", "name": "", "organisation": ""},
    ])
    assert witnesses[-1] == {"name": "周敏", "role": "新闻媒体代表", "organisation": "武陟县融媒体中心"}
    assert len(witnesses) == 4


def test_voided_draw_stays_visible_and_a_new_commitment_may_follow(make_task, depts, bulk_objects,
                                                                    make_user):
    bulk_objects(2, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    first = services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    services.void_draw(first.id, reason="监督人员未到场")
    db.session.commit()
    second = services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    draws = services.task_draws(task)
    assert [(d.id, d.status) for d in draws] == [(first.id, DrawStatus.VOIDED), (second.id, DrawStatus.COMMITTED)]
    assert draws[0].void_reason == "监督人员未到场" and draws[0].voided_at is not None
    assert second.nonce_commitment != first.nonce_commitment


def test_void_needs_a_reason(make_task, depts, bulk_objects):
    bulk_objects(2, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    draw = services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    with pytest.raises(DomainError) as err:
        services.void_draw(draw.id, reason=" ")
    db.session.rollback()
    assert err.value.code == "void_reason_required" and err.value.details["field"] == "reason"
    assert db.session.get(Draw, draw.id).status is DrawStatus.COMMITTED


def test_final_draw_cannot_be_voided(make_task, depts, bulk_objects, draw_objects):
    bulk_objects(2, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    draw = draw_objects(task)
    with pytest.raises(DomainError) as err:
        services.void_draw(draw.id, reason="想重抽")
    db.session.rollback()
    assert err.value.code == "draw_not_voidable"
    assert db.session.get(Draw, draw.id).status is DrawStatus.FINAL


def test_voided_draw_cannot_be_performed(make_task, depts, bulk_objects):
    bulk_objects(2, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    draw = services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    services.void_draw(draw.id, reason="设备故障")
    db.session.commit()
    with pytest.raises(DomainError) as err:
        services.perform_draw(draw.id, witnesses=services.clean_witnesses(WITNESSES), witness_entropy="1")
    db.session.rollback()
    assert err.value.code == "draw_voided"
    assert _selections(task) == 0


def test_overlong_entropy_is_refused(make_task, depts, bulk_objects):
    bulk_objects(2, "A")
    task = make_task(depts[0], [depts[1]], accepted=True)
    draw = services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    with pytest.raises(DomainError) as err:
        services.perform_draw(draw.id, witnesses=services.clean_witnesses(WITNESSES), witness_entropy="6" * 501)
    db.session.rollback()
    assert err.value.code == "entropy_too_long"
    assert db.session.get(Draw, draw.id).status is DrawStatus.COMMITTED


def test_candidates_are_fixed_at_commitment(make_task, depts, bulk_objects, draw_objects):
    bulk_objects(4, "A")
    task = make_task(depts[0], [depts[1]], accepted=True, strata=[{"name": "A", "ratio": "1"}])
    draw = services.commit_object_draw(task, registry=registry_state(task))
    db.session.commit()
    bulk_objects(3, "A")  # registered after the commitment: not a candidate of this draw
    draw = services.perform_draw(draw.id, witnesses=services.clean_witnesses(WITNESSES), witness_entropy="")
    db.session.commit()
    assert len(services.draw_record(draw)["strata"][0]["selected"]) == 4
