"""Tick-box groups (issue 8): sub-columns under one grouped header whose cells hold √/✓/是/1 (or ×/否/empty)
and together give one field, e.g. 党组织组建形式 → 单独建立 / 联合建立 / 网格建立 → org_status. The groups
are data (data/profiles.toml [ticks]). Two ticks in one group, or none where one is required, is a problem
at that row."""
from __future__ import annotations

from typing import Any

from .clean import as_text, fold
from .mapping import Column, SynonymIndex, canonical_headers, normalize_header

PREFIX = "tick:"


def _groups() -> dict[str, Any]:
    from .profile import load_profiles
    return load_profiles().ticks


def tick_columns(kind: str, cols: list[Column], parents: dict[int, str], index: SynonymIndex) -> list[Column]:
    """Columns with no field of their own whose header is an option of a tick group of this kind become
    that group's sub-columns ('tick:<field>:<column>:<value>'); a 是否建立党组织 column beside the group
    becomes 'tick:<field>:<column>:?'. A group needs at least two option columns under one parent."""
    ticks = _groups()
    out = list(cols)
    for g in ticks["groups"].values():
        if g["kind"] != kind:
            continue
        established = {normalize_header(h) for h in g.get("established", [])}

        def helper(c: Column) -> bool:
            return bool(established & {normalize_header(c.header), *canonical_headers(c.header)})

        # a 是否建立党组织 column names the field by its header when it stands alone; beside the group, or
        # beside a plain 组建形式 column, it only helps decide (fills the rows the other leaves empty)
        if any(c.field == g["field"] and not helper(c) for c in out):
            _beside_plain_column(g, out, helper, kind, index)
            continue
        options = {normalize_header(k): v for k, v in g["options"].items()}
        by_parent: dict[str, list[tuple[int, str]]] = {}
        for pos, c in enumerate(out):
            if c.field:
                continue
            value = next((options[h] for h in [normalize_header(c.header), *canonical_headers(c.header)]
                          if h in options), None)
            if value is not None:
                by_parent.setdefault(parents.get(c.index, ""), []).append((pos, value))
        members = max(by_parent.values(), key=len, default=[])
        if len(members) < 2:
            _beside_plain_column(g, out, helper, kind, index)
            continue
        for pos, value in members:
            c = out[pos]
            out[pos] = Column(c.index, c.header, f"{PREFIX}{g['field']}:{c.index}:{value}", reason="勾选")
        for pos, c in enumerate(out):
            if (not c.field or c.field == g["field"]) and helper(c):
                out[pos] = Column(c.index, c.header, f"{PREFIX}{g['field']}:{c.index}:?", reason="勾选")
                break
    return out


def _beside_plain_column(g: dict[str, Any], out: list[Column], helper: Any, kind: str, index: SynonymIndex) -> None:
    """A 是否建立党组织 column beside a plain column that names the same field (组建形式 holding 单独组建):
    the plain column holds the field whichever stands first, the 是/否 column becomes the group's helper
    ('tick:<field>:<column>:?'). A 是否建立党组织 column alone keeps the field."""
    if not g.get("established"):
        return
    est = next((pos for pos, c in enumerate(out) if helper(c) and c.field in (None, g["field"])), None)
    if est is None:
        return
    plain = next((pos for pos, c in enumerate(out) if c.field == g["field"] and not helper(c)), None)
    if plain is None:
        plain = next((pos for pos, c in enumerate(out) if not c.field and not c.ignored and not helper(c)
                      and index.field_for(kind, c.header) == g["field"]), None)
        if plain is None:
            return
        c = out[plain]
        out[plain] = Column(c.index, c.header, g["field"], reason="表头")
    c = out[est]
    note = f"“{c.header}”列只用于“{out[plain].header}”列空着的行（是按已建立，否按未建立）。"
    out[est] = Column(c.index, c.header, f"{PREFIX}{g['field']}:{c.index}:?", reason="表头", note=note)


def combine_ticks(columns: dict[str, list[Any]], headers: dict[str, str]) -> tuple[dict[str, list[Any]], list[tuple[int, str, str, str, str]]]:
    """Pseudo tick columns -> one raw column per field. Returns the new columns and the issues:
    (row index, code, field, column text, value as written)."""
    ticks = _groups()
    marks = {fold(m) for m in ticks["marks"]}
    groups: dict[str, list[tuple[str, str]]] = {}
    for key in columns:
        if key.startswith(PREFIX):
            _, fld, _col, value = key.split(":", 3)
            groups.setdefault(fld, []).append((key, value))
    if not groups:
        return columns, []
    out = {k: v for k, v in columns.items() if not k.startswith(PREFIX)}
    issues: list[tuple[int, str, str, str, str]] = []
    spec_by_field = {g["field"]: g for g in ticks["groups"].values()}
    for fld, keys in groups.items():
        spec = spec_by_field[fld]
        options = [(k, v) for k, v in keys if v != "?"]
        est = next((k for k, v in keys if v == "?"), None)
        if not options and est is not None:
            # beside a plain column of the field: that column's value, else the 是/否 as written (the
            # field's vocabulary reads 是/否, and reports anything else)
            plain = columns.get(fld)
            out[fld] = [p if plain is not None and (p := plain[i]) not in (None, "") and as_text(p).strip()
                        else columns[est][i] for i in range(len(columns[est]))]
            continue
        label = "、".join(headers[k] for k, _ in options)
        n = len(columns[keys[0][0]])
        combined: list[Any] = [None] * n
        for i in range(n):
            ticked = [(k, v) for k, v in options if fold(as_text(columns[k][i])) in marks]
            est_text = fold(as_text(columns[est][i])) if est else ""
            if len(ticked) == 1:
                combined[i] = ticked[0][1]
            elif len(ticked) > 1:
                written = "、".join(headers[k] for k, _ in ticked)
                issues.append((i, "TICK_MANY", fld, label, written))
            elif est and est_text in ("否", "×", "无", "未建立", "0"):
                combined[i] = spec.get("established_no")
            elif spec.get("required"):
                issues.append((i, "TICK_NONE", fld, label, est_text))
        out[fld] = combined
    return out, issues
