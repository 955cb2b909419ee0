"""Bar charts for the year-end summary (matplotlib, Agg backend), drawn only with a font that has
every glyph of the labels: a chart with tofu boxes is never made, the caller gets None instead."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")
import matplotlib.font_manager as fm
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

# Common CJK fonts, most usual first: Windows, macOS, Linux (Debian/统信/麒麟 packages).
FONT_CANDIDATES = (
    "SimHei", "Microsoft YaHei", "SimSun",
    "PingFang SC", "Heiti SC", "STHeiti",
    "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "AR PL UMing CN", "AR PL UMing",
)
NO_FONT_TEXT = "【图表未生成：未安装中文字体】"
NO_FONT_WARNING = ("未找到中文字体，图表未生成（文档中以文字说明代替）。请安装中文字体后重新生成："
                   "统信UOS/麒麟/Debian/Ubuntu 执行 apt-get install fonts-noto-cjk（或 fonts-wqy-microhei），"
                   "Windows/macOS 安装“思源黑体”（Source Han Sans SC）。")
GLYPH_PROBE = "各街道两新组织工作覆盖率党员人数正式预备最低多的个%（）"
MAX_BARS = 20
WIDTH_IN = 6.3    # 160 mm: the 156 mm text area of GB/T 9704
DPI = 200


@dataclass(frozen=True)
class CjkFont:
    name: str
    path: str
    index: int


@lru_cache(maxsize=16)
def _face_charmap(path: str, index: int) -> frozenset[int]:
    try:
        font = FT2Font(path, face_index=index)
    except TypeError:   # matplotlib before face_index
        font = FT2Font(path)
    return frozenset(font.get_charmap())


def _charmap(entry: fm.FontEntry) -> frozenset[int]:
    return _face_charmap(entry.fname, getattr(entry, "index", 0))


def _entries() -> dict[str, fm.FontEntry]:
    """Family name -> its regular face (a family lists several files: Regular, Bold …)."""
    out: dict[str, fm.FontEntry] = {}
    for f in fm.fontManager.ttflist:
        cur = out.get(f.name)
        if cur is None or _regularity(f) < _regularity(cur):
            out[f.name] = f
    return out


def _regularity(f: fm.FontEntry) -> tuple[int, int]:
    weight = f.weight if isinstance(f.weight, int) else 400
    return (f.style != "normal", abs(weight - 400))


def _rescan() -> None:
    """Add fonts installed after matplotlib built its font cache (e.g. apt-get install fonts-noto-cjk)."""
    known = {f.fname for f in fm.fontManager.ttflist}
    for path in fm.findSystemFonts():
        if path not in known:
            try:
                fm.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue


@lru_cache(maxsize=8)
def find_cjk_font(candidates: tuple[str, ...] = FONT_CANDIDATES) -> CjkFont | None:
    """The first installed candidate that has every glyph the charts use; None when there is none."""
    for attempt in range(2):
        entries = _entries()
        for name in candidates:
            entry = entries.get(name)
            if entry is None:
                continue
            try:
                charmap = _charmap(entry)
            except (OSError, RuntimeError):
                continue
            if all(ord(ch) in charmap for ch in GLYPH_PROBE):
                return CjkFont(name, entry.fname, getattr(entry, "index", 0))
        if attempt == 0:
            _rescan()
    return None


def has_glyphs(font: CjkFont, text: str) -> bool:
    charmap = _face_charmap(font.path, font.index)
    return all(ord(ch) in charmap or ch.isspace() for ch in text)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _axes(font: CjkFont, n: int, title: str):
    fig = Figure(figsize=(WIDTH_IN, 3.4 if n <= 8 else 3.9))  # no pyplot: no global figure state
    ax = fig.subplots()
    ax.set_title(title, fontfamily=font.name, fontsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _xlabels(ax, font: CjkFont, labels: list[str]) -> None:
    rotate = len(labels) > 6 or max((len(s) for s in labels), default=0) * len(labels) > 40
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontfamily=font.name, fontsize=8 if rotate else 9,
                       rotation=45 if rotate else 0, ha="right" if rotate else "center")


def _legend(ax, font: CjkFont) -> None:
    # Above the bars, so a street at 100% is never hidden behind it.
    ax.legend(prop=fm.FontProperties(family=font.name, size=9), frameon=False, ncol=2, loc="upper center")


def coverage_rows(rows: list[tuple[str, float | None, float | None]]) -> tuple[list, str]:
    """The streets the coverage chart shows, and its title: with many streets, the MAX_BARS streets
    of lowest organizational coverage."""
    rows = [r for r in rows if r[1] is not None]
    if len(rows) > MAX_BARS:
        rows = sorted(rows, key=lambda r: (r[1], r[2] or 0, r[0]))[:MAX_BARS]
        return rows, f"两新组织组织覆盖率最低的{MAX_BARS}个街道"
    return rows, "各街道两新组织覆盖率"


def members_rows(rows: list[tuple[str, int, int]]) -> tuple[list, str]:
    """The streets the members chart shows, and its title: with many streets, the MAX_BARS largest."""
    rows = [r for r in rows if r[1] + r[2] > 0]
    if len(rows) > MAX_BARS:
        rows = sorted(rows, key=lambda r: (-(r[1] + r[2]), r[0]))[:MAX_BARS]
        return rows, f"党员人数最多的{MAX_BARS}个街道"
    return rows, "各街道党员人数"


def coverage_png(rows: list[tuple[str, float, float | None]], title: str, font: CjkFont) -> bytes:
    """Grouped bars of organizational and work coverage (%) by street."""
    fig, ax = _axes(font, len(rows), title)
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r[1] * 100 for r in rows], width=0.4, label="组织覆盖率", color="#c0392b")
    ax.bar([x + 0.2 for x in xs], [(r[2] or 0) * 100 for r in rows], width=0.4, label="工作覆盖率", color="#e59866")
    ax.set_ylim(0, 118)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("覆盖率（%）", fontfamily=font.name, fontsize=9)
    _xlabels(ax, font, [r[0] for r in rows])
    _legend(ax, font)
    return _png(fig)


def members_png(rows: list[tuple[str, int, int]], title: str, font: CjkFont) -> bytes:
    """Stacked bars of 正式/预备 members by street."""
    fig, ax = _axes(font, len(rows), title)
    xs = list(range(len(rows)))
    full = [r[1] for r in rows]
    ax.bar(xs, full, width=0.6, label="正式党员", color="#c0392b")
    ax.bar(xs, [r[2] for r in rows], width=0.6, bottom=full, label="预备党员", color="#f0b27a")
    ax.set_ylim(0, max(r[1] + r[2] for r in rows) * 1.18)
    ax.set_ylabel("人数", fontfamily=font.name, fontsize=9)
    _xlabels(ax, font, [r[0] for r in rows])
    _legend(ax, font)
    return _png(fig)
