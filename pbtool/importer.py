"""The import pipeline: read -> detect -> map -> clean/check -> resolve -> store, one transaction.

`import_files()` is the Python API behind `pbtool import`; it returns an ImportResult that the
terminal, JSON and workbook renderers all read."""
from __future__ import annotations

import gc
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .background import Background
from .checks import ROW_CHECKS
from .clean import (CONTROL_RE, ArrowCleaned, arrow_list, arrow_value, as_text, clean_arrow_column, clean_column, org_keys,
                    cleaners, distinct_array, org_key, strip_controls, strip_controls_arrow)
from .config import Config, load_config
from .errors import InputError
from .detect import Layout, detect_layout, street_in_text
from .fillin import template_for
from .mapping import SynonymIndex
from .period import PeriodError
from .period import check_period as _check_period
from .places import PlaceIndex
from .profile import detect_sheet, refine_layout
from .survey import diagnose_file
from .problems import ERROR, Problem, make_problem
from .forms import form_as_table, form_pairs
from .notdata import NOTE_MIN_COLUMNS, instruction_sheet, note_rows, own_output, period_mismatch
from .read import RawFile, RawSheet, ReadError, read_file
from .xlsx_fast import arrow_rows
from .ticks import PREFIX as TICK_PREFIX, combine_ticks

if TYPE_CHECKING:   # imported where the store is opened: SQLAlchemy loads meanwhile (xlsx_fast.WARM_UP)
    from . import store as st

KIND_ORDER = ["community", "estate", "org", "unit", "roster"]   # lists before rosters: rosters resolve against them
FOOTER_FIRST = ("合计", "总计", "小计", "共计", "注：", "注:", "说明：", "说明:")
FOOTER_ANY = ("填表人", "审核人", "制表人", "填报人", "负责人签字", "单位盖章")
# Tested on a row's first non-empty cell: 合计 rows, notes, and signature rows under the data.
FOOTER_RE = re.compile("^\\s*(?:" + "|".join(FOOTER_FIRST) + ")|" + "|".join(FOOTER_ANY))
PROGRESS_MIN_ROWS = 3000
NEAR_MISS_MAX_LEN = 100      # longer employer names are not compared for near misses (no real name is this long)
PARSE_CHUNK = 20_000
PROBLEM_COLUMNS = ["import_id", "period", "kind", "street", "code", "severity", "file", "sheet", "row", "column",
                   "value", "message", "expected", "district"]


class ImportError_(InputError):
    """Input that cannot be imported at all (bad period, unreadable file); Chinese message."""


def check_period(period: str) -> str:
    try:
        return _check_period(period)
    except PeriodError as exc:
        raise ImportError_(str(exc)) from None


@dataclass
class ParsedSheet:
    """One sheet after cleaning: column-major values, one entry per data row."""

    file: RawFile
    sheet: RawSheet
    layout: Layout
    street: str                          # street for rows that do not name their own
    street_source: str                   # 命令行参数 / 街道列 / 标题行 / 文件名 / 工作表名 / 无
    rows: list[int] = field(default_factory=list)          # Excel row numbers
    values: dict[str, list[Any]] = field(default_factory=dict)
    arrow: dict[str, Any] = field(default_factory=dict)    # roster fields kept as cleaned Arrow arrays (store only)
    # field -> (its list in `values` when cleaned, the ArrowCleaned it came from): while values[field] is
    # still that very list, the store takes the Arrow array instead of converting the list again
    shadow: dict[str, tuple[list[Any], Any]] = field(default_factory=dict)
    extra: list[str | None] | None = None
    row_error: list[bool] = field(default_factory=list)
    footer_rows: int = 0
    blank_rows: int = 0
    place_source: str | None = None
    note_rows: int = 0                   # rows under a note/text box merged over the data area
    header_repeats: int = 0              # the header repeated mid-sheet

    @property
    def kind(self) -> str:
        return self.layout.kind

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class SheetSummary:
    file: str
    sheet: str
    kind: str
    street: str
    street_source: str
    header_row: int
    rows: int
    footer_rows: int
    blank_rows: int
    errors: int
    warnings: int
    note_rows: int = 0
    header_repeats: int = 0


@dataclass
class ImportResult:
    period: str
    dry_run: bool
    sheets: list[SheetSummary] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)   # (file, sheet, why)
    problems: list[Problem] = field(default_factory=list)
    imported: dict[str, int] = field(default_factory=dict)
    replaced: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, street) -> rows replaced
    notes: list[str] = field(default_factory=list)
    run: int = 0          # the import run's number (pbtool history / undo)
    store: str = ""       # the store written

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == ERROR)

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors

    def as_dict(self, mask: bool = True) -> dict[str, Any]:
        return {
            "period": self.period,
            "dry_run": self.dry_run,
            "run": self.run,
            "store": self.store,
            "imported": self.imported,
            "replaced": [{"kind": k, "street": s, "rows": n} for (k, s), n in self.replaced.items()],
            "sheets": [vars(s) for s in self.sheets],
            "skipped": [{"file": f, "sheet": s, "reason": r} for f, s, r in self.skipped],
            "notes": self.notes,
            "problems": [p.as_dict(mask) for p in self.problems],
        }


ProgressFn = Callable[[str, int, int], None]   # (label, rows done, rows total)


# ------------------------------------------------------------------------------------ parsing


def _cell_text(v: Any) -> str:
    """A raw cell as the clerk saw it (a float ID in Excel's own 3.30106195301272E+17 form)."""
    if isinstance(v, float) and abs(v) >= 1e15:
        mantissa, exp = f"{v:.14E}".split("E")
        return f"{mantissa.rstrip('0').rstrip('.')}E+{int(exp)}"
    return CONTROL_RE.sub("", as_text(v)).strip()


def _is_footer(row: list[Any]) -> bool:
    """A row under the data that is not a member: 合计, notes, 填表人/审核人 signatures."""
    return any(isinstance(v, str) and FOOTER_RE.search(v) for v in row if v not in ("", None))


def _blank(v: Any) -> bool:
    """An empty cell: nothing, or only spaces (a row of spaces is not a member)."""
    return v is None or v == "" or (type(v) is str and v.isspace())


def _merge_fill(sheet: RawSheet, data_start: int) -> dict[int, list[tuple[int, int]]]:
    """Row -> [(column, source row)] for cells merged down a column inside the data area: the value of
    the merge holds for every row it covers (an empty cell that is not merged stays empty). Note boxes
    (merges NOTE_MIN_COLUMNS wide) are not values."""
    fill: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (r0, c0), (r1, c1) in sheet.merged:
        if r1 > r0 and r0 >= data_start and c1 - c0 + 1 < NOTE_MIN_COLUMNS:
            for r in range(r0 + 1, r1 + 1):
                for c in range(c0, c1 + 1):
                    fill[r].append((c, r0))
    return fill


