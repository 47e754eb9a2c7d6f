"""One test per place the lists' confidentiality rule is applied [004§8(三)] (the crawl checks them
all at once; these say which place broke): task history, audit entries, audit search, the registry's
risk class, Cache-Control."""

from __future__ import annotations

from sqlalchemy import select

from server.audit.models import AuditEntry
from server.audit.services import record, set_actor, verify_chain
from server.extensions import db

REDACTED = "内容保密：检查结束前仅限有权人员查看"


def _entry(action, **where):
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditEntry, k) == v)
    return db.session.execute(stmt).scalars().first()


def test_teams_page_shows_a_member_of_another_team_no_replacement_names(world):
    """The teams page's history names the replaced and the substitute inspector (team 2): a team-1
    member does not learn who; the initiator and the head of a participating department do."""
    w = world
    url = f"/tasks/{w.task.id}/teams"
    member_page = w.clients["inspector_team1"].get(url).get_data(as_text=True)
    assert w.replaced_inspector.name not in member_page and w.substitute.name not in member_page
    for role in ("initiator", "dept_head"):
        page = w.clients[role].get(url).get_data(as_text=True)
        assert w.replaced_inspector.name in page and w.substitute.name in page, role


def test_task_page_history_hides_conflict_flags_and_replacements(world):
    """The planning task page's history (team.conflict_flag carries the object's code, the
    replacement note names inspectors) is redacted for whoever may not see the lists."""
    w = world
    for role in ("system_admin", "joint_office", "reviewer", "inspector_team1"):
        resp = w.clients[role].get(f"/tasks/{w.task.id}")
        body = resp.get_data(as_text=True)
        for s in (w.declared_object.code, w.replaced_inspector.name, w.substitute.name):
            assert s not in body, (role, s)
    body = w.clients["initiator"].get(f"/tasks/{w.task.id}").get_data(as_text=True)
    assert w.replaced_inspector.name in body


def test_audit_entries_of_teams_draws_and_conflicts_are_redacted_for_the_joint_office_and_system_admin(world):
    """The replacement (its note names both inspectors), the request (names the member), the
    conflict flag and the declaration (carry the object's code), a team's creation and a draw:
    content, actor, entity id and hash are hidden; the auditor sees all."""
    w = world
    entries = {
        "team.member_replaced": (_entry("team.member_replaced"), w.substitute.name),
        "team.replacement_requested": (_entry("team.replacement_requested"), w.replaced_inspector.name),
        "team.conflict_flag": (_entry("team.conflict_flag"), w.declared_object.code),
        "conflict.declare": (_entry("conflict.declare"), w.declared_object.code),
        "team.create": (_entry("team.create", entity_id=str(w.team2.id)), "members"),
        "draw.final": (_entry("draw.final", entity_id=str(w.object_draw.id)), "nonce_commitment"),
    }
    for action, (e, secret) in entries.items():
        assert e is not None, action
        url = f"/audit/{e.id}"
        for role in ("joint_office", "system_admin"):
            resp = w.clients[role].get(url)
            body = resp.get_data(as_text=True)
            assert resp.status_code == 200
            assert secret not in body and e.hash not in body, (role, action)
            assert REDACTED in body
        body = w.clients["auditor"].get(url).get_data(as_text=True)
        assert secret in body and e.hash in body, action


def test_audit_list_redacts_notes_and_actors_of_confidential_entries(world):
    w = world
    body = w.clients["joint_office"].get("/audit/?action=team.").get_data(as_text=True)
    assert 'data-redacted="1"' in body
    assert w.replaced_inspector.name not in body and w.substitute.name not in body
    body = w.clients["auditor"].get("/audit/?action=team.").get_data(as_text=True)
    assert w.replaced_inspector.name in body


def test_audit_search_does_not_reveal_that_a_redacted_entry_matched(world):
    """Searching the audit log by actor (a team member's login) or by entity id (the declarant)
    finds none of the confidential entries for the joint office; the auditor finds them."""
    w = world
    member = w.users["inspector_team1"].username
    declarant_user = db.session.get(type(w.users["auditor"]), w.replaced_inspector.user_id).username
    searches = [f"/audit/?actor={member}", f"/audit/?actor={declarant_user}",
                f"/audit/?entity_type=inspector&entity_id={w.replaced_inspector.id}",
                f"/audit/?entity_type=visit&entity_id={w.visits[0].id}"]
    for url in searches:
        joint = w.clients["joint_office"].get(url).get_data(as_text=True)
        assert "visit.status" not in joint and "conflict.declare" not in joint \
            and "team.replacement_requested" not in joint, url
        assert 'data-redacted="1"' not in joint, url
    auditor = "".join(w.clients["auditor"].get(u).get_data(as_text=True) for u in searches)
    assert "visit.status" in auditor and "conflict.declare" in auditor and "team.replacement_requested" in auditor


