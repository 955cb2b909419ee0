"""Columns judged by header AND values (issue 8): value profiles from data/profiles.toml applied to a sample
of each column's values. A column whose values clearly belong to another field goes there and says so; a
column whose header names a field its values do not fit goes to the profile's `otherwise` field."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from .clean import as_text, fold
from .config import NO_FIELD, Config, _shipped
from .detect import Layout
from .mapping import Column, SynonymIndex
from .read import RawSheet


@dataclass(frozen=True)
class Profile:
    name: str
    field: str | None
    kinds: tuple[str, ...]
    label: str
    values: frozenset[str]
    pattern: re.Pattern[str] | None
    overrides_header: bool
    claims_unknown: bool
    otherwise: str | None
    hints: tuple[str, ...] = ()

    def fits(self, value: str) -> bool:
        if value in self.values:
            return True
        return bool(self.pattern and self.pattern.match(value))

    def meant(self, value: str) -> bool:
        """The value fits, or is plainly meant for this field (holds one of the hints)."""
        return self.fits(value) or any(h in value for h in self.hints)


@dataclass(frozen=True)
class Profiles:
    profiles: tuple[Profile, ...]
    sample_rows: int
    min_share: float
    misfit_share: float
    ticks: dict[str, Any]


def load_profiles(config: Config | None = None) -> Profiles:
    """The value profiles: shipped (data/profiles.toml), or the config's, where pbtool.toml may add or
    override entries (config.merge_profiles)."""
    if config is None:
        return _shipped_profiles()
    return _profiles_of(config)


@lru_cache(maxsize=1)
def _shipped_profiles() -> Profiles:   # asked for every header candidate detection tries (ticks.py)
    return _profiles_of(None)


def _profiles_of(config: Config | None) -> Profiles:
    doc = config.profiles if config is not None else _shipped("profiles.toml")
    vocab = (config.schema if config is not None else _shipped("schema.toml")).get("vocab", {})
    named = {spec["vocab"]: sorted(vocab.get(spec["vocab"], {})) for spec in doc["profiles"].values() if spec.get("vocab")}
    # `exclude`: vocabulary entries that say nothing about the field on their own (是/否)
    return _build(json.dumps(doc, sort_keys=True, ensure_ascii=False), json.dumps(named, sort_keys=True, ensure_ascii=False))


@lru_cache(maxsize=8)
def _build(doc_json: str, vocab_json: str = "{}") -> Profiles:
    data = json.loads(doc_json)
    vocab = json.loads(vocab_json)
    out = []
    for name, spec in data["profiles"].items():
        out.append(Profile(
            name, spec.get("field"), tuple(spec.get("kinds", ())), spec["label"],
            frozenset(fold(v) for v in [*spec.get("values", ()), *vocab.get(spec.get("vocab", ""), ())]
                      if fold(v) not in {fold(x) for x in spec.get("exclude", ())}),
            re.compile(spec["pattern"]) if spec.get("pattern") else None,
            bool(spec.get("overrides_header")), bool(spec.get("claims_unknown")), spec.get("otherwise"),
            tuple(spec.get("hints", ()))))
    return Profiles(tuple(out), int(data["sample_rows"]), float(data["min_share"]), float(data["misfit_share"]),
                    data["ticks"])


def sample_values(sheet: RawSheet, layout: Layout, indexes: list[int], n: int) -> dict[int, list[str]]:
    """Up to n non-empty values per column, from the first data rows only."""
    out: dict[int, list[str]] = {i: [] for i in indexes}
    for row in sheet.top(layout.data_start + n)[layout.data_start:]:
        for i in indexes:
            if i < len(row):
                v = row[i]
                if v not in ("", None):
                    t = fold(as_text(v))
                    if t:
                        out[i].append(t)
    return out


def shares(values: list[str], kind: str | None = None, profiles: Profiles | None = None) -> dict[str, float]:
    """Profile name -> share of the values that fit it (profiles of other kinds left out)."""
    if not values:
        return {}
    distinct: dict[str, int] = {}
    for v in values:
        distinct[v] = distinct.get(v, 0) + 1
    out = {}
    for p in (profiles or load_profiles()).profiles:
        if kind and p.kinds and kind not in p.kinds:
            continue
        n = sum(c for v, c in distinct.items() if p.fits(v))
        if n:
            out[p.name] = n / len(values)
    return out


def describe(values: list[str], kind: str | None = None, profiles: Profiles | None = None) -> str:
    """What the values look like, in Chinese (pbtool inspect): the best-fitting profile's label."""
    profiles = profiles or load_profiles()
    s = shares(values, kind, profiles)
    if not s:
        return ""
    name, share = max(s.items(), key=lambda kv: kv[1])
    label = next(p.label for p in profiles.profiles if p.name == name)
    return f"{label}（{share:.0%}）"