def _sheet_street(file: RawFile, sheet: RawSheet, layout: Layout, cli_street: str | None) -> tuple[str, str]:
    if cli_street:
        return cli_street, "命令行参数 --street"
    for line in layout.title_lines:
        s = street_in_text(line)
        if s:
            return s, "标题行"
    s = street_in_text(file.path.stem)
    if s:
        return s, "文件名"
    s = street_in_text(sheet.name)
    if s:
        return s, "工作表名"
    return "", "无"


def parse_sheet(file: RawFile, sheet: RawSheet, layout: Layout, config: Config, index: SynonymIndex,
                cli_street: str | None, problems: list[Problem], progress: ProgressFn | None = None) -> ParsedSheet:
    street, street_source = _sheet_street(file, sheet, layout, cli_street)
    kind = layout.kind
    if "street" in layout.fields and not cli_street:
        street_source = "街道列" + (f"（空白处用{street_source}）" if street else "")
    ps = ParsedSheet(file, sheet, layout, street, street_source)
    mapped = [(c.index, c.field) for c in layout.columns if c.field]
    unknown = [c for c in layout.columns if not c.field and not c.ignored]
    header_excel_row = layout.header_row + 1
    for c in unknown:
        hint = index.candidates(kind, c.header)
        problems.append(make_problem(
            "UNKNOWN_COLUMN", file=file.name, sheet=sheet.name, row=header_excel_row, column=c.header,
            value=c.header, kind=kind, street=street,
            hint=f"它可能是：{'、'.join(hint)}。" if hint else ""))
    fill = _merge_fill(sheet, layout.data_start)
    columns: dict[str, list[Any]] = {f: [] for _, f in mapped}
    extra: list[str | None] | None = [] if unknown else None
    keep = [i for i, _ in mapped] + [c.index for c in unknown]
    top_values: dict[tuple[int, int], Any] = {}
    starts: dict[int, list[int]] = defaultdict(list)
    for (r0, c0), (r1, c1) in sheet.merged:
        if r1 > r0 and r0 >= layout.data_start and c1 - c0 + 1 < NOTE_MIN_COLUMNS:
            starts[r0].extend(range(c0, c1 + 1))
    notes = note_rows(sheet, layout.data_start)
    # the header's own texts: a data row repeating them is the header printed again mid-sheet
    header_texts = {c.header.strip() for c in layout.columns if c.header.strip()}
    total = sheet.height
    report_every = 5000 if progress and total >= PROGRESS_MIN_ROWS else 0
    label = f"{file.name} / {sheet.name}"
    idx = [i for i, _ in mapped]
    fields = [f for _, f in mapped]
    getter = itemgetter(*idx) if len(idx) > 1 else (lambda row, i=idx[0]: (row[i],))
    width = max(keep) + 1
    buf: list[tuple] = []

    def flush() -> None:  # row tuples -> columns (itemgetter is twice as fast as zip(*buf) here)
        if not buf:
            return
        for j, f in enumerate(fields):
            columns[f].extend(map(itemgetter(j), buf))
        buf.clear()

    def take(r: int, row: list[Any]) -> None:
        """One row, every case: padding, merges, blank and footer rows, unknown columns."""
        if len(row) < width:
            row = list(row) + [""] * (width - len(row))
        if r in notes:   # a merged box: a 填表人/合计 line under the data, or a note
            if _is_footer(row):
                ps.footer_rows += 1
            else:
                ps.note_rows += 1
            return
        if starts and r in starts:
            for c in starts[r]:
                top_values[(r, c)] = row[c]
        vals = getter(row)
        # any(): "" and None are falsy; a row whose only values are 0 goes the slow way below and stays data
        if all(map(_blank, vals)) and all(_blank(row[c.index]) for c in unknown):
            if not all(map(_blank, row)):
                if _is_footer(row):
                    ps.footer_rows += 1
                    return
            else:
                ps.blank_rows += 1
                return
        first = None
        for first in row:  # the first non-empty cell (a plain loop: no generator per row)
            if first != "" and first is not None:
                break
        if isinstance(first, str) and FOOTER_RE.search(first):
            ps.footer_rows += 1
            return
        if isinstance(first, str) and first.strip() in header_texts:
            same = sum(1 for c in layout.columns if isinstance(row[c.index], str)
                       and row[c.index].strip() == c.header.strip())
            if same >= max(2, len(layout.columns) // 2):
                ps.header_repeats += 1
                return
        if fill and r in fill:  # only now: a row holding nothing but a merged-down value is still blank
            row = list(row)
            for c, src in fill[r]:
                if c < len(row) and row[c] in ("", None):
                    row[c] = top_values.get((src, c), "")
            vals = getter(row)
        ps.rows.append(r + 1)
        buf.append(vals)
        if len(buf) >= 65536:
            flush()
        if extra is not None:
            ex = {c.header: _cell_text(row[c.index]) for c in unknown if row[c.index] not in ("", None)}
            extra.append(json.dumps(ex, ensure_ascii=False) if ex else None)

    merged_rows = sorted(set(starts) | set(fill) | notes)
    read_cols = {*idx, *(c.index for c in unknown)}
    loaded = None
    if sheet.columns is not None:   # columns no field reads are read as text (only 合计/填表人 words matter there)
        loaded = sheet.columns(layout.data_start, set(range(max(sheet_width(sheet), width))) - read_cols)
    if loaded is not None:
        # The data area by columns (xlsx_fast): plain rows are taken as column slices, and only the rows
        # that may be something else (blank, 合计/填表人, a repeated header, merged) go through take().
        table, absolute = loaded
        nrows = table.num_rows
        sheet.height = total = layout.data_start + nrows
        at = {c: i for i, c in enumerate(absolute)}
        full_width = max(max(absolute, default=-1) + 1, width)
        special = set(_special_rows(table, absolute, [*idx, *(c.index for c in unknown)], header_texts))
        special.update(m - layout.data_start for m in merged_rows if 0 <= m - layout.data_start < nrows)
        # Mapped columns stay Arrow: each field's column is gathered from the table's rows and the rows
        # take() kept (those come after the table's rows, as Python values in `columns`).
        lists = {c.index: arrow_list(table.column(at[c.index])) if c.index in at else [""] * nrows for c in unknown}
        arrow_cols = {i: table.column(at[i]) for i in idx if i in at}
        order = sorted(special)
        whole = dict(zip(order, arrow_rows(table, absolute, full_width, order)))
        del table, loaded
        import numpy as np

        gather: list[Any] = []
        taken = 0
        prev = 0
        for k in [*order, nrows]:
            if k > prev:   # plain rows prev … k-1
                gather.append(np.arange(prev, k))
                ps.rows.extend(range(layout.data_start + prev + 1, layout.data_start + k + 1))
                if extra is not None:
                    for j in range(prev, k):
                        ex = {c.header: _cell_text(lists[c.index][j]) for c in unknown
                              if lists[c.index][j] not in ("", None)}
                        extra.append(json.dumps(ex, ensure_ascii=False) if ex else None)
            if k < nrows:
                before = len(ps.rows)
                take(layout.data_start + k, whole.pop(k))
                if len(ps.rows) > before:
                    gather.append(np.array([nrows + taken]))
                    taken += 1
            prev = k + 1
        flush()
        at_rows = np.concatenate(gather) if gather else np.zeros(0, dtype=np.int64)
        for i, f in zip(idx, fields):
            columns[f] = _gather_column(arrow_cols.pop(i, None), nrows, columns[f], at_rows)
    else:
        # Rows come in chunks. A chunk of plain data rows (no merge, no unknown column, every row with a
        # mapped value and a first cell that is neither empty nor a 合计/填表人 text) is taken whole at C
        # speed; any other chunk goes row by row through take(), which handles every case.
        rows = islice(sheet.rows(), layout.data_start, None)
        r0 = layout.data_start
        while chunk := list(islice(rows, PARSE_CHUNK)):
            if report_every:
                progress(label, r0, total)
            end = r0 + len(chunk)
            plain = (extra is None and min(map(len, chunk)) >= width
                     and not any(r0 <= m < end for m in merged_rows))
            if plain:
                vals_list = list(map(getter, chunk))
                firsts = list(map(itemgetter(0), chunk))
                plain = (all(map(any, vals_list)) and "" not in firsts and None not in firsts
                         and not any(FOOTER_RE.search(f) or f.isspace() for f in firsts if type(f) is str)
                         and header_texts.isdisjoint({f.strip() for f in firsts if type(f) is str}))
            if plain:
                flush()
                for j, f in enumerate(fields):
                    columns[f].extend(map(itemgetter(j), vals_list))
                ps.rows.extend(range(r0 + 1, end + 1))
            else:
                for k, row in enumerate(chunk):
                    take(r0 + k, row)
            r0 = end
    flush()
    if report_every:
        progress(label, total, total)
    ps.extra = extra
    _clean_columns(ps, columns, config, problems)
    return ps


def sheet_width(sheet: RawSheet) -> int:
    """Columns the sheet's first rows reach (more may follow further down: those are read as they are)."""
    return max((len(r) for r in (sheet.prefix or sheet.head)), default=0)


def _gather_column(col: Any, nrows: int, kept: list[Any], at_rows: Any) -> Any:
    """One field's data-area column: the table column's rows `at_rows` (an index past the table is a row
    take() kept, its value in `kept`) as one Arrow array (an empty cell null or ''), or as the Python
    list the row path builds when the kept values do not make the column's Arrow type."""
    from .arrow import pa

    base = pa.nulls(nrows, pa.string()) if col is None else col.combine_chunks() if hasattr(col, "combine_chunks") else col
    try:
        if kept:
            base = pa.concat_arrays([base, pa.array([None if v is None or v == "" else v for v in kept], base.type)])
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        values = arrow_list(base) + kept
        return list(map(values.__getitem__, at_rows.tolist()))
    if len(at_rows) == len(base) and not kept:
        return base      # every row of the table, in order
    return base.take(pa.array(at_rows))


FOOTER_WORDS = (*FOOTER_FIRST, *FOOTER_ANY)
FOOTER_WORDS_RE = "|".join(map(re.escape, FOOTER_WORDS))   # RE2 (pyarrow): any of the words, as plain text


def _special_rows(table: Any, absolute: list[int], checked: list[int], header_texts: set[str]) -> list[int]:
    """Rows of an Arrow data area that take() must see one by one: every checked (mapped or unknown)
    cell empty, 0 or spaces; or a first non-empty cell that is spaces, holds a 合计/填表人 word or is a
    header text. A superset, at C speed: take() decides each of them exactly as for any row."""
    from .arrow import pa, pc

    n = table.num_rows
    if not n:
        return []
    at = {c: i for i, c in enumerate(absolute)}
    blank = None
    for c in checked:
        if c not in at:
            continue
        col = table.column(at[c])
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            b = pc.or_kleene(pc.equal(col, ""), pc.utf8_is_space(col))
        elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            b = pc.equal(col, 0)
        elif pa.types.is_boolean(col.type):
            b = pc.invert(col)
        else:
            b = pa.nulls(n, pa.bool_())
        b = pc.fill_null(b, True)
        blank = b if blank is None else pc.and_(blank, b)
        if not pc.any(blank).as_py():
            break        # no row is blank so far: none can be
    mask = blank if blank is not None else pa.array([True] * n)

    # the first non-empty cell of each row, as text (numbers and dates never are 合计 or a header)
    def text(c: int) -> Any:
        col = table.column(at[c])
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        return pc.if_else(pc.is_null(col), pa.scalar(None, pa.string()), pa.scalar("0", pa.string()))

    order = sorted(at)
    first = text(order[0]) if order else pa.nulls(n, pa.string())
    if first.null_count and len(order) > 1:   # some rows begin further right: all columns, coalesced
        first = pc.coalesce(first, *map(text, order[1:]))
    odd = pc.or_kleene(pc.is_null(first), pc.utf8_is_space(first))
    odd = pc.or_kleene(odd, pc.match_substring_regex(first, FOOTER_WORDS_RE))   # one pass for all the words
    if header_texts:
        odd = pc.or_kleene(odd, pc.is_in(pc.utf8_trim_whitespace(first), pa.array(sorted(header_texts))))
    mask = pc.fill_null(pc.or_kleene(mask, odd), True)
    return pc.indices_nonzero(mask).to_pylist()


# Roster fields that no later step reads as a Python list (places, duplicates, employers, aggregates and
# the replacement check read the others): cleaned from an Arrow column, they stay Arrow up to the store.
ROSTER_ARROW_ONLY = frozenset({"name", "gender", "ethnicity", "id_number", "birth_date", "education", "join_date",
                               "full_date", "phone", "status", "person_type", "occupation", "is_mobile", "outflow",
                               "is_lost", "reported"})


def _clean_columns(ps: ParsedSheet, columns: dict[str, Any], config: Config, problems: list[Problem]) -> None:
    """Clean every field's column: a Python list (row reader) or an Arrow array (columnar reader, an
    empty cell null or ''); both give the same values and problems, at the same rows."""
    kind = ps.kind
    fields = config.fields(kind)
    reg = cleaners(config.schema)
    layout_cols = ps.layout.fields
    nrows = len(ps.rows)
    ps.row_error = [False] * nrows
    if any(k.startswith(TICK_PREFIX) for k in columns):   # tick boxes are combined on Python lists
        columns = {f: v if isinstance(v, list) else arrow_list(v) for f, v in columns.items()}
    controls = {}   # invisible control characters (NUL …) are removed before anything else, and reported
    for fld in list(columns):
        v = columns[fld]
        columns[fld], changed = strip_controls(v) if isinstance(v, list) else strip_controls_arrow(v)
        if changed:
            controls[fld] = changed

    def raw(fld: str, i: int) -> Any:
        v = columns[fld]
        return v[i] if isinstance(v, list) else arrow_value(v, i)

    street_col = columns.get("street")
    streets = [ps.street] * nrows
    if street_col is not None and not ps.street_source.startswith("命令行"):
        if isinstance(street_col, list):
            cleaned_st = [reg["place"](v)[0] for v in street_col]
        else:
            cleaned_st = clean_arrow_column("place", reg["place"], street_col).tolist()
        streets = [s or ps.street for s in cleaned_st]

    def flag(i: int, code: str, fld: str, raw: Any, details: dict[str, Any] | None) -> None:
        p = make_problem(code, file=ps.file.name, sheet=ps.sheet.name, row=ps.rows[i],
                         column=layout_cols[fld].header if fld in layout_cols else fields[fld]["title"],
                         value=_cell_text(raw), kind=kind, street=streets[i], **(details or {}))
        problems.append(p)
        if p.severity == ERROR:
            ps.row_error[i] = True

    for fld, changed in controls.items():
        for i, n in changed:
            flag(i, "CONTROL_CHARS", fld, raw(fld, i), {"count": n})
    if any(k.startswith(TICK_PREFIX) for k in columns):  # tick-box sub-columns -> one value per group
        tick_headers = {c.field: c.header for c in ps.layout.columns if c.field}
        columns, tick_issues = combine_ticks(columns, tick_headers)
        for i, code, _fld, label, written in tick_issues:
            p = make_problem(code, file=ps.file.name, sheet=ps.sheet.name, row=ps.rows[i], column=label,
                             value=written, kind=kind, street=streets[i])
            problems.append(p)
            if p.severity == ERROR:
                ps.row_error[i] = True

    for fld, raw_values in columns.items():
        if fld == "street":
            ps.values["street"] = streets
            continue
        ftype = fields[fld]["type"]
        ac = None
        if not isinstance(raw_values, list):
            from .arrow import pa

            try:
                ac = clean_arrow_column(ftype, reg[ftype], raw_values)
            except (pa.ArrowException, OverflowError):   # a type pyarrow.compute cannot take: as a list
                columns[fld] = raw_values = arrow_list(raw_values)
        raw_at: Callable[[int], Any]
        missing: Any
        if ac is None:
            cleaned, issues = clean_column(ftype, reg[ftype], raw_values)
            ps.values[fld] = cleaned
            raw_at = raw_values.__getitem__
            missing = cleaned if None in cleaned else None
        else:
            issues, raw_at = ac.issues, ac.raw_at
            if ac.array is not None and kind == "roster" and fld in ROSTER_ARROW_ONLY:
                ps.arrow[fld] = missing = ac.array
            else:
                ps.values[fld] = missing = ac.tolist()
                if ac.array is not None:
                    ps.shadow[fld] = (missing, ac)
        for i, code, details in issues:
            flag(i, code, fld, raw_at(i), details)
        if fields[fld].get("required") and missing is not None:
            flagged = {i for i, _, _ in issues}
            if isinstance(missing, list):
                empty = [i for i, v in enumerate(missing) if v is None]
            else:
                from .arrow import pc

                empty = pc.indices_nonzero(pc.is_null(missing)).to_pylist()
            for i in empty:
                if i not in flagged:
                    flag(i, "MISSING_REQUIRED", fld, raw_at(i), None)
    ps.values["street"] = streets
    if kind == "estate":  # an estate listed without a community has community '' like its residents
        ps.values["community"] = [c or "" for c in ps.values.get("community", [None] * nrows)]
    for fld, spec in fields.items():
        if spec.get("required") and fld not in columns:
            problems.append(make_problem(
                "MISSING_REQUIRED", file=ps.file.name, sheet=ps.sheet.name, row=ps.layout.header_row + 1,
                column=spec["title"], value="", kind=kind, street=ps.street))
    for check in ROW_CHECKS.get(kind, []):
        if all(f in ps.values or f in ps.arrow for f in check.fields):
            for i, code, fld, details in check.func(*(ps.values[f] if f in ps.values else ps.arrow[f]
                                                      for f in check.fields)):
                flag(i, code, fld, raw(fld, i) if fld in columns else "", details)
    if kind == "roster" and "community" not in columns and "estate" not in columns:
        # A roster split into one sheet per community (or branch) names it only in the sheet name.
        name = ps.sheet.name.strip()
        if name.endswith("社区"):
            ps.values["community"] = [name] * nrows
            ps.place_source = "sheet"
        elif name.endswith(("支部", "总支", "党委")) and "branch" not in columns:
            ps.values["branch"] = [name] * nrows


# ------------------------------------------------------------------------------------ period checks


def _place_index(conn_rows: dict[str, list[dict[str, Any]]], sheets: list[ParsedSheet]) -> PlaceIndex:
    comms = [(r["street"], r["name"]) for r in conn_rows["community"] if r["name"]]
    ests = [(r["street"], r["community"] or "", r["name"]) for r in conn_rows["estate"] if r["name"]]
    for ps in sheets:
        n = len(ps)
        names = ps.values.get("name", [None] * n)
        st_ = ps.values["street"]
        if ps.kind == "community":
            comms += [(st_[i], names[i]) for i in range(n) if names[i]]
        elif ps.kind == "estate":
            cm = ps.values.get("community", [None] * n)
            ests += [(st_[i], cm[i] or "", names[i]) for i in range(n) if names[i]]
    return PlaceIndex(comms, ests)


def _resolve_places(ps: ParsedSheet, places: PlaceIndex, problems: list[Problem], result: ImportResult) -> None:
    n = len(ps)
    comm = ps.values.get("community", [None] * n)
    est = ps.values.get("estate", [None] * n)
    addr = ps.values.get("address", [None] * n)
    streets = ps.values["street"]
    status, source = ["none"] * n, [None] * n
    new_comm, new_est, new_street = list(comm), list(est), list(streets)
    if not places.has_communities and any(comm) | any(est) | any(addr):
        result.notes.append(f"{ps.file.name}/{ps.sheet.name}：本期还没有社区、小区清单，居住地未能核对。"
                            "请先导入资源清单，再重新导入本花名册。")
        status = ["unchecked" if (comm[i] or est[i] or addr[i]) else "none" for i in range(n)]
    else:
        cache: dict[tuple, Any] = {}
        for i in range(n):
            key = (streets[i], comm[i], est[i], None if (comm[i] or est[i]) else addr[i])
            res = cache.get(key)
            if res is None:
                res = cache[key] = places.resolve(*key)
            status[i] = res.status
            if res.status == "ok":
                new_street[i], new_comm[i] = res.place.street, res.place.community
                new_est[i] = res.place.estate if res.place.estate else est[i]
                source[i] = "column" if (est[i] or comm[i]) else "address"
                if ps.place_source == "sheet" and not est[i]:
                    source[i] = "sheet"
                if res.mismatch:
                    col = ps.layout.fields.get("community")
                    problems.append(make_problem("PLACE_MISMATCH", file=ps.file.name, sheet=ps.sheet.name,
                                                 row=ps.rows[i], column=col.header if col else "工作表名",
                                                 value=comm[i], kind="roster", street=streets[i],
                                                 detail=res.mismatch))
            elif res.status in ("unknown", "ambiguous"):
                fld = "estate" if est[i] else "community" if comm[i] else "address"
                col = ps.layout.fields.get(fld)
                code = "UNKNOWN_PLACE" if res.status == "unknown" else "AMBIGUOUS_PLACE"
                value = est[i] or comm[i] or addr[i]
                p = make_problem(code, file=ps.file.name, sheet=ps.sheet.name, row=ps.rows[i],
                                 column=col.header if col else ("工作表名" if fld == "community" else fld),
                                 value=value, kind="roster", street=streets[i], detail=res.detail)
                problems.append(p)
                if p.severity == ERROR:
                    ps.row_error[i] = True
    # a column nothing changed stays the very list cleaning made (the store then takes its Arrow array)
    ps.values["community"], ps.values["estate"], ps.values["street"] = (
        old if new == old else new for new, old in ((new_comm, comm), (new_est, est), (new_street, streets)))
    ps.values["place_status"], ps.values["place_source"] = status, source


def _distinct_ids(ids: Any, *seen: dict[str, Any]) -> bool:
    """Whether an Arrow column of IDs repeats none of its IDs and holds none of those in `seen`."""
    from .arrow import pa, pc

    present = pc.drop_null(ids)
    present = present.filter(pc.not_equal(present, ""))
    if len(pc.unique(present)) != len(present):     # (count_distinct takes twice as long)
        return False
    return not any(d and pc.any(pc.is_in(present, value_set=pa.array(list(d), pa.string()))).as_py() for d in seen)


def _check_duplicates(rosters: list[ParsedSheet], stored: dict[str, tuple[str, str, int, str]],
                      problems: list[Problem]) -> None:
    """The same ID twice in the period: every later occurrence is an error naming the first one."""
    # Where it counts (a million rows) there is usually no duplicate at all: sets tell that at C speed,
    # and the first occurrence of an ID is looked up only for the few that repeat.
    where: dict[str, tuple[int, int]] = {}          # ID -> (roster index, row index) of its first occurrence
    last = max((k for k, ps in enumerate(rosters) if "id_number" in ps.values or "id_number" in ps.arrow), default=-1)
    for k, ps in enumerate(rosters):
        ids = ps.values.get("id_number")
        if ids is None and "id_number" in ps.arrow:   # cleaned by columns: told apart in Arrow first
            if k == last and _distinct_ids(ps.arrow["id_number"], where, stored):
                continue          # no repeat, and no later roster to compare with
            ids = ps.arrow["id_number"].to_pylist()
        if ids is None:
            continue
        present = [i for i, idn in enumerate(ids) if idn]
        fresh = {ids[i] for i in present}
        if len(fresh) == len(present) and fresh.isdisjoint(where) and fresh.isdisjoint(stored):
            where.update(zip((ids[i] for i in present), zip(repeat(k), present)))
            continue
        col = ps.layout.fields["id_number"].header
        for i in present:
            idn = ids[i]
            if idn in where:
                fk, fi = where[idn]
                first = rosters[fk]
                f, sh, r, street = first.file.name, first.sheet.name, first.rows[fi], first.values["street"][fi]
            elif idn in stored:
                f, sh, r, street = stored[idn]
            else:
                where[idn] = (k, i)
                continue
            other = f"“{f}”工作表“{sh}”第{r}行" + (f"（{street}）" if street else "")
            problems.append(make_problem("DUPLICATE_PERSON", file=ps.file.name, sheet=ps.sheet.name,
                                         row=ps.rows[i], column=col, value=idn, kind="roster",
                                         street=ps.values["street"][i], other=other))
            ps.row_error[i] = True


_EMPLOYER_SPLIT = re.compile(r"[\s,，;；/、]")


def employer_key(name: str | None) -> str | None:
    """The employer as matched to an organization: the name before a job title ('某公司 经理')."""
    return employer_keys([name])[0]


def employer_keys(names: list[str | None]) -> list[str | None]:
    """employer_key() of each name, without a call and a cache entry per name (org_keys): 0.086 -> 0.06 s
    for 29,000 distinct employers, measured."""
    split = _EMPLOYER_SPLIT.split
    return [k or None for k in org_keys([split(n.strip(), maxsplit=1)[0] if n else "" for n in names])]


LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "分公司", "公司", "集团")


