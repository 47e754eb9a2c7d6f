"""Cleaning one row of the object registry or the inspector registry.

The same functions serve the back-office forms, the file imports (CSV/XLSX, up to millions of
rows) and the CLI, so they are plain Python without database access and cheap on the happy path.

A row is a ``dict[str, str]`` keyed by field names (``code``, ``name`` …, see
:data:`OBJECT_FIELDS` / :data:`INSPECTOR_FIELDS`) or by column headers (Chinese such as
``统一社会信用代码`` or the English aliases); :func:`header_map` turns the headers of a file into
field names once, so an import does not pay for the mapping on every row.

Each function returns ``(cleaned, errors)``. ``cleaned`` holds Python values ready for the model
(enum members, ``date``, ``bool``, ``int``, ``None`` for empty cells); ``errors`` is a list of
:class:`RowError` whose ``column`` is the Chinese column header, ``field`` the field name,
``reason_code`` a stable key and ``message`` a Chinese sentence that says what is wrong and what
to do. A row is valid when ``errors`` is empty.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from operator import mul
from typing import Any

from flask import has_request_context

from ..org.models import Level
from . import codes
from .models import (
    CodeKind,
    Gender,
    InspectorStatus,
    ObjectType,
    RegistrationStatus,
    RiskClass,
)


def _(text: str, **params: Any) -> str:
    """Translate inside a request (the user's language); elsewhere (jobs, CLI) return the Chinese
    text. Named ``_`` so pybabel extracts the messages."""
    if has_request_context():
        from flask_babel import gettext

        return gettext(text, **params)
    return text % params if params else text


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one cell: ``column`` is the Chinese header, ``field`` the field name."""

    column: str
    reason_code: str
    message: str
    field: str = ""


# -- columns -----------------------------------------------------------------------------------

#: object fields in file order: (field, Chinese header, English aliases)
OBJECT_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("code", "统一社会信用代码", ("code", "credit_code", "uscc", "unified_social_credit_code")),
    ("name", "名称", ("name",)),
    ("object_type", "类型", ("type", "object_type")),
    ("legal_representative", "法定代表人", ("legal_representative", "legal_rep")),
    ("address", "住所", ("address",)),
    ("region_county", "区县", ("county", "region_county")),
    ("region_town", "乡镇", ("town", "region_town")),
    ("jurisdiction_level", "管辖层级", ("level", "jurisdiction_level")),
    ("industry", "行业", ("industry",)),
    ("business_scope", "经营范围", ("scope", "business_scope")),
    ("registration_status", "登记状态", ("status", "registration_status")),
    ("registered_on", "成立日期", ("registered_on", "established_on", "established")),
    ("risk_class", "信用风险分类", ("risk_class", "risk")),
    ("abnormal_list", "经营异常名录", ("abnormal_list", "abnormal")),
    ("serious_violation", "严重违法失信", ("serious_violation",)),
    ("complaint_count", "投诉举报次数", ("complaint_count", "complaints")),
    ("supervising_departments", "监管部门", ("supervising_departments", "departments")),
    # optional, last: files made before it still line up with the export
    ("business_peak", "经营高峰时段", ("business_peak", "peak_hours", "peak", "经营高峰", "高峰时段")),
)
#: inspector fields in file order
INSPECTOR_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("department", "部门", ("department",)),
    ("unit", "所属单位", ("unit",)),
    ("name", "姓名", ("name",)),
    ("gender", "性别", ("gender", "sex")),
    ("title", "职务", ("title",)),
    ("expertise", "业务专长", ("expertise",)),
    ("certificate_no", "执法证号", ("certificate_no", "certificate")),
    ("phone", "联系电话", ("phone",)),
    ("qualification", "执法资格", ("qualification",)),
    ("qualification_valid_from", "资格有效期起", ("qualification_valid_from", "valid_from")),
    ("qualification_valid_until", "资格有效期止", ("qualification_valid_until", "valid_until")),
    ("status", "状态", ("status",)),
    ("is_expert", "专家", ("is_expert", "expert")),
)

