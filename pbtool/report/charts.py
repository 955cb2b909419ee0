"""Bar charts for the year-end summary (matplotlib, Agg backend), drawn only with a font that has
every glyph of the labels: a chart with tofu boxes is never made, the caller gets None instead."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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


TICK_PT = 10.5    # 五号: the smallest size a printed figure's labels should have
LABEL_PT = 10.5
# Black, white and grey with hatches: the bars stay apart on a black-and-white printer and a photocopy.
STYLES = ({"color": "#404040", "edgecolor": "black", "hatch": ""},
          {"color": "white", "edgecolor": "black", "hatch": "///"},
          {"color": "#b0b0b0", "edgecolor": "black", "hatch": "..."})


def _axes(font: CjkFont, n: int):
    """Axes without a title: the document's caption (图1 …) says what the chart is."""
    fig = Figure(figsize=(WIDTH_IN, 3.6 if n <= 8 else 4.2))  # no pyplot: no global figure state
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    for label in ax.get_yticklabels():
        label.set_fontsize(TICK_PT)
    ax.tick_params(axis="both", labelsize=TICK_PT)
    return fig, ax


def _two_lines(label: str) -> str:
    """A long label on two lines: after its district (青湖区|城关街道) when it has one, else halved."""
    if len(label) <= 5:
        return label
    cut = next((i + 1 for i, ch in enumerate(label) if ch in "区县市" and 2 <= i + 1 <= len(label) - 2), len(label) // 2)
    return f"{label[:cut]}\n{label[cut:]}"


def _xlabels(ax, font: CjkFont, labels: list[str]) -> None:
    """Street names under the bars: level, on two lines when long (a city's 青湖区城关街道), turned 45°
    only when even that would not fit side by side."""
    def fits(names: list[str]) -> bool:   # about 30 characters of 五号 side by side on the page's width
        return max((len(line) for s in names for line in s.split("\n")), default=0) * len(names) <= 30

    shown = labels if fits(labels) else [_two_lines(s) for s in labels]
    rotate = len(labels) > 6 or not fits(shown)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels if rotate else shown, fontfamily=font.name, fontsize=TICK_PT,
                       rotation=45 if rotate else 0, ha="right" if rotate else "center")


def _legend(ax, font: CjkFont, ncol: int = 2) -> None:
    # Above the bars, so a street at 100% is never hidden behind it.
    ax.legend(prop=fm.FontProperties(family=font.name, size=LABEL_PT), frameon=False, ncol=ncol, loc="upper center",
              bbox_to_anchor=(0.5, 1.16))


def coverage_rows(rows: list[tuple[str, Any, Any]]) -> tuple[list, str]:
    """The streets the coverage chart shows, and its caption: with many streets, the MAX_BARS streets
    of lowest Party-organization coverage."""
    rows = [r for r in rows if r[1] is not None]
    if len(rows) > MAX_BARS:
        rows = sorted(rows, key=lambda r: (r[1], r[2] or 0, r[0]))[:MAX_BARS]
        return rows, f"两新组织党组织覆盖率最低的{MAX_BARS}个街道"
    return rows, "各街道两新组织党组织覆盖率和工作覆盖率"


def members_rows(rows: list[tuple]) -> tuple[list, str]:
    """The streets the members chart shows (name, 正式, 预备, 类别不详), and its caption: with many
    streets, the MAX_BARS largest."""
    rows = [tuple(r) + (0,) * (4 - len(r)) for r in rows]
    rows = [r for r in rows if r[1] + r[2] + r[3] > 0]
    if len(rows) > MAX_BARS:
        rows = sorted(rows, key=lambda r: (-(r[1] + r[2] + r[3]), r[0]))[:MAX_BARS]
        return rows, f"党员人数最多的{MAX_BARS}个街道"
    return rows, "各街道党员人数"


def coverage_png(rows: list[tuple[str, Any, Any]], font: CjkFont) -> bytes:
    """Grouped bars of Party-organization and work coverage (%) by street, each labelled with the
    percentage the tables print."""
    from ..present import pct_number, pct_text
    fig, ax = _axes(font, len(rows))
    xs = range(len(rows))
    for offset, idx, label, style in ((-0.2, 1, "党组织覆盖率", STYLES[0]), (0.2, 2, "工作覆盖率", STYLES[1])):
        rates: list[Any] = [r[idx] for r in rows]
        values = [pct_number(v) or 0 for v in rates]
        bars = ax.bar([x + offset for x in xs], values, width=0.4, label=label, linewidth=0.8, **style)
        ax.bar_label(bars, labels=[pct_text(v).rstrip("%") if v is not None else "" for v in rates],
                     fontsize=LABEL_PT - 1.5 if len(rows) > 6 else LABEL_PT, padding=2)
    ax.set_ylim(0, 118)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("覆盖率（%）", fontfamily=font.name, fontsize=LABEL_PT)
    _xlabels(ax, font, [r[0] for r in rows])
    _legend(ax, font)
    return _png(fig)


def members_png(rows: list[tuple], font: CjkFont) -> bytes:
    """Stacked bars of 正式/预备 (and 类别不详, when any) members by street, the total on top: the
    same figures as the members table."""
    fig, ax = _axes(font, len(rows))
    xs = list(range(len(rows)))
    bottom = [0] * len(rows)
    parts = [(1, "正式党员"), (2, "预备党员")] + ([(3, "类别不详")] if any(r[3] for r in rows) else [])
    for (idx, label), style in zip(parts, STYLES):
        values = [r[idx] for r in rows]
        ax.bar(xs, values, width=0.6, bottom=bottom, label=label, linewidth=0.8, **style)
        bottom = [b + v for b, v in zip(bottom, values)]
    for x, total in zip(xs, bottom):
        ax.annotate(str(total), (x, total), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                    fontsize=LABEL_PT)
    ax.set_ylim(0, max(bottom) * 1.25)
    ax.set_ylabel("人数", fontfamily=font.name, fontsize=LABEL_PT)
    _xlabels(ax, font, [r[0] for r in rows])
    _legend(ax, font, ncol=len(parts))
    return _png(fig)
