"""The shapes of the object search that its indexes serve (see services._contains/_code_prefix and
models.POSTGRES_DDL): the same results, in the same order, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from server.extensions import db
from server.registry import codes, services


def _names(q: str) -> list[str]:
    stmt = services.search_objects(services.ObjectFilters(q=q), internal=True)
    return [o.name for o in db.session.execute(stmt).scalars()]


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def test_code_prefix_stops_before_the_next_prefix_and_is_in_code_order(make_object):
    in_range = [codes.make_valid(f"91410823{n:09d}") for n in (5, 1, 3)]
    after = codes.make_valid("91410824000000001")
    for i, code in enumerate([*in_range, after]):
        make_object(f"对象{i}", code=code)
    stmt = services.search_objects(services.ObjectFilters(q="91410823"))
    assert [o.code for o in db.session.execute(stmt).scalars()] == sorted(in_range)


def test_two_character_chinese_fragment(make_object, h):
    make_object("武陟县鑫盛食品有限公司", code=h.valid_code(1))
    make_object("温县盛鑫建材有限公司", code=h.valid_code(2))
    assert _names("鑫盛") == ["武陟县鑫盛食品有限公司"]
    assert _names("盛鑫") == ["温县盛鑫建材有限公司"]
    assert _names("有限") == ["武陟县鑫盛食品有限公司", "温县盛鑫建材有限公司"]  # 武 U+6B66 < 温 U+6E29


def test_one_character_fragment(make_object, h):
    make_object("武陟县鑫盛食品有限公司", code=h.valid_code(1))
    make_object("温县华达建材有限公司", code=h.valid_code(2))
    assert _names("鑫") == ["武陟县鑫盛食品有限公司"]


def test_fragment_with_letters_ignores_ascii_case(make_object, h):
    make_object("武陟县ABC商贸有限公司", code=h.valid_code(1))
    make_object("温县abd超市", code=h.valid_code(2))
    assert _names("abc商") == ["武陟县ABC商贸有限公司"]
    assert _names("c商") == ["武陟县ABC商贸有限公司"]  # two characters, one with a case
    assert _names("ab") == []  # letters and digits only: a credit-code search, not a name search


def test_names_are_ordered_by_code_point_on_both_databases(make_object, h):
    names = ["中国公司", "alpha公司", "一公司", "Zeta公司", "Alpha公司"]
    for i, name in enumerate(names):
        make_object(name, code=h.valid_code(i + 1))
    assert _names("公司") == sorted(names)  # Python sorts str by code point, like BINARY and "C"


def test_first_pages_and_later_pages_agree(make_object, h):
    for i in range(9):
        make_object(f"公司{i}", code=h.valid_code(100 + i), commit=False)
    db.session.commit()
    stmt = services.search_objects(services.ObjectFilters(q="公司"))
    counted = services.fetch_page(stmt, 2, 3, count_cap=100)
    plain = services.fetch_page(stmt, 2, 3, count_cap=None)
    assert [o.name for o in counted.items] == [o.name for o in plain.items] == ["公司3", "公司4", "公司5"]
    assert counted.has_next and counted.total == 9
    beyond_cap = services.fetch_page(stmt, 3, 3, count_cap=5)
    assert [o.name for o in beyond_cap.items] == ["公司6", "公司7", "公司8"] and not beyond_cap.has_next
    capped = services.fetch_page(stmt, 1, 3, count_cap=5)
    assert capped.total is None and capped.total_at_least == 5 and capped.has_next


def test_search_indexes_exist(app):
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("inspected_objects")}
    assert indexes["ix_inspected_objects_name"]["column_names"] == ["name", "id"]
    if _dialect() == "postgresql":
        assert {"ix_inspected_objects_name_trgm", "ix_inspected_objects_name_bigram"} <= set(indexes)
        collations = dict(db.session.execute(text(
            "SELECT column_name, collation_name FROM information_schema.columns "
            "WHERE table_name = 'inspected_objects' AND column_name IN ('code', 'name')")).all())
        assert collations == {"code": "C", "name": "C"}


def _plan(q: str) -> str:
    stmt = services.search_objects(services.ObjectFilters(q=q), internal=True).limit(51)
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if _dialect() == "sqlite" else "EXPLAIN "
    rows = db.session.execute(text(explain + str(compiled).replace("%%", "%"))).all()
    return "\n".join(str(r[-1] if _dialect() == "sqlite" else r[0]) for r in rows)


def test_code_prefix_is_an_ordered_index_range(make_object, h):
    make_object(code=h.valid_code(1))
    if _dialect() == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = _plan("91410823")
    assert "uq_inspected_objects_code" in plan or "sqlite_autoindex_inspected_objects" in plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan


@pytest.mark.parametrize(("q", "index"), [("鑫盛", "ix_inspected_objects_name_bigram"),
                                          ("鑫盛食", "ix_inspected_objects_name_trgm")])
def test_postgresql_name_fragments_can_use_their_gin_index(make_object, h, q, index):
    make_object(code=h.valid_code(1))
    if _dialect() != "postgresql":
        assert "ix_inspected_objects_name" in _plan(q)  # SQLite scans the narrow name index
        return
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    db.session.execute(text("SET LOCAL enable_indexscan = off"))
    db.session.execute(text("SET LOCAL enable_indexonlyscan = off"))
    assert index in _plan(q)