def _legal_core(key: str) -> str:
    for form in LEGAL_FORMS:
        if key.endswith(form) and len(key) > len(form) + 1:
            return key[: -len(form)]
    return key


def _one_deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1:] for i in range(len(key))}


def _one_edit(a: str, b: str) -> bool:
    """a and b differ by exactly one character changed, added or dropped."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(short, long_)) if x != y), len(short))
    return short[i:] == long_[i + 1:]


def find_near_misses(keys: set[str], org_names: dict[str, str]) -> dict[str, str]:
    """Employer key -> the org key it almost matches: the same name with another legal form
    (有限公司 / 有限责任公司 …) or one character added, dropped or changed.
    Only warned about, never merged: normalization could not settle them. Candidates come from
    an index (legal-form core and one-character deletions), so 100,000 organizations stay fast."""
    # capped: deletions of a 32,767-character name would be 32,767 strings of that length (GBs)
    unmatched = {k for k in keys if k and k not in org_names and len(k) <= NEAR_MISS_MAX_LEN}
    org_names = {k: v for k, v in org_names.items() if len(k) <= NEAR_MISS_MAX_LEN + 1}
    if not unmatched or not org_names:
        return {}
    wanted_cores = {_legal_core(k) for k in unmatched}
    wanted_dels = set().union(*(_one_deletions(k) | {k} for k in unmatched))
    by_core: dict[str, list[str]] = defaultdict(list)
    by_del: dict[str, list[str]] = defaultdict(list)
    for org in org_names:
        core = _legal_core(org)
        if core in wanted_cores:
            by_core[core].append(org)
        for d in _one_deletions(org) | {org}:
            if d in wanted_dels:
                by_del[d].append(org)
    out: dict[str, str] = {}
    for k in unmatched:
        core = set(by_core.get(_legal_core(k), ()))
        # Shared deletions also pair names two edits apart (星云 / 华星): keep only a true single edit.
        edits = {o for d in _one_deletions(k) | {k} for o in by_del.get(d, ()) if _one_edit(k, o)}
        cands = [o for o in core | edits if min(len(o), len(k)) >= 4]   # very short names are too risky
        if cands:
            out[k] = min(cands, key=lambda o: (o not in core, abs(len(o) - len(k)), o))
    return out


def _derived(ac: Any, fn: Callable[[list[Any]], list[Any]]) -> tuple[list[Any], tuple[list[Any], Any]]:
    """fn (of a list of values) of a cleaned Arrow column, computed once per distinct value: the new
    column as a list, and its shadow (the list and an ArrowCleaned holding its Arrow array) for the store."""
    distinct = fn(ac.distinct)
    new = ArrowCleaned(None, distinct_array(distinct, ac.indices), [], distinct, ac.indices)
    values = new.tolist()
    return values, (values, new)


def _distinct_values(ps: ParsedSheet, fld: str) -> Any:
    """A list field's values, each once where cleaning kept its distinct values (else the whole list)."""
    values = ps.values.get(fld, ())
    kept, ac = ps.shadow.get(fld, (None, None))
    return ac.distinct if kept is values and ac.distinct is not None else values


