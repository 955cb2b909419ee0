"""The problem workbook a street fixes its file from: its own rows, the problem beside each, the bad
cells highlighted, plus a summary sheet of every problem."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ..importer import ImportResult
from ..mapping import normalize_header
from ..problems import ERROR, Problem
from ..read import read_file
from . import atomic
from .headers import SUMMARY_HEADER
from .xlsxutil import fit_columns, safe_sheet_name, write_cell


def write_problem_workbook(result: ImportResult, paths: list[Path], out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = atomic.Workbook(out, {"strings_to_formulas": False, "strings_to_urls": False})  # temp file + rename
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True, "valign": "top"})
    err = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006", "border": 1})
    warn = wb.add_format({"bg_color": "#FFEB9C", "font_color": "#9C5700", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    taken: set[str] = set()

    ws = wb.add_worksheet(safe_sheet_name("问题汇总", taken))
    rows = [SUMMARY_HEADER] + [[p.file, p.sheet, p.row, p.column, p.code, p.severity, p.value, p.message]
                               for p in result.problems]
    for r, values in enumerate(rows):
        for c, v in enumerate(values):
            write_cell(ws, r, c, v, head if r == 0 else (wrap if c == 7 else None))
    fit_columns(ws, rows[:200])
    ws.set_column(7, 7, 70)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows) - 1, 1), len(SUMMARY_HEADER) - 1)

    by_sheet: dict[tuple[str, str], dict[int, list[Problem]]] = defaultdict(lambda: defaultdict(list))
    for p in result.problems:
        if p.row is not None:
            by_sheet[(p.file, p.sheet)][p.row].append(p)
    headers = {(s.file, s.sheet): s.header_row for s in result.sheets}
    by_name = {Path(p).name: Path(p) for p in paths}
    for (file, sheet), problem_rows in by_sheet.items():
        if file not in by_name:
            continue
        raw = next((s for s in read_file(by_name[file]).sheets if s.name == sheet), None)
        if raw is None:
            continue
        header_row = headers.get((file, sheet), 1)
        wanted = set(problem_rows) | {header_row}
        cells: dict[int, list] = {}
        for i, values in enumerate(raw.rows()):
            if i + 1 in wanted:
                cells[i + 1] = list(values)
            if i + 1 > max(wanted):
                break
        header = [("" if v is None else str(v)) for v in cells.get(header_row, [])]
        col_of = {normalize_header(h): c for c, h in enumerate(header) if h}
        ws = wb.add_worksheet(safe_sheet_name(f"{Path(file).stem}-{sheet}" if raw.name != Path(file).stem else Path(file).stem, taken))
        top = ["原行号", "问题及处理办法"] + header
        for c, v in enumerate(top):
            write_cell(ws, 0, c, v, head)
        out_rows = [top]
        for r, excel_row in enumerate(sorted(problem_rows), start=1):
            probs = problem_rows[excel_row]
            values = cells.get(excel_row, [])
            write_cell(ws, r, 0, excel_row)
            text = "\n".join(f"[{p.severity}] {p.message}" for p in probs)
            write_cell(ws, r, 1, text, wrap)
            marks = {col_of.get(normalize_header(p.column)): (err if p.severity == ERROR else warn) for p in probs}
            for c, v in enumerate(values):
                if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
                    v = int(v)
                write_cell(ws, r, c + 2, v if v != "" else None, marks.get(c))
            out_rows.append([excel_row, ""] + values)
        fit_columns(ws, out_rows)
        ws.set_column(1, 1, 60)
        ws.freeze_panes(1, 2)
        ws.autofilter(0, 0, max(len(out_rows) - 1, 1), len(top) - 1)
    wb.close()
    return out
