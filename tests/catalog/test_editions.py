"""Editions of the check-item list: draft → published, new edition copies, immutability."""

import pytest
from sqlalchemy import func, select

from server.audit.services import history
from server.catalog import services
from server.catalog.models import CheckItem, ListEdition, Status
from server.core.errors import DomainError
from server.extensions import db

from .conftest import audit_count, item_form


def test_first_edition_starts_as_empty_draft(app, depts):
    edition = services.create_edition(title="清单（第一版）", issuer_id=depts["市场监督管理局"].id)
    assert (edition.number, edition.status, edition.items) == (1, Status.DRAFT, [])
    assert services.current_edition() is None


def test_publishing_makes_the_draft_current(make_edition):
    edition = make_edition(items=2)
    services.publish_edition(edition)
    assert edition.status is Status.PUBLISHED and edition.published_at is not None
    assert services.current_edition() == edition


def test_empty_draft_cannot_be_published(make_edition):
    edition = make_edition(items=0)
    with pytest.raises(DomainError) as err:
        services.publish_edition(edition)
    assert err.value.code == "edition_empty"
    assert edition.status is Status.DRAFT


def test_new_edition_copies_items_and_keeps_their_codes(make_edition):
    first = make_edition(items=2, publish=True)
    second = services.create_edition(title="清单（第二版）", issuer_id=first.issuer_id)
    assert second.number == 2
    assert [i.code for i in second.items] == [i.code for i in first.items]
    assert [i.key_id for i in second.items] == [i.key_id for i in first.items]
    assert {i.id for i in second.items}.isdisjoint({i.id for i in first.items})
    assert [d.id for d in second.items[0].cooperating_departments] == \
        [d.id for d in first.items[0].cooperating_departments]


def test_publishing_second_edition_supersedes_the_first(make_edition):
    first = make_edition(items=1, publish=True)
    second = services.create_edition(title="清单（第二版）", issuer_id=first.issuer_id)
    services.publish_edition(second)
    assert services.current_edition() == second
    assert first.status is Status.PUBLISHED  # history stays


def test_only_one_draft_at_a_time(make_edition, depts):
    make_edition(items=1)
    with pytest.raises(DomainError) as err:
        services.create_edition(title="另一个草稿", issuer_id=depts["商务局"].id)
    assert err.value.code == "draft_exists"


def test_published_edition_refuses_item_changes(make_edition, depts):
    edition = make_edition(items=1, publish=True)
    item = edition.items[0]
    with pytest.raises(DomainError) as err:
        services.update_item(item, services.clean_item_data(item_form(depts, name="改名")))
    assert err.value.code == "edition_published"
    db.session.rollback()
    assert db.session.get(CheckItem, item.id).name == "事项1"


def test_published_edition_refuses_new_items_and_deletion(make_edition, depts):
    edition = make_edition(items=1, publish=True)
    with pytest.raises(DomainError, match="已发布"):
        services.create_item(edition, services.clean_item_data(item_form(depts, code="NEW-1")))
    with pytest.raises(DomainError):
        services.delete_item(edition.items[0])
    with pytest.raises(DomainError):
        services.delete_edition(edition)


def test_guard_refuses_direct_orm_change_to_published_item(make_edition):
    edition = make_edition(items=1, publish=True)
    edition.items[0].name = "绕过服务修改"
    with pytest.raises(DomainError) as err:
        db.session.flush()
    assert err.value.code == "edition_published"
    db.session.rollback()
    assert db.session.get(ListEdition, edition.id).items[0].name == "事项1"


def test_delete_draft_edition_removes_its_items(make_edition):
    edition = make_edition(items=2)
    services.delete_edition(edition)
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(CheckItem)).scalar_one() == 0


def test_edition_lifecycle_is_audited(make_edition):
    edition = make_edition(items=1)
    services.publish_edition(edition)
    actions = [e.action for e in history("check_list_edition", edition.id)]
    assert actions == ["check_list_edition.publish", "check_list_edition.create"]
    publish = history("check_list_edition", edition.id)[0]
    assert publish.before["status"] == "draft" and publish.after["status"] == "published"


def test_item_update_is_audited_with_before_and_after(make_edition, depts):
    item = make_edition(items=1).items[0]
    services.update_item(item, services.clean_item_data(item_form(depts, name="新名称", default_ratio="5%")))
    entry = history("check_item", item.id)[0]
    assert entry.action == "check_item.update"
    assert entry.before == {"name": "事项1", "default_ratio": "0.0300"}
    assert entry.after == {"name": "新名称", "default_ratio": "0.0500"}


def test_stale_item_edit_is_refused(make_edition, depts):
    item = make_edition(items=1).items[0]
    with pytest.raises(DomainError) as err:
        services.update_item(item, services.clean_item_data(item_form(depts)), expected_version=item.row_version - 1)
    assert err.value.code == "stale_item"


def test_publish_edition_via_screen_needs_confirmation(admin, client, make_edition):
    edition = make_edition(items=1)
    page = client.get(f"/catalog/editions/{edition.id}/publish")
    assert page.status_code == 200 and "确认发布" in page.get_data(as_text=True)
    assert db.session.get(ListEdition, edition.id).status is Status.DRAFT
    resp = client.post(f"/catalog/editions/{edition.id}/publish")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(ListEdition, edition.id).status is Status.PUBLISHED


def test_new_edition_via_screen_copies_current(admin, client, make_edition):
    first = make_edition(items=2, publish=True)
    resp = client.post("/catalog/editions", data={"title": "清单（第二版）", "issuer_id": str(first.issuer_id)})
    assert resp.status_code == 302
    second = services.draft_edition()
    assert second is not None and len(second.items) == 2


def test_new_edition_form_rejects_missing_title(admin, client, make_edition):
    first = make_edition(items=1, publish=True)
    before = audit_count()
    resp = client.post("/catalog/editions", data={"title": "  ", "issuer_id": str(first.issuer_id)})
    assert resp.status_code == 422
    assert "请填写清单名称" in resp.get_data(as_text=True)
    assert services.draft_edition() is None and audit_count() == before


def test_editing_published_edition_via_screen_is_refused(admin, client, make_edition):
    edition = make_edition(items=1, publish=True)
    resp = client.post(f"/catalog/editions/{edition.id}/edit", data={"title": "新名称", "issuer_id": str(edition.issuer_id)})
    assert resp.status_code == 409
    assert "已发布的清单版本不能修改" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ListEdition, edition.id).title == "武陟县抽查事项清单（第一版）"


def test_new_item_form_on_published_edition_is_refused(admin, client, make_edition, depts):
    edition = make_edition(items=1, publish=True)
    before = audit_count()
    resp = client.post(f"/catalog/editions/{edition.id}/items/new", data=item_form(depts, code="X-1"))
    assert resp.status_code == 409
    assert len(db.session.get(ListEdition, edition.id).items) == 1 and audit_count() == before


def test_editions_page_shows_history(admin, client, make_edition):
    first = make_edition(items=1, publish=True)
    services.create_edition(title="清单（第二版）", issuer_id=first.issuer_id)
    db.session.commit()
    text = client.get("/catalog/editions").get_data(as_text=True)
    assert "武陟县抽查事项清单（第一版）" in text and "清单（第二版）" in text
    assert "现行" in text and "草稿" in text
