"""Stage 2: which list a sheet holds and where its header is (under title rows, one or two rows deep)."""
from __future__ import annotations

import re
from collections.abc import Callable
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
    header_top: int = -1          # 0-based index of the first header row (-1: same as header_row)

    @property
    def fields(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns if c.field}


def _text(v: object) -> str:
    return "" if v is None else str(v).strip()


def _header_cells(sheet: RawSheet, r: int, depth: int) -> list[tuple[int, str]]:
    """Header texts of rows r … r+depth-1 joined: per column the lowest non-empty cell wins (a cell merged
    down over the rows keeps its text; a group cell merged across columns spreads over them)."""
    return [(c, stack[-1] if stack else "") for c, stack in _header_stacks(sheet, r, depth)]


def _header_stacks(sheet: RawSheet, r: int, depth: int) -> list[tuple[int, list[str]]]:
    """Per column, the distinct non-empty header texts of rows r … r+depth-1, top to bottom."""
    head = sheet.head
    rows = [i for i in range(r, min(r + depth, len(head)))]
    width = max(len(head[i]) for i in rows)
    grid = []
    for i in rows:
        line = list(head[i]) + [""] * (width - len(head[i]))
        # horizontal merges spread the group name over its columns
        for (r0, c0), (_r1, c1) in sheet.merged:
            if r0 == i and c1 > c0 and c0 < width:
                for c in range(c0 + 1, min(c1, width - 1) + 1):
                    line[c] = line[c0]
        grid.append(line)
    out = []
    for c in range(width):
        stack: list[str] = []
        for line in grid:
            t = _text(line[c])
            if t and (not stack or stack[-1] != t):
                stack.append(t)
        out.append((c, stack))
    return out


def _incomplete(sheet: RawSheet, last: int) -> bool:
    """The header's last row has a group merged across columns with sub-titles in the next row: the
    header goes on below."""
    nxt = last + 1
    if nxt >= len(sheet.head):
        return False
    below = sheet.head[nxt]
    for (r0, c0), (r1, c1) in sheet.merged:
        if (r0 <= last == r1 and c1 > c0
                and sum(1 for c in range(c0, min(c1 + 1, len(below))) if _text(below[c])) >= 2):
            return True
    return False


def real_field(field: str) -> str:
    """A tick-box sub-column carries the field it helps decide ('tick:org_status:12:单独组建' -> org_status)."""
    return field.split(":", 2)[1] if field.startswith("tick:") else field


def named_fields(columns: list[Column]) -> set[str]:
    """The fields a layout's columns name (a tick sub-column names the field it helps decide)."""
    return {real_field(c.field) for c in columns if c.field}


def enough_fields(spec: dict, fields: set[str], slack: int = 0) -> bool:
    """Whether a header names enough of a kind's fields: its min_fields, or (with three or more) every
    required one — a roster of just 姓名, 身份证号码 and 人员类别 is a roster."""
    required = {f for f, s in spec["fields"].items() if s.get("required")}
    return len(fields) >= spec["min_fields"] - slack or (len(fields) >= 3 and required <= fields)


def _names_where_it_belongs(spec: dict, cols: list[Column]) -> bool:
    """The kind's name comes from a header such as 所属社区 or 所在小区: the column says which community a
    row belongs to, so the rows are not communities (a list of organizations, say)."""
    prefixes = tuple(spec.get("belonging_prefixes", ()))
    if not prefixes:
        return False
    named = [c for c in cols if c.field == "name"]
    return bool(named) and all(normalize_header(c.header).startswith(prefixes) for c in named)


def detect_layout(sheet: RawSheet, index: SynonymIndex, only_kind: str | None = None, slack: int = 0,
                  from_values: Callable[[str, list[Column], int, float | None], set[str]] | None = None) -> Layout | None:
    """Best (kind, header row, depth 1–4) by the number of fields recognized; None when nothing fits.
    `slack` accepts that many fields fewer than the kind's min_fields (the values may tell the rest);
    `from_values(kind, columns, data start, need)` names the fields that unnamed columns' values supply,
    asked when a kind lacks a key field (need: how many fields it lacks to beat the best so far).
    A kind whose name column is headed as where a row belongs (所属社区 in a list of organizations) is
    not that kind's list (schema.toml: belonging_prefixes)."""
    from .ticks import tick_columns

    config = index.config
    kinds = [only_kind] if only_kind else list(config.schema["kinds"])
    best: tuple[float, int, int, str, list[Column]] | None = None
    # the same header texts recur (a row alone, and as the lowest row of a deeper header): mapped once
    mapped: dict[tuple[str, tuple[tuple[int, str], ...]], list[Column]] = {}
    for r in range(min(len(sheet.head), MAX_HEADER_ROW)):
        if sum(1 for v in sheet.head[r] if _text(v)) < 2:
            continue
        for depth in (1, 2, 3, 4):
            if depth > 1 and r + depth - 1 >= len(sheet.head):
                continue
            stacks = _header_stacks(sheet, r, depth)
            cells = [(c, st[-1] if st else "") for c, st in stacks]
            parents = {c: (st[-2] if len(st) > 1 else "") for c, st in stacks}
            penalty = 1.0 if _incomplete(sheet, r + depth - 1) else 0.0
            for kind in kinds:
                spec = config.kind(kind)
                key = (kind, tuple(cells))
                plain = mapped.get(key)
                if plain is None:
                    plain = mapped[key] = index.map_columns(kind, cells)
                cols = tick_columns(kind, plain, parents, index)
                fields = named_fields(cols)
                if _names_where_it_belongs(spec, cols):
                    continue
                # values are sampled only where they could make this kind win
                if from_values is not None and not set(spec["key_fields"]) <= fields:
                    fields |= from_values(kind, cols, r + depth, None if best is None else best[0] - len(fields))
                if not set(spec["key_fields"]) <= fields or not enough_fields(spec, fields, slack):
                    continue
                hint = any(h in sheet.name for h in spec.get("sheet_hints", []))
                score = len(fields) + (0.5 if hint else 0.0) - penalty
                if best is None or score > best[0]:
                    best = (score, r, depth, kind, cols)
    if best is None:
        return None
    _, r, depth, kind, cols = best
    header_row = r + depth - 1
    titles = [" ".join(_text(v) for v in sheet.head[i] if _text(v)) for i in range(r)]
    return Layout(kind, header_row, header_row + 1, cols, [t for t in titles if t], r)


def street_in_text(text: str) -> str | None:
    """'填报单位：青湖区东湖街道党工委' -> '东湖街道'."""
    for m in _STREET_RE.finditer(normalize_header(text)):
        name = _STREET_PREFIX_RE.sub("", m.group(1))
        if len(name) >= 3:
            return name
    return None