def _check_employers(rosters: list[ParsedSheet], org_names: dict[str, str], problems: list[Problem]) -> None:
    """Employer names that almost match a listed organization: warn with both spellings, never merge."""
    for ps in rosters:
        emp = ps.values.get("employer")
        if emp is not None and ps.shadow.get("employer", (None,))[0] is emp:   # from the column's distinct values
            ac = ps.shadow["employer"][1]
            if ac.distinct is not None:
                ps.values["employer_key"], ps.shadow["employer_key"] = _derived(ac, employer_keys)
                continue
        if emp is not None:
            keys = {e: employer_key(e) for e in dict.fromkeys(emp)}
            ps.values["employer_key"] = list(map(keys.__getitem__, emp))
    keys = {k for ps in rosters for k in _distinct_values(ps, "employer_key") if k}
    near = find_near_misses(keys, org_names)
    if not near:
        return
    for ps in rosters:
        keys = ps.values.get("employer_key")
        if keys is None:
            continue
        col = ps.layout.fields["employer"].header
        for i, k in enumerate(keys):
            if k in near:
                problems.append(make_problem("NAME_NEAR_MISS", file=ps.file.name, sheet=ps.sheet.name,
                                             row=ps.rows[i], column=col, value=ps.values["employer"][i], kind="roster",
                                             street=ps.values["street"][i], expected=org_names[near[k]]))


