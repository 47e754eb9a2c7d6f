"""Factories for the planning tests: a county with two bureaus, their users, a published list."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.auth.roles import Role
from server.extensions import db
from server.org.models import Level


@pytest.fixture
def depts(make_department):
    """Two county bureaus (市场监管局 SCJ, 商务局 SWJ), a third (农业农村局 NYJ) and their city parent."""
    city = make_department("焦作市市场监督管理局", level=Level.CITY, code="JZSCJ")
    return {
        "city": city,
        "scj": make_department("武陟县市场监督管理局", parent=city, code="WZSCJ"),
        "swj": make_department("武陟县商务局", parent=city, code="WZSWJ"),
        "nyj": make_department("武陟县农业农村局", parent=city, code="WZNYJ"),
    }


@pytest.fixture
def users(make_user, depts):
    """An initiator of SCJ, a department admin of SWJ, a head of NYJ, a joint-office user and an
    inspector of SWJ (no acceptance role)."""
    return {
        "initiator": make_user("scj_init", roles=(Role.TASK_INITIATOR,), department=depts["scj"]),
        "swj_admin": make_user("swj_admin", roles=(Role.DEPT_ADMIN,), department=depts["swj"]),
        "nyj_head": make_user("nyj_head", roles=(Role.DEPT_HEAD,), department=depts["nyj"]),
        "office": make_user("office", roles=(Role.JOINT_OFFICE,), department=depts["scj"]),
        "swj_inspector": make_user("swj_insp", roles=(Role.INSPECTOR,), department=depts["swj"]),
    }


@pytest.fixture
def edition(app, depts):
    """A published list with two items: 成品油 (SWJ + SCJ) and 种子 (NYJ), each with a published
    checklist for every department concerned."""
    from server.catalog import services as cat

    ed = cat.create_edition(title="武陟县抽查事项清单（第一版）", issuer_id=depts["scj"].id)
    base = {"content": "检查内容", "legal_basis": "《法规》", "object_scope": "企业", "object_type": "enterprise",
            "methods": ["onsite"], "default_ratio": "0.05", "frequency": "每年1次"}
    oil = cat.create_item(ed, cat.clean_item_data({**base, "domain": "成品油市场监管", "name": "成品油经营",
                                                   "initiating_department_id": depts["swj"].id,
                                                   "cooperating_department_ids": [depts["scj"].id]}))
    seed = cat.create_item(ed, cat.clean_item_data({**base, "domain": "种子", "name": "种子经营",
                                                    "initiating_department_id": depts["nyj"].id}))
    cat.publish_edition(ed)
    for item, dept in ((oil, depts["swj"]), (oil, depts["scj"]), (seed, depts["nyj"])):
        t = cat.create_template(item, dept.id)
        cat.add_question(t, cat.clean_question_data({"kind": "yes_no_na", "text": "是否合规？"}))
        cat.publish_template(t)
    db.session.commit()
    return {"edition": ed, "oil": oil, "seed": seed}


def task_form(depts, edition=None, **overrides) -> dict:
    """Return a valid task form (SCJ initiates, SWJ participates, ad-hoc with a reason)."""
    form = {
        "name": "成品油市场联合检查", "initiating_department_id": str(depts["scj"].id),
        "participant_ids": [str(depts["swj"].id)], "adhoc_reason": "群众举报较多，临时开展",
        "period_start": "2026-05-01", "period_end": "2026-05-31", "teams_count": "2",
        "strata_mode": "risk", "ratio_A": "0.01", "ratio_B": "0.03", "ratio_C": "0.10", "ratio_D": "0.20",
        "statuses": ["active"], "candidate_source": "registry",
    }
    if edition is not None:
        form["check_item_ids"] = [str(edition["oil"].id)]
    form.update(overrides)
    return form


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def audit_count(entity_type: str | None = None) -> int:
    """Return the number of audit entries (of ``entity_type`` only, when given; logins are audited too)."""
    from server.audit.models import AuditEntry

    stmt = select(func.count()).select_from(AuditEntry)
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    return db.session.execute(stmt).scalar_one()


@pytest.fixture
def login(client, auth):
    """Log in as ``username`` (logging out whoever was logged in)."""
    def do(username: str):
        auth.logout()
        resp = auth.login(username)
        assert resp.status_code in (302, 303)
        return client

    return do


