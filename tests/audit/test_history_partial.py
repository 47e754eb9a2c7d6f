"""The reusable ``audit/_history.html`` partial other packages include on their detail pages."""

from flask import render_template_string

from server.audit.services import history, record

PAGE = '{% include "audit/_history.html" %}'


def test_history_shows_local_time_with_offset_actor_and_changed_fields(app, admin, client):
    record("department.update", "department", 7, before={"name": "旧名称"}, after={"name": "新名称"})
    with app.test_request_context("/"):
        html = render_template_string(PAGE, history=history("department", 7))
    assert "UTC+0800" in html
    assert "旧名称" in html and "新名称" in html
    assert "修改部门" in html
    assert "名称" in html


def test_history_is_newest_first(app, admin):
    record("department.create", "department", 8, after={"name": "甲"})
    record("department.update", "department", 8, before={"name": "甲"}, after={"name": "乙"})
    with app.test_request_context("/"):
        html = render_template_string(PAGE, history=history("department", 8))
    assert html.index("修改部门") < html.index("新建部门")


def test_history_escapes_markup_in_values(app, admin):
    record("department.update", "department", 9, before={"name": "a"}, after={"name": "<script>x</script>"})
    with app.test_request_context("/"):
        html = render_template_string(PAGE, history=history("department", 9))
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;" in html


def test_history_without_entries_says_so(app):
    with app.test_request_context("/"):
        html = render_template_string(PAGE, history=[])
    assert "暂无变更记录" in html
