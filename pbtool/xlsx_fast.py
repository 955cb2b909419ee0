"""Reading an .xlsx by columns (issue 12): the header from a truncated copy, the data area as Arrow.

python-calamine's `to_python` builds a Python object for every cell of a sheet before pbtool has seen
its header. Here a workbook is read in two cheap steps instead:

1. **The head.** The limits scan (limits.py) streams every sheet part once anyway; it keeps the XML of
   the first rows and the `<mergeCells>` element. From them an in-memory copy of the workbook is built
   whose sheets hold only those rows (and the shared strings they use), and python-calamine reads that
   copy: the head rows, merged ranges and cell types are exactly what calamine gives for the full file.
2. **The data area.** Once the header is found, fastexcel (calamine underneath, Arrow output) loads the
   rows under it, one Arrow column per sheet column, with the type of every column inferred from all of
   its rows in strict mode. A column that mixes types (an ID column with a few number cells) makes
   fastexcel refuse; the sheet is then read row by row by python-calamine as before, so the cleaning
   sees each cell with its own type. The fast path never changes a value.
"""
from __future__ import annotations

import importlib
import io
import re
import threading
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from .errors import LimitError
from .limits import MAX_CELL_CHARS, PartScan

HEAD_ROWS = 320            # header rows (≤ 40) + the value sample of profile.py (200) + slack
MAX_META_XML = 4 << 20     # workbook.xml and its relationships: small by nature
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_DIMENSION_RE = re.compile(rb"<(?:\w+:)?dimension\b[^>]*/>")
_SHEETDATA_RE = re.compile(rb"<(\w+:)?sheetData\b")
_SST_REF_RE = re.compile(rb"<(?:\w+:)?c\b[^>]*\bt=\"s\"[^>]*>\s*<(?:\w+:)?v>(\d+)<")
_SI_END = re.compile(rb"</(?:\w+:)?si>|<(?:\w+:)?si\s*/>")


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the zip (xl/worksheets/sheet1.xml), from workbook.xml and its rels."""
    try:
        wb = _small_xml(zf, "xl/workbook.xml")
        rels = _small_xml(zf, "xl/_rels/workbook.xml.rels")
    except (KeyError, ET.ParseError, ValueError):
        return {}
    targets = {}
    for rel in rels.iter():
        if rel.tag.endswith("Relationship") and rel.get("Id") and rel.get("Target"):
            target = rel.get("Target", "").lstrip("/")
            targets[rel.get("Id")] = target if target.startswith("xl/") else f"xl/{target}"
    out = {}
    for sheet in wb.iter():
        if sheet.tag.endswith("}sheet") or sheet.tag == "sheet":
            rid = sheet.get(_NS_REL)
            if sheet.get("name") is not None and rid in targets:
                out[sheet.get("name", "")] = targets[rid]
    return out


def _small_xml(zf: zipfile.ZipFile, part: str) -> ET.Element:
    info = zf.getinfo(part)
    if info.file_size > MAX_META_XML:
        raise ValueError(part)
    data = zf.read(info)
    if b"<!ENTITY" in data or b"<!DOCTYPE" in data:   # no entity of any kind in a workbook's own parts
        raise ValueError(part)
    return ET.fromstring(data)


def head_workbook(path: Path, scans: dict[str, PartScan]) -> bytes:
    """An in-memory copy of the workbook whose sheet parts hold only the rows the scan kept, their
    merged ranges, and the shared strings those rows use."""
    out = io.BytesIO()
    refs = 0
    for scan in scans.values():
        found = [int(m.group(1)) for m in _SST_REF_RE.finditer(scan.head)]
        refs = max(refs, max(found, default=-1) + 1)
    with zipfile.ZipFile(path) as zf, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in zf.infolist():
            name = info.filename
            if name in scans:
                dst.writestr(name, _truncated_sheet(scans[name]))
            elif name.endswith("sharedStrings.xml"):
                dst.writestr(name, _first_strings(zf, info, refs))
            elif name.startswith(("xl/worksheets/", "xl/media/", "xl/drawings/", "xl/embeddings/",
                                  "xl/printerSettings/", "xl/pivot", "xl/externalLinks/")) \
                    and not name.endswith(".rels"):
                continue   # parts calamine does not read for cell values
            else:
                dst.writestr(name, zf.read(info))
    return out.getvalue()


def _truncated_sheet(scan: PartScan) -> bytes:
    head = _DIMENSION_RE.sub(b"", scan.head, count=1)   # calamine must size the copy by its own cells
    if scan.head_complete:
        return head
    m = _SHEETDATA_RE.search(head)
    prefix = (m.group(1) or b"") if m else b""
    root = re.search(rb"<(\w+:)?worksheet\b", head)
    wprefix = (root.group(1) or b"") if root else b""
    return head + b"</" + prefix + b"sheetData>" + scan.merges + b"</" + wprefix + b"worksheet>"


def _first_strings(zf: zipfile.ZipFile, info: zipfile.ZipInfo, count: int) -> bytes:
    """The shared strings up to index count-1: the head never refers to a later one."""
    if count == 0:
        return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>')
    kept: list[bytes] = []
    seen = 0
    with zf.open(info) as fh:
        buf = b""
        while block := fh.read(1 << 20):
            buf += block
            pos = 0
            for m in _SI_END.finditer(buf):
                if seen >= count:
                    break
                seen += 1
                pos = m.end()
            kept.append(buf[:pos])
            buf = buf[pos:]
            if seen >= count:
                break
    data = b"".join(kept)
    if seen < count:      # fewer strings than referenced: leave the part whole for calamine to judge
        return zf.read(info)
    root = re.search(rb"<(\w+:)?sst\b", data)
    sst_prefix = (root.group(1) or b"") if root else b""
    return data + b"</" + sst_prefix + b"sst>"


class ColumnReader:
    """fastexcel over one workbook, opened once; `load` gives a sheet's data area as an Arrow table,
    or None when a column mixes types (or fastexcel cannot read the sheet)."""

    def __init__(self, path: Path):
        self.path = path
        self._reader: Any = None

    def load(self, sheet: str, data_start: int, text_only: set[int], first_col: int,
             part: str | None = None) -> tuple[Any, list[int]] | None:
        """The rows from data_start on. Columns in text_only (absolute numbers: columns no field reads,
        looked at only for 合计/填表人 words) are read as text; every other column keeps its cells' type,
        which must be one type for the whole column (strict), else None. first_col is where the sheet's
        cells are expected to begin (fastexcel numbers columns from there); checked after loading."""
        import logging

        import fastexcel

        # "Could not determine dtype for column …" (an empty column, read as text): not for the clerk's terminal
        logging.getLogger("fastexcel").setLevel(logging.ERROR)
        # fastexcel parses without the GIL (a second on 50,000 rows): meanwhile a thread imports what
        # the next steps need, off the critical path.
        warm = threading.Thread(target=_warm_up, name="pbtool-warm-up", daemon=True)
        warm.start()
        try:
            if part is not None:
                split = self._load_split(fastexcel, sheet, part, data_start, text_only, first_col)
                if split is not None:
                    return split
            return self._load(fastexcel, sheet, data_start, text_only, first_col)
        finally:
            warm.join()

    def _load_split(self, fastexcel: Any, sheet: str, part: str, data_start: int, text_only: set[int],
                    first_col: int) -> tuple[Any, list[int]] | None:
        """The data area parsed in pieces on several cores (xlsx_split), or None: parse it in one."""
        from . import xlsx_split

        try:
            cut = xlsx_split.split_sheet(self.path, part, data_start)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:  # noqa: BLE001 - a part the cutting cannot read: the one-piece parse decides
            return None
        if cut is None:
            return None
        blobs, firsts = cut
        dtypes = _text_dtypes(text_only, first_col)

        def load(box: list[bytes], skip: int) -> tuple[Any, list[int]]:
            reader = fastexcel.read_excel(box.pop())   # fastexcel keeps its own copy
            loaded = reader.load_sheet(sheet, header_row=None, skip_rows=skip, schema_sample_rows=None,
                                       dtype_coercion="strict", dtypes=dtypes)
            table = loaded.to_arrow()
            from .arrow import pa

            return pa.Table.from_batches([table]), [c.absolute_index for c in loaded.selected_columns]

        got = xlsx_split.load_pieces(blobs, firsts, first_col, load)
        if got is not None:
            _check_lengths(got[0], self.path.name, sheet)
        return got

    def _load(self, fastexcel: Any, sheet: str, data_start: int, text_only: set[int],
              first_col: int) -> tuple[Any, list[int]] | None:
        for _ in range(2):
            try:
                if self._reader is None:
                    self._reader = fastexcel.read_excel(str(self.path))
                dtypes = _text_dtypes(text_only, first_col)
                loaded = self._reader.load_sheet(sheet, header_row=None, skip_rows=data_start,
                                                 schema_sample_rows=None, dtype_coercion="strict",
                                                 dtypes=dtypes)
                # the columns loaded (all of them: no column is left out); available_columns() would infer
                # every column's type once more (0.18 s at 200,000 rows, measured)
                picked = getattr(loaded, "selected_columns", None)
                columns = [c.absolute_index for c in (loaded.available_columns() if picked is None else picked)]
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # noqa: BLE001 - mixed types (by design), anything fastexcel refuses or a Rust panic
                return None
            start = min(columns, default=first_col)
            if start == first_col:
                break
            first_col = start      # the cells begin elsewhere than declared: once more, numbered right
        else:
            return None
        try:
            table = loaded.to_arrow()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # noqa: BLE001 - read row by row instead
            return None
        _check_lengths(table, self.path.name, sheet)
        return table, columns


# Imported by the steps after a columnar load: pyarrow.compute (through pbtool.arrow, which keeps
# pyarrow from importing pandas), the store the rows go to (SQLAlchemy: a third of a second) and the
# ADBC driver that stages them (store.ready_for_bulk_rows).
WARM_UP = (f"{__package__}.arrow", f"{__package__}.store", "adbc_driver_manager", "adbc_driver_sqlite")


def _warm_up() -> None:
    for name in WARM_UP:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - not installed or broken: the step that needs it says so itself
            pass


def _text_dtypes(text_only: set[int], first_col: int) -> dict[int, str] | None:
    """fastexcel's dtypes for the text-only columns: keyed by sheet column (absolute_index), not by the
    position from the first used column."""
    return {c: "string" for c in text_only if c >= first_col} or None


def _check_lengths(table: Any, file: str, sheet: str) -> None:
    """No cell longer than Excel allows (the row-by-row reader checks the XML before parsing)."""
    from .arrow import pa, pc

    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            # a character is at least one byte: a column of short texts is settled by its byte lengths,
            # read from the offsets (a tenth of the time of counting characters at a million rows)
            if (pc.max(pc.binary_length(col)).as_py() or 0) <= MAX_CELL_CHARS:
                continue
            longest = pc.max(pc.utf8_length(col)).as_py()
            if longest is not None and longest > MAX_CELL_CHARS:
                raise LimitError(f"“{file}”工作表“{sheet}”中有一个单元格超过 Excel 上限 {MAX_CELL_CHARS:,} 个字符，"
                                 "文件已损坏或被改动，未导入。请检查后另存再导入。")


def arrow_rows(table: Any, columns: list[int], width: int, rows: list[int]) -> list[list[Any]]:
    """The given rows (indexes into the table) as calamine-style rows: absolute columns from A, empty
    cells as ''."""
    if not rows:
        return []
    from .arrow import pa

    picked = table.take(pa.array(rows, pa.int64()))
    out = [[""] * width for _ in rows]
    for i, c in enumerate(columns):
        if c < width:
            for row, v in zip(out, picked.column(i).to_pylist()):
                if v is not None:
                    row[c] = v
    return out
