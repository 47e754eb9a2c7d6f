"""User administration: list/search, create, edit, disable, password reset, scope of dept admins."""

from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.auth.models import User, UserSession
from server.auth.roles import Role
from server.extensions import db
from tests.conftest import PASSWORD


def _users() -> int:
    return db.session.execute(select(func.count()).select_from(User)).scalar_one()


def _user(username: str) -> User:
    db.session.expire_all()
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def _new(**over):
    data = {"username": "zhang.san", "display_name": "张三", "department_id": "", "phone": "0391-7221234",
            "password": "a-long-enough-pass", "roles": ["inspector"]}
    data.update(over)
    return data


def test_admin_creates_user_with_roles_and_it_is_audited(admin, client, depts):
    resp = client.post("/users/new", data=_new(department_id=str(depts["a"].id), roles=["inspector", "reviewer"]))
    assert resp.status_code == 302
    user = _user("zhang.san")
    assert user.roles == {Role.INSPECTOR, Role.REVIEWER} and user.department_id == depts["a"].id
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "user.create")
                               .order_by(AuditEntry.seq.desc())).scalars().first()
    assert entry.entity_id == str(user.id) and "password_hash" not in entry.after


def test_user_form_shows_chinese_role_labels(admin, client):
    html = client.get("/users/new").get_data(as_text=True)
    for label in ("系统管理员", "联席办", "部门管理员", "任务发起人", "执法检查人员", "审核人员", "部门负责人", "审计人员"):
        assert label in html


