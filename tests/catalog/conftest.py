"""Factories for the catalog tests: departments of 武陟县, editions, items and checklists."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.catalog import services
from server.catalog.models import QuestionType
from server.extensions import db
from server.org.models import Level
from server.registry.models import ObjectType


@pytest.fixture
def depts(make_department):
    """The five county departments of the demo, keyed by short name."""
    city = make_department("焦作市市场监督管理局", level=Level.CITY, code="JZ-SCJG")
    out = {}
    for i, short in enumerate(["商务局", "市场监督管理局", "农业农村局", "应急管理局", "环境保护局"], 1):
        d = make_department(f"武陟县{short}", parent=city, code=f"WZ-{i:02d}")
        d.short_name = short
        out[short] = d
    db.session.commit()
    return out


def item_form(depts, **overrides) -> dict:
    """Return valid form data for a check item (override any field)."""
    data = {
        "domain": "成品油市场监管",
        "name": "成品油经营资质检查",
        "content": "是否具备经营条件",
        "legal_basis": "《成品油市场管理办法》",
        "object_scope": "具有成品油经营批准证书的企业",
        "object_type": ObjectType.ENTERPRISE.value,
        "initiating_department_id": str(depts["商务局"].id),
        "cooperating_department_ids": [str(depts["市场监督管理局"].id)],
        "methods": ["onsite", "documents"],
        "default_ratio": "0.03",
        "frequency": "每年1次",
        "times_per_year": "1",
    }
    data.update(overrides)
    return data


@pytest.fixture
def make_edition(app, depts):
    def make(*, publish: bool = False, items: int = 1, title: str = "武陟县抽查事项清单（第一版）"):
        edition = services.create_edition(title=title, issuer_id=depts["市场监督管理局"].id)
        for n in range(items):
            services.create_item(edition, services.clean_item_data(
                item_form(depts, name=f"事项{n + 1}", code=f"T-{n + 1:03d}")))
        if publish:
            services.publish_edition(edition)
        db.session.commit()
        return edition

    return make


@pytest.fixture
def make_template(app, depts):
    def make(item, department=None, *, questions: int = 2, publish: bool = False):
        department = department or item.initiating_department
        t = services.create_template(item, department.id)
        for n in range(questions):
            services.add_question(t, services.QuestionData(
                kind=QuestionType.YES_NO_NA, text=f"问题{n + 1}", required=True, help_text=None,
                legal_basis=None, options=None, unit=None, min_value=None, max_value=None))
        if publish:
            services.publish_template(t)
        db.session.commit()
        return t

    return make


def audit_count() -> int:
    return db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


@pytest.fixture
def login_as(make_user, auth):
    """Create a user with the given roles (and department) and log them in."""

    def login(username: str, *roles, department=None):
        make_user(username, roles=roles, department=department)
        auth.login(username)

    return login


RATIO_3 = Decimal("0.0300")