VALUE_SLACK = 2   # fields a header may lack when the values of other columns supply them


def values_probe(sheet: RawSheet, index: SynonymIndex) -> Callable[[str, list[Column], int, float | None], set[str]]:
    """detect_layout's `from_values`: the fields that unnamed columns' values supply to a kind (a
    claims_unknown profile of that kind fitting a sample of the column). Nothing is sampled when no
    profile could supply the kind's missing key fields, or when all the fields its profiles could add
    would not reach `need` (the fields the kind lacks to beat the best layout so far)."""
    from .detect import named_fields
    profs = load_profiles(index.config)

    def from_values(kind: str, columns: list[Column], data_start: int, need: float | None = None) -> set[str]:
        # unnamed columns whose values a claims_unknown profile of this kind takes
        mine = [p for p in profs.profiles if p.field and p.claims_unknown and kind in p.kinds]
        free = [c.index for c in columns if not c.field and not c.ignored]
        if not mine or not free:
            return set()
        have = named_fields(columns)
        missing = set(index.config.kind(kind)["key_fields"]) - have
        could = {p.field for p in mine if p.field} - have
        if not missing <= could or (need is not None and min(len(could), len(free)) + 0.5 <= need):
            return set()
        probe = Layout(kind, data_start - 1, data_start, columns, [])
        out = set()
        for values in sample_values(sheet, probe, free, profs.sample_rows).values():
            s = shares(values, kind, profs)
            out |= {p.field for p in mine if p.field and s.get(p.name, 0.0) >= profs.min_share}
        return out

    return from_values


def detect_sheet(sheet: RawSheet, index: SynonymIndex) -> Layout | None:
    """Which list a sheet holds, its key fields named by headers or, where a header is unknown, by its
    values: a two-new list whose status column is headed 党建情况 beats the 驻区单位 list its 单位类型
    column alone would make. Then, with slack, detect_with_values. The layout's columns are not yet
    refined (refine_layout)."""
    from .detect import detect_layout, named_fields
    layout = detect_layout(sheet, index, from_values=values_probe(sheet, index))
    if layout is not None:
        spec = index.config.kind(layout.kind)
        if not set(spec["key_fields"]) <= named_fields(layout.columns):
            refined, _ = refine_layout(sheet, layout, index)
            if not set(spec["key_fields"]) <= named_fields(refined.columns):
                layout = detect_layout(sheet, index)   # the values did not hold up: headers alone
    if layout is None and (found := detect_with_values(sheet, index)):
        layout = found[0]
    return layout


def detect_with_values(sheet: RawSheet, index: SynonymIndex) -> tuple[Layout, list[str]] | None:
    """For a sheet whose headers alone name too few fields: detect with some slack, judge the columns by
    their values, and keep the layout only if header and values together name the kind's key fields
    and reach its min_fields. A key field may come from values alone (an organization list whose
    status column is headed 党建情况 and holds 单独组建/未建立)."""
    from .detect import detect_layout, enough_fields, named_fields
    layout = detect_layout(sheet, index, slack=VALUE_SLACK, from_values=values_probe(sheet, index))
    if layout is None:
        return None
    refined, notes = refine_layout(sheet, layout, index)
    fields = named_fields(refined.columns)
    spec = index.config.kind(refined.kind)
    if not set(spec["key_fields"]) <= fields or not enough_fields(spec, fields):
        return None
    return refined, notes


