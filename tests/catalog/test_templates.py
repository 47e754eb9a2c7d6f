"""Checklist templates: versions, immutability, used versions, questions and the editor."""

import pytest
from sqlalchemy import func, select

from server.audit.services import history
from server.catalog import services
from server.catalog.models import ChecklistQuestion, ChecklistTemplate, QuestionType, Status
from server.catalog.services import ValidationFailed
from server.core.errors import DomainError
from server.extensions import db

from .conftest import audit_count


@pytest.fixture
def item(make_edition):
    return make_edition(items=1, publish=True).items[0]


def _question(**overrides) -> dict:
    data = {"kind": "yes_no_na", "text": "是否持证经营？", "required": "1", "help_text": "核对原件",
            "legal_basis": "《成品油市场管理办法》"}
    data.update(overrides)
    return data


def test_template_belongs_to_a_participating_department(item, depts):
    with pytest.raises(ValidationFailed) as err:
        services.create_template(item, depts["应急管理局"].id)
    assert "发起部门或配合部门" in err.value.errors["department_id"]


def test_each_department_has_its_own_checklist(item, depts, make_template):
    a = make_template(item, depts["商务局"])
    b = make_template(item, depts["市场监督管理局"])
    assert (a.department_id, b.department_id) == (depts["商务局"].id, depts["市场监督管理局"].id)
    with pytest.raises(DomainError) as err:
        services.create_template(item, depts["商务局"].id)
    assert err.value.code == "template_exists"


def test_every_question_type_is_accepted(item, make_template):
    t = make_template(item, questions=0)
    for kind in QuestionType:
        extra = {"options": "甲\n乙\n丙"} if kind.has_options else {}
        if kind is QuestionType.NUMBER:
            extra = {"unit": "台", "min_value": "0", "max_value": "50"}
        services.add_question(t, services.clean_question_data(_question(kind=kind.value, **extra)))
    assert [q.kind for q in t.questions] == list(QuestionType)
    choice = t.questions[1]
    assert choice.options == ["甲", "乙", "丙"]
    number = t.questions[4]
    assert (number.unit, int(number.min_value), int(number.max_value)) == ("台", 0, 50)


@pytest.mark.parametrize("kind", ["single_choice", "multiple_choice"])
def test_choice_question_needs_options(kind):
    with pytest.raises(ValidationFailed) as err:
        services.clean_question_data(_question(kind=kind, options="只有一个"))
    assert "至少需要两个选项" in err.value.errors["options"]


def test_number_question_checks_its_range():
    with pytest.raises(ValidationFailed) as err:
        services.clean_question_data(_question(kind="number", min_value="10", max_value="1"))
    assert "最大值不能小于最小值" in err.value.errors["max_value"]
    with pytest.raises(ValidationFailed) as err:
        services.clean_question_data(_question(kind="number", min_value="abc"))
    assert "最小值须为数字" in err.value.errors["min_value"]


def test_question_text_and_type_are_required():
    with pytest.raises(ValidationFailed) as err:
        services.clean_question_data({"kind": "bogus", "text": " "})
    assert set(err.value.errors) == {"kind", "text"}


def test_published_template_is_immutable_in_the_service(item, make_template):
    t = make_template(item, publish=True)
    data = services.clean_question_data(_question())
    for attempt in (lambda: services.add_question(t, data),
                    lambda: services.update_question(t.questions[0], data),
                    lambda: services.delete_question(t.questions[0]),
                    lambda: services.move_question(t.questions[1], "up"),
                    lambda: services.update_template(t, title="新名称"),
                    lambda: services.publish_template(t),
                    lambda: services.delete_template(t)):
        with pytest.raises(DomainError) as err:
            attempt()
        assert err.value.code == "template_immutable"
    db.session.rollback()
    assert [q.text for q in db.session.get(ChecklistTemplate, t.id).questions] == ["问题1", "问题2"]


