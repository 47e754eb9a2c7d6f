"""Reference data of the field record: the result list (in the database, configurable), the check
methods and the follow-up measures (constants: they are named by the rules themselves and the app
ships the same lists for offline use).

The result list is seeded with the ten standard categories [000#20] by ``flask results seed``, the
demo loader and the first visit of the back-office page; until then (an empty table) readers get
the same ten as defaults, so a fresh deployment validates records correctly before anyone seeded.
Services only flush; every change is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..audit.services import record, snapshot
from ..core.errors import DomainError, NotFound
from ..extensions import db
from .models import ResultCode


@dataclass(frozen=True)
class ResultOption:
    """One result as the validation and the phone see it."""

    code: str
    label: str
    label_en: str | None
    problem: bool
    no_check: bool
    party_absent: bool
    active: bool = True

    def payload(self) -> dict:
        return {"code": self.code, "label": self.label, "label_en": self.label_en, "problem": self.problem,
                "no_check": self.no_check, "party_absent": self.party_absent}


#: the ten standard result categories [000#20] (code, 中文, English, problem, no_check, party_absent).
#: unreachable/uncooperative may be recorded without a substantive check once evidence is taken
#: [000#21]; unreachable means nobody of the party was there, so nobody can sign or refuse.
DEFAULT_RESULT_CODES: tuple[tuple[str, str, str, bool, bool, bool], ...] = (
    ("no_problem", "未发现问题", "No problem found", False, False, False),
    ("not_disclosed", "未按规定公示应当公示的信息", "Required information not disclosed", True, False, False),
    ("false_disclosure", "公示信息隐瞒真实情况弄虚作假", "Disclosed information false or concealing facts",
     True, False, False),
    ("unreachable", "通过登记的住所（经营场所）无法联系", "Unreachable at the registered address",
     False, True, True),
    ("rectified", "发现问题已责令改正", "Problem found, ordered to rectify", True, False, False),
    ("uncooperative", "不配合检查情节严重", "Seriously uncooperative", True, True, False),
    ("no_activity", "未发现开展本次抽查涉及的经营活动", "No business activity concerned by this check found",
     False, False, False),
    ("pending_followup", "发现问题待后续处理", "Problem found, follow-up pending", True, False, False),
    ("qualified", "合格", "Qualified", False, False, False),
    ("unqualified", "不合格", "Unqualified", True, False, False),
)

#: check methods per item [002#15] (code, 中文): the codes of the check-item list's
#: ``server.catalog.models.CheckMethod``, with the same labels
METHOD_OPTIONS: tuple[tuple[str, str], ...] = (
    ("onsite", "实地检查"),
    ("documents", "书面检查"),
    ("online", "网络监测"),
    ("sampling", "抽样检测"),
)
#: 中文 labels by code, as the visit page and the printed record form show them
METHOD_LABELS: dict[str, str] = dict(METHOD_OPTIONS)
METHOD_LABELS_EN = {"onsite": "On-site inspection", "documents": "Document review", "online": "Online monitoring",
                    "sampling": "Sampling and testing"}

#: follow-up measures (后续处理) [000#23]; ``none`` is not allowed when a problem was found
FOLLOW_UP_OPTIONS: tuple[tuple[str, str], ...] = (
    ("none", "无"),
    ("order_rectify", "责令改正"),
    ("case_filing", "移送办案机构"),
    ("notify_dept", "抄告相关部门"),
    ("abnormal_list", "列入经营异常名录"),
    ("judiciary", "移送司法机关"),
)
FOLLOW_UP_LABELS: dict[str, str] = dict(FOLLOW_UP_OPTIONS)
FOLLOW_UP_LABELS_EN = {"none": "None", "order_rectify": "Order to rectify", "case_filing": "Refer for a case",
                       "notify_dept": "Notify the competent department", "abnormal_list": "Abnormal operations list",
                       "judiciary": "Refer to the judiciary"}

#: measures taken on site [000#20(二)] and their forms (the app's MEASURES / MEASURE_FORMS)
MEASURE_CODES = ("order_stop", "order_rectify")
MEASURE_FORMS = ("written", "oral", "printed")

#: 中文 labels of the record's other codes, shared by the visit page and the printed record form
#: (the notice to the party, the measures and their forms, yes/no/n.a. answers)
#: (``N_`` only marks them for translation: the PDF prints them in Chinese, the page translates them)


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional no-op marker, found by pybabel extract
    return message


NOTICE_LABELS: dict[str, str] = {"served": N_("已送达告知书"), "not_served": N_("未送达告知书"),
                                 "unannounced": N_("未事先告知（不得告知）")}
MEASURE_LABELS: dict[str, str] = {"order_stop": N_("责令停止"), "order_rectify": N_("责令改正")}
MEASURE_FORM_LABELS: dict[str, str] = {"written": N_("书面"), "oral": N_("口头"), "printed": N_("移动端打印")}
ANSWER_LABELS: dict[str, str] = {"yes": N_("是"), "no": N_("否"), "na": N_("不适用")}

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def method_options() -> list[dict]:
    return [{"code": c, "label": label, "label_en": METHOD_LABELS_EN[c]} for c, label in METHOD_OPTIONS]


def follow_up_options() -> list[dict]:
    return [{"code": c, "label": label, "label_en": FOLLOW_UP_LABELS_EN[c]} for c, label in FOLLOW_UP_OPTIONS]


def _defaults() -> list[ResultOption]:
    return [ResultOption(code, zh, en, p, n, a) for code, zh, en, p, n, a in DEFAULT_RESULT_CODES]


def result_options(*, include_inactive: bool = False) -> list[ResultOption]:
    """Return the result list in display order (the ten defaults while the table is empty)."""
    rows = db.session.execute(select(ResultCode).order_by(ResultCode.position, ResultCode.id)).scalars().all()
    if not rows:
        return _defaults()
    return [ResultOption(r.code, r.label_zh, r.label_en, r.problem, r.no_check, r.party_absent, r.active)
            for r in rows if include_inactive or r.active]


def result_option_map() -> dict[str, ResultOption]:
    """Return every known result (active or not) by code."""
    return {o.code: o for o in result_options(include_inactive=True)}


def list_result_codes() -> list[ResultCode]:
    return list(db.session.execute(select(ResultCode).order_by(ResultCode.position, ResultCode.id)).scalars())


def ensure_default_result_codes() -> int:
    """Insert the standard results that the table does not hold yet (a deactivated one stays
    deactivated); return how many were added. Audited; flushes only."""
    known = set(db.session.execute(select(ResultCode.code)).scalars())
    start = db.session.execute(select(func.coalesce(func.max(ResultCode.position), 0))).scalar_one()
    added = 0
    for i, (code, zh, en, problem, no_check, absent) in enumerate(DEFAULT_RESULT_CODES, start=1):
        if code in known:
            continue
        row = ResultCode(code=code, label_zh=zh, label_en=en, problem=problem, no_check=no_check,
                         party_absent=absent, position=start + i * 10 if start else i * 10, active=True)
        db.session.add(row)
        db.session.flush()
        record("result_code.create", "result_code", row.id, after=snapshot(row, exclude=("created_at", "updated_at")),
               note="default")
        added += 1
    return added


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes", "y")


def _labels(label_zh, label_en) -> tuple[str, str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    zh = (label_zh or "").strip()
    en = (label_en or "").strip() or None
    if not zh:
        errors["label_zh"] = _("请填写中文名称。")
    elif len(zh) > 200 or "\x00" in zh:
        errors["label_zh"] = _("中文名称不能超过 200 个字符，且不能含控制字符。")
    if en is not None and (len(en) > 200 or "\x00" in en):
        errors["label_en"] = _("英文名称不能超过 200 个字符，且不能含控制字符。")
    return zh, en, errors


def get_result_code(code: str) -> ResultCode:
    """Return the stored result or raise NotFound ``result_code_not_found``."""
    row = db.session.execute(select(ResultCode).where(ResultCode.code == code)).scalar_one_or_none()
    if row is None:
        raise NotFound("result_code_not_found", _("找不到检查结果代码“%(code)s”。", code=code))
    return row


def add_result_code(code: str, label_zh: str, label_en: str | None = None, *, problem=False, no_check=False,
                    party_absent=False) -> ResultCode:
    """Add a result to the list (audited) and return it.

    Raises DomainError ``invalid_result_code`` (``details.fields``) for a bad code or label and
    Conflict-like ``result_code_exists`` (409) for a code already on the list."""
    ensure_default_result_codes()  # the list a deployment extends starts from the ten
    code = (code or "").strip()
    zh, en, errors = _labels(label_zh, label_en)
    if not CODE_RE.match(code):
        errors["code"] = _("代码须为 2–40 个小写英文字母、数字或下划线，以字母开头，例如 closed_liquidating。")
    party_absent, no_check = _flag(party_absent), _flag(no_check)
    if party_absent and not no_check:
        errors["party_absent"] = _("“无人在场”的结果无法实地检查，须同时勾选“可不实地检查”。")
    if errors:
        raise DomainError("invalid_result_code", next(iter(errors.values())), status=422, fields=errors)
    if db.session.execute(select(ResultCode.id).where(ResultCode.code == code)).first() is not None:
        raise DomainError("result_code_exists", _("代码“%(code)s”已在结果列表中；如已停用，请重新启用。", code=code),
                          status=409, fields={"code": _("该代码已存在。")})
    position = db.session.execute(select(func.coalesce(func.max(ResultCode.position), 0))).scalar_one() + 10
    row = ResultCode(code=code, label_zh=zh, label_en=en, problem=_flag(problem), no_check=no_check,
                     party_absent=party_absent, position=position, active=True)
    db.session.add(row)
    db.session.flush()
    record("result_code.create", "result_code", row.id, after=snapshot(row, exclude=("created_at", "updated_at")))
    return row


def update_result_code(row: ResultCode, *, label_zh: str, label_en: str | None, position=None) -> ResultCode:
    """Change a result's labels (and display position); the code and its meaning flags never
    change, since stored records refer to them. Audited. Raises ``invalid_result_code`` (422)."""
    zh, en, errors = _labels(label_zh, label_en)
    pos = row.position
    if position not in (None, ""):
        try:
            pos = int(position)
            if not 0 <= pos <= 1_000_000:
                raise ValueError
        except (TypeError, ValueError):
            errors["position"] = _("排序须为 0 到 1000000 之间的整数。")
    if errors:
        raise DomainError("invalid_result_code", next(iter(errors.values())), status=422, fields=errors)
    before = {"label_zh": row.label_zh, "label_en": row.label_en, "position": row.position}
    row.label_zh, row.label_en, row.position = zh, en, pos
    after = {"label_zh": row.label_zh, "label_en": row.label_en, "position": row.position}
    if before != after:
        db.session.flush()
        record("result_code.update", "result_code", row.id, before=before, after=after)
    return row


def set_result_code_active(row: ResultCode, active: bool) -> ResultCode:
    """Deactivate (no longer offered to the phones; stored records keep it) or reactivate a
    result. Refuses to deactivate the last active result (``last_result_code``, 409). Audited."""
    if row.active == active:
        return row
    if not active:
        others = db.session.execute(select(func.count()).select_from(ResultCode).where(
            ResultCode.active.is_(True), ResultCode.id != row.id)).scalar_one()
        if others == 0:
            raise DomainError("last_result_code", _("至少要保留一个启用的检查结果。"), status=409)
    row.active = active
    db.session.flush()
    record("result_code.activate" if active else "result_code.deactivate", "result_code", row.id,
           before={"active": not active}, after={"active": active})
    return row
