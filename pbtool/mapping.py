"""Stage 3: header text -> schema field, through the synonym table in data/schema.toml."""
from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass

from .config import Config

_DECOR_RE = re.compile(r"[\s*＊:：]|[(（](必填|选填|必填项|可选)[)）]")
# Header canonical form (after normalize_header): bracketed notes and units, then the prefixes 所属/所在/现
# and the suffixes 名称/全称 are dropped, so 所在社区 = 社区 = 社区名称 and 从业人员数量(名) = 从业人员数量.
_BRACKET_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|<[^<>]*>|︵[^︵︶]*︶")
_PREFIXES = ("所属", "所在", "现")
_SUFFIXES = ("名称", "全称")


def normalize_header(text: object) -> str:
    """Header as compared: NFKC (full-width -> half-width), no spaces, line breaks, '*' or '(必填)'."""
    if text is None:
        return ""
    return _normalized(str(text))


@lru_cache(maxsize=1 << 14)
def _normalized(text: str) -> str:   # detection compares the same few hundred texts thousands of times
    return _DECOR_RE.sub("", unicodedata.normalize("NFKC", text))


def canonical_headers(text: object) -> list[str]:
    """The forms a header is compared in after its exact spelling fails: without bracketed notes or units,
    without a 所属/所在/现 prefix or a 名称/全称 suffix, and each side of an "A/B" alternative."""
    return list(_canonical(normalize_header(text)))


@lru_cache(maxsize=1 << 14)
def _canonical(h: str) -> tuple[str, ...]:
    if not h:
        return ()
    base = _BRACKET_RE.sub("", h) or h
    parts = [base] + ([p for p in re.split(r"[/／、]|或", base) if p] if re.search(r"[/／、]|或", base) else [])
    out: list[str] = []
    for part in parts:
        forms = [part]
        for pre in _PREFIXES:
            if part.startswith(pre) and len(part) > len(pre) + 1:
                forms.append(part[len(pre):])
        for f in list(forms):
            for suf in _SUFFIXES:
                if f.endswith(suf) and len(f) > len(suf) + 1:
                    forms.append(f[: -len(suf)])
        for f in forms:
            if f not in out:
                out.append(f)
    return tuple(out)


@dataclass(frozen=True)
class Column:
    index: int          # absolute column index (0 = A)
    header: str         # header as written (two-row headers joined as "基本信息/姓名")
    field: str | None   # schema field, or None when unknown/ignored
    ignored: bool = False
    reason: str = ""    # why this field: 表头 / 内容 / --map / 勾选 (empty when no field)
    note: str = ""      # Chinese, when the field differs from what the header alone says


class SynonymIndex:
    """Per kind: normalized header -> field, and what an unknown header might be."""

    def __init__(self, config: Config, user_map: dict[str, str] | None = None):
        self.config = config
        self.ignore = {normalize_header(h) for h in config.schema.get("ignore", [])}
        self.by_kind: dict[str, dict[str, str]] = {}
        for kind, spec in config.schema["kinds"].items():
            index: dict[str, str] = {}
            for fld, fspec in spec["fields"].items():
                index[normalize_header(fld)] = fld
                for syn in [fspec["title"], *fspec["synonyms"]]:
                    index.setdefault(normalize_header(syn), fld)
            self.by_kind[kind] = index
        # canonical forms of every spelling, for headers that match no spelling exactly
        self.canon_by_kind: dict[str, dict[str, str]] = {}
        for kind, index in self.by_kind.items():
            canon: dict[str, str] = {}
            for h, fld in index.items():
                for c in canonical_headers(h):
                    canon.setdefault(c, fld)
            self.canon_by_kind[kind] = canon
        self.user_map = {normalize_header(k): v for k, v in (user_map or {}).items()}

    def user_field(self, kind: str, header: str) -> str | None:
        """The field --map gives this header in this kind, if any."""
        fld = self.user_map.get(normalize_header(header))
        return fld if fld in self.config.fields(kind) else None

    def field_for(self, kind: str, header: str) -> str | None:
        h = normalize_header(header)
        if h in self.user_map and self.user_map[h] in self.config.fields(kind):
            return self.user_map[h]
        fld = self.by_kind[kind].get(h)
        if fld is not None or h in self.ignore:
            return fld
        canon = self.canon_by_kind[kind]
        for c in canonical_headers(h):
            if c in self.by_kind[kind]:
                return self.by_kind[kind][c]
            if c in canon:
                return canon[c]
        return None

    def is_ignored(self, header: str) -> bool:
        return normalize_header(header) in self.ignore

    def candidates(self, kind: str, header: str, n: int = 3) -> list[str]:
        """Field titles an unknown header may mean, closest first (for the UNKNOWN_COLUMN hint)."""
        h = normalize_header(header)
        index = self.by_kind[kind]
        close = difflib.get_close_matches(h, list(index), n=n * 3, cutoff=0.4)
        fields = self.config.fields(kind)
        titles: list[str] = []
        for c in close:
            title = f"{fields[index[c]]['title']}（{index[c]}）"
            if title not in titles:
                titles.append(title)
        return titles[:n]

    def map_columns(self, kind: str, headers: list[tuple[int, str]]) -> list[Column]:
        """Map each (index, header); a field already taken by an earlier column is not taken twice.
        --map always wins: its columns take their fields first, and a column that loses its field to
        one says so in its note."""
        headers = [(i, h) for i, h in headers if normalize_header(h)]
        by_map = {i: f for i, h in headers if (f := self.user_field(kind, h))}
        taken: dict[str, str] = {}
        for i, h in headers:
            if i in by_map and by_map[i] not in taken:
                taken[by_map[i]] = h
        # exact spellings take their fields before normalized ones (企业名称 over a 单位 column)
        exact = {i: self.by_kind[kind].get(normalize_header(h)) for i, h in headers}
        for i, h in headers:
            ex = exact[i]
            if i not in by_map and ex and ex not in taken:
                taken[ex] = h
        cols = []
        for idx, header in headers:
            if idx in by_map and taken.get(by_map[idx]) == header:
                cols.append(Column(idx, header, by_map[idx], reason="--map"))
                continue
            ex = exact[idx]
            if idx not in by_map and ex and taken.get(ex) == header:
                cols.append(Column(idx, header, ex, reason="表头"))
                continue
            fld = self.field_for(kind, header) if idx not in by_map else exact[idx]
            if fld is None or fld in taken:
                note = ""
                if fld is not None and fld in by_map.values():
                    title = self.config.fields(kind)[fld]["title"]
                    note = f"“{header}”列按表头应为{title}，但 --map 已把{title}给了“{taken[fld]}”列，此列内容原样保存，不作为{title}。"
                cols.append(Column(idx, header, None, ignored=self.is_ignored(header), note=note))
                continue
            taken[fld] = header
            cols.append(Column(idx, header, fld, reason="表头"))
        return cols


def parse_user_map(items: list[str] | None) -> dict[str, str]:
    """--map 原列名=字段 options -> dict; raises ValueError with a Chinese message."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--map “{item}” 格式不对，应为 原列名=字段，例如 --map 现居小区=estate")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out
