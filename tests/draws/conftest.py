"""Factories for draw tests: objects in bulk, past checks, and a one-call object/inspector draw."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from server.extensions import db
from server.org.models import Level

WITNESSES = {"operator": "王丽", "technical": "赵强", "supervisor": "刘洋"}


@pytest.fixture
def bulk_objects(app):
    """Insert ``n`` objects of one risk class fast; return their codes (sorted)."""
    from server.registry import codes
    from server.registry.models import InspectedObject

    counter = {"n": 0}

    def make(n: int, risk: str | None = "A", **fields) -> list[str]:
        rows = []
        for _ in range(n):
            counter["n"] += 1
            code = codes.make_valid(f"91410823BK{counter['n']:07d}")
            rows.append({"code": code, "code_kind": "uscc", "name": f"批量对象{counter['n']}",
                         "object_type": "enterprise", "registration_status": "active",
                         "region_county": "武陟县", "jurisdiction_level": Level.COUNTY, "risk_class": risk,
                         "abnormal_list": False, "serious_violation": False, "complaint_count": 0,
                         "version": 1, **fields})
        db.session.execute(insert(InspectedObject.__table__), rows)
        db.session.commit()
        return sorted(r["code"] for r in rows)

    return make


@pytest.fixture
def past_check(app):
    """Record that ``task`` drew ``objects`` (a final objects draw with its locked list)."""
    from server.draws import spec
    from server.draws.models import Draw, DrawKind, DrawSelection, DrawStatus
    from server.planning.models import TaskStatus

    def make(task, objects) -> Draw:
        nonce = spec.new_nonce()
        draw = Draw(task_id=task.id, kind=DrawKind.OBJECTS, status=DrawStatus.FINAL, nonce=nonce,
                    nonce_commitment=spec.nonce_commitment(nonce), record="{}")
        db.session.add(draw)
        db.session.flush()
        for k, obj in enumerate(objects):
            db.session.add(DrawSelection(draw_id=draw.id, task_id=task.id, object_id=obj.id, stratum="ALL",
                                         position=k))
        task.status = TaskStatus.OBJECTS_DRAWN
        db.session.commit()
        return draw

    return make


@pytest.fixture
def draw_objects(app):
    """Commit and perform the objects draw of ``task``; return the final draw (committed)."""
    from server.draws import services
    from server.draws.candidates import registry_state

    def run(task, entropy: str = "3 5 2 6"):
        draw = services.commit_object_draw(task, registry=registry_state(task))
        db.session.commit()
        draw = services.perform_draw(draw.id, witnesses=services.clean_witnesses(WITNESSES),
                                     witness_entropy=entropy)
        db.session.commit()
        return draw

    return run


@pytest.fixture
def draw_inspectors(app):
    from server.draws import services

    def run(task, entropy: str = "1 1 4"):
        draw = services.commit_inspector_draw(task)
        db.session.commit()
        draw = services.perform_draw(draw.id, witnesses=services.clean_witnesses(WITNESSES),
                                     witness_entropy=entropy)
        db.session.commit()
        return draw

    return run


def draw_count(task=None) -> int:
    from server.draws.models import Draw

    stmt = select(Draw.id)
    if task is not None:
        stmt = stmt.where(Draw.task_id == task.id)
    return len(db.session.execute(stmt).all())


@pytest.fixture
def make_check_item(app):
    """Create a check item initiated by ``initiator`` (with ``cooperating``) and a published checklist
    of the initiator; return (item, template)."""
    from server.catalog import services as catalog
    from server.catalog.models import QuestionType

    def make(initiator, cooperating=()):
        edition = catalog.create_edition(title="武陟县抽查事项清单（第一版）", issuer_id=initiator.id)
        item = catalog.create_item(edition, catalog.clean_item_data({
            "domain": "成品油市场监管", "name": "成品油经营资质检查", "content": "是否具备经营条件",
            "legal_basis": "《成品油市场管理办法》", "object_scope": "具有成品油经营批准证书的企业",
            "object_type": "enterprise", "initiating_department_id": str(initiator.id),
            "cooperating_department_ids": [str(d.id) for d in cooperating], "methods": ["onsite"],
            "default_ratio": "0.03", "frequency": "每年1次", "times_per_year": "1", "code": "T-001",
        }))
        template = catalog.create_template(item, initiator.id)
        catalog.add_question(template, catalog.QuestionData(
            kind=QuestionType.YES_NO_NA, text="是否持有有效的成品油零售经营批准证书？", required=True,
            help_text=None, legal_basis=None, options=None, unit=None, min_value=None, max_value=None))
        catalog.publish_template(template)
        db.session.commit()
        return item, template

    return make