OBJECT_FIELDS = tuple(c[0] for c in OBJECT_COLUMNS)
INSPECTOR_FIELDS = tuple(c[0] for c in INSPECTOR_COLUMNS)
OBJECT_LABELS = {c[0]: c[1] for c in OBJECT_COLUMNS}
INSPECTOR_LABELS = {c[0]: c[1] for c in INSPECTOR_COLUMNS}
#: a file without one of these columns is refused as a whole
OBJECT_REQUIRED = ("code", "name", "object_type")
INSPECTOR_REQUIRED = ("department", "name", "certificate_no")


def _norm_header(h: str) -> str:
    h = (h or "").strip().lstrip("\ufeff").strip().rstrip("*＊").strip().lower()
    return re.sub(r"[\s\-/]+", "_", h)


def _alias_table(columns) -> dict[str, str]:
    table = {}
    for field, label, aliases in columns:
        table[_norm_header(label)] = field
        table[field] = field
        for a in aliases:
            table[_norm_header(a)] = field
    return table


_OBJECT_ALIASES = _alias_table(OBJECT_COLUMNS)
_INSPECTOR_ALIASES = _alias_table(INSPECTOR_COLUMNS)


def header_map(headers: list[str], kind: str) -> dict[int, str]:
    """Return {column index: field name} for the headers of a file (``kind`` ``objects`` or
    ``inspectors``); unknown headers are left out, the first of two equal headers wins."""
    aliases = _OBJECT_ALIASES if kind == "objects" else _INSPECTOR_ALIASES
    out: dict[int, str] = {}
    seen: set[str] = set()
    for i, h in enumerate(headers):
        field = aliases.get(_norm_header(str(h) if h is not None else ""))
        if field and field not in seen:
            out[i] = field
            seen.add(field)
    return out


def missing_columns(mapping: dict[int, str], kind: str) -> list[str]:
    """Return the Chinese headers of the required columns the file lacks."""
    required, labels = (
        (OBJECT_REQUIRED, OBJECT_LABELS) if kind == "objects" else (INSPECTOR_REQUIRED, INSPECTOR_LABELS)
    )
    have = set(mapping.values())
    return [labels[f] for f in required if f not in have]


def _canonical(row: Mapping[str, Any], fields: tuple[str, ...], aliases: dict[str, str]) -> Mapping[str, Any]:
    if all(k in fields for k in row):
        return row
    out = {}
    for k, v in row.items():
        f = aliases.get(_norm_header(k))
        if f and f not in out:
            out[f] = v
    return out


# -- enum labels (Chinese first, also the code values) -------------------------------------------

OBJECT_TYPE_LABELS = {
    ObjectType.ENTERPRISE: "企业", ObjectType.INDIVIDUAL: "个体工商户",
    ObjectType.COOPERATIVE: "农民专业合作社", ObjectType.OTHER: "其他",
    ObjectType.PRODUCT: "产品", ObjectType.PROJECT: "项目",
}
STATUS_LABELS = {
    RegistrationStatus.ACTIVE: "存续", RegistrationStatus.REVOKED: "吊销",
    RegistrationStatus.CANCELLED: "注销", RegistrationStatus.MOVED_OUT: "迁出",
}
LEVEL_LABELS = {Level.PROVINCE: "省级", Level.CITY: "市级", Level.COUNTY: "县区级"}
GENDER_LABELS = {Gender.MALE: "男", Gender.FEMALE: "女"}
INSPECTOR_STATUS_LABELS = {
    InspectorStatus.ON_DUTY: "在岗", InspectorStatus.TRANSFERRED: "调离",
    InspectorStatus.SUSPENDED: "停用",
}
BOOL_LABELS = {True: "是", False: "否"}


