"""Demo data for issue 8: the demo task's schedule, visits done and synced, consolidated and
reviewed, a result returned, and a referral — so that the schedule, review, follow-up and
statistics screens show real content on first run.

Everything goes through the same services the screens use (schedules, field records, review,
follow-up), as the users concerned, so the audit log holds the demo's history like any other.
The demo's records are invented and say so (``notes``: 演示数据).
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, time, timedelta

from PIL import Image
from sqlalchemy import select

from ..auth.models import User
from ..extensions import db
from ..fieldwork.samples import finished_content
from ..fieldwork.services import RecordInput, store_record
from ..planning.models import Task
from ..registry.models import InspectedObject, Inspector
from ..teams.models import Team, TeamMember
from ..visits.models import Visit
from ..workdays.services import is_workday

#: business peaks of filling stations (早晚高峰), to be avoided when scheduling [002#11]
FUEL_PEAK = "07:00-09:00, 17:00-19:30"
WINDOWS = [(time(9, 0), time(10, 30)), (time(10, 30), time(12, 0)), (time(14, 30), time(16, 0)),
           (time(16, 0), time(17, 0))]


def _members(team_id: int) -> list[tuple[TeamMember, Inspector]]:
    return list(db.session.execute(
        select(TeamMember, Inspector).join(Inspector, Inspector.id == TeamMember.inspector_id)
        .where(TeamMember.team_id == team_id, TeamMember.active.is_(True))
        .order_by(TeamMember.is_leader.desc(), TeamMember.id)).all())


def _user_for(inspector: Inspector, username: str, display: str, department_id: int) -> User:
    """The demo account of a drawn inspector (created when the inspector has none)."""
    from ..auth.roles import Role
    from ..auth.services import create_user
    from .services import DEMO_PASSWORD

    if inspector.user_id is not None:
        return db.session.get(User, inspector.user_id)
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        user = create_user(username=username, display_name=display, password=DEMO_PASSWORD,
                           roles=[Role.INSPECTOR], department_id=department_id)
    previous = db.session.execute(select(Inspector).where(Inspector.user_id == user.id)).scalar_one_or_none()
    if previous is not None:
        previous.user_id = None
        db.session.flush()
    inspector.user_id = user.id
    db.session.flush()
    return user


def _demo_photo(user: User, seed: int) -> str:
    """Store one invented photo (a plain JPEG, as a phone would upload it) and return its hash."""
    import hashlib

    from ..fieldwork import photos

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (90 + seed * 40 % 160, 120, 140)).save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    if photos.get_photo(sha) is None:
        photos.lock_upload(sha)
        try:
            photos.append_chunk(user, sha, offset=0, length=len(data), stream=io.BytesIO(data),
                                chunk_bytes=len(data))
        finally:
            photos.release_locks()
    return sha


def _store(user: User, visit: Visit, department_id: int, content: dict, base: int = 0) -> None:
    shas = list(dict.fromkeys(p["sha256"] for p in content["photos"]))
    store_record(user, visit, RecordInput(uuid=str(uuid.uuid4()), department_id=department_id, base_version=base,
                                          content=content, photos=shas, finished=True, device_id="demo",
                                          saved_at=content["check_in"]["at"]))


def load_demo_fieldwork(task: Task) -> dict[str, int]:
    """Schedule the demo task's visits and take the first team's first visits through to review.
    Flushes only; the caller commits."""
    from ..followup import services as followup
    from ..followup.models import FollowUpKind
    from ..review import services as review
    from ..review.models import SectionResult
    from ..schedules import services as schedules

    teams = db.session.execute(select(Team).where(Team.task_id == task.id).order_by(Team.number)).scalars().all()
    if not teams:
        return {}
    days = [task.period_start + timedelta(days=i) for i in range((task.period_end - task.period_start).days + 1)]
    days = [d for d in days if is_workday(d)]
    scheduled = 0
    leaders: dict[int, User] = {}
    for team in teams:
        members = _members(team.id)
        leader_member, leader_inspector = members[0]
        leaders[team.id] = _user_for(leader_inspector, "leader" if team.number == 0 else f"leader{team.number + 1}",
                                     leader_inspector.name, leader_member.department_id)
        visits = db.session.execute(select(Visit).join(InspectedObject, InspectedObject.id == Visit.object_id)
                                    .where(Visit.team_id == team.id).order_by(InspectedObject.name)).scalars().all()
        for i, visit in enumerate(visits):
            obj = db.session.get(InspectedObject, visit.object_id)
            if obj.business_peak is None and i % 2 == 0:
                obj.business_peak = FUEL_PEAK
            start, end = WINDOWS[i % 3]  # the route of the day in time order
            schedules.set_schedule(leaders[team.id], visit, scheduled_on=days[min(i // 3, len(days) - 1)],
                                   window_start=start, window_end=end, route_order=i % 3 + 1,
                                   note="避开早晚加油高峰" if i % 2 == 0 else None)
            scheduled += 1

    # the first team's first three visits, on the first day of the period
    team = teams[0]
    members = _members(team.id)
    leader = leaders[team.id]
    by_dept: dict[int, User] = {members[0][0].department_id: leader}
    for m, i in members[1:]:
        if m.department_id not in by_dept:
            by_dept[m.department_id] = _user_for(i, "inspector", i.name, m.department_id)
    visits = db.session.execute(select(Visit).where(Visit.team_id == team.id)
                                .order_by(Visit.scheduled_on, Visit.route_order, Visit.id)).scalars().all()[:3]
    reviewers = {u.department_id: u for u in db.session.execute(select(User).where(
        User.username.in_(["reviewer", "reviewer2"]))).scalars()}
    day = task.period_start
    problem = {"problems": "未按规定明码标价：92号汽油价格牌与实际结算价格不一致（演示数据）",
               "handling": "当场责令改正，已更换价格牌", "legal_basis": "《中华人民共和国价格法》第十三条",
               "follow_up": "notify_dept"}
    done = 0
    for n, visit in enumerate(visits):
        for dept_id, user in by_dept.items():
            with_problem = n == 1 and user is not leader
            at = datetime(day.year, day.month, day.day, 1, 10 + visit.id % 40, tzinfo=UTC)  # 09:10–09:50 Beijing
            _store(user, visit, dept_id, finished_content(
                visit, dept_id, at=at, result="rectified" if with_problem else "no_problem",
                problem=problem if with_problem else None, photo_refs=[_demo_photo(user, visit.id * 7 + dept_id)],
                notes="演示数据（虚构）"))
        db.session.flush()
        if n == 2:
            continue  # visited, waiting for the leader to consolidate
        review.consolidate(leader, visit, "各部门检查意见一致，按各部门结果汇总。（演示数据）")
        done += 1
        for sr in db.session.execute(select(SectionResult).where(SectionResult.visit_id == visit.id)).scalars():
            reviewer = reviewers.get(sr.department_id)
            if reviewer is None:
                continue
            review.review_section(reviewer, sr, "accept", None)
            if sr.problem:
                target = next((d for d in by_dept if d != sr.department_id), None)
                followup.create(reviewer, sr, FollowUpKind.TRANSFER, target, None,
                                "价格违法线索抄告主管部门，请依职责核查该加油站的成品油经营行为。（演示数据）")
    return {"visits scheduled": scheduled, "visits consolidated": done}
