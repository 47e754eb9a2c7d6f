"""Check items: validation (service and form), search, detail."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from server.catalog import services
from server.catalog.models import CheckItem
from server.catalog.services import ValidationFailed
from server.extensions import db

from .conftest import audit_count, item_form


def _items() -> int:
    return db.session.execute(select(func.count()).select_from(CheckItem)).scalar_one()


@pytest.mark.parametrize(("raw", "expected"), [
    ("0.03", Decimal("0.0300")), ("3%", Decimal("0.0300")), ("1", Decimal("1.0000")), ("100%", Decimal("1.0000")),
    (" 0.5 ", Decimal("0.5000")),
])
def test_ratio_accepts_fractions_and_percentages(raw, expected):
    assert services.parse_ratio(raw) == expected


@pytest.mark.parametrize(("raw", "message"), [
    ("0", "须大于 0 且不超过 1"), ("1.5", "须大于 0 且不超过 1"), ("-0.1", "须大于 0 且不超过 1"),
    ("abc", "不是数字"), ("NaN", "不是数字"), ("Infinity", "不是数字"), ("", "请填写默认抽查比例"),
    ("0.00001", "万分之一"),
])
def test_ratio_rejects_bad_values(app, raw, message):
    with pytest.raises(services.DomainError) as err:
        services.parse_ratio(raw)
    assert err.value.code == "bad_ratio" and message in err.value.message


@pytest.mark.parametrize("field", ["domain", "name", "content", "legal_basis", "object_scope", "frequency",
                                   "object_type", "initiating_department_id"])
def test_missing_required_field_is_named(depts, field):
    with pytest.raises(ValidationFailed) as err:
        services.clean_item_data(item_form(depts, **{field: ""}))
    assert field in err.value.errors


def test_at_least_one_method_is_required(depts):
    with pytest.raises(ValidationFailed) as err:
        services.clean_item_data(item_form(depts, methods=[]))
    assert err.value.errors["methods"] == "请至少选择一种检查方式。"


def test_unknown_method_is_refused(depts):
    with pytest.raises(ValidationFailed) as err:
        services.clean_item_data(item_form(depts, methods=["onsite", "telepathy"]))
    assert "methods" in err.value.errors


def test_unknown_departments_are_refused(depts):
    with pytest.raises(ValidationFailed) as err:
        services.clean_item_data(item_form(depts, initiating_department_id="99999",
                                           cooperating_department_ids=["88888"]))
    assert "发起部门不存在" in err.value.errors["initiating_department_id"]
    assert "88888" in err.value.errors["cooperating_department_ids"]


def test_initiating_department_cannot_also_cooperate(depts):
    with pytest.raises(ValidationFailed) as err:
        services.clean_item_data(item_form(depts, cooperating_department_ids=[str(depts["商务局"].id)]))
    assert "不能同时作为配合部门" in err.value.errors["cooperating_department_ids"]


def test_methods_are_stored_as_codes_in_stable_order(depts, make_edition):
    edition = make_edition(items=0)
    item = services.create_item(edition, services.clean_item_data(
        item_form(depts, methods=["sampling", "onsite", "sampling"])))
    assert item.methods == ["onsite", "sampling"]


def test_codes_are_generated_and_unique_within_an_edition(depts, make_edition):
    edition = make_edition(items=0)
    a = services.create_item(edition, services.clean_item_data(item_form(depts)))
    b = services.create_item(edition, services.clean_item_data(item_form(depts)))
    assert a.code != b.code and a.code.startswith("CI-")
    with pytest.raises(ValidationFailed) as err:
        services.create_item(edition, services.clean_item_data(item_form(depts, code=a.code)))
    assert "已存在" in err.value.errors["code"]


# -- the form -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ratio", "message"), [
    ("0", "须大于 0 且不超过 1"), ("1.01", "须大于 0 且不超过 1"), ("三成", "不是数字"),
])
def test_item_form_rejects_bad_ratio_and_keeps_input(admin, client, make_edition, depts, ratio, message):
    edition = make_edition(items=0)
    before_items, before_audit = _items(), audit_count()
    resp = client.post(f"/catalog/editions/{edition.id}/items/new",
                       data=item_form(depts, name="保留我的输入", default_ratio=ratio))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in text and 'value="保留我的输入"' in text and f'value="{ratio}"' in text
    assert _items() == before_items and audit_count() == before_audit


def test_item_form_reports_every_missing_field(admin, client, make_edition, depts):
    edition = make_edition(items=0)
    resp = client.post(f"/catalog/editions/{edition.id}/items/new",
                       data=item_form(depts, name="", legal_basis="", methods=[]))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "请填写抽查事项名称" in text and "请填写检查依据" in text and "请至少选择一种检查方式" in text
    assert _items() == 0


def test_item_form_rejects_unknown_department(admin, client, make_edition, depts):
    edition = make_edition(items=0)
    before = audit_count()
    resp = client.post(f"/catalog/editions/{edition.id}/items/new",
                       data=item_form(depts, initiating_department_id="424242"))
    assert resp.status_code == 422
    assert "发起部门不存在或已停用" in resp.get_data(as_text=True)
    assert _items() == 0 and audit_count() == before


def test_item_form_creates_item(admin, client, make_edition, depts):
    edition = make_edition(items=0)
    resp = client.post(f"/catalog/editions/{edition.id}/items/new", data=item_form(depts, default_ratio="3%"))
    assert resp.status_code == 302
    item = db.session.execute(select(CheckItem)).scalar_one()
    assert item.default_ratio == Decimal("0.03") and item.methods == ["onsite", "documents"]
    assert [d.name for d in item.cooperating_departments] == ["武陟县市场监督管理局"]


def test_edit_form_prefills_and_saves(admin, client, make_edition, depts):
    item = make_edition(items=1).items[0]
    page = client.get(f"/catalog/items/{item.id}/edit").get_data(as_text=True)
    assert 'value="0.03"' in page and 'value="事项1"' in page
    resp = client.post(f"/catalog/items/{item.id}/edit",
                       data=item_form(depts, name="改过的名称", row_version=str(item.row_version)))
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(CheckItem, item.id).name == "改过的名称"


def test_edit_form_with_stale_version_is_refused(admin, client, make_edition, depts):
    item = make_edition(items=1).items[0]
    resp = client.post(f"/catalog/items/{item.id}/edit",
                       data=item_form(depts, name="覆盖", row_version=str(item.row_version + 5)))
    assert resp.status_code == 409
    db.session.expire_all()
    assert db.session.get(CheckItem, item.id).name == "事项1"


def test_delete_item_in_draft(admin, client, make_edition):
    item = make_edition(items=2).items[0]
    assert client.post(f"/catalog/items/{item.id}/delete").status_code == 302
    assert _items() == 1


# -- list, search, detail -------------------------------------------------------------------------


def test_list_searches_and_filters(admin, client, make_edition, depts):
    edition = make_edition(items=0)
    services.create_item(edition, services.clean_item_data(item_form(depts, name="成品油经营检查")))
    services.create_item(edition, services.clean_item_data(item_form(
        depts, name="种子质量检查", domain="种子", initiating_department_id=str(depts["农业农村局"].id),
        cooperating_department_ids=[], object_type="cooperative")))
    db.session.commit()
    by_name = client.get("/catalog/?q=种子").get_data(as_text=True)
    assert "种子质量检查" in by_name and "成品油经营检查" not in by_name
    by_dept = client.get(f"/catalog/?department={depts['市场监督管理局'].id}").get_data(as_text=True)
    assert "成品油经营检查" in by_dept and "种子质量检查" not in by_dept
    by_type = client.get("/catalog/?object_type=cooperative").get_data(as_text=True)
    assert "种子质量检查" in by_type and "成品油经营检查" not in by_type
    by_domain = client.get("/catalog/?domain=种子").get_data(as_text=True)
    assert "种子质量检查" in by_domain and "成品油经营检查" not in by_domain


def test_list_pages(admin, client, app, make_edition):
    app.config["PAGE_SIZE"] = 2
    make_edition(items=5)
    first = client.get("/catalog/").get_data(as_text=True)
    assert "第 1 / 3 页" in first and "事项1" in first and "事项3" not in first
    third = client.get("/catalog/?page=3").get_data(as_text=True)
    assert "事项5" in third


def test_item_detail_shows_fields_checklists_and_history(admin, client, make_edition, make_template):
    item = make_edition(items=1).items[0]
    make_template(item)
    text = client.get(f"/catalog/items/{item.id}").get_data(as_text=True)
    for expected in ("《成品油市场管理办法》", "具有成品油经营批准证书的企业", "武陟县商务局", "武陟县市场监督管理局",
                     "实地检查、书面检查", "3%", "每年1次", "T-001", "check_item.create", "编制检查表"):
        assert expected in text


def test_a_unit_cannot_initiate_an_item(depts, make_department):
    from server.org.models import Kind

    station = make_department("木城市场监管所", kind=Kind.UNIT, parent=depts["市场监督管理局"])
    with pytest.raises(ValidationFailed) as err:
        services.clean_item_data(item_form(depts, initiating_department_id=str(station.id)))
    assert "发起部门不存在或已停用" in err.value.errors["initiating_department_id"]