def test_guard_refuses_direct_orm_change_to_published_question(item, make_template):
    t = make_template(item, publish=True)
    t.questions[0].text = "绕过服务修改"
    with pytest.raises(DomainError) as err:
        db.session.flush()
    assert err.value.code == "template_immutable"
    db.session.rollback()


def test_new_version_copies_questions_into_a_draft(item, make_template):
    v1 = make_template(item, questions=3, publish=True)
    v2 = services.new_template_version(v1)
    assert (v2.version, v2.status, v2.title) == (2, Status.DRAFT, v1.title)
    assert [q.text for q in v2.questions] == [q.text for q in v1.questions]
    assert {q.id for q in v2.questions}.isdisjoint({q.id for q in v1.questions})
    with pytest.raises(DomainError) as err:
        services.new_template_version(v1)
    assert err.value.code == "draft_exists"


def test_current_template_is_the_latest_published(item, depts, make_template):
    assert services.current_template(item, depts["商务局"]) is None
    v1 = make_template(item, publish=True)
    v2 = services.new_template_version(v1)
    assert services.current_template(item, depts["商务局"]) == v1
    services.publish_template(v2)
    assert services.current_template(item, depts["商务局"].id) == v2
    assert services.current_template(item, depts["市场监督管理局"]) is None


def test_current_template_survives_a_new_edition(item, make_template):
    v1 = make_template(item, publish=True)
    draft = services.create_edition(title="第二版", issuer_id=item.edition.issuer_id)
    assert services.current_template(draft.items[0], item.initiating_department) == v1


def test_used_version_can_never_change_or_be_deleted(item, make_template):
    t = make_template(item, publish=True)
    services.mark_template_used(t)
    first = t.used_at
    services.mark_template_used(t)  # idempotent
    assert t.used and t.used_at == first
    for attempt in (lambda: services.delete_template(t), lambda: services.update_template(t, title="x")):
        with pytest.raises(DomainError) as err:
            attempt()
        assert err.value.code == "template_used"


def test_draft_cannot_be_marked_used(item, make_template):
    t = make_template(item)
    with pytest.raises(DomainError) as err:
        services.mark_template_used(t)
    assert err.value.code == "template_not_published"


def test_draft_can_be_deleted(item, make_template):
    t = make_template(item)
    services.delete_template(t)
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(ChecklistQuestion)).scalar_one() == 0
    assert history("checklist_template", t.id)[0].action == "checklist_template.delete"


def test_empty_template_cannot_be_published(item, make_template):
    t = make_template(item, questions=0)
    with pytest.raises(DomainError) as err:
        services.publish_template(t)
    assert err.value.code == "template_empty"


def test_move_question_up_and_down(item, make_template):
    t = make_template(item, questions=3)
    q3 = t.questions[2]
    services.move_question(q3, "up")
    assert [q.text for q in t.questions] == ["问题1", "问题3", "问题2"]
    services.move_question(q3, "up")
    services.move_question(q3, "up")  # already first: stays
    assert [q.text for q in t.questions] == ["问题3", "问题1", "问题2"]
    services.move_question(t.questions[0], "down")
    assert [q.text for q in t.questions] == ["问题1", "问题3", "问题2"]


def test_question_changes_are_audited_on_the_template(item, make_template):
    t = make_template(item, questions=1)
    services.update_question(t.questions[0], services.clean_question_data(_question(text="改过的问题")))
    entry = history("checklist_template", t.id)[0]
    assert entry.action == "checklist_template.question_update"
    assert entry.before["text"] == "问题1" and entry.after["text"] == "改过的问题"


# -- the editor screens ---------------------------------------------------------------------------


