"""The rebuild of issue 7 §1, tried as every role: before the visits are over, nobody but those
entitled to the full record can recompute the teams' object lists from what the application shows.

A task is drawn through the real services (objects in four risk classes, two teams). Then, for each
role, we log in and GET everything that role can reach: every page and API route of the application
that takes no argument or only the task, a draw, a visit or an audit entry, the draws' record
APIs, the object list with every ``?risk=`` filter, and the audit log pages. From all responses we
pull every 64-hex value (anything that could be a seed or a nonce) and let the attacker — who, to
make the test sharp, is even given the true candidates of every stratum, the task code, the entropy
shown on the screen and the inspector pools — try each value as a seed and as a nonce, under the
draw-v1 and the draw-v2 key functions, to recompute the selected objects and every team's objects.

Those not entitled to the full record (``can_view_full_record``) must fail; the auditor (and the
task's initiators) must succeed, and the auditor's full records must verify.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.auth.roles import Role
from server.draws import services, spec
from server.draws.models import Draw
from server.extensions import db
from server.planning.models import TaskStatus
from server.registry.models import Inspector
from server.teams.models import Team, TeamMember
from server.visits.models import Visit
from tests.response_text import body_text

HEX64 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
#: route arguments we can fill in; routes with any other argument are skipped
FILLABLE = {"task_id", "draw_id", "entry_id", "visit_id"}
SKIP_PREFIXES = ("/app", "/static", "/draws-static", "/imports/static", "/lang", "/login", "/logout")
RISK_FILTERS = ["/objects/?risk=A", "/objects/?risk=B", "/objects/?risk=C", "/objects/?risk=D",
                "/objects/?risk=A&industry=成品油零售", "/objects/?risk=D&status=active"]


@pytest.fixture
def drawn_task(make_department, make_task, bulk_objects, make_inspector, draw_objects, draw_inspectors):
    depts = make_department("武陟县商务局"), make_department("武陟县市场监督管理局")
    for risk, n in (("A", 40), ("B", 30), ("C", 20), ("D", 10)):
        bulk_objects(n, risk)
    task = make_task(depts[0], [depts[1]], accepted=True, teams=2,
                     strata=[{"name": "A", "ratio": "0.1"}, {"name": "B", "ratio": "0.2"},
                             {"name": "C", "ratio": "0.3"}, {"name": "D", "ratio": "0.5"}])
    for dept in depts:
        for _ in range(3):
            make_inspector(dept)
    objects = draw_objects(task, entropy="骰子 3 5 2")
    inspectors = draw_inspectors(task, entropy="骰子 6 1")
    assert services.get_task(task.id).status is TaskStatus.INSPECTORS_DRAWN
    return task, depts, objects, inspectors


def _truth(task, objects: Draw, inspectors: Draw) -> dict:
    """What the attacker wants (the lists) and what we grant it (all inputs but the nonce)."""
    obj_rec = services.draw_record(objects)
    insp_rec = services.draw_record(inspectors)
    return {
        "task": task.code, "teams": task.teams_count,
        "object_strata": [spec.Stratum(name=s["name"], ids=tuple(s["ids"]), ratio=s.get("ratio"))
                          for s in obj_rec["strata"]],
        "object_entropy": obj_rec["witness_entropy"], "inspector_entropy": insp_rec["witness_entropy"],
        "inspector_digest": insp_rec["candidates_digest"],
        "selected": sorted(c for s in obj_rec["strata"] for c in s["selected"]),
        "selected_in_order": insp_rec["objects"],
        "team_objects": {k: sorted(v["objects"]) for k, v in insp_rec["assignment"].items()},
    }


# the attacker's own key functions, from the spec pages (draw-v1 §3–5, draw-v2 changes 1–2)


def _h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _seeds(value: str, version: str, task: str, kind: str, digest: str, entropy: str) -> set[str]:
    """A 64-hex value taken as the seed itself, or as the nonce of the draw."""
    return {value, _h(f"{version}|{task}|{kind}|{digest}|{value}|{entropy}")}


def _select(seed: str, stratum, version: str) -> list[str]:
    middle = f":{stratum.name}:" if version == "draw-v1" else ":"
    n = stratum.size()
    return sorted(stratum.ids, key=lambda i: (int(_h(seed + middle + i), 16), i.encode()))[:n]


def _match(seed: str, objects: list[str], teams: int) -> dict[str, list[str]]:
    ranked = sorted(objects, key=lambda i: (int(_h(seed + ":match:" + i), 16), i.encode()))
    return {str(t): sorted(ranked[t::teams]) for t in range(teams)}


def rebuilds(values: set[str], truth: dict) -> bool:
    """True when some value lets the attacker recompute the selected objects or the teams' lists."""
    digest = spec.candidates_digest(truth["object_strata"])
    for raw in values:
        value = raw.lower()
        for version in ("draw-v1", "draw-v2"):
            for seed in _seeds(value, version, truth["task"], "objects", digest, truth["object_entropy"]):
                got = sorted(c for s in truth["object_strata"] for c in _select(seed, s, version))
                if got == truth["selected"]:
                    return True
            for seed in _seeds(value, version, truth["task"], "inspectors", truth["inspector_digest"],
                               truth["inspector_entropy"]):
                if _match(seed, truth["selected_in_order"], truth["teams"]) == truth["team_objects"]:
                    return True
    return False


