"""Shared xlsxwriter helpers: Chinese-friendly column widths and cells that can never run as formulas."""
from __future__ import annotations

import unicodedata
from typing import Any


def display_width(text: Any) -> int:
    """Width in Excel column units: a CJK character is about two Latin ones."""
    s = "" if text is None else str(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def safe_sheet_name(name: str, taken: set[str]) -> str:
    bad = '[]:*?/\\'
    base = "".join("_" if ch in bad else ch for ch in name).strip("'")[:31] or "Sheet"
    out, i = base, 2
    while out in taken:
        suffix = f"~{i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    taken.add(out)
    return out


def write_cell(ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """Numbers as numbers, everything else as a string: '=1+1' or '@SUM' stays text, never a formula."""
    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, "是" if value else "否", fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def fit_columns(ws: Any, rows: list[list[Any]], min_width: int = 6, max_width: int = 60) -> None:
    widths: dict[int, int] = {}
    for r in rows:
        for c, v in enumerate(r):
            widths[c] = max(widths.get(c, 0), display_width(v))
    for c, w in widths.items():
        ws.set_column(c, c, max(min_width, min(max_width, w + 2)))