def test_duplicate_username_is_refused_case_insensitively(admin, client, make_user):
    make_user("zhang.san", roles=(Role.INSPECTOR,))
    before = _users()
    resp = client.post("/users/new", data=_new(username="Zhang.San", display_name="另一个张三"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "用户名 Zhang.San 已被使用" in html
    assert 'value="另一个张三"' in html  # the user's input is kept
    assert _users() == before


def test_weak_password_is_refused(admin, client):
    before = _users()
    resp = client.post("/users/new", data=_new(password="short"))
    assert resp.status_code == 400
    assert "密码至少需要 10 个字符" in resp.get_data(as_text=True)
    assert _users() == before


def test_user_without_roles_is_refused(admin, client):
    resp = client.post("/users/new", data=_new(roles=[]))
    assert resp.status_code == 400
    assert "请至少选择一个角色" in resp.get_data(as_text=True)
    assert _users() == 1


def test_password_is_stored_as_argon2_hash(admin, client):
    client.post("/users/new", data=_new())
    stored = _user("zhang.san").password_hash
    assert stored.startswith("$argon2id$")
    assert "a-long-enough-pass" not in stored


def test_search_filters_by_name_department_role_and_status(admin, client, make_user, depts):
    make_user("lisi", display_name="李四", roles=(Role.INSPECTOR,), department=depts["a"])
    make_user("wang", display_name="王五", roles=(Role.REVIEWER,), department=depts["b"])
    assert "李四" in client.get("/users/?q=李").get_data(as_text=True)
    assert "王五" not in client.get("/users/?q=李").get_data(as_text=True)
    html = client.get(f"/users/?department_id={depts['b'].id}").get_data(as_text=True)
    assert "王五" in html and "李四" not in html
    html = client.get("/users/?role=inspector").get_data(as_text=True)
    assert "李四" in html and "王五" not in html
    client.post(f"/users/{_user('wang').id}/active", data={"active": "0"})
    html = client.get("/users/?status=inactive").get_data(as_text=True)
    assert "王五" in html and "李四" not in html


def test_users_list_pages(app, admin, client, make_user):
    app.config["PAGE_SIZE"] = 2
    for i in range(4):
        make_user(f"user{i}", roles=(Role.INSPECTOR,))
    html = client.get("/users/?page=2").get_data(as_text=True)
    assert "第 2 / 3 页" in html


def test_edit_changes_name_roles_phone_and_history_shows_it(admin, client, make_user, depts):
    user = make_user("lisi", display_name="李四", roles=(Role.INSPECTOR,))
    resp = client.post(f"/users/{user.id}/edit", data={"display_name": "李四光", "department_id": str(depts["b"].id),
                                                       "phone": "13800000000", "roles": ["reviewer"]})
    assert resp.status_code == 302
    user = _user("lisi")
    assert (user.display_name, user.phone, user.roles) == ("李四光", "13800000000", {Role.REVIEWER})
    html = client.get(f"/users/{user.id}").get_data(as_text=True)
    history = html.split("变更历史")[1]
    assert "李四" in history and "李四光" in history


def test_admin_password_reset_ends_the_users_sessions(admin, client, make_user, login_as):
    user = make_user("lisi", roles=(Role.INSPECTOR,))
    other = login_as("lisi")
    resp = client.post(f"/users/{user.id}/password", data={"password": "brand-new-secret", "confirm": "brand-new-secret"})
    assert resp.status_code == 302
    assert other.get("/").status_code == 302  # sent to the login page
    assert login_as("lisi", "brand-new-secret").get("/").status_code == 200


def test_admin_password_reset_refuses_weak_password(admin, client, make_user):
    user = make_user("lisi", roles=(Role.INSPECTOR,))
    old_hash = user.password_hash
    resp = client.post(f"/users/{user.id}/password", data={"password": "short", "confirm": "short"})
    assert resp.status_code == 400
    assert "密码至少需要 10 个字符" in resp.get_data(as_text=True)
    assert _user("lisi").password_hash == old_hash


def test_admin_cannot_disable_own_account(admin, client):
    resp = client.post(f"/users/{admin.id}/active", data={"active": "0"})
    assert resp.status_code == 400
    assert "不能停用自己的账号" in resp.get_data(as_text=True)
    assert _user("admin").active


def test_script_in_display_name_is_escaped(admin, client):
    client.post("/users/new", data=_new(display_name="<script>alert(1)</script>"))
    user = _user("zhang.san")
    for url in ("/users/", f"/users/{user.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_inspector_cannot_open_users(make_user, auth, client):
    make_user("insp", roles=(Role.INSPECTOR,))
    auth.login("insp")
    assert client.get("/users/").status_code == 403


# -- department admins -----------------------------------------------------------------------------


def test_dept_admin_sees_only_own_department_and_its_units(dept_admin, client, make_user, depts):
    make_user("in_a", display_name="甲局人员", roles=(Role.INSPECTOR,), department=depts["a"])
    make_user("in_station", display_name="所里人员", roles=(Role.INSPECTOR,), department=depts["station"])
    make_user("in_b", display_name="乙局人员", roles=(Role.INSPECTOR,), department=depts["b"])
    html = client.get("/users/").get_data(as_text=True)
    assert "甲局人员" in html and "所里人员" in html
    assert "乙局人员" not in html


def test_dept_admin_editing_another_departments_user_is_forbidden(dept_admin, client, make_user, depts):
    other = make_user("in_b", display_name="乙局人员", roles=(Role.INSPECTOR,), department=depts["b"])
    resp = client.post(f"/users/{other.id}/edit", data={"display_name": "改名", "department_id": str(depts["b"].id),
                                                        "roles": ["inspector"]})
    assert resp.status_code == 403
    assert "您只能管理本部门的用户" in resp.get_data(as_text=True)
    assert _user("in_b").display_name == "乙局人员"
    assert client.get(f"/users/{other.id}").status_code == 403
    assert client.post(f"/users/{other.id}/active", data={"active": "0"}).status_code == 403
    assert _user("in_b").active


def test_dept_admin_cannot_grant_restricted_roles(dept_admin, client, depts):
    before = _users()
    resp = client.post("/users/new", data=_new(department_id=str(depts["a"].id), roles=["inspector", "auditor"]))
    assert resp.status_code == 403
    assert "部门管理员不能授予以下角色：审计人员" in resp.get_data(as_text=True)
    assert _users() == before


def test_dept_admin_cannot_create_user_in_another_department(dept_admin, client, depts):
    before = _users()
    resp = client.post("/users/new", data=_new(department_id=str(depts["b"].id)))
    assert resp.status_code == 403
    assert _users() == before


def test_dept_admin_cannot_reset_password_of_a_system_admin_in_own_department(dept_admin, client, make_user, depts):
    boss = make_user("boss", roles=(Role.SYSTEM_ADMIN,), department=depts["a"])
    resp = client.post(f"/users/{boss.id}/password", data={"password": "taken-over-123", "confirm": "taken-over-123"})
    assert resp.status_code == 403
    assert _user("boss").password_hash == boss.password_hash


def test_dept_admin_creates_user_in_own_unit(dept_admin, client, depts):
    resp = client.post("/users/new", data=_new(department_id=str(depts["station"].id)))
    assert resp.status_code == 302
    assert _user("zhang.san").department_id == depts["station"].id


def test_dept_admin_does_not_see_restricted_role_checkboxes(dept_admin, client):
    html = client.get("/users/new").get_data(as_text=True)
    assert 'value="auditor"' not in html and 'value="system_admin"' not in html


# -- one's own account -----------------------------------------------------------------------------


def test_change_own_password_requires_old_password(admin, client):
    old_hash = admin.password_hash
    resp = client.post("/account/password", data={"old_password": "wrong-password", "password": "new-password-123",
                                                   "confirm": "new-password-123"})
    assert resp.status_code == 400
    assert "原密码不正确" in resp.get_data(as_text=True)
    assert _user("admin").password_hash == old_hash


def test_change_own_password_ends_other_sessions_but_keeps_this_one(admin, client, login_as):
    other = login_as("admin")
    resp = client.post("/account/password", data={"old_password": PASSWORD, "password": "new-password-123",
                                                   "confirm": "new-password-123"})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_my_sessions_lists_sessions_and_ends_the_others(admin, client, login_as):
    other = login_as("admin", HTTP_USER_AGENT="OtherPhone/1.0")
    html = client.get("/account/sessions").get_data(as_text=True)
    assert "OtherPhone/1.0" in html and "当前设备" in html
    client.post("/account/sessions/end-others")
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 200
    live = db.session.execute(select(func.count()).select_from(UserSession)
                              .where(UserSession.revoked_at.is_(None))).scalar_one()
    assert live == 1


def test_cannot_end_someone_elses_session(admin, client, make_user, login_as):
    make_user("lisi", roles=(Role.INSPECTOR,))
    other = login_as("lisi")
    sid = db.session.execute(select(UserSession.id).join(User).where(User.username == "lisi")).scalar_one()
    assert client.post(f"/account/sessions/{sid}/end").status_code == 404
    assert other.get("/").status_code == 200
