"""Who may read and who may edit the list and the checklists."""

import pytest

from server.auth.roles import Role
from server.catalog import services
from server.catalog.models import CheckItem, ListEdition, Status
from server.extensions import db

from .conftest import audit_count, item_form


def test_reading_needs_login(client, make_edition):
    make_edition(items=1)
    resp = client.get("/catalog/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.AUDITOR, Role.REVIEWER])
def test_any_logged_in_user_reads(login_as, client, make_edition, role):
    item = make_edition(items=1).items[0]
    login_as("reader", role)
    assert client.get("/catalog/").status_code == 200
    assert client.get(f"/catalog/items/{item.id}").status_code == 200
    assert client.get("/catalog/editions").status_code == 200


@pytest.mark.parametrize("role", [Role.DEPT_ADMIN, Role.INSPECTOR, Role.TASK_INITIATOR])
def test_only_admin_and_joint_office_manage_editions(login_as, client, make_edition, depts, role):
    edition = make_edition(items=1)
    login_as("someone", role, department=depts["商务局"])
    before = audit_count()
    assert client.post(f"/catalog/editions/{edition.id}/publish").status_code == 403
    assert client.post(f"/catalog/editions/{edition.id}/delete").status_code == 403
    assert client.post("/catalog/editions", data={"title": "x", "issuer_id": depts["商务局"].id}).status_code == 403
    assert db.session.get(ListEdition, edition.id).status is Status.DRAFT and audit_count() == before


def test_joint_office_publishes(login_as, client, make_edition):
    edition = make_edition(items=1)
    login_as("office", Role.JOINT_OFFICE)
    assert client.post(f"/catalog/editions/{edition.id}/publish").status_code == 302


def test_dept_admin_edits_own_departments_item(login_as, client, make_edition, depts):
    item = make_edition(items=1).items[0]  # initiated by 商务局
    login_as("swj", Role.DEPT_ADMIN, department=depts["商务局"])
    resp = client.post(f"/catalog/items/{item.id}/edit", data=item_form(depts, name="本部门修改"))
    assert resp.status_code == 302


def test_dept_admin_of_other_department_gets_403(login_as, client, make_edition, depts):
    item = make_edition(items=1).items[0]
    login_as("nyj", Role.DEPT_ADMIN, department=depts["农业农村局"])
    before = audit_count()
    assert client.get(f"/catalog/items/{item.id}/edit").status_code == 403
    assert client.post(f"/catalog/items/{item.id}/edit", data=item_form(depts, name="越权")).status_code == 403
    assert client.post(f"/catalog/items/{item.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(CheckItem, item.id).name == "事项1" and audit_count() == before


def test_dept_admin_cannot_add_item_for_another_department(login_as, client, make_edition, depts):
    edition = make_edition(items=0)
    login_as("nyj", Role.DEPT_ADMIN, department=depts["农业农村局"])
    resp = client.post(f"/catalog/editions/{edition.id}/items/new", data=item_form(depts))  # 商务局 item
    assert resp.status_code == 403
    assert db.session.get(ListEdition, edition.id).items == []


def test_dept_admin_cannot_move_own_item_to_another_department(login_as, client, make_edition, depts):
    item = make_edition(items=1).items[0]
    login_as("swj", Role.DEPT_ADMIN, department=depts["商务局"])
    resp = client.post(f"/catalog/items/{item.id}/edit", data=item_form(
        depts, initiating_department_id=str(depts["农业农村局"].id)))
    assert resp.status_code == 403


def test_inspector_cannot_edit_items(login_as, client, make_edition, depts):
    edition = make_edition(items=1)
    login_as("insp", Role.INSPECTOR, department=depts["商务局"])
    assert client.get(f"/catalog/editions/{edition.id}/items/new").status_code == 403
    assert client.post(f"/catalog/items/{edition.items[0].id}/edit", data=item_form(depts)).status_code == 403


def test_checklist_editing_follows_the_owning_department(login_as, client, make_edition, make_template, depts):
    item = make_edition(items=1, publish=True).items[0]
    own = make_template(item, depts["市场监督管理局"])
    other = make_template(item, depts["商务局"])
    login_as("scj", Role.DEPT_ADMIN, department=depts["市场监督管理局"])
    ok = client.post(f"/catalog/checklists/{own.id}/questions/new", data={"kind": "text", "text": "新问题"})
    assert ok.status_code == 302
    before = audit_count()
    denied = client.post(f"/catalog/checklists/{other.id}/questions/new", data={"kind": "text", "text": "越权"})
    assert denied.status_code == 403
    assert client.post(f"/catalog/checklists/{other.id}/publish").status_code == 403
    assert len(db.session.get(type(other), other.id).questions) == 2 and audit_count() == before


def test_inspector_cannot_create_checklists(login_as, client, make_edition, depts):
    item = make_edition(items=1, publish=True).items[0]
    login_as("insp", Role.INSPECTOR, department=depts["商务局"])
    resp = client.post(f"/catalog/items/{item.id}/checklists", data={"department_id": depts["商务局"].id})
    assert resp.status_code == 403
    assert services.latest_template(item, depts["商务局"]) is None


def test_readers_see_no_edit_buttons(login_as, client, make_edition, make_template):
    item = make_edition(items=1).items[0]
    t = make_template(item)
    login_as("insp", Role.INSPECTOR)
    assert "添加事项" not in client.get("/catalog/").get_data(as_text=True)
    assert "添加问题" not in client.get(f"/catalog/checklists/{t.id}").get_data(as_text=True)
