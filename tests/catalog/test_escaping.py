"""HTML or script typed into names is shown as text on every page, never run."""

import pytest

from server.catalog import services
from server.extensions import db

from .conftest import item_form

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def evil(make_edition, depts, make_template):
    edition = services.create_edition(title=f"清单{EVIL}", issuer_id=depts["市场监督管理局"].id)
    item = services.create_item(edition, services.clean_item_data(item_form(
        depts, name=f"事项{EVIL}", domain=f"领域{EVIL}", content=f"内容{EVIL}", legal_basis=f"依据{EVIL}",
        object_scope=f"对象{EVIL}")))
    services.publish_edition(edition)
    t = services.create_template(item, depts["商务局"].id, title=f"检查表{EVIL}")
    services.add_question(t, services.clean_question_data({
        "kind": "single_choice", "text": f"问题{EVIL}", "options": f"选项{EVIL}\n否", "help_text": f"说明{EVIL}",
        "legal_basis": f"依据{EVIL}"}))
    db.session.commit()
    return {"edition": edition, "item": item, "template": t}


def _assert_escaped(text: str) -> None:
    assert "&lt;script&gt;" in text
    assert "<script>alert" not in text


@pytest.mark.parametrize("url", [
    "/catalog/", "/catalog/?q=script", "/catalog/editions", "/catalog/items/{item}",
    "/catalog/checklists/{template}", "/catalog/checklists/{template}/preview",
    "/catalog/checklists/{template}/questions/{question}/edit", "/catalog/checklists/{template}/publish",
])
def test_back_office_pages_escape_names(admin, client, evil, url):
    resp = client.get(url.format(item=evil["item"].id, template=evil["template"].id,
                                 question=evil["template"].questions[0].id))
    assert resp.status_code == 200
    _assert_escaped(resp.get_data(as_text=True))


def test_public_page_escapes_names(client, evil):
    _assert_escaped(client.get("/public/check-items").get_data(as_text=True))


def test_draft_item_edit_form_escapes_input(admin, client, make_edition, depts):
    edition = make_edition(items=0)
    resp = client.post(f"/catalog/editions/{edition.id}/items/new",
                       data=item_form(depts, name=EVIL, default_ratio="2"))
    assert resp.status_code == 422
    _assert_escaped(resp.get_data(as_text=True))


def test_public_json_returns_names_verbatim_as_data(client, evil):
    resp = client.get("/api/public/check-items")
    assert resp.mimetype == "application/json"
    assert resp.get_json()["items"][0]["name"] == f"事项{EVIL}"
