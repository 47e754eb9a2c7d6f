"""Inspector registry services: create, edit, department access, unique certificate numbers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.audit.services import history
from server.auth.roles import Role
from server.core.errors import Conflict, Forbidden
from server.extensions import db
from server.org.models import Kind
from server.registry import services
from server.registry.models import Inspector, InspectorStatus


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(Inspector)).scalar_one()


def test_create_inspector_with_expertise_and_audit(admin, h, make_department):
    dept = make_department("武陟县市场监督管理局")
    ins = services.create_inspector(h.inspector_form(dept), user=admin)
    assert ins.department_id == dept.id and ins.expertise == ["特种设备", "食品安全"]
    entry = history("inspector", ins.id)[0]
    assert entry.action == "inspector.create" and entry.after["expertise"] == ["特种设备", "食品安全"]


def test_duplicate_certificate_number_is_refused(admin, h, make_department, make_inspector):
    dept = make_department()
    make_inspector("王五", department=dept, certificate_no="41080001234")
    with pytest.raises(Conflict) as err:
        services.create_inspector(h.inspector_form(dept), user=admin)
    assert err.value.code == "duplicate_certificate" and "王五" in err.value.message
    assert _count() == 1


def test_unit_of_another_department_is_refused(admin, h, make_department):
    dept = make_department("商务局")
    other = make_department("市场监督管理局")
    unit = make_department("木城市场监管所", kind=Kind.UNIT, parent=other)
    with pytest.raises(services.ValidationFailed) as err:
        services.create_inspector(h.inspector_form(dept, unit=unit.code), user=admin)
    assert "不属于" in err.value.details["fields"]["unit"][0]
    assert _count() == 0


def test_unit_of_the_department_is_accepted(admin, h, make_department):
    dept = make_department("市场监督管理局")
    unit = make_department("木城市场监管所", kind=Kind.UNIT, parent=dept)
    ins = services.create_inspector(h.inspector_form(dept, unit=unit.code), user=admin)
    assert ins.unit_id == unit.id


def test_unknown_department_is_refused(admin, h, make_department):
    dept = make_department()
    with pytest.raises(services.ValidationFailed) as err:
        services.create_inspector({**h.inspector_form(dept), "department": "不存在的局"}, user=admin)
    assert "不存在" in err.value.details["fields"]["department"][0]
    assert _count() == 0


def test_validity_until_before_from_is_refused(admin, h, make_department):
    dept = make_department()
    form = h.inspector_form(dept, qualification_valid_from="2025-01-01", qualification_valid_until="2024-01-01")
    with pytest.raises(services.ValidationFailed) as err:
        services.create_inspector(form, user=admin)
    assert "早于" in err.value.details["fields"]["qualification_valid_until"][0]
    assert _count() == 0


def test_dept_admin_cannot_create_inspector_of_another_department(make_user, h, make_department):
    own = make_department("商务局")
    other = make_department("农业农村局")
    user = make_user("dept", roles=(Role.DEPT_ADMIN,), department=own)
    with pytest.raises(Forbidden):
        services.create_inspector(h.inspector_form(other), user=user)
    assert _count() == 0


def test_dept_admin_creates_inspector_of_own_department(make_user, h, make_department):
    own = make_department("商务局")
    user = make_user("dept", roles=(Role.DEPT_ADMIN,), department=own)
    assert services.create_inspector(h.inspector_form(own), user=user).department_id == own.id


def test_update_expertise_only_bumps_version_and_audits(admin, h, make_department):
    dept = make_department()
    ins = services.create_inspector(h.inspector_form(dept), user=admin)
    db.session.commit()
    version = ins.version
    services.update_inspector(ins, h.inspector_form(dept, expertise="成品油"), version, user=admin)
    db.session.commit()
    assert ins.version == version + 1 and ins.expertise == ["成品油"]
    entry = history("inspector", ins.id)[0]
    assert entry.action == "inspector.update" and entry.after == {"expertise": ["成品油"]}


def test_stale_inspector_edit_is_refused(admin, h, make_department):
    dept = make_department()
    ins = services.create_inspector(h.inspector_form(dept), user=admin)
    db.session.commit()
    old = ins.version
    services.update_inspector(ins, h.inspector_form(dept, title="科长"), old, user=admin)
    db.session.commit()
    with pytest.raises(Conflict) as err:
        services.update_inspector(ins, h.inspector_form(dept, title="副科长"), old, user=admin)
    assert err.value.code == "stale_version"
    db.session.rollback()
    assert db.session.get(Inspector, ins.id).title == "科长"


def test_status_change_is_saved(admin, h, make_department):
    dept = make_department()
    ins = services.create_inspector(h.inspector_form(dept), user=admin)
    services.update_inspector(ins, h.inspector_form(dept, status="transferred"), ins.version, user=admin)
    assert ins.status is InspectorStatus.TRANSFERRED
