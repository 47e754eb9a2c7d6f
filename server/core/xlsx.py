"""Spreadsheet exports: text that looks like a formula stays text (formula injection).

openpyxl stores a string starting with "=" as a formula; a name or label typed by a user (a task
name, a department) must never run as one when the workbook is opened."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def is_formula_text(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def defuse_formulas(cells: Iterable[Any]) -> None:
    """Mark the cells whose text starts with "=" as text cells, never formulas."""
    for cell in cells:
        if is_formula_text(cell.value):
            cell.data_type = "s"