# ------------------------------------------------------------------------------------ replacement policy

SUPPLEMENT_RE = re.compile("补充|新增|增补")


def check_replacement(conn: Any, store: st.Store, period: str, parsed: list[ParsedSheet],
                      replace: dict[str, tuple[set[str], set[str]]], config: Config) -> None:
    """No silent replacement: a file that would replace a street's rows with under half as many, or
    that calls itself a supplement (补充/新增/增补), is refused unless --replace or --append is given."""
    new_counts: Counter[tuple[str, str]] = Counter()
    supplement: dict[tuple[str, str], str] = {}
    full: set[tuple[str, str]] = set()    # a full list of the street in the same import: not a lone supplement
    for ps in parsed:
        for s, n in Counter(ps.values["street"]).items():
            new_counts[(ps.kind, s or "")] += n
        texts = [ps.file.path.stem, ps.sheet.name, *ps.layout.title_lines]
        is_supplement = any(SUPPLEMENT_RE.search(t or "") for t in texts)
        for s in set(ps.values["street"]):
            if is_supplement:
                supplement.setdefault((ps.kind, s or ""), ps.file.name)
            else:
                full.add((ps.kind, s or ""))
    for kind, (streets, files) in replace.items():
        title = config.kind(kind).get("title", kind)
        for street, old in store.replaced_counts(conn, period, kind, streets, files).items():
            if not street:   # rows naming no street are replaced only by their own file again
                continue
            new = new_counts.get((kind, street), 0)
            where = street
            if (kind, street) in supplement and (kind, street) not in full:
                raise ImportError_(
                    f"“{supplement[(kind, street)]}”看起来是补充名单，若导入将用 {new} 行替换{where} {period} 已有的 "
                    f"{old} 行{title}。补充名单请加 --append 追加；如确为完整的新名单，请加 --replace。", saved=False)
            if new * 2 < old:
                raise ImportError_(
                    f"导入将用 {new} 行替换{where} {period} 已有的 {old} 行{title}（不到一半）。"
                    f"如确为完整的新名单，请加 --replace；如是补充名单，请加 --append 追加。", saved=False)


