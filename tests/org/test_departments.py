"""Departments: tree, search, detail with history, create/edit with the tree rules, deactivate."""

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.auth.roles import Role
from server.extensions import db
from server.org.models import Department, Kind, Level


def _count(model=Department) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _form(**over):
    data = {"code": "NEW1", "name": "武陟县商务局", "short_name": "商务局", "level": "county",
            "kind": "department", "region": "河南省焦作市武陟县", "parent_id": ""}
    data.update(over)
    return data


def test_tree_lists_units_under_their_department(admin, client, tree):
    html = client.get("/departments/").get_data(as_text=True)
    assert html.index("焦作市市场监督管理局") < html.index("武陟县市场监督管理局") < html.index("木城市场监管所")
    assert 'class="depth-2 unit"' in html


def test_search_finds_by_name_fragment(admin, client, tree):
    html = client.get("/departments/?q=木城").get_data(as_text=True)
    assert "木城市场监管所" in html
    assert "焦作市市场监督管理局</a>" not in html


def test_any_logged_in_user_reads_departments(make_user, auth, client, tree):
    make_user("insp", roles=(Role.INSPECTOR,))
    auth.login("insp")
    resp = client.get(f"/departments/{tree['county'].id}")
    assert resp.status_code == 200
    assert "编辑" not in resp.get_data(as_text=True).split("<main", 1)[1].split("变更历史")[0]


def test_inspector_cannot_create_department(make_user, auth, client):
    make_user("insp", roles=(Role.INSPECTOR,))
    auth.login("insp")
    resp = client.post("/departments/new", data=_form())
    assert resp.status_code == 403
    assert _count() == 0


def test_joint_office_creates_department_and_it_is_audited(make_user, auth, client, tree):
    make_user("office", roles=(Role.JOINT_OFFICE,))
    auth.login("office")
    resp = client.post("/departments/new", data=_form(parent_id=str(tree["city"].id)))
    assert resp.status_code == 302
    dept = db.session.execute(select(Department).where(Department.code == "NEW1")).scalar_one()
    assert dept.parent_id == tree["city"].id and dept.level is Level.COUNTY
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "department.create")).scalar_one()
    assert entry.after["name"] == "武陟县商务局" and entry.actor_name == "office"


def test_detail_shows_history_after_edit(admin, client, tree):
    county = tree["county"]
    client.post(f"/departments/{county.id}/edit", data=_form(code="COUNTY", name="武陟县市场监管局",
                                                              parent_id=str(tree["city"].id)))
    html = client.get(f"/departments/{county.id}").get_data(as_text=True)
    assert "变更历史" in html
    assert "武陟县市场监督管理局" in html.split("变更历史")[1]  # the old name, in the history
    assert "修改部门" in html


def test_duplicate_code_is_refused_and_form_keeps_input(admin, client, tree):
    before = _count()
    resp = client.post("/departments/new", data=_form(code="county", name="另一个局"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "部门编码 county 已被“武陟县市场监督管理局”使用" in html
    assert 'value="另一个局"' in html
    assert _count() == before


def test_parent_at_lower_level_is_refused(admin, client, tree):
    before = _count()
    resp = client.post("/departments/new", data=_form(level="city", parent_id=str(tree["county"].id)))
    assert resp.status_code == 400
    assert "上级部门必须与本部门同级或更高" in resp.get_data(as_text=True)
    assert _count() == before


def test_unit_under_a_unit_is_refused(admin, client, tree):
    before = _count()
    resp = client.post("/departments/new", data=_form(kind="unit", parent_id=str(tree["station"].id)))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "“木城市场监管所”本身是内设机构或市场监管所，不能再设下级" in html
    assert "武陟县市场监督管理局" in html
    assert _count() == before


def test_unit_without_parent_is_refused(admin, client):
    resp = client.post("/departments/new", data=_form(kind="unit"))
    assert resp.status_code == 400
    assert "必须选择所属部门" in resp.get_data(as_text=True)
    assert _count() == 0


def test_department_cycle_is_refused_and_nothing_changes(admin, client, make_department):
    top = make_department("省局", level=Level.COUNTY, code="A")
    mid = make_department("中", level=Level.COUNTY, parent=top, code="B")
    low = make_department("下", level=Level.COUNTY, parent=mid, code="C")
    entries = _count(AuditEntry)
    resp = client.post(f"/departments/{top.id}/edit",
                       data=_form(code="A", name="省局", parent_id=str(low.id)))
    assert resp.status_code == 400
    assert "会形成循环" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Department, top.id).parent_id is None
    assert _count(AuditEntry) == entries


def test_department_cannot_become_its_own_parent(admin, client, tree):
    county = tree["county"]
    resp = client.post(f"/departments/{county.id}/edit",
                       data=_form(code="COUNTY", name=county.name, parent_id=str(county.id)))
    assert resp.status_code == 400
    db.session.expire_all()
    assert db.session.get(Department, county.id).parent_id == tree["city"].id


def test_department_with_units_cannot_become_a_unit(admin, client, tree):
    county = tree["county"]
    resp = client.post(f"/departments/{county.id}/edit",
                       data=_form(code="COUNTY", name=county.name, kind="unit", parent_id=str(tree["city"].id)))
    assert resp.status_code == 400
    assert "不能改为内设机构" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Department, county.id).kind is Kind.DEPARTMENT


def test_deactivate_with_active_units_is_refused(admin, client, tree):
    resp = client.post(f"/departments/{tree['county'].id}/active", data={"active": "0"})
    assert resp.status_code == 409
    assert "请先停用下级部门和机构：木城市场监管所" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Department, tree["county"].id).active is True


def test_deactivate_leaf_unit_is_audited(admin, client, tree):
    resp = client.post(f"/departments/{tree['station'].id}/active", data={"active": "0"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Department, tree["station"].id).active is False
    assert db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "department.deactivate")).scalar_one().entity_id \
        == str(tree["station"].id)


def test_inactive_departments_hidden_from_tree_by_default(admin, client, tree):
    client.post(f"/departments/{tree['station'].id}/active", data={"active": "0"})
    assert ">木城市场监管所</a>" not in client.get("/departments/").get_data(as_text=True)
    assert ">木城市场监管所</a>" in client.get("/departments/?status=all").get_data(as_text=True)


def test_script_in_name_is_escaped(admin, client):
    client.post("/departments/new", data=_form(name="<script>alert(1)</script>局"))
    dept = db.session.execute(select(Department)).scalar_one()
    for url in ("/departments/", f"/departments/{dept.id}", "/departments/?q=script"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;局" in html


def test_unknown_department_is_404(admin, client):
    resp = client.get("/departments/999")
    assert resp.status_code == 404
    assert "找不到该部门" in resp.get_data(as_text=True)
