"""One-person forms (issue 8 point 4): a sheet laid out as label cells beside value cells, like the
全国党员管理信息系统 党员基本信息采集表, is one member. The form becomes a small table — the labels as the
header row, the values as the one data row, placed at the Excel row of the name — so it goes through the
same detection, cleaning and checks as any roster; a workbook of such sheets, or many such files, import
as one roster."""
from __future__ import annotations

from typing import Any

from .mapping import SynonymIndex, normalize_header
from .read import RawSheet

MAX_FORM_ROWS = 80        # a form is a page, not a list
MIN_PAIRS = 4             # label/value pairs, the name among them


def _span_end(sheet: RawSheet, r: int, c: int) -> int:
    """The last column of the merge starting at (r, c), or c."""
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 <= r <= r1 and c0 == c:
            return c1
    return c


def form_pairs(sheet: RawSheet, index: SynonymIndex) -> list[tuple[int, int, str, Any]] | None:
    """(row, column, label, value) of every roster label with its value to its right, when the sheet is a
    one-person form; None otherwise. A table header is not a form: beside each of its labels stands
    another label, not a value."""
    if not sheet.height or sheet.height > MAX_FORM_ROWS:
        return None
    pairs: list[tuple[int, int, str, Any]] = []
    seen: set[str] = set()
    for r, row in enumerate(sheet.head):
        c = 0
        while c < len(row):
            text = "" if row[c] is None else str(row[c]).strip()
            fld = index.field_for("roster", text) if text else None
            if fld is None or fld in seen:
                c += 1
                continue
            v = _span_end(sheet, r, c) + 1
            value = row[v] if v < len(row) else ""
            vtext = "" if value is None else str(value).strip()
            if vtext and index.field_for("roster", vtext):
                c += 1          # another label beside it: a header row, not a form
                continue
            seen.add(fld)
            pairs.append((r, v, text, value))
            c = _span_end(sheet, r, v) + 1 if v < len(row) else v
    fields = {index.field_for("roster", label) for _, _, label, _ in pairs}
    rows = {r for r, *_ in pairs}
    if len(pairs) < MIN_PAIRS or "name" not in fields or len(rows) < 2:
        return None
    if sum(1 for *_, v in pairs if v not in ("", None)) < MIN_PAIRS:
        return None
    return pairs


def form_as_table(sheet: RawSheet, pairs: list[tuple[int, int, str, Any]], index: SynonymIndex) -> RawSheet:
    """The form as a two-row table: labels in the first row, values in the row of the name's value."""
    labels = [label for _, _, label, _ in pairs]
    values = [value for *_, value in pairs]
    name_row = next(r for r, _, label, _ in pairs if index.field_for("roster", label) == "name")
    header_row = max(name_row - 1, 0)
    width = len(labels)
    table: list[list[Any]] = [[""] * width for _ in range(header_row)] + [labels] + [values]
    title_cells = [str(v).strip() for row in sheet.head[:2] for v in row if v not in ("", None)]
    if header_row and title_cells:   # the form's title stays above the header (the street may be in it)
        table[0] = [" ".join(title_cells)] + [""] * (width - 1)

    def rows():
        return iter(table)

    return RawSheet(sheet.file, sheet.name, sheet.visible, table, [], len(table), rows)


def normalize_label(text: str) -> str:
    return normalize_header(text)
