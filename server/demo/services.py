"""Demo data: 武陟县 (Henan) as in seed 003, with synthetic but realistic objects and inspectors.

Everything is generated from a fixed random seed, so two loads produce the same data.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func, insert, select

from ..audit.services import Change, record_many, snapshot
from ..auth.roles import Role
from ..auth.services import create_user
from ..extensions import db
from ..org.models import Department, Kind, Level
from ..registry import codes
from ..registry.models import (
    Gender,
    InspectedObject,
    Inspector,
    InspectorStatus,
    ObjectType,
    RegistrationStatus,
    RiskClass,
    object_departments,
)

#: the demo password, for local use only (printed by ``flask demo load`` and in the README)
DEMO_PASSWORD = "spotcheck-demo"
COUNTY_CODE = "410823"  # 武陟县 administrative division code

#: (username, display name, roles, department short name)
DEMO_ACCOUNTS = [
    ("admin", "系统管理员", [Role.SYSTEM_ADMIN], None),
    ("office", "联席办 王丽", [Role.JOINT_OFFICE], "市场监督管理局"),
    ("deptadmin", "市场监管局 管理员 赵强", [Role.DEPT_ADMIN], "市场监督管理局"),
    ("initiator", "商务局 李娜", [Role.TASK_INITIATOR], "商务局"),
    ("inspector", "张伟", [Role.INSPECTOR], "市场监督管理局"),
    ("reviewer", "审核 陈静", [Role.REVIEWER], "市场监督管理局"),
    ("reviewer2", "商务局 审核 周敏", [Role.REVIEWER], "商务局"),
    ("head", "局长 刘洋", [Role.DEPT_HEAD], "市场监督管理局"),
    ("auditor", "审计 杨帆", [Role.AUDITOR], None),
]

TOWNS = ["木城街道", "龙源街道", "龙泉街道", "詹店镇", "西陶镇", "谢旗营镇", "大封镇", "乔庙镇",
         "宁郭镇", "三阳乡", "嘉应观乡", "北郭乡", "小董乡", "圪垱店乡", "大虹桥乡"]
STATIONS = ["木城市场监管所", "龙泉市场监管所", "詹店市场监管所", "西陶市场监管所", "大封市场监管所"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰志强海燕鹏飞文博宇航晓东"
TRADE_NAMES = ["鑫源", "华通", "中原", "豫丰", "宏达", "永盛", "金穗", "天润", "恒信", "嘉禾", "瑞丰", "隆昌",
               "润田", "沁河", "黄河", "覃怀", "怀川", "兴旺", "众诚", "德胜", "佳美", "广源", "绿野", "康泰"]

#: (industry, weight, object type, name suffixes, business scope, supervising departments)
INDUSTRIES = [
    ("成品油零售", 4, ObjectType.ENTERPRISE, ["加油站", "石化有限公司"], "汽油、柴油零售；润滑油销售", ["商务局", "市场监督管理局"]),
    ("种子经营", 3, ObjectType.ENTERPRISE, ["种业有限公司", "种子门市部"], "农作物种子经营；化肥、农药零售", ["农业农村局", "市场监督管理局"]),
    ("检验检测服务", 1, ObjectType.ENTERPRISE, ["检测技术有限公司", "环境监测有限公司"], "环境检测；检验检测服务", ["市场监督管理局", "环境保护局"]),
    ("化工产品生产", 2, ObjectType.ENTERPRISE, ["化工有限公司", "新材料有限公司"], "化工产品生产、销售（不含危险化学品）", ["应急管理局", "市场监督管理局", "环境保护局"]),
    ("食品销售", 20, ObjectType.INDIVIDUAL, ["超市", "副食店", "便利店"], "预包装食品、散装食品销售", ["市场监督管理局"]),
    ("餐饮服务", 18, ObjectType.INDIVIDUAL, ["饭店", "小吃店", "烩面馆"], "热食类食品制售", ["市场监督管理局"]),
    ("建材批发零售", 8, ObjectType.ENTERPRISE, ["建材有限公司", "商贸有限公司"], "建筑材料、五金交电销售", ["市场监督管理局"]),
    ("农业种植", 6, ObjectType.COOPERATIVE, ["种植专业合作社", "农机专业合作社"], "组织成员种植粮食、蔬菜；农业技术服务", ["农业农村局", "市场监督管理局"]),
    ("机械制造", 5, ObjectType.ENTERPRISE, ["机械制造有限公司", "机电设备有限公司"], "通用机械设备制造、销售", ["应急管理局", "市场监督管理局"]),
    ("服装零售", 10, ObjectType.INDIVIDUAL, ["服装店", "鞋帽店"], "服装、鞋帽零售", ["市场监督管理局"]),
    ("药品零售", 4, ObjectType.ENTERPRISE, ["大药房", "医药连锁有限公司"], "处方药、非处方药零售；医疗器械销售", ["市场监督管理局"]),
    ("广告服务", 3, ObjectType.ENTERPRISE, ["文化传媒有限公司", "广告有限公司"], "广告设计、制作、代理、发布", ["市场监督管理局"]),
]
RISK_MIX = [(RiskClass.A, 50), (RiskClass.B, 30), (RiskClass.C, 15), (RiskClass.D, 5)]


def database_is_empty() -> bool:
    """True when there are no departments and no objects yet."""
    depts = db.session.execute(select(func.count()).select_from(Department)).scalar_one()
    objs = db.session.execute(select(func.count()).select_from(InspectedObject)).scalar_one()
    return depts == 0 and objs == 0


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def load_departments() -> dict[str, Department]:
    """Create the city bureau, the five county departments of seed 003 and the SAMR stations."""
    city = Department(code="410800-SCJG", name="焦作市市场监督管理局", short_name="焦作市市场监管局",
                      level=Level.CITY, region="河南省焦作市")
    county = {
        "市场监督管理局": Department(code="410823-SCJG", name="武陟县市场监督管理局",
                               short_name="武陟县市场监管局", level=Level.COUNTY, parent=city),
        "商务局": Department(code="410823-SWJ", name="武陟县商务局", short_name="武陟县商务局", level=Level.COUNTY),
        "农业农村局": Department(code="410823-NYNCJ", name="武陟县农业农村局", short_name="武陟县农业农村局",
                            level=Level.COUNTY),
        "应急管理局": Department(code="410823-YJGLJ", name="武陟县应急管理局", short_name="武陟县应急管理局",
                            level=Level.COUNTY),
        "环境保护局": Department(code="410823-HBJ", name="武陟县环境保护局", short_name="武陟县环境保护局",
                            level=Level.COUNTY),
    }
    for dept in county.values():
        dept.region = "河南省焦作市武陟县"
    db.session.add(city)
    db.session.add_all(county.values())
    samr = county["市场监督管理局"]
    for i, station in enumerate(STATIONS, start=1):
        db.session.add(Department(code=f"410823-SCJG-S{i:02d}", name=f"武陟县市场监督管理局{station}",
                                  short_name=station, level=Level.COUNTY, kind=Kind.UNIT, parent=samr,
                                  region="河南省焦作市武陟县"))
    db.session.flush()
    record_many(Change("department.create", "department", d.id, after=snapshot(d))
                for d in [city, *county.values(), *samr.children])
    return county


def _credit_code(rng: random.Random, object_type: ObjectType, used: set[str]) -> str:
    prefix = {ObjectType.INDIVIDUAL: "92", ObjectType.COOPERATIVE: "93"}.get(object_type, "91")
    while True:
        org = "".join(rng.choice(codes.ALPHABET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
        code = codes.make_valid(prefix + COUNTY_CODE + org)
        if code not in used:
            used.add(code)
            return code


def load_objects(n: int, departments: dict[str, Department], rng: random.Random) -> int:
    """Insert ``n`` synthetic objects with valid credit codes and a realistic risk mix."""
    weights = [w for _, w, *_ in INDUSTRIES]
    risk_classes, risk_weights = zip(*RISK_MIX, strict=True)
    used: set[str] = set()
    rows, links, names_seen = [], [], set()
    today = date(2026, 11, 1)
    for i in range(n):
        industry, _, otype, suffixes, scope, depts = rng.choices(INDUSTRIES, weights)[0]
        town = rng.choice(TOWNS)
        for _attempt in range(20):
            trade = rng.choice(TRADE_NAMES) + rng.choice(("", "", rng.choice(TRADE_NAMES)))
            name = ("武陟县" if otype is not ObjectType.INDIVIDUAL else f"武陟县{town}") + trade + rng.choice(suffixes)
            if name not in names_seen:
                break
            name = f"{name[:-2]}{i}{name[-2:]}"
        names_seen.add(name)
        status = rng.choices(list(RegistrationStatus), [92, 3, 4, 1])[0]
        rows.append({
            "code": _credit_code(rng, otype, used), "code_kind": "uscc", "name": name,
            "object_type": otype.value, "legal_representative": _person(rng),
            "address": f"河南省焦作市武陟县{town}{rng.choice(('建设路', '沁河路', '朝阳路', '人民路', '兴华路'))}{rng.randint(1, 300)}号",
            "region_county": "武陟县", "region_town": town, "jurisdiction_level": Level.COUNTY,
            "industry": industry, "business_scope": scope, "registration_status": status.value,
            "registered_on": today - timedelta(days=rng.randint(30, 365 * 25)),
            "risk_class": rng.choices(risk_classes, risk_weights)[0].value,
            "abnormal_list": rng.random() < 0.03, "serious_violation": rng.random() < 0.005,
            "complaint_count": rng.choices((0, 1, 2, 3, 5, 8), (80, 10, 5, 3, 1, 1))[0],
            "version": 1,
        })
        links.append([departments[d] for d in depts])
    from ..core.models import utcnow

    now = utcnow()
    for row in rows:
        row["created_at"] = row["updated_at"] = now
    db.session.execute(insert(InspectedObject.__table__), rows)
    ids = dict(db.session.execute(select(InspectedObject.code, InspectedObject.id)).all())
    db.session.execute(insert(object_departments), [
        {"object_id": ids[row["code"]], "department_id": d.id}
        for row, depts in zip(rows, links, strict=True) for d in depts
    ])
    record_many(Change("object.create", "object", ids[row["code"]],
                       after={k: v for k, v in row.items() if k not in ("created_at", "updated_at")},
                       note="demo data") for row in rows)
    return len(rows)


def load_inspectors(departments: dict[str, Department], rng: random.Random) -> list[Inspector]:
    """Create ~40 inspectors: most from SAMR (some in its stations), the rest across the others."""
    plan = {"市场监督管理局": 18, "商务局": 6, "农业农村局": 6, "应急管理局": 6, "环境保护局": 5}
    expertise = {
        "市场监督管理局": ["企业登记", "食品安全", "广告监管", "价格监管", "产品质量", "计量", "特种设备", "检验检测"],
        "商务局": ["成品油", "商贸流通", "直销"],
        "农业农村局": ["种子", "农药", "农机"],
        "应急管理局": ["安全生产", "危险化学品", "应急预案"],
        "环境保护局": ["环境监测", "排污许可", "固体废物"],
    }
    titles = ["科员", "副主任科员", "主任科员", "执法大队队员", "所长", "副所长", "四级主办", "二级主办"]
    stations = sorted(departments["市场监督管理局"].children, key=lambda d: d.code)
    created: list[Inspector] = []
    serial = 0
    for short, count in plan.items():
        dept = departments[short]
        for k in range(count):
            serial += 1
            valid_from = date(2022 + rng.randint(0, 3), rng.randint(1, 12), 1)
            status = InspectorStatus.ON_DUTY if rng.random() > 0.08 else rng.choice(
                [InspectorStatus.TRANSFERRED, InspectorStatus.SUSPENDED])
            inspector = Inspector(
                department=dept, name=_person(rng), gender=rng.choice(list(Gender)),
                title=rng.choice(titles), certificate_no=f"豫{41082300 + serial:08d}",
                phone=f"1{rng.choice('3589')}{rng.randint(100000000, 999999999)}",
                qualification="河南省行政执法证", qualification_valid_from=valid_from,
                qualification_valid_until=valid_from + timedelta(days=365 * 5),
                status=status, is_expert=(short == "市场监督管理局" and k >= count - 2),
                unit=stations[k % len(stations)] if short == "市场监督管理局" and k < 10 else None,
            )
            inspector.set_expertise(rng.sample(expertise[short], k=min(2, len(expertise[short]))))
            created.append(inspector)
    db.session.add_all(created)
    db.session.flush()
    record_many(Change("inspector.create", "inspector", i.id,
                       after={**snapshot(i), "expertise": i.expertise}, note="demo data") for i in created)
    return created


def load_accounts(departments: dict[str, Department], inspectors: list[Inspector]) -> int:
    for username, name, roles, short in DEMO_ACCOUNTS:
        dept = departments.get(short) if short else None
        user = create_user(username=username, display_name=name, password=DEMO_PASSWORD, roles=roles,
                           department_id=dept.id if dept else None)
        if Role.INSPECTOR in roles:
            inspector = next(i for i in inspectors if i.department_id == dept.id
                             and i.status is InspectorStatus.ON_DUTY)
            inspector.name = name
            inspector.user_id = user.id
    db.session.flush()
    return len(DEMO_ACCOUNTS)


def _give_inspector_account_a_team(task, departments: dict[str, Department]) -> None:
    """Link the demo ``inspector`` account to a drawn SAMR member, so it has visits to work on."""
    from ..auth.models import User
    from ..teams.models import TeamMember

    user = db.session.execute(select(User).where(User.username == "inspector")).scalar_one()
    member = db.session.execute(
        select(TeamMember).where(TeamMember.task_id == task.id, TeamMember.active.is_(True),
                                 TeamMember.department_id == departments["市场监督管理局"].id)
        .order_by(TeamMember.id)
    ).scalars().first()
    if member is None:
        return
    previous = db.session.execute(select(Inspector).where(Inspector.user_id == user.id)).scalar_one_or_none()
    if previous is not None and previous.id != member.inspector_id:
        previous.user_id = None
        db.session.flush()
    member.inspector.user_id = user.id
    user.display_name = member.inspector.name
    db.session.flush()


def load_demo(n_objects: int = 2000, seed: int = 20210304) -> dict[str, int]:
    """Load all demo data into an empty database and return counts (flushes; the caller commits)."""
    from ..catalog.demo import load_demo_catalog
    from ..draws.demo import load_demo_draws
    from ..fieldwork.reference import ensure_default_result_codes

    rng = random.Random(seed)
    departments = load_departments()
    ensure_default_result_codes()  # the ten standard results [000#20] (issue 7 §3, C1)
    items = load_demo_catalog(departments)
    n = load_objects(n_objects, departments, rng)
    inspectors = load_inspectors(departments, rng)
    accounts = load_accounts(departments, inspectors)
    drawn_task = load_demo_draws()
    fieldwork: dict[str, int] = {}
    if drawn_task is not None:
        from .fieldwork import load_demo_fieldwork

        _give_inspector_account_a_team(drawn_task, departments)
        fieldwork = load_demo_fieldwork(drawn_task)
    n_departments = db.session.execute(select(func.count()).select_from(Department)).scalar_one()
    return {"departments": n_departments, "check items": len(items) if items is not None else 0,
            "objects": n, "inspectors": len(inspectors), "accounts": accounts,
            "tasks with draws": 1 if drawn_task is not None else 0, **fieldwork}
