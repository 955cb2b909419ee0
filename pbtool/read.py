"""Stage 1: a file on disk -> sheets of raw cells, with merged ranges, visibility and provenance."""
from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import python_calamine as pc

from .errors import InputError
from .limits import check_workbook

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
HEAD_ROWS = 40


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

    def rows(self) -> Iterator[list[Any]]:
        return self._rows()


@dataclass
class RawFile:
    path: Path
    name: str
    sha256: str
    sheets: list[RawSheet]
    encoding: str = ""             # CSV only


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_file(path: Path) -> RawFile:
    """Open a spreadsheet (python-calamine) or CSV; sheets are parsed lazily, one at a time."""
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"找不到文件“{path}”，请检查路径和文件名。")
    suffix = path.suffix.lower()
    digest = file_sha256(path)
    if suffix in CSV_SUFFIXES:
        sheet, encoding = _read_csv(path)
        return RawFile(path, path.name, digest, [sheet], encoding)
    if suffix not in SPREADSHEET_SUFFIXES:
        raise ReadError(f"“{path.name}”不是可导入的文件类型（支持 .xlsx .xlsm .xls .ods .csv），请另存为 .xlsx 后重试。")
    if suffix in (".xlsx", ".xlsm"):
        check_workbook(path)   # limits before parsing: calamine must never see a hostile workbook
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
    except Exception as exc:  # calamine's errors (broken XML, undefined entities) at the edge that calls it
        raise ReadError(f"“{path.name}”的工作表无法读取（{str(exc)[:200]}），文件可能已损坏，"
                        "请用 Excel/WPS 打开后另存为 .xlsx 再导入。") from None
    return RawFile(path, path.name, digest, sheets)


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
    """UTF-8 (with or without BOM) when the bytes decode as such, else GB18030 (Excel's CSV on Chinese Windows)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
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


def _read_csv(path: Path) -> tuple[RawSheet, str]:
    data = path.read_bytes()
    try:
        encoding = detect_encoding(data)
    except ReadError as exc:
        raise ReadError(f"“{path.name}”：{exc}") from None
    text = data.decode(encoding)
    del data
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel

    def rows() -> Iterator[list[Any]]:
        return csv.reader(io.StringIO(text, newline=""), dialect)

    head = []
    for r in rows():
        head.append(r)
        if len(head) >= HEAD_ROWS:
            break
    return RawSheet(path.name, path.stem, True, head, [], text.count("\n") + 1, rows), encoding
