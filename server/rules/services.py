"""The deployment's rules (minimum ratios, yearly cap, complaint threshold, who enters results).

INTERFACE (stable; other packages import it): ``get_rules() -> Rules``.
The stored settings live in the database (table ``rule_settings``); until a deployment has changed
a rule, the defaults below apply. Services only flush.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: minimum ratio per credit-risk class [000#13]
DEFAULT_MIN_RATIOS = {"A": "0.01", "B": "0.03", "C": "0.10", "D": "0.20"}

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

    min_ratios: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MIN_RATIOS))
    #: lower bound of the single-stratum ratio (ALL), 5 %–100 % [004§6]
    unstratified_min_ratio: str = "0.05"
    #: whether the single-stratum mode may be used when the candidates have risk classes
    unstratified_with_classes: bool = False
    #: at most this many checks per object per calendar year [000#10, 003#15]
    yearly_cap: int = 2
    #: what the cap counts: CAP_COUNTS_JOINT or CAP_COUNTS_ALL
    yearly_cap_counts: str = CAP_COUNTS_JOINT
    #: objects with at least this many complaints are exempt from the cap [003#15, 003#28]
    complaint_threshold: int = 3
    #: RESULTS_BY_INSPECTING_DEPARTMENT or RESULTS_BY_LEAD_DEPARTMENT
    results_entry: str = RESULTS_BY_INSPECTING_DEPARTMENT


def get_rules() -> Rules:
    """Return the rules in force for this deployment (defaults until changed)."""
    return Rules()
