"""Stage 3: header text -> schema field, through the synonym table in data/schema.toml."""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from .config import Config

_DECOR_RE = re.compile(r"[\s*＊:：]|[(（](必填|选填|必填项|可选)[)）]")


def normalize_header(text: object) -> str:
    """Header as compared: NFKC (full-width -> half-width), no spaces, line breaks, '*' or '(必填)'."""
    if text is None:
        return ""
    t = unicodedata.normalize("NFKC", str(text))
    return _DECOR_RE.sub("", t)


@dataclass(frozen=True)
class Column:
    index: int          # absolute column index (0 = A)
    header: str         # header as written (two-row headers joined as "基本信息/姓名")
    field: str | None   # schema field, or None when unknown/ignored
    ignored: bool = False


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
        self.user_map = {normalize_header(k): v for k, v in (user_map or {}).items()}

    def field_for(self, kind: str, header: str) -> str | None:
        h = normalize_header(header)
        if h in self.user_map and self.user_map[h] in self.config.fields(kind):
            return self.user_map[h]
        return self.by_kind[kind].get(h)

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
        """Map each (index, header); a field already taken by an earlier column is not taken twice."""
        taken: set[str] = set()
        cols = []
        for idx, header in headers:
            if not normalize_header(header):
                continue
            fld = self.field_for(kind, header)
            if fld is None or fld in taken:
                cols.append(Column(idx, header, None, ignored=self.is_ignored(header)))
                continue
            taken.add(fld)
            cols.append(Column(idx, header, fld))
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
