"""The public list: HTML page and JSON, without login, current edition and history only."""

from server.catalog import services
from server.extensions import db


def test_public_page_needs_no_login(client, make_edition):
    make_edition(items=2, publish=True)
    resp = client.get("/public/check-items")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "武陟县抽查事项清单（第一版）" in text and "事项1" in text and "《成品油市场管理办法》" in text
    assert "现行" in text


def test_public_page_without_any_published_edition(client, make_edition):
    make_edition(items=1)  # a draft only
    text = client.get("/public/check-items").get_data(as_text=True)
    assert "尚未发布抽查事项清单" in text and "事项1" not in text


def test_public_json_lists_the_current_edition(client, make_edition):
    make_edition(items=2, publish=True)
    body = client.get("/api/public/check-items").get_json()
    assert body["edition"]["number"] == 1 and body["edition"]["issuer"] == "武陟县市场监督管理局"
    first = body["items"][0]
    assert first["code"] == "T-001" and first["default_ratio"] == "0.0300"
    assert first["initiating_department"] == "武陟县商务局"
    assert first["cooperating_departments"] == ["武陟县市场监督管理局"]
    assert first["methods"] == [{"code": "onsite", "label": "实地检查"}, {"code": "documents", "label": "书面检查"}]


def test_public_json_holds_no_internal_data(client, make_edition, make_template):
    item = make_edition(items=1, publish=True).items[0]
    make_template(item)
    body = client.get("/api/public/check-items").get_json()
    assert set(body) == {"edition", "items", "editions"}
    assert set(body["items"][0]) == {
        "seq", "code", "domain", "name", "content", "legal_basis", "object_scope", "object_type",
        "object_type_label", "initiating_department", "cooperating_departments", "methods",
        "default_ratio", "frequency", "times_per_year"}
    assert "id" not in body["edition"] and "status" not in body["edition"]


def test_public_list_never_shows_a_draft(client, make_edition):
    first = make_edition(items=1, publish=True)
    draft = services.create_edition(title="清单（第二版草稿）", issuer_id=first.issuer_id)
    services.create_item(draft, services.clean_item_data({
        **{k: v for k, v in _form(first).items()}, "name": "草稿里的新事项", "code": "NEW-1"}))
    db.session.commit()
    body = client.get("/api/public/check-items").get_json()
    assert [e["number"] for e in body["editions"]] == [1]
    assert all(i["name"] != "草稿里的新事项" for i in body["items"])
    assert "草稿里的新事项" not in client.get("/public/check-items").get_data(as_text=True)
    assert client.get("/api/public/check-items?edition=2").status_code == 404


def test_public_history_lists_published_editions_and_opens_old_ones(client, make_edition):
    first = make_edition(items=1, publish=True)
    second = services.create_edition(title="清单（第二版）", issuer_id=first.issuer_id)
    second.items[0].name = "第二版的名称"
    services.publish_edition(second)
    db.session.commit()
    body = client.get("/api/public/check-items").get_json()
    assert [e["number"] for e in body["editions"]] == [2, 1]
    assert body["items"][0]["name"] == "第二版的名称"
    old = client.get("/api/public/check-items?edition=1").get_json()
    assert old["items"][0]["name"] == "事项1"
    page = client.get("/public/check-items?edition=1").get_data(as_text=True)
    assert "历史版本" in page and "清单（第二版）" in page


def _form(edition):
    item = edition.items[0]
    return {"domain": item.domain, "name": item.name, "content": item.content, "legal_basis": item.legal_basis,
            "object_scope": item.object_scope, "object_type": item.object_type.value,
            "initiating_department_id": item.initiating_department_id, "methods": item.methods,
            "default_ratio": str(item.default_ratio), "frequency": item.frequency}