def test_redaction_is_on_display_only_the_audit_rows_stay_intact(world):
    w = world
    before = {e.id: (e.hash, e.after) for e in db.session.execute(select(AuditEntry)).scalars()}
    for role in ("joint_office", "system_admin"):
        w.clients[role].get("/audit/?entity_type=draw")
        w.clients[role].get(f"/audit/{_entry('draw.final').id}")
    db.session.expire_all()
    after = {e.id: (e.hash, e.after) for e in db.session.execute(select(AuditEntry)).scalars()}
    assert {k: v for k, v in after.items() if k in before} == before
    assert w.substitute.name in _entry("team.member_replaced").note
    assert verify_chain().ok


def test_a_team_member_sees_their_own_teams_audit_entry_not_the_other(world, app):
    from server.teams.access import may_see_audit_entry

    w = world
    user = w.users["inspector_team1"]
    with app.test_request_context():
        assert may_see_audit_entry(user, _entry("team.create", entity_id=str(w.team1.id)))
        assert not may_see_audit_entry(user, _entry("team.create", entity_id=str(w.team2.id)))
        assert not may_see_audit_entry(user, _entry("draw.final"))
        assert may_see_audit_entry(w.users["initiator"], _entry("draw.final"))
        assert not may_see_audit_entry(w.users["dept_head"], _entry("draw.final"))  # full record: no
        assert may_see_audit_entry(w.users["dept_head"], _entry("team.create", entity_id=str(w.team2.id)))


def test_after_the_visits_are_over_the_lists_entries_are_shown(world):
    from server.planning.models import TaskStatus

    w = world
    w.task.status = TaskStatus.VISITS_OVER
    db.session.commit()
    e = _entry("team.member_replaced")
    body = w.clients["joint_office"].get(f"/audit/{e.id}").get_data(as_text=True)
    assert REDACTED not in body and w.substitute.name in body


def test_registry_risk_filter_is_refused_to_inspectors_and_reviewers(world):
    """The credit-risk class is internal: an inspector or a reviewer asking the registry for one
    class gets 403 ``risk_class_internal`` and sees no risk column, filter or value."""
    w = world
    for role in ("inspector_team1", "inspector_idle", "reviewer", "dept_head"):
        client = w.clients[role]
        assert client.get("/objects/?risk=A").status_code == 403, role
        listing = client.get("/objects/").get_data(as_text=True)
        assert 'name="risk"' not in listing and "风险分类" not in listing, role
        detail = client.get(f"/objects/{w.objects[0].id}").get_data(as_text=True)
        assert "信用风险分类" not in detail, role


def test_registry_risk_filter_and_column_for_master_data_editors_and_initiators(world):
    w = world
    for role in ("system_admin", "joint_office", "dept_admin", "initiator", "auditor"):
        client = w.clients[role]
        resp = client.get("/objects/?risk=A")
        assert resp.status_code == 200, role
        body = resp.get_data(as_text=True)
        assert 'name="risk"' in body and "风险分类" in body, role


def test_object_history_hides_the_risk_class_change_from_inspectors(world, app):
    w = world
    obj = w.objects[0]
    with app.test_request_context():
        set_actor(w.users["system_admin"].id, "sysadmin")
        record("object.update", "object", obj.id, before={"risk_class": "A", "address": "旧址"},
               after={"risk_class": "D", "address": "新址"})
        db.session.commit()
    inspector = w.clients["inspector_idle"].get(f"/objects/{obj.id}").get_data(as_text=True)
    assert "新址" in inspector and "risk_class" not in inspector
    editor = w.clients["system_admin"].get(f"/objects/{obj.id}").get_data(as_text=True)
    assert "risk_class" in editor


def test_cache_control_no_store_for_logged_in_users_public_pages_stay_cacheable(world):
    w = world
    for url in ("/tasks/", f"/tasks/{w.task.id}/teams", "/exports/objects.csv", "/api/me", "/audit/"):
        resp = w.clients["system_admin"].get(url)
        assert resp.headers.get("Cache-Control") == "no-store", url
        resp.close()
    public = w.clients["anonymous"].get("/public/plans")
    assert public.status_code == 200 and "no-store" not in (public.headers.get("Cache-Control") or "")
    assert w.clients["anonymous"].get("/api/me").headers.get("Cache-Control") == "no-store"
