"""Object registry services: create, edit, code exceptions, lost updates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.audit.services import history, set_actor
from server.core.errors import Conflict, DomainError, Forbidden
from server.extensions import db
from server.registry import codes, services
from server.registry.models import CodeKind, InspectedObject, RiskClass


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(InspectedObject)).scalar_one()


def test_create_object_stores_cleaned_values_and_audits(admin, h):
    obj = services.create_object(h.object_form(), user=admin)
    assert obj.id and obj.code_kind is CodeKind.USCC and obj.risk_class is RiskClass.B
    entries = history("object", obj.id)
    assert [e.action for e in entries] == ["object.create"]
    assert entries[0].after["name"] == "武陟县鑫盛食品有限公司"


def test_object_without_code_gets_generated_code(admin, h):
    obj = services.create_object(h.object_form(code=""), user=admin)
    assert obj.code_kind is CodeKind.GENERATED
    assert codes.is_generated(obj.code) and len(obj.code) == 18


def test_generated_code_retries_on_collision(admin, h, make_object, monkeypatch):
    taken = make_object(code="S" + "1" * 17, code_kind=CodeKind.GENERATED)
    sequence = iter([taken.code, "S" + "2" * 17])
    monkeypatch.setattr(codes, "generate_placeholder", lambda: next(sequence))
    obj = services.create_object(h.object_form(code=""), user=admin)
    assert obj.code == "S" + "2" * 17


def test_wrong_check_character_is_refused(admin, h):
    with pytest.raises(services.ValidationFailed) as err:
        services.create_object(h.object_form(code=h.bad_check_code()), user=admin)
    assert err.value.details["reasons"]["code"] == "check_char"
    assert "校验位" in err.value.details["fields"]["code"][0]
    assert _count() == 0


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_forbidden_letters_in_code_are_refused(admin, h, letter):
    good = h.valid_code(3)
    code = good[:5] + letter + good[6:]
    with pytest.raises(services.ValidationFailed) as err:
        services.create_object(h.object_form(code=code), user=admin)
    assert err.value.details["reasons"]["code"] == "forbidden_char"
    assert "I、O、S、V、Z" in err.value.details["fields"]["code"][0]
    assert _count() == 0


def test_duplicate_code_on_create_is_refused(admin, h, make_object):
    existing = make_object("已登记公司")
    with pytest.raises(Conflict) as err:
        services.create_object(h.object_form(code=existing.code), user=admin)
    assert err.value.code == "duplicate_code" and "已登记公司" in err.value.message
    assert _count() == 1


def test_admin_accepts_code_exception_with_reason(admin, h):
    code = h.bad_check_code()
    obj = services.create_object(h.object_form(code=code), user=admin,
                                 code_exception_reason="2014年试点赋码，经登记机关核实")
    assert obj.code == code and obj.code_kind is CodeKind.ACCEPTED
    assert obj.code_exception_reason.startswith("2014年")
    actions = [e.action for e in history("object", obj.id)]
    assert "object.code_exception" in actions and "object.create" in actions


def test_code_exception_needs_a_reason_of_five_characters(admin, h):
    with pytest.raises(DomainError) as err:
        services.create_object(h.object_form(code=h.bad_check_code()), user=admin, code_exception_reason="核实")
    assert err.value.code == "code_exception_reason"
    assert _count() == 0


def test_non_admin_cannot_accept_code_exception(make_user, h):
    user = make_user("office", roles=("joint_office",))
    with pytest.raises(Forbidden) as err:
        services.create_object(h.object_form(code=h.bad_check_code()), user=user,
                               code_exception_reason="2014年试点赋码，经登记机关核实")
    assert err.value.status == 403 and "校验位错误" in err.value.message
    assert _count() == 0


def test_code_exception_does_not_cover_forbidden_letters(admin, h):
    good = h.valid_code(4)
    code = good[:5] + "O" + good[6:]
    with pytest.raises(DomainError):
        services.create_object(h.object_form(code=code), user=admin, code_exception_reason="2014年试点赋码核实")
    assert _count() == 0


def test_accepted_code_survives_an_edit(admin, h):
    obj = services.create_object(h.object_form(code=h.bad_check_code()), user=admin,
                                 code_exception_reason="2014年试点赋码，经核实")
    db.session.commit()
    services.update_object(obj, h.object_form(code=obj.code, name="改名后的公司"), obj.version, user=admin)
    assert obj.code_kind is CodeKind.ACCEPTED and obj.name == "改名后的公司"


def test_update_records_before_and_after(admin, h):
    obj = services.create_object(h.object_form(), user=admin)
    db.session.commit()
    services.update_object(obj, h.object_form(code=obj.code, industry="餐饮"), obj.version, user=admin)
    entry = history("object", obj.id)[0]
    assert entry.action == "object.update"
    assert entry.before == {"industry": "食品"} and entry.after == {"industry": "餐饮"}


def test_stale_version_edit_is_refused(admin, h):
    obj = services.create_object(h.object_form(), user=admin)
    db.session.commit()
    old = obj.version
    services.update_object(obj, h.object_form(code=obj.code, industry="餐饮"), old, user=admin)
    db.session.commit()
    with pytest.raises(Conflict) as err:
        services.update_object(obj, h.object_form(code=obj.code, industry="建材"), old, user=admin)
    assert err.value.code == "stale_version" and err.value.status == 409
    db.session.rollback()
    assert db.session.get(InspectedObject, obj.id).industry == "餐饮"


def test_changing_departments_only_bumps_the_version(admin, h, make_department):
    dept = make_department("武陟县市场监督管理局")
    obj = services.create_object(h.object_form(), user=admin)
    db.session.commit()
    version = obj.version
    services.update_object(obj, h.object_form(code=obj.code, supervising_departments=[dept.code]), version,
                           user=admin)
    db.session.commit()
    assert obj.version == version + 1
    assert [d.id for d in obj.supervising_departments] == [dept.id]


def test_unknown_supervising_department_is_refused(admin, h):
    with pytest.raises(services.ValidationFailed) as err:
        services.create_object(h.object_form(supervising_departments=["不存在的局"]), user=admin)
    assert "不存在" in err.value.details["fields"]["supervising_departments"][0]
    assert _count() == 0


def test_cli_actor_is_audited(app, h):
    set_actor(None, "cli:test")
    services.create_object(h.object_form())
    entry = db.session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
    assert entry.actor_name == "cli:test"
