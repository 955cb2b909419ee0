"""Stage 1: a file on disk -> sheets of raw cells, with merged ranges, visibility and provenance."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import python_calamine as pc

from .errors import InputError, LimitError
from . import xlsx_fast
from .background import Background
from .limits import check_sheet_texts, check_workbook

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
HTML_SUFFIXES = {".htm", ".html"}
HEAD_ROWS = 40
# What a file is, by its first bytes rather than its name: web systems save HTML tables and CSV text
# as .xls/.xlsx, and Excel saves "Unicode text" (UTF-16, tab-separated) as .txt.
ZIP_MAGIC = b"PK\x03\x04"                          # .xlsx .xlsm .ods
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"         # legacy .xls
_HTML_RE = re.compile(r"<\s*(html|table|!doctype\s+html)\b", re.IGNORECASE)
_CHARSET_RE = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_-]+)", re.IGNORECASE)


class ReadError(InputError):
    """A file that cannot be read at all; the message is Chinese and says what to do."""


@dataclass
class RawSheet:
    """One sheet's cells. Rows are absolute (row 0 = Excel row 1), columns absolute (0 = column A)."""

    file: str                      # the file's name as the clerk knows it
    name: str                      # sheet name (CSV: the file stem)
    visible: bool
    head: list[list[Any]]          # the first HEAD_ROWS rows, for layout detection
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    height: int = 0
    _rows: Any = None              # callable -> iterator over all rows
    prefix: list[list[Any]] | None = None   # the first rows already read (xlsx_fast), None: only head
    columns: Any = None            # callable(data_start, text-only columns) -> (Arrow table, column numbers) | None

    def rows(self) -> Iterator[list[Any]]:
        return self._rows()

    def top(self, n: int) -> list[list[Any]]:
        """The first n rows, from those already read when there are enough."""
        if self.prefix is not None and len(self.prefix) >= min(n, self.height):
            return self.prefix[:n]
        return list(islice(self.rows(), n))


@dataclass
class RawFile:
    path: Path
    name: str
    sha256: str
    sheets: list[RawSheet]
    encoding: str = ""             # CSV only
    bad_rows: list[int] = field(default_factory=list)   # text lines (1-based) whose bytes could not be decoded
    format: str = ""               # what the content is: xlsx / xls / csv / html (whatever the name says)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_file(path: Path) -> RawFile:
    """Open a spreadsheet (python-calamine) or CSV; sheets are parsed lazily, one at a time."""
    path = Path(path)
    if path.is_dir():
        raise ReadError(f"“{path}”是一个文件夹，不是文件。请给出文件夹中的 .xlsx/.xls/.csv 文件。")
    if not path.is_file():
        raise ReadError(f"找不到文件“{path}”，请检查路径和文件名。")
    suffix = path.suffix.lower()
    with open(path, "rb") as fh:
        magic = fh.read(8)
    binary = magic.startswith((ZIP_MAGIC, OLE_MAGIC))
    if not binary and suffix in SPREADSHEET_SUFFIXES | CSV_SUFFIXES | HTML_SUFFIXES:
        return _read_text_file(path, file_sha256(path))
    if suffix not in SPREADSHEET_SUFFIXES | CSV_SUFFIXES:
        raise ReadError(f"“{path.name}”不是可导入的文件类型（支持 .xlsx .xlsm .xls .ods .csv），请另存为 .xlsx 后重试。")
    if suffix in (".xlsx", ".xlsm") and magic.startswith(ZIP_MAGIC):
        # the file's digest on a core the limits scan leaves idle (a quarter of its time: 0.13 s at a
        # million rows); limits before parsing: calamine must never see a hostile workbook
        hashed = Background(file_sha256, path, name="pbtool-sha256")   # only reads: left to end if the scan refuses
        scans = check_workbook(path, xlsx_fast.HEAD_ROWS)
        digest = hashed.result()
        fast = _fast_xlsx(path, digest, scans)
        if fast is not None:
            return fast
        check_sheet_texts(path)
    else:
        digest = file_sha256(path)
    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except pc.PasswordError as exc:
        raise ReadError(f"“{path.name}”设有打开密码，请取消密码后另存再导入。") from exc
    except Exception as exc:  # calamine raises several types for a broken or mislabeled file
        raise ReadError(f"“{path.name}”无法打开（{exc}），文件可能已损坏或扩展名与实际格式不符，请用 Excel/WPS 另存为 .xlsx 后重试。") from exc
    sheets = []
    try:
        for meta in wb.sheets_metadata:
            if meta.typ != pc.SheetTypeEnum.WorkSheet:
                continue
            sheets.append(_calamine_sheet(wb, path.name, meta.name, meta.visible == pc.SheetVisibleEnum.Visible))
    except Exception as exc:  # noqa: BLE001 - calamine's errors (broken XML, undefined entities) at the edge that calls it
        raise _unreadable_sheets(path, exc) from None
    return RawFile(path, path.name, digest, sheets, format="xlsx" if magic.startswith(ZIP_MAGIC) else "xls")