def _urls(app, task, draws: list[Draw]) -> list[str]:
    entries = [e for (e,) in db.session.execute(
        select(AuditEntry.id).where(AuditEntry.entity_type.in_(("draw", "team", "task")))).all()]
    visits = [v for (v,) in db.session.execute(select(Visit.id).where(Visit.task_id == task.id)).all()][:3]
    values = {"task_id": [task.id], "draw_id": [d.id for d in draws], "entry_id": entries, "visit_id": visits}
    urls: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIP_PREFIXES) or not set(rule.arguments) <= FILLABLE:
            continue
        combos = [{}]
        for arg in sorted(rule.arguments):
            combos = [{**c, arg: v} for c in combos for v in values[arg]]
        for combo in combos:
            url = rule.rule
            for arg, v in combo.items():
                url = re.sub(rf"<(?:\w+:)?{arg}>", str(v), url)
            urls.append(url)
    urls += RISK_FILTERS + ["/audit/?entity_type=draw", "/audit/?action=draw.final", "/audit/?page=2"]
    return sorted(set(urls))


def _collect(client, urls: list[str]) -> tuple[set[str], dict[str, int]]:
    values: set[str] = set()
    statuses = {}
    for url in urls:
        resp = client.get(url)
        statuses[url] = resp.status_code
        values.update(HEX64.findall(body_text(resp)))  # PDFs and XLSX exports by their text
    return values, statuses


ROLES = ["system_admin", "joint_office", "dept_admin_other", "task_initiator", "inspector_team_1",
         "inspector_not_in_task", "reviewer", "dept_head", "auditor", "anonymous"]


def _login(role: str, make_user, auth, make_department, make_inspector, depts, task):
    """Create and log in a user of ``role``; return it (None for anonymous)."""
    if role == "anonymous":
        return None
    other = make_department("武陟县农业农村局")
    spec_of = {
        "system_admin": ([Role.SYSTEM_ADMIN], None), "joint_office": ([Role.JOINT_OFFICE], None),
        "dept_admin_other": ([Role.DEPT_ADMIN], other), "task_initiator": ([Role.TASK_INITIATOR], depts[0]),
        "inspector_team_1": ([Role.INSPECTOR], None), "inspector_not_in_task": ([Role.INSPECTOR], other),
        "reviewer": ([Role.REVIEWER], None), "dept_head": ([Role.DEPT_HEAD], depts[1]),
        "auditor": ([Role.AUDITOR], None),
    }
    roles, dept = spec_of[role]
    if role == "inspector_team_1":
        team = db.session.execute(select(Team).where(Team.task_id == task.id, Team.number == 1)).scalar_one()
        member = db.session.execute(select(TeamMember).where(TeamMember.team_id == team.id)
                                    .order_by(TeamMember.id)).scalars().first()
        inspector = db.session.get(Inspector, member.inspector_id)
        user = make_user(role, roles=roles, department=inspector.department)
        inspector.user_id = user.id
    else:
        user = make_user(role, roles=roles, department=dept)
        if role == "inspector_not_in_task":
            make_inspector(other, user_id=user.id)
    db.session.commit()
    assert auth.login(role).status_code in (200, 302)
    return user


@pytest.mark.parametrize("role", ROLES)
def test_rebuild_attempt_as_each_role(app, client, auth, make_user, make_department, make_inspector, drawn_task,
                                      role):
    from server.teams.access import can_view_full_record

    task, depts, objects, inspectors = drawn_task
    truth = _truth(task, objects, inspectors)
    assert rebuilds({objects.nonce}, truth) and rebuilds({inspectors.seed}, truth)  # the attack is sound
    user = _login(role, make_user, auth, make_department, make_inspector, depts, task)
    values, statuses = _collect(client, _urls(app, task, [objects, inspectors]))
    assert len(statuses) > 40  # the crawl reached the application, not a handful of pages
    task = services.get_task(task.id)
    entitled = can_view_full_record(user, task)
    assert entitled == (role in ("auditor", "task_initiator"))
    # the crawl did reach the draw screens and the confidential views where the role may see them
    if role in ("system_admin", "joint_office", "task_initiator", "inspector_team_1", "dept_head", "auditor"):
        assert statuses[f"/draws/{objects.id}"] == 200 and objects.nonce_commitment in values
    if role in ("task_initiator", "inspector_team_1", "dept_head", "auditor"):
        assert statuses[f"/draws/{objects.id}/selection"] == 200
        assert statuses[f"/draws/{inspectors.id}/selection"] == 200
    if not entitled:
        assert not rebuilds(values, truth), f"{role} rebuilt the lists from what it could GET"
        for url in (f"/api/draws/{objects.id}/record", f"/api/draws/{inspectors.id}/record"):
            assert statuses[url] in (302, 401, 403), (url, statuses[url])
        assert statuses[f"/api/public/draws/{objects.id}/record"] == 404  # before the visits are over
    else:
        assert rebuilds(values, truth)
    if role == "auditor":
        for draw in (objects, inspectors):
            resp = client.get(f"/api/draws/{draw.id}/record")
            assert resp.status_code == 200
            assert spec.verify(resp.get_json()) == []
            assert resp.get_json()["record_sha256"] == draw.record_sha256 == spec.record_sha256(resp.get_json())
