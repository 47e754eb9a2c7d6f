"""The crawl [004§8(三)]: before the visits are over, every GET route × every role, searched for the
confidential strings the role may not see (other teams' member names and certificate numbers, the
selected objects' codes and names, the draws' seed and nonce). Entitled roles must see them (the test
is not vacuous), and every answer to a logged-in user is ``Cache-Control: no-store``."""

from __future__ import annotations

import itertools
import re

from sqlalchemy import select

from tests.confidentiality.conftest import ROLES
from tests.response_text import body_text as _body

#: rules never crawled: static files only
SKIPPED_ENDPOINTS = {"static", "draws.static", "imports.static", "fieldapp.asset"}

#: master-data pages: every object and inspector appears there whatever the tasks, so the object and
#: inspector strings themselves are not a list; what must not appear is the other side of the task
#: (an object's page naming its team's inspectors, an inspector's page naming their objects) and the
#: draw's secrets or the task
MASTER_DATA_OBJECTS = {"registry.list_objects", "registry.show_object", "registry.edit_object"}
MASTER_DATA_INSPECTORS = {"registry.list_inspectors", "registry.show_inspector", "registry.edit_inspector"}
#: the registry export (master-data editors): the whole registry of one kind, as above
EXPORTS = {"imports.export"}
#: a department's and an inspector's own conflict declarations list the declarant and the declared
#: object (a statement of the inspector, made whatever the draws): those two may appear there, and
#: nothing else of the task (no team, no other object, nothing saying the object was drawn)
DECLARATION_PAGES = {"teams.department_declarations", "teams.my_declarations"}


def _params(w):
    from server.audit.models import AuditEntry
    from server.catalog.models import ChecklistQuestion
    from server.extensions import db
    from server.followup.models import FollowUp
    from server.review.models import SectionResult
    from server.teams.access import audit_entry_scope

    question = select(ChecklistQuestion.id).where(ChecklistQuestion.template_id == w.template.id)

    team2_active = [m for m in w.members if m.team_id == w.team2.id and m.active]
    # every audit entry that carries something about the task's lists or draws
    entries = [e.id for e in db.session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
               if audit_entry_scope(e) is not None]
    return {
        "draw_id": [d.id for d in w.draws],
        "task_id": [w.task.id],
        "team_id": [w.team1.id, w.team2.id],
        "member_id": [team2_active[0].id, w.members[0].id],
        "request_id": [w.request.id],
        "visit_id": [w.visits[0].id, w.visits[-1].id],
        "object_id": [w.declared_object.id, w.visits[0].object_id],
        "inspector_id": [w.replaced_inspector.id, w.substitute.id, w.members[0].inspector_id],
        "user_id": [w.replaced_inspector.user_id, w.substitute.user_id],
        "department_id": [w.b.id],
        "plan_id": [1],
        "template_id": [w.template.id],
        "question_id": [db.session.execute(question).scalars().first()],
        "item_id": [w.item.id],
        "edition_id": [w.item.edition_id],
        "job_id": [1],
        "sha256": ["0" * 64],
        "entry_id": entries,
        "kind": ["objects", "inspectors"],
        "fmt": ["csv"],
        "code": ["zh_CN"],
        # follow-up (issue 8 §5): the world's first result / follow-up if it has one, else an unknown id (404)
        "section_result_id": [db.session.execute(select(SectionResult.id).order_by(SectionResult.id)).scalar() or 1],
        "follow_up_id": [db.session.execute(select(FollowUp.id).order_by(FollowUp.id)).scalar() or 1],
    }


