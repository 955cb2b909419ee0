"""Stage 2: which list a sheet holds and where its header is (under title rows, one or two rows deep)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .mapping import Column, SynonymIndex, normalize_header
from .read import RawSheet

MAX_HEADER_ROW = 30
_STREET_RE = re.compile(r"([\u4e00-\u9fa5]{2,8}?街道)")
_STREET_PREFIX_RE = re.compile(r"^.*?[区市县]")


@dataclass
class Layout:
    kind: str
    header_row: int               # 0-based index of the (last) header row
    data_start: int               # 0-based index of the first data row
    columns: list[Column]
    title_lines: list[str]        # text of the rows above the header (for the street)

    @property
    def fields(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns if c.field}


def _text(v: object) -> str:
    return "" if v is None else str(v).strip()


def _header_cells(sheet: RawSheet, r: int, depth: int) -> list[tuple[int, str]]:
    """Header texts of row r (depth 1) or rows r, r+1 joined (depth 2: the lower cell wins, the
    group above it is kept as a prefix, a cell merged down over both rows keeps its text)."""
    head = sheet.head
    width = max(len(head[r]), len(head[r + 1]) if depth == 2 and r + 1 < len(head) else 0)
    top = list(head[r]) + [""] * (width - len(head[r]))
    # horizontal merges in the top row spread the group name over its columns
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 <= r <= r1 and c1 > c0 and c0 < width:
            for c in range(c0 + 1, min(c1, width - 1) + 1):
                top[c] = head[r0][c0] if c0 < len(head[r0]) else ""
    if depth == 1:
        return [(c, _text(v)) for c, v in enumerate(top)]
    low = list(head[r + 1]) + [""] * (width - len(head[r + 1]))
    out = []
    for c in range(width):
        t, b = _text(top[c]), _text(low[c])
        out.append((c, b if b else t))
    return out


def detect_layout(sheet: RawSheet, index: SynonymIndex, only_kind: str | None = None) -> Layout | None:
    """Best (kind, header row, depth) by the number of fields recognized; None when nothing fits."""
    config = index.config
    kinds = [only_kind] if only_kind else list(config.schema["kinds"])
    best: tuple[float, int, int, str, list[Column]] | None = None
    for r in range(min(len(sheet.head), MAX_HEADER_ROW)):
        if sum(1 for v in sheet.head[r] if _text(v)) < 2:
            continue
        for depth in (1, 2):
            if depth == 2 and r + 1 >= len(sheet.head):
                continue
            cells = _header_cells(sheet, r, depth)
            for kind in kinds:
                spec = config.kind(kind)
                cols = index.map_columns(kind, cells)
                fields = {c.field for c in cols if c.field}
                if not set(spec["key_fields"]) <= fields or len(fields) < spec["min_fields"]:
                    continue
                hint = any(h in sheet.name for h in spec.get("sheet_hints", []))
                score = len(fields) + (0.5 if hint else 0.0)
                if best is None or score > best[0]:
                    best = (score, r, depth, kind, cols)
    if best is None:
        return None
    _, r, depth, kind, cols = best
    header_row = r + depth - 1
    titles = [" ".join(_text(v) for v in sheet.head[i] if _text(v)) for i in range(r)]
    return Layout(kind, header_row, header_row + 1, cols, [t for t in titles if t])


def street_in_text(text: str) -> str | None:
    """'填报单位：青湖区东湖街道党工委' -> '东湖街道'."""
    for m in _STREET_RE.finditer(normalize_header(text)):
        name = _STREET_PREFIX_RE.sub("", m.group(1))
        if len(name) >= 3:
            return name
    return None