def _unreadable_sheets(path: Path, exc: BaseException) -> ReadError:
    """calamine's error on a sheet (broken XML, a bad string index, an undefined entity), in Chinese."""
    return ReadError(f"“{path.name}”的工作表无法读取（{str(exc)[:200]}），文件可能已损坏，"
                     "请用 Excel/WPS 打开后另存为 .xlsx 再导入。")


def _fast_xlsx(path: Path, digest: str, scans: dict[str, Any]) -> RawFile | None:
    """The head of every sheet from a truncated copy, the data area by columns on demand (xlsx_fast);
    None when the workbook's structure is not the plain one this needs (read as before then)."""
    import zipfile

    if os.environ.get("PBTOOL_COLUMNAR", "1") == "0":   # diagnostics and tests: the row-by-row reader only
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            parts = xlsx_fast.sheet_parts(zf)
        if not parts or not all(p in scans for p in parts.values()):
            return None
        check_sheet_texts(path, {p for p in parts.values() if scans[p].head_complete})   # read whole below
        copy = xlsx_fast.head_workbook(path, {p: scans[p] for p in parts.values()})
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(copy))
        metas = [m for m in wb.sheets_metadata if m.typ == pc.SheetTypeEnum.WorkSheet]
    except pc.PasswordError as exc:
        raise ReadError(f"“{path.name}”设有打开密码，请取消密码后另存再导入。") from exc
    except (LimitError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - any surprise in the copy (a Rust panic too): the full reader decides
        return None
    whole: list[pc.CalamineWorkbook] = []       # the full workbook, opened when a sheet needs it
    full: dict[str, RawSheet] = {}

    def full_sheet(name: str, visible: bool) -> RawSheet:
        """The whole sheet by python-calamine, once (the texts checked first, as for any workbook)."""
        try:
            if not whole:
                check_sheet_texts(path)
                whole.append(pc.CalamineWorkbook.from_path(str(path)))
            if name not in full:
                full[name] = _calamine_sheet(whole[0], path.name, name, visible)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - calamine's errors (broken XML, a bad string index), as read_file says them
            raise _unreadable_sheets(path, exc) from None
        return full[name]

    reader = xlsx_fast.ColumnReader(path)
    sheets = []
    try:
        for meta in metas:
            visible = meta.visible == pc.SheetVisibleEnum.Visible
            scan = scans[parts[meta.name]]
            small = _calamine_sheet(wb, path.name, meta.name, visible)
            if scan.head_complete:   # the copy holds every row: it is the sheet
                sheets.append(small)
                continue
            prefix = list(small.rows())
            sheet = RawSheet(path.name, meta.name, visible, small.head, small.merged,
                             max(small.height, scan.last_value_row),
                             lambda n=meta.name, v=visible: full_sheet(n, v).rows(), prefix,
                             lambda start, text, n=meta.name, f=scan.first_col, p=parts[meta.name]:
                                 reader.load(n, start, text, f, p))
            sheets.append(sheet)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - a copy calamine cannot read: the full reader decides, with its messages
        return None
    return RawFile(path, path.name, digest, sheets, format="xlsx")


def _calamine_sheet(wb: pc.CalamineWorkbook, file: str, name: str, visible: bool) -> RawSheet:
    sheet = wb.get_sheet_by_name(name)
    # iter_rows yields absolute rows but starts columns at the first used one: pad back to column A.
    pad = [""] * sheet.start[1] if sheet.height else []

    def rows() -> Iterator[list[Any]]:
        if not sheet.height:
            return iter(())
        if not pad:
            return sheet.iter_rows()
        return (pad + r for r in sheet.iter_rows())

    head = []
    for r in rows():
        head.append(r)
        if len(head) >= HEAD_ROWS:
            break
    merged = [tuple(map(tuple, m)) for m in (sheet.merged_cell_ranges or [])]
    return RawSheet(file, name, visible, head, merged, sheet.end[0] + 1 if sheet.height else 0, rows)


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else GB18030 (Excel's CSV on Chinese Windows);
    UTF-16 by its byte-order mark (Excel's "Unicode text")."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:4000]
    if sample and sample.count(0) * 3 >= len(sample):   # UTF-16 without a mark: every other byte is zero
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReadError(f"无法识别文件编码（第{line}行附近有无法解码的字节），请用 Excel 另存为“CSV UTF-8”后重试。") from exc


def decode_text(data: bytes) -> tuple[str, str, list[int]]:
    """Bytes -> (text, encoding, bad lines). A file whose encoding is clear but a few lines hold bytes that
    decode in neither UTF-8 nor GB18030: those lines become empty (their numbers are returned, so the
    rows can be reported) and every other line is decoded, never as mojibake."""
    try:
        encoding = detect_encoding(data)
        return data.decode(encoding), encoding, []
    except ReadError:
        pass
    lines = data.split(b"\n")
    votes = {"utf-8": 0, "gb18030": 0}
    for line in lines:
        if line.isascii():
            continue
        for enc in votes:
            try:
                line.decode(enc)
                votes[enc] += 1
            except UnicodeDecodeError:
                pass
    # GB18030 decodes much UTF-8 as something; UTF-8 rarely decodes GB18030: UTF-8 wins a tie
    encoding = "utf-8" if votes["utf-8"] >= votes["gb18030"] else "gb18030"
    out, bad = [], []
    for n, line in enumerate(lines, 1):
        try:
            out.append(line.decode(encoding))
        except UnicodeDecodeError:
            out.append("\r" if line.endswith(b"\r") else "")
            bad.append(n)
    if len(bad) * 10 > max(len(lines), 10):   # more than a few: the encoding itself is unknown
        raise ReadError(f"无法识别文件编码（第{bad[0]}行等{len(bad)}行有无法解码的字节），"
                        "请用 Excel 另存为“CSV UTF-8”后重试。")
    text = "\n".join(out)
    return text.removeprefix("\ufeff"), encoding, bad


def _read_text_file(path: Path, digest: str) -> RawFile:
    """Text content under any name: an HTML table (web systems' “Excel” export) or CSV/TSV text."""
    data = path.read_bytes()
    head = data[:4096]
    probe = head.decode("utf-16", "ignore") if head.startswith((b"\xff\xfe", b"\xfe\xff")) else head.decode("latin-1")
    if _HTML_RE.search(probe):
        m = _CHARSET_RE.search(head)
        try:
            text, encoding, bad = (data.decode(m.group(1).decode()), m.group(1).decode(), []) if m else decode_text(data)
        except (LookupError, UnicodeDecodeError):
            text, encoding, bad = decode_text(data)
        except ReadError as exc:
            raise ReadError(f"“{path.name}”：{exc}") from None
        sheets = _read_html(path, text)
        return RawFile(path, path.name, digest, sheets, encoding, bad, "html")
    try:
        text, encoding, bad = decode_text(data)
    except ReadError as exc:
        raise ReadError(f"“{path.name}”：{exc}") from None
    del data
    sheet = _csv_sheet(path, text)
    if path.suffix.lower() in SPREADSHEET_SUFFIXES and max((len(r) for r in sheet.head), default=0) < 2:
        raise ReadError(f"“{path.name}”无法打开：内容既不是 Excel 工作簿，也不是网页表格或逗号/制表符分隔的文本，"
                        "文件可能已损坏或扩展名与实际格式不符，请用 Excel/WPS 另存为 .xlsx 后重试。")
    return RawFile(path, path.name, digest, [sheet], encoding, bad, "csv")


def _read_csv(path: Path) -> tuple[RawSheet, str]:
    f = _read_text_file(path, "")
    return f.sheets[0], f.encoding


def _csv_sheet(path: Path, text: str) -> RawSheet:
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel

    def rows() -> Iterator[list[Any]]:
        return csv.reader(io.StringIO(text, newline=""), dialect)

    head = []
    for r in rows():
        head.append(r)
        if len(head) >= HEAD_ROWS:
            break
    return RawSheet(path.name, path.stem, True, head, [], text.count("\n") + 1, rows)


def _read_html(path: Path, text: str) -> list[RawSheet]:
    """Every <table> of an HTML page as a sheet (rowspan/colspan become merged ranges, the value in the
    top-left cell as Excel keeps it). lxml.etree directly rather than pandas.read_html: the spans stay
    visible as merges, and IDs stay text (pandas turns an 18-digit ID column into numbers)."""
    from lxml import etree

    try:
        doc = etree.fromstring(text, etree.HTMLParser())
    except Exception as exc:  # lxml raises XMLSyntaxError / ValueError for an empty or broken page
        raise ReadError(f"“{path.name}”是网页格式，但无法解析（{exc}），请用 Excel/WPS 打开后另存为 .xlsx 再导入。") from exc
    if doc is None:
        raise ReadError(f"“{path.name}”是网页格式，但其中没有表格，请确认导出的是名单。")
    sheets = []
    tables = [t for t in doc.iter("table") if not any(a.tag == "table" for a in t.iterancestors())]

    def span(v: str | None) -> int:
        return int(v) if v and v.strip().isdigit() and int(v) > 0 else 1

    for k, table in enumerate(tables):
        nested = {id(tr) for inner in table.iter("table") if inner is not table for tr in inner.iter("tr")}
        table_rows: list[list[Any]] = []
        merged: list[tuple[tuple[int, int], tuple[int, int]]] = []
        pending: dict[int, set[int]] = {}           # row -> columns covered by a rowspan from above
        for tr in table.iter("tr"):
            if id(tr) in nested:
                continue
            r = len(table_rows)
            covered = pending.pop(r, set())
            row: list[Any] = []
            for cell in tr:
                if cell.tag not in ("td", "th"):
                    continue
                while len(row) in covered:
                    row.append("")
                c = len(row)
                rs, cs = span(cell.get("rowspan")), span(cell.get("colspan"))
                row.append(" ".join("".join(cell.itertext()).split()))
                if cs > 1:
                    row.extend([""] * (cs - 1))
                if rs > 1 or cs > 1:
                    merged.append(((r, c), (r + rs - 1, c + cs - 1)))
                    for dr in range(1, rs):
                        pending.setdefault(r + dr, set()).update(range(c, c + cs))
            while len(row) in covered:
                row.append("")
            table_rows.append(row)
        if not table_rows:
            continue
        width = max(map(len, table_rows))
        for row in table_rows:
            if len(row) < width:
                row.extend([""] * (width - len(row)))
        name = path.stem if len(tables) == 1 else f"{path.stem}-表{k + 1}"
        sheets.append(RawSheet(path.name, name, True, table_rows[:HEAD_ROWS], merged, len(table_rows),
                               lambda rows=table_rows: iter(rows)))
    if not sheets:
        raise ReadError(f"“{path.name}”是网页格式，但其中没有表格，请确认导出的是名单。")
    return sheets
