"""Demo data: the real joint check-item list of 武陟县 (seed 003, first edition, 4 rows) with
plausible checklists for every participating department.

What is real and what is invented (issue 7 §8):

* REAL, kept verbatim from the seed's list: each row's 抽查领域 (``domain``), its 抽查事项 text
  (the start of ``content``), 检查对象 (``object_scope``), 发起部门 and 配合部门 — see
  :data:`SEED_ROWS`, which the tests compare with the data.
* INVENTED for the demo (the seed's list has no such columns): the item names of rows 1 and 3,
  the detail added to rows 2 and 4's content, the legal bases, methods, ratios, frequencies and
  every checklist with its questions. They carry the visible marker :data:`DEMO_MARK`
  ("示例内容"): in the edition's note, in each invented legal basis, in each added content
  detail and in each checklist title.

Legal bases name rules in force (checked 2026-12): 《成品油市场管理办法》 (商务部令2006年第23号)
was repealed by the Ministry of Commerce in 2020 and must not be cited; 成品油 trade is now
governed by 《成品油流通管理办法》 (商务部令2025年第4号, adopted 2025-07-21, in force since
2025-09-01). Article numbers are cited only where we are sure of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select

from ..extensions import db
from ..org.models import Department
from ..registry.models import ObjectType
from . import services
from .models import CheckItem, ListEdition, QuestionType

Y, S, M, T, N, D, P = (QuestionType.YES_NO_NA, QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE,
                       QuestionType.TEXT, QuestionType.NUMBER, QuestionType.DATE, QuestionType.PHOTO)

EDITION_TITLE = "武陟县市场监管领域部门联合抽查事项清单（第一版）"
EDITION_NOTE = ("2021年3月4日印发（见《实施细则》附件）。【示例内容】抽查领域、抽查事项、检查对象、发起部门和配合部门"
                "为原清单内容；事项名称、补充的检查内容、检查依据、检查方式、比例、频次和各部门检查表为演示数据补充，仅供演示。")

#: the visible marker of content written for the demo (not from the real list)
DEMO_MARK = "示例内容"
#: the marker line closing each invented legal basis
DEMO_BASIS_NOTE = f"【{DEMO_MARK}】检查依据为演示数据补充，非原清单内容；使用前请核对现行有效的法律法规。"
#: rules the demo must never cite: repealed (商务部 repealed 《成品油市场管理办法》 and
#: 《原油市场管理办法》 in 2020)
REPEALED = ("《成品油市场管理办法》", "《原油市场管理办法》")

#: in force since 2025-09-01 (商务部令2025年第4号); replaces the repealed 《成品油市场管理办法》
OIL_LAW = "《成品油流通管理办法》"
OIL_LAW_FULL = "《成品油流通管理办法》（商务部令2025年第4号）"
SEED_LAW = "《中华人民共和国种子法》"
SAFETY_LAW = "《中华人民共和国安全生产法》"
LAB_RULES = "《检验检测机构监督管理办法》（国家市场监督管理总局令第39号）"

#: The seed 003 list, verbatim (序号, 抽查领域, 抽查事项, 检查对象, 发起部门, 配合部门): REAL text.
SEED_ROWS = [
    (1, "成品油市场监管",
     "1. 成品油经营资质，即是否具备经营条件。2. 成品油经营违法违规情况，即检查是否非法转让成品油经营批准证书、"
     "未经许可擅自新建、迁建和扩建加油站或油库、购销票据、制度制定、油品升级情况等。",
     "具有成品油经营批准证书的企业", "武陟县商务局", "武陟县市场监督管理局"),
    (2, "种子生产企业专项检查", "农作物种子质量检查", "武陟县对口监管企业", "武陟县农业农村局", "武陟县市场监督管理局"),
    (3, "对生产经营单位执行安全生产法律、法规和国家标准或者行业标准情况的抽查",
     "1、制定本单位安全生产规章制度情况；2、本单位对从业人员进行安全生产教育和培训情况；3、制定风险分级管控措施情况；"
     "4、事故隐患排查治理情况；5、制定、实施生产安全事故应急救援预案情况。6、企业登记事项检查。",
     "武陟县对口生产经营单位", "武陟县应急管理局", "武陟县市场监督管理局"),
    (4, "环境监测机构双随机监督抽查", "检验检测机构检查", "检验检测机构", "武陟县市场监督管理局", "武陟县环境保护局"),
]


def _basis(*laws: str) -> str:
    """An invented legal basis (one rule a line), closed by the demo marker line."""
    return "\n".join([*laws, DEMO_BASIS_NOTE])


def _content(seed_text: str, detail: str | None = None) -> str:
    """The seed's 抽查事项 verbatim, then (when given) the demo's own detail, marked."""
    return seed_text if detail is None else f"{seed_text}\n【{DEMO_MARK}】{detail}"


#: (code, 抽查领域, 抽查事项名称, 检查内容, 检查依据, 检查对象, 对象类型, 发起部门, 配合部门,
#:  检查方式, 比例, 频次) — 抽查领域, the seed part of 检查内容, 检查对象 and the departments come
#: from SEED_ROWS; everything else is demo content
ITEMS = [
    (
        "WZ-2021-001", SEED_ROWS[0][1], "成品油经营资质和经营行为检查", _content(SEED_ROWS[0][2]),
        _basis(OIL_LAW_FULL, "《中华人民共和国产品质量法》", "《中华人民共和国计量法》", "《加油站计量监督管理办法》"),
        SEED_ROWS[0][3], ObjectType.ENTERPRISE, "商务局", ["市场监督管理局"],
        ["onsite", "documents", "sampling"], Decimal("0.05"), "每年1次",
    ),
    (
        "WZ-2021-002", SEED_ROWS[1][1], SEED_ROWS[1][2],
        _content(SEED_ROWS[1][2], "种子生产经营许可、品种审定（登记）、种子标签和使用说明、生产经营档案，"
                                  "并抽样检测种子质量（净度、发芽率、水分、品种真实性）。"),
        _basis(SEED_LAW, "《农作物种子生产经营许可管理办法》", "《农作物种子标签和使用说明管理办法》"),
        SEED_ROWS[1][3], ObjectType.ENTERPRISE, "农业农村局", ["市场监督管理局"],
        ["onsite", "documents", "sampling"], Decimal("0.10"), "每年1次",
    ),
    (
        "WZ-2021-003", SEED_ROWS[2][1], "生产经营单位安全生产执行情况检查", _content(SEED_ROWS[2][2]),
        _basis(SAFETY_LAW, "《生产安全事故应急预案管理办法》", "《中华人民共和国市场主体登记管理条例》"),
        SEED_ROWS[2][3], ObjectType.ENTERPRISE, "应急管理局", ["市场监督管理局"],
        ["onsite", "documents"], Decimal("0.05"), "每年1次",
    ),
    (
        "WZ-2021-004", SEED_ROWS[3][1], SEED_ROWS[3][2],
        _content(SEED_ROWS[3][2], "资质认定及其能力范围、检验检测报告的真实性和规范性、原始记录保存，"
                                  "环境监测数据是否弄虚作假、在线监测设备运行情况。"),
        _basis(LAB_RULES, "《检验检测机构资质认定管理办法》", "《环境监测数据弄虚作假行为判定及处理办法》"),
        SEED_ROWS[3][3], ObjectType.ENTERPRISE, "市场监督管理局", ["环境保护局"],
        ["onsite", "documents", "online"], Decimal("0.20"), "每年1次",
    ),
]


def _q(kind, text, *, required=True, help_text=None, legal_basis=None, options=None, unit=None,
       min_value=None, max_value=None) -> services.QuestionData:
    return services.QuestionData(
        kind=kind, text=text, required=required, help_text=help_text, legal_basis=legal_basis,
        options=options, unit=unit,
        min_value=None if min_value is None else Decimal(str(min_value)),
        max_value=None if max_value is None else Decimal(str(max_value)),
    )


#: (item code, department short name) → (title, questions)
CHECKLISTS: dict[tuple[str, str], tuple[str, list[services.QuestionData]]] = {
    ("WZ-2021-001", "商务局"): ("成品油经营企业实地检查表（商务）", [
        _q(Y, "是否持有有效的成品油零售经营批准证书？", legal_basis=OIL_LAW,
           help_text="核对证书原件的有效期、经营地址与实际经营场所是否一致。"),
        _q(T, "成品油经营批准证书编号", help_text="按证书原件填写。", legal_basis=OIL_LAW),
        _q(Y, "是否存在出租、出借、转让成品油经营批准证书的情况？", legal_basis=OIL_LAW),
        _q(Y, "是否存在未经批准擅自新建、迁建、扩建加油站或油库的情况？", legal_basis=OIL_LAW),
        _q(S, "成品油购进渠道", options=["具有批发资格的企业", "本企业集团内部调拨", "其他渠道（需说明）"],
           legal_basis=OIL_LAW, help_text="查阅近三个月的购销台账与供货方资质。"),
        _q(M, "已建立的经营管理制度", required=False,
           options=["进销存台账", "油品质量管理制度", "计量管理制度", "安全管理制度", "发票管理制度"],
           help_text="逐项查看制度文本，勾选已建立并执行的。"),
        _q(D, "最近一次购进成品油的日期", help_text="以购进票据上的日期为准。"),
        _q(P, "经营场所及证照公示情况照片", help_text="拍摄加油站全景及证照公示处。"),
    ]),
    ("WZ-2021-001", "市场监督管理局"): ("加油站油品质量与计量检查表（市场监管）", [
        _q(Y, "营业执照是否在经营场所醒目位置悬挂？", legal_basis="《中华人民共和国市场主体登记管理条例》"),
        _q(Y, "在用加油机是否经检定合格并在有效期内？", legal_basis="《中华人民共和国计量法》；《加油站计量监督管理办法》",
           help_text="核对每台加油机的检定合格标志和检定证书。"),
        _q(N, "在用加油机数量", unit="台", min_value=0, max_value=100),
        _q(N, "抽查加油机的示值误差", unit="%", min_value=-5, max_value=5, required=False,
           help_text="使用标准金属量器现场测量，填写最大示值误差。",
           legal_basis="《加油站计量监督管理办法》"),
        _q(S, "所售车用汽油执行的标准", options=["GB 17930-2016 国六A", "GB 17930-2016 国六B", "其他"],
           legal_basis="《中华人民共和国产品质量法》"),
        _q(Y, "是否抽取油品样品送检？", help_text="抽样须由两名以上执法人员进行，并填写抽样单。"),
        _q(P, "加油机检定合格标志照片"),
    ]),
    ("WZ-2021-002", "农业农村局"): ("农作物种子生产企业检查表（农业农村）", [
        _q(Y, "是否持有有效的农作物种子生产经营许可证？", legal_basis=f"{SEED_LAW}；《农作物种子生产经营许可管理办法》"),
        _q(T, "种子生产经营许可证编号"),
        _q(M, "本次检查涉及的作物种类", options=["小麦", "玉米", "大豆", "花生", "蔬菜", "其他"]),
        _q(Y, "种子标签和使用说明是否符合规定？", legal_basis="《农作物种子标签和使用说明管理办法》",
           help_text="查看标签标注的品种名称、审定（登记）编号、质量指标、净含量、生产日期等。"),
        _q(Y, "是否建立并保存种子生产经营档案？", legal_basis=SEED_LAW),
        _q(N, "抽取种子样品数量", unit="个", min_value=0, max_value=50),
        _q(D, "抽样日期", required=False),
        _q(S, "主要品种是否通过审定或登记", options=["已审定", "已登记", "无需审定或登记", "未审定或登记"],
           legal_basis=SEED_LAW),
        _q(P, "种子包装标签照片"),
    ]),
    ("WZ-2021-002", "市场监督管理局"): ("种子经营主体登记与公示检查表（市场监管）", [
        _q(Y, "实际经营地址是否与登记的住所（经营场所）一致？",
           legal_basis="《中华人民共和国市场主体登记管理条例》"),
        _q(Y, "是否按时报送并公示年度报告？", legal_basis="《企业信息公示暂行条例》"),
        _q(S, "营业执照经营范围是否包含种子经营", options=["包含", "不包含", "登记经营范围表述不明确"]),
        _q(T, "发现的其他问题", required=False, help_text="没有问题可不填。"),
        _q(P, "营业执照照片"),
    ]),
    ("WZ-2021-003", "应急管理局"): ("生产经营单位安全生产检查表（应急管理）", [
        _q(Y, "是否建立健全全员安全生产责任制和安全生产规章制度？", legal_basis=f"{SAFETY_LAW}第四条"),
        _q(Y, "是否对从业人员进行安全生产教育和培训并建立培训档案？", legal_basis=f"{SAFETY_LAW}第二十八条"),
        _q(N, "本年度参加安全生产培训的从业人员人数", unit="人", min_value=0),
        _q(Y, "是否建立安全风险分级管控制度并采取相应管控措施？", legal_basis=f"{SAFETY_LAW}第四十一条"),
        _q(M, "现场发现的事故隐患类别", required=False,
           options=["消防设施", "电气线路", "特种设备", "危险化学品储存", "有限空间作业", "其他"],
           legal_basis=f"{SAFETY_LAW}第四十一条", help_text="未发现隐患可不选。"),
        _q(Y, "是否制定生产安全事故应急救援预案并定期组织演练？",
           legal_basis=f"{SAFETY_LAW}第八十一条；《生产安全事故应急预案管理办法》"),
        _q(D, "最近一次应急演练日期", required=False),
        _q(S, "事故隐患整改情况", options=["无隐患", "已当场整改", "限期整改", "需停产停业整改"]),
        _q(P, "现场隐患或整改情况照片", required=False),
    ]),
    ("WZ-2021-003", "市场监督管理局"): ("企业登记事项检查表（市场监管）", [
        _q(Y, "企业名称、住所、法定代表人等登记事项是否与实际一致？",
           legal_basis="《中华人民共和国市场主体登记管理条例》"),
        _q(Y, "是否在经营场所醒目位置悬挂营业执照？", legal_basis="《中华人民共和国市场主体登记管理条例》"),
        _q(Y, "即时信息（股东出资、行政许可等）是否按规定公示？", legal_basis="《企业信息公示暂行条例》"),
        _q(S, "经营状态", options=["正常经营", "停业", "通过登记的住所无法联系"]),
        _q(T, "检查情况说明", required=False),
        _q(P, "经营场所门头照片"),
    ]),
    ("WZ-2021-004", "市场监督管理局"): ("检验检测机构监督检查表（市场监管）", [
        _q(Y, "是否取得资质认定证书并在有效期内？", legal_basis="《检验检测机构资质认定管理办法》"),
        _q(T, "资质认定证书编号"),
        _q(Y, "出具的检验检测报告是否在资质认定的能力范围内？", legal_basis=LAB_RULES),
        _q(Y, "是否存在出具不实或虚假检验检测报告的情形？", legal_basis=f"{LAB_RULES}第十三条、第十四条",
           help_text="抽查近一年出具的报告及对应的原始记录。"),
        _q(N, "抽查检验检测报告份数", unit="份", min_value=1, max_value=100),
        _q(M, "抽查报告涉及的领域", options=["环境监测", "食品", "建筑工程", "机动车检验", "其他"]),
        _q(Y, "原始记录和报告是否按规定保存（不少于6年）？", legal_basis=LAB_RULES),
        _q(D, "最近一次内部审核日期", required=False),
        _q(P, "资质认定证书及标志使用情况照片"),
    ]),
    ("WZ-2021-004", "环境保护局"): ("环境监测机构数据质量检查表（生态环境）", [
        _q(Y, "环境监测数据是否真实、准确，无篡改、伪造情形？",
           legal_basis="《环境监测数据弄虚作假行为判定及处理办法》"),
        _q(S, "在线监测设备运行状态", options=["正常运行", "故障已报告", "故障未报告", "不涉及"]),
        _q(Y, "采样记录是否完整（采样点位、时间、人员、现场照片）？"),
        _q(N, "抽查监测报告份数", unit="份", min_value=1, max_value=100),
        _q(T, "发现的主要问题", required=False),
        _q(P, "现场采样或仪器设备照片"),
    ]),
}


def load_demo_catalog(departments_by_short_name: Mapping[str, Department], *,
                      issuer: Department | None = None) -> list[CheckItem]:
    """Create and publish the 武陟县 first-edition list with one published checklist per
    participating department; return its items (``items[0].edition`` is the edition).
    Idempotent: when any edition exists already, nothing is created and the items of the newest
    edition are returned.

    ``departments_by_short_name`` maps 商务局, 市场监督管理局, 农业农村局, 应急管理局, 环境保护局 to
    departments; the list is issued by ``issuer`` (default: the 市场监督管理局, which hosts the
    joint office). Raises KeyError naming a missing department."""
    existing = db.session.execute(select(ListEdition).order_by(ListEdition.number.desc()).limit(1)).scalar_one_or_none()
    if existing is not None:
        return list(existing.items)
    depts = dict(departments_by_short_name)
    for name in ("商务局", "市场监督管理局", "农业农村局", "应急管理局", "环境保护局"):
        if name not in depts:
            raise KeyError(f"load_demo_catalog needs the department {name!r}")
    issuer = issuer or depts["市场监督管理局"]
    edition = services.create_edition(title=EDITION_TITLE, issuer_id=issuer.id,
                                      note=EDITION_NOTE)
    for seq, (code, domain, name, content, basis, scope, otype, init, coops, methods, ratio, freq) in enumerate(ITEMS, 1):
        data = services.ItemData(
            domain=domain, name=name, content=content, legal_basis=basis, object_scope=scope,
            object_type=otype, initiating_department_id=depts[init].id,
            cooperating_department_ids=[depts[c].id for c in coops], methods=methods,
            default_ratio=ratio, frequency=freq, times_per_year=1, code=code, seq=seq,
        )
        item = services.create_item(edition, data)
        for short in [init, *coops]:
            title, questions = CHECKLISTS[(code, short)]
            # the checklists are written for the demo: the title says so, visibly
            template = services.create_template(item, depts[short].id, title=f"{title}（{DEMO_MARK}）")
            services.copy_questions(template, questions)
            services.publish_template(template)
    services.publish_edition(edition)
    return list(edition.items)
