"""`pbtool inspect`: what pbtool sees in a file, without writing anything — per sheet the detected kind,
the header rows and per column the header, the field, why (表头 / 内容 / 勾选 / --map) and a few sample
values. The same diagnosis explains a sheet that cannot be imported (exit 2)."""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, load_config
from .detect import MAX_HEADER_ROW, _header_cells, _text, detect_layout, named_fields, real_field
from .mapping import SynonymIndex, normalize_header
from .notdata import instruction_sheet
from .problems import mask_value
from .read import RawFile, RawSheet, read_file

KIND_TITLES = {"roster": "党员花名册", "community": "社区清单", "estate": "小区清单", "org": "两新组织清单",
               "unit": "驻区单位清单"}
SAMPLES = 3


@dataclass
class ColumnView:
    column: str              # Excel column letters
    header: str
    field: str | None
    field_title: str
    reason: str              # 表头 / 内容 / 勾选 / --map / 未识别 / 忽略
    note: str
    samples: list[str]
    looks_like: str          # what the sampled values look like (value profile)


@dataclass
class SheetView:
    sheet: str
    visible: bool
    kind: str | None
    kind_title: str
    header_rows: list[int]   # Excel row numbers of the header
    data_rows: int
    columns: list[ColumnView] = field(default_factory=list)
    diagnosis: str = ""      # for a sheet that cannot be imported: likeliest kind, missing columns, --map line


@dataclass
class FileView:
    file: str
    format: str
    encoding: str
    sheets: list[SheetView] = field(default_factory=list)
    bad_rows: list[int] = field(default_factory=list)
    refused: str = ""        # pbtool's own output workbook


