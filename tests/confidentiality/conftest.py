"""A realistic task before its visits are over, built through the real services: three departments,
objects and inspectors, a check item, both draws, a conflict declaration that flags a member, a
replacement with a note naming the inspectors, a visit status change; and one logged-in client per
role. ``world.secrets`` holds every confidential string by kind, ``world.entitled`` what each role may
see."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from server.auth.roles import Role
from server.extensions import db

WITNESSES = {"operator": "王丽", "technical": "赵强", "supervisor": "刘洋"}

#: distinctive names: none is a substring of another, of a department or of the UI
OBJECT_NAMES = ["焦作保密甲号商贸有限公司", "焦作保密乙号商贸有限公司", "焦作保密丙号商贸有限公司",
                "焦作保密丁号商贸有限公司", "焦作保密戊号商贸有限公司", "焦作保密己号商贸有限公司",
                "焦作保密庚号商贸有限公司", "焦作保密辛号商贸有限公司", "焦作保密壬号商贸有限公司",
                "焦作保密癸号商贸有限公司"]
INSPECTORS_A = ["龚秀英", "戚海峰", "鲍文静", "柏建国"]
INSPECTORS_B = ["窦丽君", "章志远", "苗雨萱", "祁国庆"]
ROLES = ["system_admin", "joint_office", "dept_admin", "initiator", "initiator_other", "inspector_team1",
         "inspector_idle", "reviewer", "dept_head", "auditor", "anonymous"]


def _login(app, username):
    from tests.conftest import PASSWORD

    client = app.test_client()
    if username is not None:
        resp = client.post("/login", data={"username": username, "password": PASSWORD})
        assert resp.status_code in (302, 303), username
    return client


@pytest.fixture
def world(app, make_department, make_user, make_object, make_inspector, make_task):
    from server.audit.services import set_actor
    from server.catalog import services as catalog
    from server.catalog.models import QuestionType
    from server.draws import services as draws
    from server.draws.models import Draw
    from server.planning.models import TaskCheckItem
    from server.teams import services as teams
    from server.teams.models import Team, TeamMember
    from server.visits.models import Visit

    w = SimpleNamespace()
    a = w.a = make_department("武陟县商务局")
    b = w.b = make_department("武陟县市场监督管理局")
    c = w.c = make_department("武陟县教育局")
    w.users = {
        "system_admin": make_user("sysadmin", roles=(Role.SYSTEM_ADMIN,)),
        "joint_office": make_user("joint", roles=(Role.JOINT_OFFICE,)),
        "dept_admin": make_user("admin_b", roles=(Role.DEPT_ADMIN,), department=b),
        "initiator": make_user("initiator_a", roles=(Role.TASK_INITIATOR,), department=a),
        "initiator_other": make_user("initiator_c", roles=(Role.TASK_INITIATOR,), department=c),
        "reviewer": make_user("reviewer", roles=(Role.REVIEWER,), department=a),
        "dept_head": make_user("head_b", roles=(Role.DEPT_HEAD,), department=b),
        "auditor": make_user("auditor", roles=(Role.AUDITOR,)),
    }
    head_a = make_user("head_a", roles=(Role.DEPT_HEAD,), department=a)

    # a check item with a published checklist, checked by the initiating department
    edition = catalog.create_edition(title="武陟县抽查事项清单（第一版）", issuer_id=a.id)
    w.item = catalog.create_item(edition, catalog.clean_item_data({
        "domain": "商贸流通", "name": "单用途预付卡经营检查", "content": "是否按规定备案",
        "legal_basis": "《单用途商业预付卡管理办法（试行）》", "object_scope": "发行单用途预付卡的企业",
        "object_type": "enterprise", "initiating_department_id": str(a.id),
        "cooperating_department_ids": [str(b.id)], "methods": ["onsite"],
        "default_ratio": "0.03", "frequency": "每年1次", "times_per_year": "1", "code": "T-001",
    }))
    w.template = catalog.create_template(w.item, a.id)
    catalog.add_question(w.template, catalog.QuestionData(
        kind=QuestionType.YES_NO_NA, text="是否已按规定办理备案？", required=True, help_text=None,
        legal_basis=None, options=None, unit=None, min_value=None, max_value=None))
    catalog.publish_template(w.template)
    db.session.commit()

    w.objects = [make_object(n, risk="A", address=f"武陟县保密路{k + 1}号") for k, n in enumerate(OBJECT_NAMES)]
    w.inspectors = {}
    for dept, names in ((a, INSPECTORS_A), (b, INSPECTORS_B)):
        for k, name in enumerate(names):
            user = make_user(f"insp_{dept.code.lower()}_{k}", roles=(Role.INSPECTOR,), department=dept)
            w.inspectors[name] = make_inspector(dept, name=name, user_id=user.id,
                                                certificate_no=f"豫保{dept.id:02d}{k:04d}")
    w.task = task = make_task(a, [b], accepted=True, teams=2, strata=[{"name": "A", "ratio": "0.4"}],
                              name="武陟县单用途预付卡双随机抽查")
    db.session.add(TaskCheckItem(task_id=task.id, department_id=a.id, check_item_id=w.item.id,
                                 template_id=w.template.id))
    db.session.commit()

    # both draws, through the real services
    with app.test_request_context():
        set_actor(w.users["initiator"].id, w.users["initiator"].username)
        from server.draws.candidates import registry_state

        d = draws.commit_object_draw(task, registry=registry_state(task))
        db.session.commit()
        w.object_draw = draws.perform_draw(d.id, witnesses=draws.clean_witnesses(WITNESSES),
                                           witness_entropy="3 5 2 6")
        db.session.commit()
        d = draws.commit_inspector_draw(task)
        db.session.commit()
        w.inspector_draw = draws.perform_draw(d.id, witnesses=draws.clean_witnesses(WITNESSES),
                                              witness_entropy="1 1 4")
        db.session.commit()
    w.draws = [db.session.get(Draw, w.object_draw.id), db.session.get(Draw, w.inspector_draw.id)]

    w.teams = list(db.session.execute(select(Team).where(Team.task_id == task.id).order_by(Team.number)).scalars())
    assert len(w.teams) == 2
    w.team1, w.team2 = w.teams

    def members(team):
        return list(db.session.execute(select(TeamMember).where(TeamMember.team_id == team.id)
                                       .order_by(TeamMember.id)).scalars())

    def visits(team):
        return list(db.session.execute(select(Visit).where(Visit.team_id == team.id).order_by(Visit.id)).scalars())

    in_task = {m.inspector_id for t in w.teams for m in members(t)}
    idle = [i for i in w.inspectors.values() if i.id not in in_task]
    # a team-2 member declares a conflict with an object of their team: the draw's flag and the
    # declaration carry the object's code; then the member is replaced by an idle colleague
    declarant = next(m for m in members(w.team2) if not m.is_leader)
    w.declared_object = db.session.get(type(w.objects[0]), visits(w.team2)[0].object_id)
    from server.auth.models import User

    declarant_user = db.session.get(User, declarant.inspector.user_id)
    with app.test_request_context():
        set_actor(declarant_user.id, declarant_user.username)
        teams.declare_conflict(declarant_user, object_id=w.declared_object.id, relation="配偶系该公司股东")
        db.session.commit()
        req = teams.request_replacement(declarant_user, declarant, reason="recusal",
                                        explanation="与检查对象存在利害关系，申请回避")
        db.session.commit()
    head = w.users["dept_head"] if declarant.department_id == b.id else head_a
    substitute = next(i for i in idle if i.department_id == declarant.department_id)
    with app.test_request_context():
        set_actor(head.id, head.username)
        teams.approve_replacement(head, req, substitute_id=substitute.id, note="同意回避")
        db.session.commit()
    w.request = req
    w.replaced_inspector = declarant.inspector
    w.substitute = substitute
    idle = [i for i in idle if i.id != substitute.id]
    w.idle_inspector = idle[0]
    w.users["inspector_idle"] = db.session.get(User, idle[0].user_id)
    team1_member = members(w.team1)[0]
    w.users["inspector_team1"] = db.session.get(User, team1_member.inspector.user_id)

    # a visit's status change as the field record's arrival writes it (audited on the visit, by a member)
    from server.audit.services import record

    with app.test_request_context():
        set_actor(w.users["inspector_team1"].id, w.users["inspector_team1"].username)
        record("visit.status", "visit", visits(w.team1)[0].id, before={"status": "planned"},
               after={"status": "in_progress"})
        db.session.commit()

    # issue 8: the first team-1 visit's section of department a consolidated and accepted with a problem,
    # and its follow-up transferred to department b (rows as the review and follow-up services leave them)
    from datetime import date, timedelta

    from server.core.models import utcnow
    from server.fieldwork.models import RecordStatus, VisitRecord
    from server.followup.models import FollowUp, FollowUpEvent, FollowUpKind, FollowUpStatus
    from server.review.models import Consolidation, ResultStatus, SectionResult

    w.reviewed_visit = visits(w.team1)[0]
    author = next(m for m in members(w.team1) if m.department_id == a.id and m.active)
    rec = VisitRecord(uuid="00000000-0000-4000-8000-000000000001", visit_id=w.reviewed_visit.id,
                      department_id=a.id, base_version=0, version=1, server_version=0, status=RecordStatus.STORED,
                      content={"schema": 2, "findings": "未按规定备案"}, content_sha256="0" * 64,
                      request_sha256="1" * 64, photos=[], finished=True, created_by_id=author.inspector.user_id)
    db.session.add(rec)
    db.session.flush()
    cons = Consolidation(visit_id=w.reviewed_visit.id, round=1, record_ids={str(a.id): rec.id},
                         summary="汇总意见", consolidated_by_id=author.inspector.user_id)
    db.session.add(cons)
    db.session.flush()
    today = date.today()
    w.section_result = SectionResult(
        visit_id=w.reviewed_visit.id, department_id=a.id, task_id=task.id, object_id=w.reviewed_visit.object_id,
        consolidation_id=cons.id, record_id=rec.id, status=ResultStatus.ACCEPTED, result_codes=["rectified"],
        problem=True, visited_on=today - timedelta(days=3), result_due=today + timedelta(days=25),
        entered_on=today, referral_due=today + timedelta(days=9), reviewed_by_id=w.users["reviewer"].id,
        reviewed_at=utcnow())
    db.session.add(w.section_result)
    db.session.flush()
    w.follow_up = FollowUp(section_result_id=w.section_result.id, visit_id=w.reviewed_visit.id, task_id=task.id,
                           object_id=w.reviewed_visit.object_id, department_id=a.id, kind=FollowUpKind.TRANSFER,
                           target_department_id=b.id, matter="转办：未按规定备案的线索", due_on=today + timedelta(days=9),
                           created_by_id=w.users["reviewer"].id)
    db.session.add(w.follow_up)
    db.session.flush()
    db.session.add(FollowUpEvent(follow_up_id=w.follow_up.id, status=FollowUpStatus.OPEN, note="已转办",
                                 by_id=w.users["reviewer"].id))
    db.session.commit()

    # the confidential strings, by team and kind
    w.secrets = {}
    for n, team in ((1, w.team1), (2, w.team2)):
        strings = set()
        for m in members(team):
            strings |= {m.inspector.name, m.inspector.certificate_no}
        for v in visits(team):
            obj = v.object
            strings |= {obj.code, obj.name}
        w.secrets[f"team{n}"] = strings
    w.secrets["record"] = {s for dr in w.draws for s in (dr.seed, dr.nonce) if s}
    # the reviewed visit's object: also seen by department a's reviewer (their section) and by the
    # department the follow-up was transferred to (b: its admin), nobody else outside the task
    reviewed = w.reviewed_visit.object
    w.secrets["reviewed"] = {reviewed.code, reviewed.name}
    w.secrets["team1"] -= w.secrets["reviewed"]
    assert w.secrets["record"] and len(w.secrets["team1"]) >= 4 and len(w.secrets["team2"]) >= 6
    assert w.replaced_inspector.name in w.secrets["team2"] and w.substitute.name in w.secrets["team2"]
    #: what each role may see before the visits are over
    everything = {"team1", "team2"}
    everything |= {"reviewed"}
    w.entitled = {
        "initiator": everything | {"record"}, "auditor": everything | {"record"}, "dept_head": everything,
        "inspector_team1": {"team1", "reviewed"}, "reviewer": {"reviewed"}, "dept_admin": {"reviewed"},
    }
    w.visits = visits(w.team1) + visits(w.team2)
    w.members = members(w.team1) + members(w.team2)
    w.clients = {role: _login(app, None if role == "anonymous" else w.users[role].username) for role in ROLES}
    return w
