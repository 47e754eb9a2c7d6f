"""The demo loader: the real 4-row list of 武陟县 (seed 003) with published checklists."""

import pytest
from sqlalchemy import func, select

from server.audit.services import verify_chain
from server.catalog import services
from server.catalog.demo import load_demo_catalog
from server.catalog.models import ChecklistTemplate, ListEdition, QuestionType, Status
from server.extensions import db


@pytest.fixture
def loaded(depts):
    items = load_demo_catalog(depts)
    db.session.commit()
    return items


def test_demo_list_is_the_published_first_edition(loaded):
    edition = loaded[0].edition
    assert edition.title == "武陟县市场监管领域部门联合抽查事项清单（第一版）"
    assert edition.status is Status.PUBLISHED and services.current_edition() == edition
    assert edition.issuer.name == "武陟县市场监督管理局"


def test_demo_rows_match_seed_003(loaded):
    rows = [(i.seq, i.domain[:6], i.initiating_department.short_name,
             [d.short_name for d in i.cooperating_departments]) for i in loaded]
    assert rows == [
        (1, "成品油市场监", "商务局", ["市场监督管理局"]),
        (2, "种子生产企业", "农业农村局", ["市场监督管理局"]),
        (3, "对生产经营单", "应急管理局", ["市场监督管理局"]),
        (4, "环境监测机构", "市场监督管理局", ["环境保护局"]),
    ]
    assert loaded[0].object_scope == "具有成品油经营批准证书的企业"
    assert "非法转让成品油经营批准证书" in loaded[0].content
    assert "《种子法》" in loaded[1].legal_basis.replace("中华人民共和国", "")
    assert "《检验检测机构监督管理办法》" in loaded[3].legal_basis


def test_demo_has_a_published_checklist_per_participating_department(loaded):
    for item in loaded:
        for dept in item.departments:
            t = services.current_template(item, dept)
            assert t is not None and t.status is Status.PUBLISHED
            assert 5 <= len(t.questions) <= 10
            assert all(q.text for q in t.questions)


def test_demo_checklists_use_every_question_type(loaded):
    kinds = {q.kind for t in db.session.execute(select(ChecklistTemplate)).scalars() for q in t.questions}
    assert kinds == set(QuestionType)
    choice = [q for t in db.session.execute(select(ChecklistTemplate)).scalars() for q in t.questions
              if q.kind.has_options]
    assert all(len(q.options) >= 2 for q in choice)


def test_demo_loader_is_idempotent(depts, loaded):
    again = load_demo_catalog(depts)
    assert [i.id for i in again] == [i.id for i in loaded]
    assert db.session.execute(select(func.count()).select_from(ListEdition)).scalar_one() == 1


def test_demo_loader_names_a_missing_department(depts):
    partial = {k: v for k, v in depts.items() if k != "环境保护局"}
    with pytest.raises(KeyError, match="环境保护局"):
        load_demo_catalog(partial)


def test_demo_loading_is_audited(loaded):
    assert verify_chain().ok


# -- demo truth (issue 7 §8) -----------------------------------------------------------------------

def _demo_texts(loaded) -> list[str]:
    """Every legal basis the demo writes: items' and checklist questions'."""
    texts = [i.legal_basis for i in loaded]
    texts += [q.legal_basis or "" for t in db.session.execute(select(ChecklistTemplate)).scalars()
              for q in t.questions]
    return texts


def test_no_demo_legal_basis_cites_the_repealed_measure(loaded):
    # 《成品油市场管理办法》 (商务部令2006年第23号) was repealed in 2020; the measure in force is
    # 《成品油流通管理办法》 (商务部令2025年第4号, in force since 2025-09-01)
    texts = _demo_texts(loaded)
    assert not [t for t in texts if "成品油市场管理办法" in t or "原油市场管理办法" in t]
    assert "《成品油流通管理办法》（商务部令2025年第4号）" in loaded[0].legal_basis
    oil_questions = [q for t in db.session.execute(select(ChecklistTemplate)).scalars()
                     if t.item_key_id == loaded[0].key_id for q in t.questions if q.legal_basis]
    assert oil_questions and not [q for q in oil_questions if "成品油市场管理办法" in q.legal_basis]


def test_seed_003_rows_are_kept_verbatim(loaded):
    from server.catalog.demo import SEED_ROWS

    # the real list of seed 003 (checked against the seed file), copied here so that a change of
    # the demo constants cannot pass unnoticed
    assert SEED_ROWS[1][1:] == ("种子生产企业专项检查", "农作物种子质量检查", "武陟县对口监管企业", "武陟县农业农村局",
                                "武陟县市场监督管理局")
    assert SEED_ROWS[0][2].startswith("1. 成品油经营资质，即是否具备经营条件。2. 成品油经营违法违规情况")
    for item, (seq, domain, content, scope, init, coop) in zip(loaded, SEED_ROWS, strict=True):
        assert (item.seq, item.domain, item.object_scope) == (seq, domain, scope)
        assert item.content.split("\n")[0] == content  # the real text first, unchanged
        assert item.initiating_department.name == init
        assert [d.name for d in item.cooperating_departments] == [coop]


def test_invented_demo_content_is_labelled(loaded):
    from server.catalog.demo import DEMO_MARK

    assert DEMO_MARK == "示例内容"
    assert DEMO_MARK in loaded[0].edition.note
    for item in loaded:
        assert DEMO_MARK in item.legal_basis  # every legal basis is the demo's own addition
        extra = item.content.split("\n")[1:]
        assert all(DEMO_MARK in line for line in extra)  # any detail beyond the seed's text is marked
    templates = db.session.execute(select(ChecklistTemplate)).scalars().all()
    assert templates and all(DEMO_MARK in t.title for t in templates)
