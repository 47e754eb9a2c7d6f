"""The deployment's rules (minimum ratios, yearly cap, complaint threshold, who enters results).

INTERFACE (stable; other packages import it): ``get_rules() -> Rules``.
The stored settings live in the database (table ``rule_settings``, one row per key changed from
its default); until a deployment has changed a rule, the defaults below apply. ``get_rules`` is one
small query, cheap enough to call per request (call it once per operation and pass the result on).

Changing rules: :func:`update_rules` (the admin screen, ``flask rules set``) validates every value,
writes only what changed and appends one ``rules.update`` audit entry with before/after. Services
only flush.

When rules apply: ratios and the unstratified mode are checked when a task is saved and when it is
submitted; a task the departments accepted keeps the ratios it was accepted with (it can no longer
be edited). The yearly cap, what it counts, the complaint threshold and the unrated stratum's ratio
(for a task saved without one) apply at the next draw.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..core.errors import DomainError, ValidationFailed
from ..core.models import utcnow
from ..extensions import db
from .models import RuleSetting

log = logging.getLogger(__name__)

#: the credit-risk classes A (low) … D (high) [000#13]
RISK_CLASSES = ("A", "B", "C", "D")
#: the stratum of objects without a credit-risk class (未评级): drawn in a stratum of their own,
#: never silently left out [000#4]
UNRATED = "U"

#: minimum ratio per stratum. A–D: [000#13]. U (no risk class yet, mostly new businesses): the
#: ordinary ratio, that of class B — 3 % — because an object that is not rated is neither known to
#: be low-risk (A, 1 %) nor known to be risky (C/D); [000#13(二)] treats the ordinary case "按照常规
#: 比例和频次". A deployment may change it like any other minimum.
DEFAULT_MIN_RATIOS = {"A": "0.01", "B": "0.03", "C": "0.10", "D": "0.20", UNRATED: "0.03"}

#: 谁检查、谁录入 [000#20]: each department's inspectors enter their own department's section
RESULTS_BY_INSPECTING_DEPARTMENT = "inspecting_department"
#: 谁主导、谁填报 [003#5]: the leading (initiating) department's team members enter every section
RESULTS_BY_LEAD_DEPARTMENT = "lead_department"

#: the yearly cap counts joint spot checks only [000#10] …
CAP_COUNTS_JOINT = "joint"
#: … or every spot check [003#15]
CAP_COUNTS_ALL = "all"


@dataclass(frozen=True)
class Rules:
    """The rules in force. Ratios are decimal strings (never floats)."""

    #: minimum ratio per stratum: the risk classes A–D and ``UNRATED`` ("U")
    min_ratios: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MIN_RATIOS))
    #: lower bound of the single-stratum ratio (ALL), 5 %–100 % [004§6]
    unstratified_min_ratio: str = "0.05"
    #: whether the single-stratum mode may be used when the candidates have risk classes (it
    #: bypasses the per-class minimums, e.g. D ≥ 20 %)
    unstratified_with_classes: bool = False
    #: at most this many checks per object per calendar year [000#10, 003#15]
    yearly_cap: int = 2
    #: what the cap counts: CAP_COUNTS_JOINT or CAP_COUNTS_ALL
    yearly_cap_counts: str = CAP_COUNTS_JOINT
    #: objects with at least this many complaints are exempt from the cap [003#15, 003#28]
    complaint_threshold: int = 3
    #: RESULTS_BY_INSPECTING_DEPARTMENT or RESULTS_BY_LEAD_DEPARTMENT
    results_entry: str = RESULTS_BY_INSPECTING_DEPARTMENT


# -- the keys ----------------------------------------------------------------------------------

RATIO, FLAG, COUNT, CHOICE = "ratio", "flag", "count", "choice"

#: every rule key, in display order, with its kind
RULE_KEYS: dict[str, str] = {
    **{f"min_ratio.{c}": RATIO for c in (*RISK_CLASSES, UNRATED)},
    "unstratified_min_ratio": RATIO,
    "unstratified_with_classes": FLAG,
    "yearly_cap": COUNT,
    "yearly_cap_counts": CHOICE,
    "complaint_threshold": COUNT,
    "results_entry": CHOICE,
}

RULE_LABELS = {
    "min_ratio.A": _l("A 类（低风险）最低抽查比例"),
    "min_ratio.B": _l("B 类（中风险）最低抽查比例"),
    "min_ratio.C": _l("C 类（中高风险）最低抽查比例"),
    "min_ratio.D": _l("D 类（高风险）最低抽查比例"),
    "min_ratio.U": _l("未评级对象最低抽查比例"),
    "unstratified_min_ratio": _l("不分层抽取最低比例"),
    "unstratified_with_classes": _l("候选对象已有信用风险分类时允许不分层抽取"),
    "yearly_cap": _l("同一对象每年最多被抽查次数"),
    "yearly_cap_counts": _l("年度次数上限计入的抽查"),
    "complaint_threshold": _l("投诉举报达到多少件不受次数限制"),
    "results_entry": _l("检查结果由谁录入"),
}

CHOICES: dict[str, dict[str, Any]] = {
    "yearly_cap_counts": {
        CAP_COUNTS_JOINT: _l("只计部门联合抽查（每年一般不超过两次）[000#10]"),
        CAP_COUNTS_ALL: _l("计入所有抽查 [003#15]"),
    },
    "results_entry": {
        RESULTS_BY_INSPECTING_DEPARTMENT: _l("谁检查、谁录入：各部门检查人员录入本部门事项 [000#20]"),
        RESULTS_BY_LEAD_DEPARTMENT: _l("谁主导、谁填报：牵头部门的检查人员录入全部事项 [003#5]"),
    },
}

#: the ranges of the counts
COUNT_RANGES = {"yearly_cap": (1, 100), "complaint_threshold": (1, 100000)}

RATIO_RE = re.compile(r"^(?:0|[1-9]\d{0,2})(?:\.\d{1,6})?%?$")
TRUE_TEXTS = {"1", "true", "yes", "y", "on", "是", "允许"}
FALSE_TEXTS = {"0", "false", "no", "n", "off", "否", "不允许", ""}

#: the audit entity of the rule settings
AUDIT_ENTITY = ("rules", "deployment")


def _ratio_text(ratio: Decimal) -> str:
    return format(ratio.normalize(), "f")


def _clean_ratio(value: Any) -> str:
    if isinstance(value, float):
        raise ValueError(_("比例须以小数文本填写（如 0.03）或百分数（如 3%），不能是浮点数。"))
    text = str(value if value is not None else "").strip().replace("％", "%")
    if not text:
        raise ValueError(_("请填写比例（如 0.03 或 3%）。"))
    if not RATIO_RE.match(text):
        raise ValueError(_("“%(v)s”不是有效的比例。请填写大于 0、不超过 1 的小数（如 0.03）或百分数（如 3%%）。", v=text))
    try:
        ratio = Decimal(text.rstrip("%"))
    except InvalidOperation:  # pragma: no cover - the pattern already refused it
        raise ValueError(_("“%(v)s”不是有效的比例。", v=text)) from None
    if text.endswith("%"):
        ratio = ratio / 100
    if not Decimal(0) < ratio <= Decimal(1):
        raise ValueError(_("比例须大于 0 且不超过 1（100%%），“%(v)s”不在此范围。", v=text))
    return _ratio_text(ratio)


def _clean_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE_TEXTS:
        return True
    if text in FALSE_TEXTS:
        return False
    raise ValueError(_("“%(v)s”不是有效的选择。请填写 yes（允许）或 no（不允许）。", v=text))


def _clean_count(key: str, value: Any) -> int:
    low, high = COUNT_RANGES[key]
    text = str(value if value is not None else "").strip()
    if isinstance(value, bool) or not re.fullmatch(r"-?\d{1,9}", text):
        raise ValueError(_("“%(v)s”不是整数。请填写 %(low)s 到 %(high)s 之间的整数。", v=text, low=low, high=high))
    number = int(text)
    if not low <= number <= high:
        raise ValueError(_("%(v)s 超出范围。请填写 %(low)s 到 %(high)s 之间的整数。", v=number, low=low, high=high))
    return number


def _clean_choice(key: str, value: Any) -> str:
    text = str(value if value is not None else "").strip()
    if text not in CHOICES[key]:
        raise ValueError(_("“%(v)s”不是有效的选项。可选：%(opts)s。", v=text, opts="、".join(CHOICES[key])))
    return text


def clean_value(key: str, value: Any) -> Any:
    """Return the cleaned value of one rule (ratios as canonical decimal strings, counts as int,
    flags as bool, choices as str). Raises DomainError ``unknown_rule`` for an unknown key and
    ``bad_rule_value`` (with a message saying what is expected) for a bad value."""
    kind = RULE_KEYS.get(key)
    if kind is None:
        raise DomainError("unknown_rule", _("没有名为“%(k)s”的规则。可设置的规则：%(keys)s。",
                                            k=key, keys="、".join(RULE_KEYS)), status=422, key=key)
    try:
        if kind == RATIO:
            return _clean_ratio(value)
        if kind == FLAG:
            return _clean_flag(value)
        if kind == COUNT:
            return _clean_count(key, value)
        return _clean_choice(key, value)
    except ValueError as exc:
        raise DomainError("bad_rule_value", _("%(label)s：%(msg)s", label=RULE_LABELS[key], msg=str(exc)),
                          status=422, key=key, field=key) from None


# -- reading -----------------------------------------------------------------------------------


def _defaults() -> dict[str, Any]:
    rules = Rules()
    out: dict[str, Any] = {f"min_ratio.{k}": v for k, v in rules.min_ratios.items()}
    for key in RULE_KEYS:
        if not key.startswith("min_ratio."):
            out[key] = getattr(rules, key)
    return out


def _stored() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in db.session.execute(select(RuleSetting.key, RuleSetting.value)).all():
        try:
            values[key] = clean_value(key, value)
        except DomainError:  # a row edited outside the application: the default applies
            log.warning("rule_settings: ignoring the invalid stored value of %r", key)
    return values


def rule_values() -> dict[str, Any]:
    """Return every rule key with the value in force (stored, else the default)."""
    return {**_defaults(), **_stored()}


def _rules_from(values: Mapping[str, Any]) -> Rules:
    ratios = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("min_ratio.")}
    return Rules(min_ratios=ratios, **{k: v for k, v in values.items()
                                       if not k.startswith("min_ratio.") and k in RULE_KEYS})


def get_rules() -> Rules:
    """Return the rules in force for this deployment (defaults for keys never set); one query."""
    return _rules_from(rule_values())


def settings_rows() -> dict[str, RuleSetting]:
    """Return the stored settings by key (who changed each and when)."""
    return {s.key: s for s in db.session.execute(select(RuleSetting)).scalars()}


def display_value(key: str, value: Any) -> str:
    """Return a value as the form and the CLI show it."""
    if RULE_KEYS.get(key) == FLAG:
        return "yes" if value else "no"
    return str(value)


# -- changing ----------------------------------------------------------------------------------


def clean_changes(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``{key: raw value}`` and return the cleaned values. Raises ValidationFailed (422) with
    one message per bad or unknown key (``details["fields"]``)."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            clean[key] = clean_value(key, value)
        except DomainError as err:
            errors[key] = err.message
    if errors:
        raise ValidationFailed(errors)
    return clean


def _same(key: str, a: Any, b: Any) -> bool:
    if RULE_KEYS[key] == RATIO:  # "0.10" is "0.1"
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


def update_rules(raw: Mapping[str, Any], *, user_id: int | None = None) -> dict[str, tuple[Any, Any]]:
    """Validate and store the given rules; return ``{key: (before, after)}`` of those that changed.

    Nothing is written unless every value is valid (ValidationFailed, 422, one message per key).
    Changed keys are stored with who and when, and one ``rules.update`` audit entry records them
    with before/after. Only flushes."""
    from ..audit.services import current_actor, record

    clean = clean_changes(raw)
    current = rule_values()
    changed = {k: (current[k], v) for k, v in clean.items() if not _same(k, current[k], v)}
    if not changed:
        return {}
    if user_id is None:
        user_id = current_actor().id
    now = utcnow()
    rows = settings_rows()
    for key, (_before, after) in changed.items():
        row = rows.get(key)
        if row is None:
            row = RuleSetting(key=key)
            db.session.add(row)
        row.value = after
        row.updated_at = now
        row.updated_by_id = user_id
    db.session.flush()
    record("rules.update", *AUDIT_ENTITY, before={k: b for k, (b, _a) in changed.items()},
           after={k: a for k, (_b, a) in changed.items()})
    return changed


def set_rule(key: str, value: Any) -> dict[str, tuple[Any, Any]]:
    """Set one rule (the CLI); raises DomainError ``unknown_rule`` / ``bad_rule_value`` (422)."""
    clean_value(key, value)  # the single-key error codes
    return update_rules({key: value})
