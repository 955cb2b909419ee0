"""What is not data (issue 8 point 6): pbtool's own output workbooks, files titled for another period,
note boxes merged over the data area. Cheap checks on a sheet's first rows and merged ranges only."""
from __future__ import annotations

import re

from .read import RawFile, RawSheet

CN_QUARTER = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_YEAR_QUARTER_RE = re.compile(r"(20\d{2})\s*年?\s*(?:第\s*)?([一二三四1-4])\s*季度|(20\d{2})\s*[Qq]\s*([1-4])(?!\d)")
_QUARTER_RE = re.compile(r"第\s*([一二三四1-4])\s*季度")
# a year that names a period (2025年度, 2025年党员花名册), not a date (2025年9月30日) or 2025年第三季度
_YEAR_RE = re.compile(r"(20\d{2})\s*年(?!\s*\d{1,2}\s*月)(?!\s*第)(?!\s*[一二三四1-4]\s*季)")
NOTE_MIN_COLUMNS = 3   # a merge this wide inside the data area is a note or text box, not a value


def instruction_sheet(name: str, schema: dict) -> bool:
    """A 填表说明-like sheet (names in data/schema.toml `instruction_sheets`): never data."""
    n = name.strip()
    return any(n == s or n.endswith(s) for s in schema.get("instruction_sheets", []))


def _own_markers() -> list[tuple[str, list[str]]]:
    """(what it is, a header row that only pbtool writes) for each of pbtool's own workbooks."""
    from .outputs.headers import PLACE_HEADER, RATE_HEADER, SUMMARY_HEADER
    return [("pbtool 导出的问题清单", SUMMARY_HEADER[:5]),
            ("pbtool 导出的问题清单", ["原行号", "问题及处理办法"]),
            ("pbtool 导出的整改台账", PLACE_HEADER[:3]),
            ("pbtool 导出的整改台账", RATE_HEADER[:4])]


def own_output(file: RawFile) -> str | None:
    """'pbtool 导出的问题清单' / '… 整改台账' when the workbook is one of pbtool's own outputs."""
    markers = _own_markers()
    for sheet in file.sheets:
        for row in sheet.head[:5]:
            cells = [str(v).strip() if v is not None else "" for v in row]
            for what, marker in markers:
                if cells[: len(marker)] == marker:
                    return what
    return None


def named_periods(text: str) -> list[tuple[int | None, int | None, str]]:
    """(year, quarter, as written) for every period a title or file name names."""
    out: list[tuple[int | None, int | None, str]] = []
    rest = text
    for m in _YEAR_QUARTER_RE.finditer(text):
        y, q = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        out.append((int(y), CN_QUARTER[q], m.group(0)))
        rest = rest.replace(m.group(0), " ")
    for m in _QUARTER_RE.finditer(rest):
        out.append((None, CN_QUARTER[m.group(1)], m.group(0)))
    for m in _YEAR_RE.finditer(rest):
        out.append((int(m.group(1)), None, m.group(0)))
    return out


def period_mismatch(period: str, texts: list[tuple[str, str]]) -> str | None:
    """The first (where, as written) naming another year or quarter than period (e.g. 2026Q2), as a
    Chinese phrase; None when every named period agrees."""
    year, quarter = int(period[:4]), int(period[5])
    named = [(where, y, q, written) for where, text in texts for y, q, written in named_periods(text)]
    # A title that names this very quarter settles it: other periods beside it are references
    # (a pre-filled template's "根据2026年第三季度数据预填" under its 第四季度 title).
    if any(y == year and q == quarter for _, y, q, _ in named):
        return None
    for where, text in texts:
        for y, q, written in named_periods(text):
            if (y is not None and y != year) or (q is not None and q != quarter):
                return f"{where}写的是“{written.strip()}”"
    return None


def note_rows(sheet: RawSheet, data_start: int) -> set[int]:
    """Rows (0-based) covered by a merge at least NOTE_MIN_COLUMNS wide inside the data area: a note
    or text box ('注：…', '填表说明…') that is not a member."""
    rows: set[int] = set()
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 >= data_start and c1 - c0 + 1 >= NOTE_MIN_COLUMNS:
            rows.update(range(r0, r1 + 1))
    return rows
