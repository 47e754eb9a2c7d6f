"""Factories for the registry tests: ``make_object``, ``make_inspector``, ``valid_code``."""

from __future__ import annotations

import itertools

import pytest

from server.extensions import db
from server.registry import codes
from server.registry.models import InspectedObject, Inspector, ObjectType

_counter = itertools.count(1)


def valid_code(n: int | None = None) -> str:
    """Return a valid credit code, different for each ``n``."""
    n = next(_counter) if n is None else n
    return codes.make_valid(f"91410823{n:09d}")


def bad_check_code(n: int = 7) -> str:
    """Return a code whose only defect is the check character."""
    good = valid_code(n)
    wrong = next(c for c in codes.ALPHABET if c != good[17])
    return good[:17] + wrong


@pytest.fixture
def make_object(app):
    def make(name: str = "武陟县测试食品有限公司", *, code: str | None = None, commit: bool = True,
             **fields) -> InspectedObject:
        fields.setdefault("object_type", ObjectType.ENTERPRISE)
        obj = InspectedObject(code=code or valid_code(), name=name, **fields)
        db.session.add(obj)
        if commit:
            db.session.commit()
        return obj

    return make


@pytest.fixture
def make_inspector(app, make_department):
    def make(name: str = "张三", *, department=None, certificate_no: str | None = None,
             expertise: tuple[str, ...] = (), **fields) -> Inspector:
        dept = department or make_department()
        ins = Inspector(name=name, department_id=dept.id,
                        certificate_no=certificate_no or f"ZF{next(_counter):08d}", **fields)
        ins.set_expertise(list(expertise))
        db.session.add(ins)
        db.session.commit()
        return ins

    return make


def object_form(**overrides) -> dict:
    """Return a valid create/edit form for an object."""
    form = {
        "code": valid_code(),
        "name": "武陟县鑫盛食品有限公司",
        "object_type": "enterprise",
        "legal_representative": "王芳",
        "address": "河南省焦作市武陟县木城街道人民路1号",
        "region_county": "武陟县",
        "region_town": "木城街道",
        "jurisdiction_level": "county",
        "industry": "食品",
        "business_scope": "预包装食品销售",
        "registration_status": "active",
        "registered_on": "2019-05-06",
        "risk_class": "B",
        "complaint_count": "0",
    }
    form.update(overrides)
    return form


def inspector_form(department, **overrides) -> dict:
    form = {
        "department": department.code,
        "name": "李四",
        "gender": "male",
        "title": "科员",
        "expertise": "食品安全、特种设备",
        "certificate_no": "41080001234",
        "phone": "0391-7222222",
        "qualification": "行政执法证",
        "qualification_valid_from": "2023-01-01",
        "qualification_valid_until": "2027-12-31",
        "status": "on_duty",
    }
    form.update(overrides)
    return form


class Helpers:
    valid_code = staticmethod(valid_code)
    bad_check_code = staticmethod(bad_check_code)
    object_form = staticmethod(object_form)
    inspector_form = staticmethod(inspector_form)


@pytest.fixture
def h() -> type[Helpers]:
    """Plain helpers (codes and valid forms) for tests in this folder."""
    return Helpers