# ------------------------------------------------------------------------------------ writing


def _records(ps: ParsedSheet, period: str, import_id: int, table_cols: list[str],
             district: str = "") -> tuple[dict[str, Any], list[str], list[Any]]:
    """The values the same on every row, and the other column names (in the table's order) with their
    column lists, straight from the parsed sheet."""
    n = len(ps)
    provided: dict[str, Any] = {
        "street": [s or "" for s in ps.values["street"]], "row": ps.rows, "has_error": ps.row_error,
        "extra": ps.extra or [None] * n,
    }
    const = {"import_id": import_id, "period": period, "file": ps.file.name, "sheet": ps.sheet.name,
             "district": district}
    if ps.extra is None:
        del provided["extra"]  # nothing to store: leave the column to its NULL default
    values = {**ps.values, **ps.arrow}     # Python lists, and the roster fields kept as Arrow arrays
    for c, (kept, ac) in ps.shadow.items():
        if values.get(c) is kept and ac.array is not None:   # unchanged since cleaning: its Arrow array
            values[c] = ac.array
    columns = [c for c in table_cols if (c in provided or c in values) and c not in const]
    # A field that is empty on every row is left to its column default rather than bound a million times.
    columns = [c for c in columns if c in provided or _any_value(values[c])]
    series = [provided[c] if c in provided else values[c] for c in columns]
    # a text the same on every row (the street given by --street) is bound once, not staged n times
    for c, s in list(zip(columns, series)):
        if isinstance(s, list) and s and type(s[0]) is str and s.count(s[0]) == len(s) and c not in ("row", "has_error"):
            const[c] = s[0]
    series = [s for c, s in zip(columns, series) if c not in const]
    columns = [c for c in columns if c not in const]
    return {c: v for c, v in const.items() if c in table_cols}, columns, series