def _lookup(labels: dict, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for member, label in labels.items():
        table[label] = member
        if hasattr(member, "value"):
            table[str(member.value).lower()] = member
            table[member.name.lower()] = member
    for k, v in (extra or {}).items():
        table[k] = v
    return table


_OBJECT_TYPES = _lookup(OBJECT_TYPE_LABELS, {"其他主体": ObjectType.OTHER})
_STATUSES = _lookup(STATUS_LABELS, {"在业": RegistrationStatus.ACTIVE, "存续（在业）": RegistrationStatus.ACTIVE,
                                    "存续(在业)": RegistrationStatus.ACTIVE, "开业": RegistrationStatus.ACTIVE})
_LEVELS = _lookup(LEVEL_LABELS, {"省": Level.PROVINCE, "市": Level.CITY, "县": Level.COUNTY,
                                 "区": Level.COUNTY, "县区": Level.COUNTY, "区县": Level.COUNTY,
                                 "县级": Level.COUNTY, "区县级": Level.COUNTY})
_GENDERS = _lookup(GENDER_LABELS, {"男性": Gender.MALE, "女性": Gender.FEMALE, "m": Gender.MALE,
                                   "f": Gender.FEMALE})
_INSPECTOR_STATUSES = _lookup(INSPECTOR_STATUS_LABELS)
_RISKS = {r.value: r for r in RiskClass} | {r.value.lower(): r for r in RiskClass}
_BOOLS = {"是": True, "否": False, "true": True, "false": False, "yes": True, "no": False,
          "y": True, "n": False, "1": True, "0": False, "有": True, "无": False}

_LIST_SPLIT = re.compile(r"\s*[;；,，、|]\s*")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$")
_FORMULA_START = ("=", "+", "-", "@")
_PHONE_RE = re.compile(r"^[0-9+\-() 转]{3,40}$")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    value = value.strip()
    if value[:1] == "'" and value[1:2] in _FORMULA_START:
        # our CSV export defuses formulas with a leading apostrophe; take it off again
        value = value[1:]
    return value


def parse_date(value: str) -> date:
    """Return the date in ``2024-03-01``, ``2024/3/1``, ``2024.3.1``, ``20240301`` or
    ``2024年3月1日``; raise ``ValueError`` otherwise."""
    if len(value) == 10 and value[4] == "-":
        return date.fromisoformat(value)
    if len(value) == 8 and value.isdigit():
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    m = _DATE_RE.match(value)
    if not m:
        raise ValueError(value)
    return date(int(m[1]), int(m[2]), int(m[3]))


class _Row:
    """Collects cleaned values and errors for one row (keeps the per-field code short)."""

    __slots__ = ("raw", "labels", "errors")

    def __init__(self, raw: Mapping[str, Any], labels: dict[str, str]):
        self.raw = raw
        self.labels = labels
        self.errors: list[RowError] = []

    def error(self, field: str, reason: str, message: str) -> None:
        self.errors.append(RowError(self.labels[field], reason, message, field))

    def text(self, field: str, max_len: int, *, required: bool = False) -> str | None:
        value = _text(self.raw.get(field))
        if not value:
            if required:
                self.error(field, "required", _("%(col)s 不能为空，请填写。", col=self.labels[field]))
            return None
        if len(value) > max_len:
            self.error(field, "too_long", _("%(col)s 最多 %(max)s 个字，现为 %(n)s 个字，请缩短。",
                                            col=self.labels[field], max=max_len, n=len(value)))
            return None
        return value

    def choice(self, field: str, table: dict[str, Any], default: Any, labels: dict, *,
               required: bool = False) -> Any:
        value = _text(self.raw.get(field))
        if not value:
            if required:
                self.error(field, "required", _("%(col)s 不能为空，请填写。", col=self.labels[field]))
            return default
        member = table.get(value)
        if member is None:
            member = table.get(value.lower())
        if member is None:
            allowed = "、".join(str(v) for v in labels.values())
            self.error(field, "bad_choice", _("%(col)s 的值“%(value)s”无法识别，可填：%(allowed)s。",
                                              col=self.labels[field], value=value[:50], allowed=allowed))
            return default
        return member

    def boolean(self, field: str) -> bool:
        value = _text(self.raw.get(field))
        if not value:
            return False
        b = _BOOLS.get(value.lower())
        if b is None:
            self.error(field, "bad_bool", _("%(col)s 的值“%(value)s”无法识别，请填“是”或“否”。",
                                            col=self.labels[field], value=value[:50]))
            return False
        return b

    def day(self, field: str) -> date | None:
        value = _text(self.raw.get(field))
        if not value:
            return None
        if isinstance(self.raw.get(field), (date, datetime)):
            v = self.raw[field]
            return v.date() if isinstance(v, datetime) else v
        try:
            return parse_date(value)
        except ValueError:
            self.error(field, "bad_date", _("%(col)s 的值“%(value)s”不是有效日期，请按 2024-03-01 的格式填写。",
                                            col=self.labels[field], value=value[:50]))
            return None


# -- objects -----------------------------------------------------------------------------------

def _code_message(reason: str, **params: Any) -> str:
    if reason == "length":
        return _("统一社会信用代码应为 18 位，“%(code)s”为 %(n)s 位。请核对后重新填写。", **params)
    if reason == "forbidden_char":
        return _("统一社会信用代码“%(code)s”含有不允许的字母 %(chars)s（代码中不使用 I、O、S、V、Z）。"
                 "请核对是否把数字 1、0、5、2 误写成了字母。", **params)
    if reason == "bad_char":
        return _("统一社会信用代码“%(code)s”含有无效字符 %(chars)s。代码只能由数字和大写字母组成。", **params)
    return _("统一社会信用代码“%(code)s”的校验位不正确（按 GB 32100-2015 应为 %(expected)s）。"
             "请核对代码；确属早期合法赋码的，请由系统管理员在名录库中单独确认。", **params)


_CODE_VALUE = codes.VALUES.__getitem__


def clean_code(value: Any, accepted_codes: Container[str] = ()) -> tuple[str | None, CodeKind | None, RowError | None]:
    """Return ``(code, code_kind, error)`` for a credit-code cell.

    Valid GB 32100-2015 codes are ``uscc``; a code that fails the check but is in
    ``accepted_codes`` (accepted by an administrator earlier) is ``accepted``; ``S`` + 17 alphabet
    characters is a generated code; an empty cell gives ``(None, GENERATED, None)`` — the caller
    generates one.
    """
    if value and value.__class__ is str and len(value) == 18:
        # fast path: an upper-case code with a correct check character
        try:
            total = sum(map(mul, map(_CODE_VALUE, value[:17]), codes.WEIGHTS))
        except KeyError:
            pass
        else:
            if codes.ALPHABET[(31 - total % 31) % 31] == value[17]:
                return value, CodeKind.USCC, None
    label = OBJECT_LABELS["code"]
    code = codes.normalise(_text(value))
    if not code:
        return None, CodeKind.GENERATED, None
    if code in accepted_codes:
        return code, CodeKind.ACCEPTED, None
    if len(code) == 18 and code[0] == codes.GENERATED_PREFIX and all(c in codes.VALUES for c in code[1:]):
        return code, CodeKind.GENERATED, None
    try:
        return codes.validate(code), CodeKind.USCC, None
    except codes.CodeError as err:
        params: dict[str, Any] = {"code": code[:40]}
        if err.reason == "length":
            params["n"] = len(code)
        elif err.reason in ("forbidden_char", "bad_char"):
            params["chars"] = err.detail
        else:
            params["expected"] = codes.check_character(code[:17])
        return None, None, RowError(label, err.reason, _code_message(err.reason, **params), "code")


def split_list(value: Any) -> list[str]:
    """Split a list cell (``；`` ``;`` ``,`` ``、`` ``|``) into its non-empty items."""
    text = _text(value)
    if not text:
        return []
    return [p for p in _LIST_SPLIT.split(text) if p]


def resolve_departments(names: list[str], departments_by_name_or_code: Mapping[str, Any]) -> tuple[list[Any], list[str]]:
    """Return (departments found, names not found)."""
    found, unknown = [], []
    for n in names:
        d = departments_by_name_or_code.get(n)
        (found if d is not None else unknown).append(d if d is not None else n)
    return found, unknown


_OBJECT_TEXT = (
    ("name", 200, True), ("legal_representative", 100, False), ("address", 300, False),
    ("region_county", 100, False), ("region_town", 100, False), ("industry", 100, False),
    ("business_scope", 4000, False),
)
_OBJECT_CHOICES = (
    ("object_type", _OBJECT_TYPES, None, OBJECT_TYPE_LABELS, True),
    ("jurisdiction_level", _LEVELS, Level.COUNTY, LEVEL_LABELS, False),
    ("registration_status", _STATUSES, RegistrationStatus.ACTIVE, STATUS_LABELS, False),
)
_OBJECT_FIELD_SET = frozenset(OBJECT_FIELDS)


def clean_object_row(row: Mapping[str, Any], departments_by_name_or_code: Mapping[str, Any] | None = None,
                     *, accepted_codes: Container[str] = (), row_number: int | None = None
                     ) -> tuple[dict, list[RowError]]:
    """Clean one object row; return ``(cleaned, errors)``.

    ``cleaned`` has the model's attribute names. ``code`` is ``None`` when the cell is empty (the
    caller generates a code, ``code_kind`` is then ``GENERATED``). ``supervising_departments`` is a
    list of the departments found in ``departments_by_name_or_code`` when it is given (unknown
    names are an ``unknown_department`` error), otherwise the list of names as written.
    ``accepted_codes`` are codes failing the check character that an administrator accepted.
    ``row_number`` (a file's row) is named in the messages that say which row they are about.
    """
    # written for speed (imports clean millions of rows): the common case runs without calls
    if not _OBJECT_FIELD_SET.issuperset(row):
        row = _canonical(row, OBJECT_FIELDS, _OBJECT_ALIASES)
    r = _Row(row, OBJECT_LABELS)
    get = row.get
    code, kind, code_err = clean_code(get("code"), accepted_codes)
    if code_err:
        r.errors.append(code_err)
    cleaned: dict[str, Any] = {"code": code, "code_kind": kind}
    for f, max_len, required in _OBJECT_TEXT:
        v = get(f)
        if v:
            v = v.strip() if v.__class__ is str else _text(v)
            if v and v[0] == "'":
                v = _text(v)
        if not v:
            cleaned[f] = None
            if required:
                r.error(f, "required", _("%(col)s 不能为空，请填写。", col=OBJECT_LABELS[f]))
        elif len(v) > max_len:
            cleaned[f] = None
            r.error(f, "too_long", _("%(col)s 最多 %(max)s 个字，现为 %(n)s 个字，请缩短。",
                                     col=OBJECT_LABELS[f], max=max_len, n=len(v)))
        else:
            cleaned[f] = v
    for f, table, default, labels, required in _OBJECT_CHOICES:
        v = get(f)
        member = table.get(v) if v else None
        cleaned[f] = member if member is not None else r.choice(f, table, default, labels, required=required)
    v = get("registered_on")
    if v and v.__class__ is str and len(v) == 10 and v[4] == "-":
        try:
            cleaned["registered_on"] = date.fromisoformat(v)
        except ValueError:
            cleaned["registered_on"] = r.day("registered_on")
    else:
        cleaned["registered_on"] = r.day("registered_on")
    risk_raw = get("risk_class")
    risk = _RISKS.get(risk_raw) if risk_raw else None
    if risk is None and risk_raw:
        risk_raw = _text(risk_raw)
        if risk_raw:
            risk = _RISKS.get(risk_raw) or _RISKS.get(risk_raw.upper().rstrip("类级"))
            if risk is None:
                r.error("risk_class", "bad_choice", _("%(col)s 的值“%(value)s”无法识别，可填：A、B、C、D。",
                                                      col=OBJECT_LABELS["risk_class"], value=risk_raw[:50]))
    cleaned["risk_class"] = risk
    for f in ("abnormal_list", "serious_violation"):
        v = get(f)
        b = _BOOLS.get(v) if v else False
        cleaned[f] = b if b is not None else r.boolean(f)
    complaints = 0
    raw_c = get("complaint_count")
    if raw_c and raw_c != "0":
        raw_c = _text(raw_c)
        try:
            complaints = int(float(raw_c)) if "." in raw_c else int(raw_c or 0)
            if complaints < 0 or complaints > 1_000_000:
                raise ValueError(raw_c)
        except ValueError:
            r.error("complaint_count", "bad_number",
                    _("%(col)s 的值“%(value)s”不是有效的次数，请填写 0 或正整数。",
                      col=OBJECT_LABELS["complaint_count"], value=raw_c[:50]))
            complaints = 0
    cleaned["complaint_count"] = complaints
    raw_d = get("supervising_departments")
    depts: list[Any] = []
    if raw_d:
        one = departments_by_name_or_code.get(raw_d) if departments_by_name_or_code is not None else None
        if one is not None:
            depts = [one]
        else:
            dept_names = split_list(raw_d)
            depts = dept_names
            if departments_by_name_or_code is not None and dept_names:
                depts, unknown = resolve_departments(dept_names, departments_by_name_or_code)
                if unknown:
                    r.error("supervising_departments", "unknown_department",
                            _("监管部门“%(names)s”在系统中不存在。请填写已登记部门的全称或部门编码。",
                              names="、".join(unknown)[:200]))
    cleaned["supervising_departments"] = depts
    peak = get("business_peak")
    if peak:
        cleaned["business_peak"], peak_err = clean_business_peak(peak, row_number)
        if peak_err is not None:
            r.errors.append(peak_err)
    else:
        cleaned["business_peak"] = None
    return cleaned, r.errors


# -- inspectors --------------------------------------------------------------------------------


def clean_inspector_row(row: Mapping[str, Any], departments_by_name_or_code: Mapping[str, Any]
                        ) -> tuple[dict, list[RowError]]:
    """Clean one inspector row; return ``(cleaned, errors)``.

    ``departments_by_name_or_code`` maps a department's name, short name or code to the department
    (an object with ``id`` and ``bureau``, e.g. :class:`server.org.models.Department`).
    ``cleaned`` has ``department_id``, ``unit_id``, ``expertise`` (list of tags) and the model's
    other attribute names.
    """
    row = _canonical(row, INSPECTOR_FIELDS, _INSPECTOR_ALIASES)
    r = _Row(row, INSPECTOR_LABELS)
    dept_id = unit_id = None
    dept_raw = _text(row.get("department"))
    dept = None
    if not dept_raw:
        r.error("department", "required", _("部门 不能为空，请填写。"))
    else:
        dept = departments_by_name_or_code.get(dept_raw)
        if dept is None:
            r.error("department", "unknown_department",
                    _("部门“%(name)s”在系统中不存在。请填写已登记部门的全称或部门编码，或先在“部门”中新增该部门。",
                      name=dept_raw[:100]))
        else:
            dept_id = dept.id
    unit_raw = _text(row.get("unit"))
    if unit_raw:
        unit = departments_by_name_or_code.get(unit_raw)
        if unit is None:
            r.error("unit", "unknown_department",
                    _("所属单位“%(name)s”在系统中不存在。请填写已登记的单位全称或编码，或留空。", name=unit_raw[:100]))
        elif dept is not None and unit.id != dept.id and unit.bureau.id != dept.bureau.id:
            r.error("unit", "unit_not_in_department",
                    _("所属单位“%(unit)s”不属于部门“%(dept)s”。请核对。", unit=unit_raw[:100], dept=dept_raw[:100]))
        else:
            unit_id = unit.id
    expertise = split_list(row.get("expertise"))
    for tag in expertise:
        if len(tag) > 60:
            r.error("expertise", "too_long", _("业务专长“%(tag)s…”超过 60 个字，请缩短。", tag=tag[:20]))
            break
    cert = _text(row.get("certificate_no")).replace(" ", "") or None
    is_expert = r.boolean("is_expert")
    if cert is None and not is_expert:
        r.error("certificate_no", "required",
                _("执法证号 不能为空：名录库只收录具有执法资格的人员（专家除外，专家请在“专家”列填“是”）。"))
    elif cert is not None and len(cert) > 40:
        r.error("certificate_no", "too_long", _("执法证号最多 40 个字符，请核对。"))
        cert = None
    phone = r.text("phone", 40)
    if phone and not _PHONE_RE.match(phone):
        r.error("phone", "bad_phone", _("联系电话“%(value)s”格式不正确，只能包含数字、空格、+、- 和括号。", value=phone[:50]))
        phone = None
    valid_from = r.day("qualification_valid_from")
    valid_until = r.day("qualification_valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        r.error("qualification_valid_until", "bad_range", _("资格有效期止 早于 资格有效期起，请核对。"))
    cleaned = {
        "department_id": dept_id,
        "unit_id": unit_id,
        "name": r.text("name", 100, required=True),
        "gender": r.choice("gender", _GENDERS, None, GENDER_LABELS),
        "title": r.text("title", 100),
        "expertise": sorted(set(expertise)),
        "certificate_no": cert,
        "phone": phone,
        "qualification": r.text("qualification", 200),
        "qualification_valid_from": valid_from,
        "qualification_valid_until": valid_until,
        "status": r.choice("status", _INSPECTOR_STATUSES, InspectorStatus.ON_DUTY, INSPECTOR_STATUS_LABELS),
        "is_expert": is_expert,
    }
    return cleaned, r.errors


def departments_index(departments) -> dict[str, Any]:
    """Return {name, short name, code: department} for the lookups above; a name shared by two
    departments is left out (the code still finds each)."""
    index: dict[str, Any] = {}
    ambiguous: set[str] = set()
    for d in departments:
        for key in (d.name, d.short_name):
            if not key:
                continue
            if key in index and index[key] is not d:
                ambiguous.add(key)
            index[key] = d
    for key in ambiguous:
        index.pop(key, None)
    for d in departments:
        index[d.code] = d
    return index


# -- business peak hours (经营高峰时段, issue 8 §1) --------------------------------------------

_PEAK_SPLIT = re.compile(r"\s*[,，、;；]\s*")
_PEAK_RANGE = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)\s*[-–—~～至]\s*([01]?\d|2[0-4])[:：]([0-5]\d)$")
#: the longest business-peak text (the column's length)
BUSINESS_PEAK_MAX = 200


def parse_business_peak(value: Any) -> list[tuple[Any, Any]] | None:
    """Parse "11:00-13:30, 17:00-20:00" (separated by ``,`` ``，`` ``、`` ``；``) into a list of
    ``(time, time)``; ``[]`` for an empty text, ``None`` when a part cannot be read or a range
    does not end after it starts ("24:00" is read as 23:59)."""
    from datetime import time

    text = _text(value) if value is not None else ""
    if not text:
        return []
    out = []
    for part in _PEAK_SPLIT.split(text.strip()):
        if not part:
            continue
        m = _PEAK_RANGE.match(part)
        if m is None:
            return None
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h2 == 24:
            if m2:
                return None
            h2, m2 = 23, 59
        start, end = time(h1, m1), time(h2, m2)
        if not start < end:
            return None
        out.append((start, end))
    return out


def clean_business_peak(value: Any, row_number: int | None = None) -> tuple[str | None, RowError | None]:
    """Clean a business-peak text (the form's field, the import's column 经营高峰时段):
    ``(text or None, error or None)``; with ``row_number`` the message names the file's row."""
    text = _text(value) if value is not None else ""
    if not text:
        return None, None
    label = OBJECT_LABELS["business_peak"]
    if len(text) > BUSINESS_PEAK_MAX:
        if row_number is None:
            message = _("%(col)s 最多 %(max)s 个字，请缩短。", col=_("经营高峰时段"), max=BUSINESS_PEAK_MAX)
        else:
            message = _("第 %(row)s 行的经营高峰时段超过 %(max)s 个字，请缩短（格式如“11:00-13:30，17:00-20:00”）。",
                        row=row_number, max=BUSINESS_PEAK_MAX)
        return None, RowError(label, "too_long", message, "business_peak")
    if parse_business_peak(text) is None:
        if row_number is None:
            message = _("%(col)s 的格式应为“时:分-时:分”，多个时段用逗号或顿号分隔，例如“11:00-13:30，17:00-20:00”；"
                        "结束时间须晚于开始时间。", col=_("经营高峰时段"))
        else:
            message = _("第 %(row)s 行的经营高峰时段“%(value)s”无法识别。格式应为“时:分-时:分”，多个时段用逗号或顿号分隔，"
                        "例如“11:00-13:30，17:00-20:00”；结束时间须晚于开始时间。不需要时请留空。",
                        row=row_number, value=text[:50])
        return None, RowError(label, "bad_peak", message, "business_peak")
    return text, None
