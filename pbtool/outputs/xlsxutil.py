"""Shared xlsxwriter helpers: Chinese-friendly column widths and cells that can never run as formulas."""
from __future__ import annotations

import unicodedata
from typing import Any


def display_width(text: Any) -> int:
    """Width in Excel column units: a CJK character is about two Latin ones."""
    s = "" if text is None else str(text)
    if s.isascii():
        return len(s)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _cut_utf16(s: str, units: int) -> str:
    """The longest prefix of s within `units` UTF-16 code units (Excel counts names that way)."""
    out, n = [], 0
    for ch in s:
        w = 2 if ord(ch) > 0xFFFF else 1
        if n + w > units:
            break
        out.append(ch)
        n += w
    return "".join(out)


def safe_sheet_name(name: str, taken: set[str]) -> str:
    """A sheet name Excel and xlsxwriter accept: no []:*?/\\ or control characters, at most 31 UTF-16
    units, no apostrophe at either end, not 'History', and unique ignoring case (Abc街道 beside ABC街道)."""
    bad = '[]:*?/\\'
    base = "".join("_" if ch in bad or ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 else ch for ch in str(name))
    base = _cut_utf16(base.strip().strip("'"), 31).strip("'").strip() or "Sheet"
    if base.lower() == "history":
        base = "History_"
    folded = {t.casefold() for t in taken}
    out, i = base, 2
    while out.casefold() in folded:
        suffix = f"~{i}"
        out, i = _cut_utf16(base, 31 - len(suffix)).rstrip("'") + suffix, i + 1
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
    values: dict[int, set[Any]] = {}   # each distinct value measured once (a city's ledger: 700,000 cells)
    for r in rows:
        for c, v in enumerate(r):
            values.setdefault(c, set()).add(v if isinstance(v, (str, int, float, type(None))) else str(v))
    widths = {c: max(map(display_width, vs)) for c, vs in values.items()}
    for c, w in widths.items():
        ws.set_column(c, c, max(min_width, min(max_width, w + 2)))
