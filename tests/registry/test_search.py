"""Searching the registries and paging without a full count."""

from __future__ import annotations

from datetime import date

import pytest

from server.core.errors import Forbidden
from server.extensions import db
from server.org.models import Kind, Level
from server.registry import services
from server.registry.models import InspectorStatus, ObjectType, RegistrationStatus, RiskClass


def _names(filters, **kw) -> list[str]:
    return [o.name for o in db.session.execute(services.search_objects(filters, internal=True, **kw)).scalars()]


@pytest.fixture
def objects(make_object, make_department, h):
    dept = make_department("武陟县市场监督管理局")
    make_object("武陟县鑫盛食品有限公司", code=h.valid_code(1), region_county="武陟县", region_town="木城街道",
                industry="食品", business_scope="预包装食品销售", risk_class=RiskClass.C, complaint_count=3,
                supervising_departments=[dept])
    make_object("温县华达建材有限公司", code=h.valid_code(2), region_county="温县", industry="建材",
                jurisdiction_level=Level.CITY, abnormal_list=True)
    make_object("武陟县张记烟酒店", code=h.valid_code(3), object_type=ObjectType.INDIVIDUAL,
                region_county="武陟县", registration_status=RegistrationStatus.REVOKED, serious_violation=True)
    make_object("100%_纯净水厂", code=h.valid_code(4))
    return dept


def test_search_by_name_fragment(objects):
    assert _names(services.ObjectFilters(q="鑫盛")) == ["武陟县鑫盛食品有限公司"]


def test_search_by_full_code_and_by_prefix(objects, h):
    assert _names(services.ObjectFilters(q=h.valid_code(2))) == ["温县华达建材有限公司"]
    assert len(_names(services.ObjectFilters(q=h.valid_code(2)[:8]))) == 4
    assert _names(services.ObjectFilters(q=h.valid_code(3)[:17].lower())) == ["武陟县张记烟酒店"]


def test_like_wildcards_in_the_search_are_literal(objects):
    assert _names(services.ObjectFilters(q="%_")) == ["100%_纯净水厂"]
    assert _names(services.ObjectFilters(q="县%")) == []


@pytest.mark.parametrize(("filters", "expected"), [
    ({"region_county": "武陟县"}, ["武陟县张记烟酒店", "武陟县鑫盛食品有限公司"]),
    ({"region_town": "木城街道"}, ["武陟县鑫盛食品有限公司"]),
    ({"jurisdiction_level": Level.CITY}, ["温县华达建材有限公司"]),
    ({"object_type": ObjectType.INDIVIDUAL}, ["武陟县张记烟酒店"]),
    ({"industry": "建材"}, ["温县华达建材有限公司"]),
    ({"scope": "预包装"}, ["武陟县鑫盛食品有限公司"]),
    ({"status": RegistrationStatus.REVOKED}, ["武陟县张记烟酒店"]),
    ({"abnormal": True}, ["温县华达建材有限公司"]),
    ({"serious": True}, ["武陟县张记烟酒店"]),
    ({"min_complaints": 2}, ["武陟县鑫盛食品有限公司"]),
    ({"risk_class": RiskClass.C}, ["武陟县鑫盛食品有限公司"]),
])
def test_object_filters(objects, filters, expected):
    assert _names(services.ObjectFilters(**filters)) == expected


def test_filter_by_supervising_department(objects):
    assert _names(services.ObjectFilters(department_id=objects.id)) == ["武陟县鑫盛食品有限公司"]


def test_risk_filter_is_refused_outside_internal_use(objects):
    with pytest.raises(Forbidden):
        services.search_objects(services.ObjectFilters(risk_class=RiskClass.A))


def test_fetch_page_knows_next_page_without_counting(make_object, h):
    for i in range(7):
        make_object(f"公司{i}", code=h.valid_code(100 + i), commit=False)
    db.session.commit()
    stmt = services.search_objects(services.ObjectFilters())
    first = services.fetch_page(stmt, 1, 3, count_cap=None)
    assert len(first.items) == 3 and first.has_next and first.total is None
    last = services.fetch_page(stmt, 3, 3, count_cap=None)
    assert [o.name for o in last.items] == ["公司6"] and not last.has_next and last.total == 7


def test_fetch_page_caps_the_count(make_object, h):
    for i in range(7):
        make_object(f"公司{i}", code=h.valid_code(100 + i), commit=False)
    db.session.commit()
    stmt = services.search_objects(services.ObjectFilters())
    assert services.fetch_page(stmt, 1, 3, count_cap=5).total_at_least == 5
    assert services.fetch_page(stmt, 1, 3, count_cap=10).total == 7


@pytest.fixture
def inspectors(make_inspector, make_department):
    bureau = make_department("武陟县市场监督管理局")
    unit = make_department("木城市场监管所", kind=Kind.UNIT, parent=bureau)
    other = make_department("商务局")
    make_inspector("张伟", department=bureau, unit_id=unit.id, certificate_no="ZF001", expertise=("食品安全",),
                   qualification_valid_from=date(2020, 1, 1), qualification_valid_until=date(2025, 12, 31))
    make_inspector("李娜", department=other, certificate_no="SW002", expertise=("成品油",), is_expert=True)
    make_inspector("王强", department=bureau, certificate_no="ZF003", status=InspectorStatus.TRANSFERRED)
    return bureau, unit, other


def _inspector_names(**kw) -> list[str]:
    stmt = services.search_inspectors(services.InspectorFilters(**kw))
    return [i.name for i in db.session.execute(stmt).scalars()]


def test_inspector_search_by_name_and_certificate(inspectors):
    assert _inspector_names(q="张") == ["张伟"]
    assert _inspector_names(q="ZF") == ["张伟", "王强"]
    assert _inspector_names(certificate_no="SW") == ["李娜"]


def test_inspector_filters(inspectors):
    bureau, unit, other = inspectors
    assert _inspector_names(department_id=other.id) == ["李娜"]
    assert _inspector_names(unit_id=unit.id) == ["张伟"]
    assert _inspector_names(expertise="成品油") == ["李娜"]
    assert _inspector_names(status=InspectorStatus.TRANSFERRED) == ["王强"]
    assert _inspector_names(expert=True) == ["李娜"]


def test_inspector_qualified_on_a_date(inspectors):
    assert _inspector_names(qualified_on=date(2024, 6, 1)) == ["张伟", "李娜"]
    assert _inspector_names(qualified_on=date(2026, 6, 1)) == ["李娜"]