def test_editor_adds_a_question(admin, client, item, make_template):
    t = make_template(item, questions=0)
    resp = client.post(f"/catalog/checklists/{t.id}/questions/new",
                       data=_question(kind="single_choice", options="合格\n不合格"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(ChecklistTemplate, t.id).questions[0].options == ["合格", "不合格"]


def test_editor_rejects_choice_without_options_and_keeps_input(admin, client, item, make_template):
    t = make_template(item, questions=0)
    before = audit_count()
    resp = client.post(f"/catalog/checklists/{t.id}/questions/new",
                       data=_question(kind="multiple_choice", text="保留这个问题", options=""))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "至少需要两个选项" in text and "保留这个问题" in text
    assert db.session.get(ChecklistTemplate, t.id).questions == [] and audit_count() == before


def test_editor_refuses_editing_a_published_version(admin, client, item, make_template):
    t = make_template(item, publish=True)
    q = t.questions[0]
    before = audit_count()
    resp = client.post(f"/catalog/checklists/{t.id}/questions/{q.id}/edit", data=_question(text="改"))
    assert resp.status_code == 409
    assert "已发布的检查表版本不能修改" in resp.get_data(as_text=True)
    for url in (f"/catalog/checklists/{t.id}/questions/{q.id}/delete",
                f"/catalog/checklists/{t.id}/questions/new", f"/catalog/checklists/{t.id}/delete"):
        assert client.post(url, data=_question()).status_code == 409
    db.session.expire_all()
    assert [x.text for x in db.session.get(ChecklistTemplate, t.id).questions] == ["问题1", "问题2"]
    assert audit_count() == before


def test_editor_refuses_editing_a_used_version(admin, client, item, make_template):
    t = make_template(item, publish=True)
    services.mark_template_used(t)
    db.session.commit()
    resp = client.post(f"/catalog/checklists/{t.id}/delete")
    assert resp.status_code == 409 and "已被抽查任务使用" in resp.get_data(as_text=True)
    assert db.session.get(ChecklistTemplate, t.id) is not None


def test_editor_reorders_with_buttons(admin, client, item, make_template):
    t = make_template(item, questions=2)
    q2 = t.questions[1]
    resp = client.post(f"/catalog/checklists/{t.id}/questions/{q2.id}/move", data={"direction": "up"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert [q.text for q in db.session.get(ChecklistTemplate, t.id).questions] == ["问题2", "问题1"]


def test_editor_publish_and_new_version(admin, client, item, make_template):
    t = make_template(item)
    assert "确认发布" in client.get(f"/catalog/checklists/{t.id}/publish").get_data(as_text=True)
    assert client.post(f"/catalog/checklists/{t.id}/publish").status_code == 302
    resp = client.post(f"/catalog/checklists/{t.id}/new-version")
    assert resp.status_code == 302
    db.session.expire_all()
    versions = services.template_versions(t.item_key_id, t.department_id)
    assert [(v.version, v.status) for v in versions] == [(2, Status.DRAFT), (1, Status.PUBLISHED)]


def test_create_checklist_from_item_page(admin, client, item, depts):
    resp = client.post(f"/catalog/items/{item.id}/checklists", data={"department_id": depts["市场监督管理局"].id})
    assert resp.status_code == 302
    t = db.session.execute(select(ChecklistTemplate)).scalar_one()
    assert t.department_id == depts["市场监督管理局"].id and t.version == 1


def test_checklist_page_shows_questions_versions_and_history(admin, client, item, make_template):
    t = make_template(item)
    text = client.get(f"/catalog/checklists/{t.id}").get_data(as_text=True)
    assert "问题1" in text and "第 1 版" in text and "checklist_template.question_add" in text
    assert "上移" in text and "添加问题" in text


def test_preview_renders_each_question_type(admin, client, item, make_template):
    t = make_template(item, questions=0)
    for kind in QuestionType:
        extra = {"options": "甲\n乙"} if kind.has_options else {}
        services.add_question(t, services.clean_question_data(_question(kind=kind.value, text=f"题{kind.value}", **extra)))
    db.session.commit()
    text = client.get(f"/catalog/checklists/{t.id}/preview").get_data(as_text=True)
    assert 'type="radio"' in text and 'type="checkbox"' in text and 'type="date"' in text
    assert 'type="number"' in text and 'capture="environment"' in text and "<textarea" in text
    assert "不适用" in text and "须现场拍照" in text