def _urls(app, w):
    """Return [(endpoint, url)] for every GET rule, parameters filled with the fixture's ids, plus
    page 2 of every list and a few searches; and the set of skipped endpoints."""
    params = _params(w)
    urls, skipped = [], set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods:
            continue
        if rule.endpoint in SKIPPED_ENDPOINTS:
            skipped.add(rule.endpoint)
            continue
        names = sorted(rule.arguments)
        missing = [n for n in names if n not in params]
        assert not missing, f"the crawl does not know how to fill {missing} of {rule.rule}: add the fixture's ids"
        for combo in itertools.product(*(params[n] for n in names)):
            url = rule.build(dict(zip(names, combo, strict=True)), append_unknown=False)[1]
            urls.append((rule.endpoint, url))
            if not names and url.endswith("/"):  # the lists
                urls.append((rule.endpoint, url + "?page=2"))
    audit = [
        "/audit/?entity_type=team", "/audit/?entity_type=draw", "/audit/?action=team.", "/audit/?action=conflict.",
        f"/audit/?entity_type=inspector&entity_id={w.replaced_inspector.id}",
        f"/audit/?entity_type=task&entity_id={w.task.id}", "/audit/?actor=insp_",
    ]
    urls += [("audit.list_entries", u) for u in audit]
    urls += [("teams.replacement_queue", "/replacements?show=all"), ("teams.filing_queue", "/filings?show=all"),
             ("planning.list_tasks", "/tasks/?q=武陟"), ("teams.department_declarations", "/declarations?show=all")]
    return urls, skipped


def _forbidden_for(w, role, endpoint):
    """The strings ``role`` must not find on ``endpoint``: {string: what}."""
    entitled = w.entitled.get(role, set())
    out = {}
    for kind in ("team1", "team2", "record", "reviewed"):
        if kind in entitled:
            continue
        for s in w.secrets[kind]:
            out[s] = kind
    objects = {s for o in w.objects for s in (o.code, o.name)}
    inspectors = {s for i in w.inspectors.values() for s in (i.name, i.certificate_no)}
    if endpoint in MASTER_DATA_OBJECTS or endpoint in EXPORTS:
        out = {s: k for s, k in out.items() if s not in objects}
    if endpoint in MASTER_DATA_INSPECTORS or endpoint in EXPORTS:
        out = {s: k for s, k in out.items() if s not in inspectors}
    if endpoint in MASTER_DATA_OBJECTS | MASTER_DATA_INSPECTORS | EXPORTS and "team1" not in entitled:
        out[w.task.name] = "task on a registry page"
        out[w.task.code] = "task on a registry page"
    if endpoint in DECLARATION_PAGES:
        for s in (w.declared_object.code, w.declared_object.name, w.replaced_inspector.name,
                  w.replaced_inspector.certificate_no):
            out.pop(s, None)
    return out


def test_crawl_every_route_as_every_role_before_the_visits_are_over(app, world):
    w = world
    urls, skipped = _urls(app, w)
    assert skipped == SKIPPED_ENDPOINTS, "only static files are skipped"
    assert len(urls) > 80
    leaks, no_store_missing, errors = [], [], []
    seen: dict[str, set[str]] = {role: set() for role in ROLES}
    all_secrets = {s: k for k in ("team1", "team2", "record", "reviewed") for s in w.secrets[k]}
    for role in ROLES:
        client = w.clients[role]
        for endpoint, url in urls:
            try:
                resp = client.get(url)
            except Exception as exc:  # noqa: BLE001 - a broken page is reported with the others
                errors.append((role, url, repr(exc)[:200]))
                continue
            body = _body(resp)
            resp.close()
            if resp.status_code >= 500:
                errors.append((role, url, resp.status_code))
            for s, what in _forbidden_for(w, role, endpoint).items():
                if s in body:
                    leaks.append((role, url, resp.status_code, what, s))
            carried = {k for s, k in all_secrets.items() if s in body}
            seen[role] |= carried
            if role != "anonymous" and not endpoint.startswith("fieldapp."):
                if "no-store" not in (resp.headers.get("Cache-Control") or ""):
                    no_store_missing.append((role, url, resp.status_code, resp.headers.get("Cache-Control")))
            elif carried and "no-store" not in (resp.headers.get("Cache-Control") or ""):
                no_store_missing.append((role, url, resp.status_code, resp.headers.get("Cache-Control")))
    assert not leaks, "\n".join(map(str, leaks))
    assert not no_store_missing, "\n".join(map(str, no_store_missing))
    assert not errors, "\n".join(map(str, errors))
    # not vacuous: the entitled see what they are entitled to
    for role, kinds in w.entitled.items():
        assert kinds <= seen[role], (role, kinds - seen[role])


def test_crawl_knows_every_url_parameter(app, world):
    """A new route with a parameter the crawl cannot fill fails here rather than being skipped."""
    urls, _skipped = _urls(app, world)
    assert not [u for _e, u in urls if re.search(r"<[^>]+>", u)]