def _any_value(values: Sequence[Any]) -> bool:
    """Whether any value is not None (list.count compares at C speed, identity first)."""
    if isinstance(values, list):
        return values.count(None) != len(values)
    if hasattr(values, "null_count"):     # an Arrow array
        return values.null_count != len(values)
    return any(v is not None for v in values)


def _write(store: st.Store, conn: Any, result: ImportResult, sheets: list[ParsedSheet], problems: list[Problem],
           replace: dict[str, tuple[set[str], set[str]]], progress: ProgressFn | None) -> None:
    """Inside the import's write transaction: replaced rows move aside (kept for undo), new rows go in."""
    from . import store as st

    period = result.period
    district = store.district or ""
    run_id = store.next_run_id(conn)
    result.run = run_id
    for kind, (streets, files) in replace.items():
        for street, n in store.replace_rows(conn, period, kind, streets, files, run_id).items():
            result.replaced[(kind, street)] = n
    by_sheet: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for p in problems:
        by_sheet[(p.file, p.sheet)].append(p)
    # coverage reads these, never the member rows: kept from the columns in memory, not by a rescan.
    # Counted by a thread while the rows are written (SQLite and ADBC write without the GIL).
    added = [(dict(ps.values, **ps.arrow, district=[district] * len(ps), has_error=ps.row_error,
                   street=[s or "" for s in ps.values["street"]]), len(ps)) for ps in sheets if ps.kind == "roster"]
    store.ready_for_bulk_rows(max((len(ps) for ps in sheets), default=0))   # not under the counting thread below
    counting = Background(store.count_added, added)
    for ps in sheets:
        sheet_problems = by_sheet.pop((ps.file.name, ps.sheet.name), [])
        import_id = store.add_import(conn, period=period, kind=ps.kind, district=district, street=ps.street,
                                     file=ps.file.name, sha256=ps.file.sha256, sheet=ps.sheet.name, rows=len(ps),
                                     problems=len(sheet_problems),
                                     replaced_rows=sum(n for (k, s), n in result.replaced.items()
                                                       if k == ps.kind and s == ps.street), run_id=run_id)
        table = st.KIND_TABLES[ps.kind]
        if ps.kind == "org":
            ps.values["name_key"] = [org_key(n) if n else None for n in ps.values.get("name", [None] * len(ps))]
        total = len(ps)
        consts, columns, series = _records(ps, period, import_id, list(table.c.keys()), district)
        label = f"写入 {ps.file.name} / {ps.sheet.name}"
        report = (lambda done: progress(label, done, total)) if progress and total >= PROGRESS_MIN_ROWS else None
        store.insert_columns(conn, table, consts, columns, series, report)
        store.insert_rows(conn, st.problems, PROBLEM_COLUMNS, (
            (import_id, period, p.kind or ps.kind, p.street or "", p.code, p.severity, p.file, p.sheet, p.row,
             p.column, p.value, p.message, p.expected, district) for p in sheet_problems))
        result.imported[ps.kind] = result.imported.get(ps.kind, 0) + total
    written = store.update_aggregates(conn, period, run_id, added, counting.result())
    # what coverage reads, kept for it by this transaction (the aggregates just written from memory)
    store.keep_coverage_inputs(period, district, conn, written)


# ------------------------------------------------------------------------------------ API


def import_files(paths: Sequence[str | Path], period: str, db: str | None = None, *, street: str | None = None,
                 user_map: dict[str, str] | None = None, dry_run: bool = False, config: Config | None = None,
                 progress: ProgressFn | None = None, mode: str = "auto",
                 on_wait: Callable[[], None] | None = None, period_mismatch_ok: bool = False,
                 district: str | None = None) -> ImportResult:
    """Import rosters and resource lists for one period (of `district`, or pbtool.toml's, in a store
    that several districts share). Raises ImportError_/ReadError for input that
    cannot be imported at all (nothing is written then); row-level defects become Problems."""
    # Millions of cells become small objects that hold no reference cycles: the cyclic garbage
    # collector would only walk them again and again (a fifth of the time on a million rows).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import_files(paths, period, db, street=street, user_map=user_map, dry_run=dry_run,
                             config=config, progress=progress, mode=mode, on_wait=on_wait,
                             period_mismatch_ok=period_mismatch_ok, district=district)
    finally:
        if gc_was_enabled:
            gc.enable()