def refine_layout(sheet: RawSheet, layout: Layout, index: SynonymIndex) -> tuple[Layout, list[str]]:
    """Re-decide the columns of a detected layout from a sample of their values; returns the new layout
    and the Chinese notes that say which columns moved. --map always wins."""
    profs = load_profiles(index.config)
    kind = layout.kind
    fields = index.config.fields(kind)
    mine = [p for p in profs.profiles if p.field and kind in p.kinds and p.field in fields]
    if not mine:
        return layout, []
    by_name = {p.name: p for p in mine}
    judged = {p.field for p in mine if p.overrides_header or p.otherwise}
    cols = [c for c in layout.columns]
    candidates = [c.index for c in cols if c.reason != "--map" and not c.ignored
                  and not (c.field or "").startswith("tick:") and (c.field is None or c.field in judged)]
    if not candidates:
        return layout, []
    samples = sample_values(sheet, layout, candidates, profs.sample_rows)
    wanted: dict[int, tuple[str, str]] = {}          # column index -> (field, note)
    for c in cols:
        if c.index not in samples or not samples[c.index]:
            continue
        s = {n: v for n, v in shares(samples[c.index], kind, profs).items() if n in by_name}
        best = max(s.items(), key=lambda kv: kv[1]) if s else None
        own = next((p for p in mine if p.field == c.field), None)
        if best and best[1] >= profs.min_share:
            p = by_name[best[0]]
            if p.field and p.field != c.field and (p.overrides_header or (p.claims_unknown and c.field is None)):
                wanted[c.index] = (p.field, f"“{c.header}”列的内容是{p.label}，已按{fields[p.field]['title']}导入。")
                continue
        values = samples[c.index]
        if (own and own.otherwise and (own.otherwise in fields or own.otherwise == NO_FIELD) and c.field
                and sum(map(own.meant, values)) < profs.misfit_share * len(values)):
            target = own.otherwise
            if target == NO_FIELD:
                note = (f"“{c.header}”列的内容不是{own.label}，未按{fields[c.field]['title']}导入，"
                        "内容原样保存。")
            else:
                note = (f"“{c.header}”列的内容不是{own.label}，已按{fields[target]['title']}导入"
                        f"（{fields[c.field]['title']}未从此列读取）。")
            wanted[c.index] = (target, note)
    if not wanted:
        return layout, []
    # Who gets each field: --map, then columns moved by their values, then the header's choice.
    taken: dict[str, str] = {c.field: c.header for c in cols if c.reason == "--map" and c.field}
    for c in cols:
        if c.index in wanted and wanted[c.index][0] not in taken:
            taken[wanted[c.index][0]] = c.header
    out: list[Column] = []
    notes: list[str] = []
    for c in cols:
        if c.reason == "--map":
            out.append(c)
        elif c.index in wanted and wanted[c.index][0] == NO_FIELD:
            out.append(replace(c, field=None, reason="内容", note=wanted[c.index][1]))
            notes.append(wanted[c.index][1])
        elif c.index in wanted and taken.get(wanted[c.index][0]) == c.header:
            fld, note = wanted[c.index]
            out.append(replace(c, field=fld, reason="内容", note=note))
            notes.append(note)
        elif c.field and c.field not in taken:
            taken[c.field] = c.header
            out.append(c)
        elif c.field:
            title = fields[c.field]["title"]
            note = (f"“{c.header}”列按表头应为{title}，但{title}已由“{taken.get(c.field, '')}”列提供，"
                    "此列内容原样保存。")
            out.append(replace(c, field=None, reason="", note=note))
            notes.append(note)
        else:
            out.append(c)
    return replace(layout, columns=out), notes