@dataclass
class SurveyResult:
    files: list[FileView] = field(default_factory=list)

    def as_dict(self, mask: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if mask:
            for f in d["files"]:
                for s in f["sheets"]:
                    for c in s["columns"]:
                        c["samples"] = [mask_value(v) for v in c["samples"]]
        return d


def col_letters(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _best_partial(sheet: RawSheet, index: SynonymIndex) -> tuple[str, int, list[tuple[int, str]], set[str]] | None:
    """The kind and header row whose fields are most recognized, whether or not its key fields are there."""
    best = None
    for r in range(min(len(sheet.head), MAX_HEADER_ROW)):
        if sum(1 for v in sheet.head[r] if _text(v)) < 2:
            continue
        for depth in (1, 2):
            if r + depth - 1 >= len(sheet.head):
                continue
            cells = _header_cells(sheet, r, depth)
            for kind in index.config.schema["kinds"]:
                fields = named_fields(index.map_columns(kind, cells))
                hint = any(h in sheet.name for h in index.config.kind(kind).get("sheet_hints", []))
                score = len(fields) + (0.5 if hint else 0)
                if best is None or score > best[0]:
                    best = (score, kind, r + depth - 1, cells, fields)
    if best is None or best[0] < 1:
        return None
    return best[1], best[2], best[3], best[4]


MAP_HINT_LIKENESS = 0.3   # a header less like the missing field than this is not offered as its --map


def diagnose_sheet(sheet: RawSheet, index: SynonymIndex) -> str:
    """Why a sheet is not imported, in Chinese: the likeliest kind, its missing columns, the --map line."""
    if not sheet.visible:
        return "隐藏工作表，未导入。"
    if not sheet.height:
        return "空工作表。"
    if instruction_sheet(sheet.name, index.config.schema):
        return "填表说明工作表，不是数据。"
    from .profile import detect_sheet
    layout = detect_sheet(sheet, index)
    if layout is not None:
        return (f"表头已认出（{KIND_TITLES.get(layout.kind, layout.kind)}，第{layout.header_row + 1}行），"
                "但表头下没有数据行。")
    part = _best_partial(sheet, index)
    if part is None:
        return "看不出是哪种名单（没有认出任何列名，可能是填表说明或封面）。"
    kind, header_row, cells, fields = part
    spec = index.config.kind(kind)
    all_fields = index.config.fields(kind)
    missing = [f for f in spec["key_fields"] if f not in fields]
    missing += [f for f, s in all_fields.items() if s.get("required") and f not in fields and f not in missing]
    used = {normalize_header(h) for _, h in cells if index.field_for(kind, h)}
    # headers that carry nothing (序号) and headers nothing like the field are no candidates for --map
    free = [h for _, h in cells if normalize_header(h) and normalize_header(h) not in used and not index.is_ignored(h)]
    lines = [f"最像{KIND_TITLES.get(kind, kind)}（表头在第{header_row + 1}行，认出{len(fields)}列）"]
    if missing:
        lines.append("缺少" + "、".join(f"“{all_fields[f]['title']}”" for f in missing) + "列")
    maps = []
    for f in missing:
        spellings = [normalize_header(x) for x in [all_fields[f]["title"], *all_fields[f]["synonyms"]]]

        def likeness(h: str) -> float:
            return max(difflib.SequenceMatcher(None, normalize_header(h), s).ratio() for s in spellings)
        best = max(free, key=likeness, default=None)
        if best is not None and likeness(best) >= MAP_HINT_LIKENESS:
            maps.append(f"--map {best}={f}")
    if maps:
        lines.append("如果表中有这些内容，可用 " + " ".join(maps) + " 指定后重新导入")
    elif missing:
        lines.append("表中没有像这些内容的列，请确认是否选错了文件")
    return "；".join(lines) + "。"


def diagnose_file(file: RawFile, index: SynonymIndex) -> str:
    """One line per sheet of a file that could not be imported."""
    parts = [f"  “{file.name}”工作表“{s.name}”：{diagnose_sheet(s, index)}" for s in file.sheets]
    return "\n".join(parts) if parts else f"  “{file.name}”：文件中没有工作表。"


def _sheet_view(file: RawFile, sheet: RawSheet, index: SynonymIndex) -> SheetView:
    from .forms import form_as_table, form_pairs
    from .profile import describe, detect_sheet, load_profiles, refine_layout, sample_values
    pairs = form_pairs(sheet, index) if sheet.visible and not instruction_sheet(sheet.name, index.config.schema) else None
    if pairs:   # a one-person form reads as a one-row roster
        sheet = form_as_table(sheet, pairs, index)
    layout = None
    if sheet.visible and sheet.height:
        layout = detect_layout(sheet, index, "roster") if pairs else detect_sheet(sheet, index)
    if layout is None:
        return SheetView(sheet.name, sheet.visible, None, "未识别", [], 0, [], diagnose_sheet(sheet, index))
    layout, _ = refine_layout(sheet, layout, index)
    fields = index.config.fields(layout.kind)
    samples = sample_values(sheet, layout, [c.index for c in layout.columns], 200)
    cols = []
    for c in layout.columns:
        fld = real_field(c.field) if c.field else None
        reason = c.reason or ("忽略" if c.ignored else "未识别")
        title = fields[fld]["title"] if fld in fields else ""
        vals = samples.get(c.index, [])
        shown = list(dict.fromkeys(vals))[:SAMPLES]
        cols.append(ColumnView(col_letters(c.index), c.header, fld, title, reason, c.note, shown,
                               describe(vals, layout.kind, load_profiles(index.config))))
    top = layout.header_top if layout.header_top >= 0 else layout.header_row
    return SheetView(sheet.name, sheet.visible, layout.kind, KIND_TITLES.get(layout.kind, layout.kind),
                     list(range(top + 1, layout.header_row + 2)), max(sheet.height - layout.data_start, 0), cols)


def survey_files(paths: list[str | Path], user_map: dict[str, str] | None = None,
                 config: Config | None = None) -> SurveyResult:
    """Read each file and describe it; nothing is written anywhere."""
    from .notdata import own_output
    config = config or load_config()
    index = SynonymIndex(config, user_map)
    result = SurveyResult()
    for p in paths:
        f = read_file(Path(p))
        view = FileView(f.name, f.format, f.encoding, bad_rows=list(f.bad_rows))
        view.refused = own_output(f) or ""
        for sheet in f.sheets:
            view.sheets.append(_sheet_view(f, sheet, index))
        result.files.append(view)
    return result


__all__ = ["SurveyResult", "diagnose_file", "diagnose_sheet", "survey_files"]
