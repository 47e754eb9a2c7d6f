"""Back-office screens of the registries: lists, details, forms, access."""

from __future__ import annotations

from sqlalchemy import func, select

from server.auth.roles import Role
from server.extensions import db
from server.registry.models import InspectedObject, Inspector, RiskClass

XSS = "<script>alert(1)</script>"


def _objects() -> int:
    return db.session.execute(select(func.count()).select_from(InspectedObject)).scalar_one()


def test_lists_require_login(client):
    assert client.get("/objects/").status_code == 302
    assert client.get("/inspectors/").status_code == 302


def test_object_list_searches_and_shows_risk_to_logged_in_users(admin, client, make_object):
    make_object("武陟县鑫盛食品有限公司", risk_class=RiskClass.D, abnormal_list=True)
    make_object("温县华达建材有限公司")
    html = client.get("/objects/?q=鑫盛").get_data(as_text=True)
    assert "武陟县鑫盛食品有限公司" in html and "温县华达建材有限公司" not in html
    assert "经营异常名录" in html and 'class="badge danger">D<' in html
    assert "共 1 条" in html


def test_object_detail_shows_departments_and_history(admin, client, h, make_department):
    dept = make_department("武陟县市场监督管理局")
    resp = client.post("/objects/new", data={**h.object_form(), "supervising_departments": [dept.code]})
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "武陟县市场监督管理局" in html and "变更历史" in html and "admin" in html


def test_create_form_keeps_input_on_error(admin, client, h):
    resp = client.post("/objects/new", data=h.object_form(code=h.bad_check_code(), name="保留的名称"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "校验位" in html and 'value="保留的名称"' in html
    assert _objects() == 0


def test_duplicate_code_in_form_is_409_with_message(admin, client, h, make_object):
    obj = make_object("已登记公司")
    resp = client.post("/objects/new", data=h.object_form(code=obj.code))
    assert resp.status_code == 409 and "已登记为“已登记公司”" in resp.get_data(as_text=True)
    assert _objects() == 1


def test_names_with_html_are_escaped(admin, client, h, make_department):
    resp = client.post("/objects/new", data=h.object_form(name=XSS))
    assert resp.status_code == 302
    for url in ("/objects/", resp.headers["Location"]):
        html = client.get(url).get_data(as_text=True)
        assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    dept = make_department()
    resp = client.post("/inspectors/new", data=h.inspector_form(dept, name=XSS))
    assert resp.status_code == 302
    for url in ("/inspectors/", resp.headers["Location"]):
        html = client.get(url).get_data(as_text=True)
        assert XSS not in html and "&lt;script&gt;" in html


def test_stale_edit_is_409_and_keeps_input(admin, client, h, make_object):
    obj = make_object("原名称公司")
    form = {**h.object_form(code=obj.code, name="我的修改"), "version": str(obj.version)}
    obj.industry = "他人修改"
    db.session.commit()
    resp = client.post(f"/objects/{obj.id}/edit", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "已被他人修改" in html and 'value="我的修改"' in html
    db.session.expire_all()
    assert db.session.get(InspectedObject, obj.id).name == "原名称公司"


def test_edit_object_saves(admin, client, h, make_object):
    obj = make_object("原名称公司")
    resp = client.post(f"/objects/{obj.id}/edit",
                       data={**h.object_form(code=obj.code, name="新名称公司"), "version": str(obj.version)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(InspectedObject, obj.id).name == "新名称公司"


def test_non_admin_code_exception_is_403(make_user, auth, client, h):
    make_user("office", roles=(Role.JOINT_OFFICE,))
    auth.login("office")
    resp = client.post("/objects/new", data={**h.object_form(code=h.bad_check_code()),
                                              "code_exception_reason": "早期试点赋码已核实"})
    assert resp.status_code == 403 and "校验位错误" in resp.get_data(as_text=True)
    assert _objects() == 0


def test_admin_code_exception_through_the_form(admin, client, h):
    resp = client.post("/objects/new", data={**h.object_form(code=h.bad_check_code()),
                                              "code_exception_reason": "早期试点赋码已核实"})
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "经确认的例外代码" in html and "早期试点赋码已核实" in html


def test_exception_field_only_shown_to_system_admin(make_user, auth, client):
    make_user("office", roles=(Role.JOINT_OFFICE,))
    auth.login("office")
    assert "code_exception_reason" not in client.get("/objects/new").get_data(as_text=True)


def test_reader_cannot_open_object_form(make_user, auth, client):
    make_user("reader", roles=(Role.AUDITOR,))
    auth.login("reader")
    assert client.get("/objects/").status_code == 200
    assert client.get("/objects/new").status_code == 403


def test_inspector_list_and_filters(admin, client, make_inspector):
    make_inspector("张伟", expertise=("食品安全",))
    make_inspector("李娜", expertise=("成品油",), is_expert=True)
    html = client.get("/inspectors/?expertise=成品油").get_data(as_text=True)
    assert "李娜" in html and "张伟" not in html


def test_inspector_create_unknown_unit_keeps_input(admin, client, h, make_department):
    dept = make_department()
    resp = client.post("/inspectors/new", data=h.inspector_form(dept, unit="NOPE", name="保留姓名"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'value="保留姓名"' in html and "NOPE" in html
    assert db.session.execute(select(func.count()).select_from(Inspector)).scalar_one() == 0


def test_dept_admin_cannot_edit_inspector_of_other_department(make_user, auth, client, make_department,
                                                                make_inspector):
    own, other = make_department("商务局"), make_department("农业农村局")
    ins = make_inspector("赵六", department=other)
    make_user("dept", roles=(Role.DEPT_ADMIN,), department=own)
    auth.login("dept")
    assert client.get(f"/inspectors/{ins.id}/edit").status_code == 403
    assert client.get(f"/inspectors/{ins.id}").status_code == 200


def test_dept_admin_edits_objects(make_user, auth, client, make_department, make_object, h):
    own = make_department("商务局")
    obj = make_object("共享对象公司")
    make_user("dept", roles=(Role.DEPT_ADMIN,), department=own)
    auth.login("dept")
    resp = client.post(f"/objects/{obj.id}/edit",
                       data={**h.object_form(code=obj.code, name="共享对象公司（改）"), "version": str(obj.version)})
    assert resp.status_code == 302


def test_inspector_edit_saves_and_shows_history(admin, client, h, make_department):
    dept = make_department()
    resp = client.post("/inspectors/new", data=h.inspector_form(dept))
    ins = db.session.execute(select(Inspector)).scalar_one()
    resp = client.post(f"/inspectors/{ins.id}/edit",
                       data={**h.inspector_form(dept, title="科长"), "version": str(ins.version)})
    assert resp.status_code == 302
    html = client.get(f"/inspectors/{ins.id}").get_data(as_text=True)
    assert "科长" in html and "inspector.update" in html or "修改" in html
