from sqlalchemy import func, select

from server.audit.services import verify_chain
from server.extensions import db
from server.registry import codes
from server.registry.models import InspectedObject, Inspector, RiskClass


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_demo_load_fills_an_empty_database(runner):
    result = runner.invoke(args=["demo", "load", "--objects", "300"])
    assert result.exit_code == 0, result.output
    assert "demo data loaded" in result.output
    assert _count(InspectedObject) == 300
    assert 35 <= _count(Inspector) <= 45


def test_demo_objects_have_valid_codes_and_every_risk_class(runner):
    runner.invoke(args=["demo", "load", "--objects", "400"])
    objects = db.session.execute(select(InspectedObject)).scalars().all()
    assert all(codes.is_valid(o.code) for o in objects)
    assert {o.risk_class for o in objects} == set(RiskClass)


def test_demo_load_is_audited_and_the_chain_verifies(runner):
    runner.invoke(args=["demo", "load", "--objects", "50"])
    result = verify_chain()
    assert result.ok
    assert result.checked > 50


def test_demo_load_refuses_a_database_that_holds_data(runner):
    runner.invoke(args=["demo", "load", "--objects", "20"])
    again = runner.invoke(args=["demo", "load", "--objects", "20"])
    assert again.exit_code != 0
    assert "already holds data" in again.output
    assert _count(InspectedObject) == 20


def test_demo_load_if_empty_leaves_existing_data_alone(runner):
    runner.invoke(args=["demo", "load", "--objects", "20"])
    again = runner.invoke(args=["demo", "load", "--objects", "20", "--if-empty"])
    assert again.exit_code == 0
    assert "nothing loaded" in again.output
    assert _count(InspectedObject) == 20


def test_demo_accounts_can_log_in(runner, client):
    runner.invoke(args=["demo", "load", "--objects", "20"])
    resp = client.post("/login", data={"username": "inspector", "password": "spotcheck-demo"})
    assert resp.status_code == 302


def test_demo_includes_a_task_with_both_draws_and_the_inspector_has_visits(runner, client):
    from server.draws.models import Draw, DrawStatus
    from server.draws.services import draw_record
    from server.draws.spec import verify

    result = runner.invoke(args=["demo", "load", "--objects", "600"])
    assert result.exit_code == 0, result.output
    draws = db.session.execute(select(Draw).where(Draw.status == DrawStatus.FINAL)).scalars().all()
    assert {d.kind.value for d in draws} == {"objects", "inspectors"}
    assert all(verify(draw_record(d)) == [] for d in draws)  # composed from the stored parts, hash-checked
    client.post("/login", data={"username": "inspector", "password": "spotcheck-demo"})
    visits = client.get("/api/me/visits").get_json()
    assert len(visits["visits"] if isinstance(visits, dict) else visits) > 0


def test_loaded_demo_cites_no_repealed_measure_and_marks_its_inventions(runner):
    """Issue 7 §8: 《成品油市场管理办法》 was repealed in 2020; the demo cites the measure in force
    (《成品油流通管理办法》) and labels what it invented (示例内容)."""
    from server.catalog.models import CheckItem, ChecklistQuestion, ChecklistTemplate, ListEdition

    result = runner.invoke(args=["demo", "load", "--objects", "200"])
    assert result.exit_code == 0, result.output
    bases = list(db.session.execute(select(CheckItem.legal_basis)).scalars())
    bases += [b or "" for b in db.session.execute(select(ChecklistQuestion.legal_basis)).scalars()]
    assert bases and not [b for b in bases if "成品油市场管理办法" in b]
    assert any("《成品油流通管理办法》" in b for b in bases)
    assert all("示例内容" in t for t in db.session.execute(select(ChecklistTemplate.title)).scalars())
    assert "示例内容" in db.session.execute(select(ListEdition.note)).scalar_one()


def test_demo_shows_schedules_reviewed_results_and_a_follow_up(runner):
    """Issue 8 on first run: every visit of the demo task scheduled within the period, two visits
    consolidated and reviewed by both departments, one waiting for the leader, one follow-up."""
    from server.followup.models import FollowUp, FollowUpKind
    from server.planning.models import Task
    from server.review.models import ResultStatus, SectionResult
    from server.visits.models import Visit, VisitStage

    result = runner.invoke(args=["demo", "load", "--objects", "1000"])
    assert result.exit_code == 0, result.output
    task = db.session.execute(select(Task)).scalars().first()
    visits = db.session.execute(select(Visit).where(Visit.task_id == task.id)).scalars().all()
    assert visits and all(task.period_start <= v.scheduled_on <= task.period_end for v in visits)
    stages = [v.stage for v in visits]
    team1 = min(v.team_id for v in visits)
    assert stages.count(VisitStage.REVIEWED) == 2
    # the third visit of team 1, when the draw gave it one, waits for the leader to consolidate
    assert stages.count(VisitStage.VISITED) == (1 if sum(v.team_id == team1 for v in visits) >= 3 else 0)
    results = db.session.execute(select(SectionResult)).scalars().all()
    assert len(results) == 4 and all(r.status is ResultStatus.ACCEPTED and not r.entered_late for r in results)
    problem = [r for r in results if r.problem]
    assert len(problem) == 1 and problem[0].referral_due is not None
    follow_up = db.session.execute(select(FollowUp)).scalar_one()
    assert follow_up.kind is FollowUpKind.TRANSFER and follow_up.section_result_id == problem[0].id
    assert follow_up.target_department_id != problem[0].department_id
    assert verify_chain().ok
