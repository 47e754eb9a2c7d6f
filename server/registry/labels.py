"""Translatable labels for the registries' enums (the UI speaks Chinese first)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..org.models import Level
from .models import CodeKind, Gender, InspectorStatus, ObjectType, RegistrationStatus, RiskClass

OBJECT_TYPES = {
    ObjectType.ENTERPRISE: _l("企业"),
    ObjectType.INDIVIDUAL: _l("个体工商户"),
    ObjectType.COOPERATIVE: _l("农民专业合作社"),
    ObjectType.OTHER: _l("其他主体"),
    ObjectType.PRODUCT: _l("产品"),
    ObjectType.PROJECT: _l("项目"),
}
STATUSES = {
    RegistrationStatus.ACTIVE: _l("存续"),
    RegistrationStatus.REVOKED: _l("吊销"),
    RegistrationStatus.CANCELLED: _l("注销"),
    RegistrationStatus.MOVED_OUT: _l("迁出"),
}
LEVELS = {Level.PROVINCE: _l("省级"), Level.CITY: _l("市级"), Level.COUNTY: _l("县区级")}
RISK_CLASSES = {
    RiskClass.A: _l("A 类（低风险）"),
    RiskClass.B: _l("B 类（一般风险）"),
    RiskClass.C: _l("C 类（较高风险）"),
    RiskClass.D: _l("D 类（高风险）"),
}
CODE_KINDS = {
    CodeKind.USCC: _l("统一社会信用代码"),
    CodeKind.ACCEPTED: _l("经确认的例外代码（校验位不符）"),
    CodeKind.GENERATED: _l("系统生成代码（无统一社会信用代码）"),
}
GENDERS = {Gender.MALE: _l("男"), Gender.FEMALE: _l("女")}
INSPECTOR_STATUSES = {
    InspectorStatus.ON_DUTY: _l("在岗"),
    InspectorStatus.TRANSFERRED: _l("调离"),
    InspectorStatus.SUSPENDED: _l("停用"),
}
RISK_BADGES = {RiskClass.A: "ok", RiskClass.B: "", RiskClass.C: "warn", RiskClass.D: "danger"}
STATUS_BADGES = {
    RegistrationStatus.ACTIVE: "ok", RegistrationStatus.REVOKED: "danger",
    RegistrationStatus.CANCELLED: "", RegistrationStatus.MOVED_OUT: "warn",
}
INSPECTOR_STATUS_BADGES = {
    InspectorStatus.ON_DUTY: "ok", InspectorStatus.TRANSFERRED: "warn", InspectorStatus.SUSPENDED: "danger",
}