def _import_files(paths: Sequence[str | Path], period: str, db: str | None, *, street: str | None,
                  user_map: dict[str, str] | None, dry_run: bool, config: Config | None,
                  progress: ProgressFn | None, mode: str = "auto",
                  on_wait: Callable[[], None] | None = None, period_mismatch_ok: bool = False,
                  district: str | None = None) -> ImportResult:
    period = check_period(period)
    config = config or load_config()
    all_fields = {f for k in config.schema["kinds"].values() for f in k["fields"]}
    for header, fld in (user_map or {}).items():
        titles = {spec["title"]: f for k in config.schema["kinds"].values() for f, spec in k["fields"].items()}
        if fld in titles:
            user_map[header] = titles[fld]
        elif fld not in all_fields:
            named = sorted({f"{spec['title']}（{f}）" for k in config.schema["kinds"].values()
                            for f, spec in k["fields"].items()})
            raise ImportError_(f"--map {header}={fld}：没有字段“{fld}”。可写中文名或英文名：{'、'.join(named)}")
    index = SynonymIndex(config, user_map)
    result = ImportResult(period, dry_run)
    problems: list[Problem] = []
    parsed: list[ParsedSheet] = []
    files = []
    for p in paths:
        if progress:  # parsing a large workbook takes seconds before the first row can be counted
            progress(f"读取 {Path(p).name}", 0, 0)
        files.append(read_file(Path(p)))
    seen_hash: dict[str, str] = {}
    for f in files:
        if f.sha256 in seen_hash:
            raise ImportError_(f"“{f.name}”与“{seen_hash[f.sha256]}”内容完全相同，请只导入其中一个。")
        seen_hash[f.sha256] = f.name
        template = template_for(f)  # one of pbtool's own fill-in templates: mapped by its marker, not guessed
        if template and (refusal := template.refusal(f, period, street)):
            raise ImportError_(refusal)
        what = None if template else own_output(f)   # templates are pbtool's own too, but they are input
        if what:
            raise ImportError_(f"“{f.name}”是{what}，不是花名册或资源清单，不能导入。请导入各街道报来的原始表格。")
        for n in f.bad_rows:
            problems.append(make_problem("BAD_BYTES", file=f.name, sheet=f.sheets[0].name if f.sheets else "",
                                         row=n, column="", value="", encoding=f.encoding.upper()))
        file_parsed = len(parsed)
        for sheet in f.sheets:
            if not sheet.visible:
                result.skipped.append((f.name, sheet.name, "隐藏工作表，未导入"))
                continue
            if not sheet.height:
                result.skipped.append((f.name, sheet.name, "空工作表"))
                continue
            layout = template.layout(sheet, index) if template else None
            exact = layout is not None   # a marked template's columns are known: no guessing from values
            if template and layout is None:   # its 填表说明 and 下拉列表 sheets are not data
                result.skipped.append((f.name, sheet.name, "填报模板的说明或下拉列表工作表，未导入"))
                continue
            if layout is None and instruction_sheet(sheet.name, config.schema):
                result.skipped.append((f.name, sheet.name, "填表说明工作表，未导入"))
                continue
            if layout is None:
                pairs = form_pairs(sheet, index)   # a one-person form (党员基本信息采集表) is one roster row
                if pairs:
                    sheet = form_as_table(sheet, pairs, index)
                    layout = detect_layout(sheet, index, "roster")
                else:
                    layout = detect_sheet(sheet, index)
            if layout is None:
                result.skipped.append((f.name, sheet.name, "没有找到花名册或资源清单的表头（如填表说明），未导入"))
                continue
            if not period_mismatch_ok and not exact:
                where = period_mismatch(period, [("文件名", f.path.stem), ("工作表名", sheet.name)]
                                        + [("标题", t) for t in layout.title_lines])
                if where:
                    raise ImportError_(f"“{f.name}”工作表“{sheet.name}”的{where}，与 --period {period} 不符，未导入任何数据。"
                                       "请核对期别；如确认这份表就是本期的，请加 --period-mismatch-ok 重新导入。")
            if not exact:
                layout, _ = refine_layout(sheet, layout, index)   # columns judged by their values too
            for c in layout.columns:
                if c.note:
                    result.notes.append(f"{f.name}/{sheet.name}：{c.note}")
            parsed.append(parse_sheet(f, sheet, layout, config, index, street, problems, progress))
        if not any(len(ps) for ps in parsed[file_parsed:]):   # a file that gives nothing fails the import
            raise ImportError_("所给文件中有无法导入的文件，数据库未作任何改动。\n" + diagnose_file(f, index))
    if not parsed or not any(len(ps) for ps in parsed):
        lines = [diagnose_file(f, index) for f in files]
        raise ImportError_("所给文件中没有可导入的数据，数据库未作任何改动。\n" + "\n".join(lines))
    parsed.sort(key=lambda ps: KIND_ORDER.index(ps.kind))
    for ps in parsed:
        if ps.kind == "roster" and not ps.street and not ps.layout.fields.get("street"):
            result.notes.append(f"{ps.file.name}/{ps.sheet.name}：未能从命令行、街道列、标题行或文件名确定街道，"
                                "将按社区/小区名称在清单中查找；重名时会报告 AMBIGUOUS_PLACE。可用 --street 指定。")
    # A re-import replaces the period's earlier rows of the same kind from the same streets
    # (--append: adds to them instead).
    replace: dict[str, tuple[set[str], set[str]]] = {}
    for ps in parsed if mode != "append" else ():
        streets, files = replace.setdefault(ps.kind, (set(), set()))
        streets.update(ps.values["street"])
        files.add(ps.file.name)
    # A dry run of a first import must not leave a store behind: an empty in-memory one stands in.
    from . import store as st

    store = st.Store.open(db if not dry_run or st.store_exists(db) else "sqlite://",
                          district=(district or config.district or "").strip())
    result.store = store.where if store.where != "sqlite://" else ""

    def analyse(conn: Any) -> None:
        """Everything checked against stored rows; inside the write transaction for a real import."""
        stored = store.place_lists_kept(conn, period, replace)
        stored_ids = store.member_ids(conn, period, *replace.get("roster", (set(), set())))
        places = _place_index(stored, parsed)
        rosters = [ps for ps in parsed if ps.kind == "roster"]
        for ps in rosters:
            _resolve_places(ps, places, problems, result)
        _check_duplicates(rosters, stored_ids, problems)
        org_names = {org_key(r["name"]): r["name"] for r in stored["org"] if r["name"]}
        for ps in parsed:
            if ps.kind == "org":
                org_names.update({org_key(n): n for n in ps.values.get("name", []) if n})
        _check_employers(rosters, org_names, problems)
        for ps in parsed:
            ps.street = ps.street or (Counter(ps.values["street"]).most_common(1)[0][0] if len(ps) else "")
            streets = sorted({x for x in ps.values["street"] if x})
            shown = "、".join(streets) if len(streets) <= 3 else f"{len(streets)}个街道"
            result.sheets.append(SheetSummary(
                ps.file.name, ps.sheet.name, ps.kind, shown, ps.street_source, ps.layout.header_row + 1,
                len(ps), ps.footer_rows, ps.blank_rows,
                sum(1 for p in problems if p.file == ps.file.name and p.sheet == ps.sheet.name and p.severity == ERROR),
                sum(1 for p in problems if p.file == ps.file.name and p.sheet == ps.sheet.name and p.severity != ERROR),
                ps.note_rows, ps.header_repeats))
        problems.sort(key=lambda p: (p.file, p.sheet, p.row or 0))
        result.problems = problems
        if mode == "auto":
            check_replacement(conn, store, period, parsed, replace, config)

    try:
        if dry_run:
            with store.engine.connect() as conn:
                analyse(conn)
                for ps in parsed:
                    result.imported[ps.kind] = result.imported.get(ps.kind, 0) + len(ps)
                for kind, (streets, files) in replace.items():
                    for s, n in store.replaced_counts(conn, period, kind, streets, files).items():
                        result.replaced[(kind, s)] = n
        else:
            store.lock_period(period)   # PostgreSQL: parallel imports of a period one after another
            with store.transaction(on_wait) as conn:
                analyse(conn)
                _write(store, conn, result, parsed, problems, replace, progress)
    finally:
        store.close()
    return result


__all__ = ["import_files", "ImportResult", "ImportError_", "ReadError", "check_period", "employer_key", "find_near_misses"]
