"""Limits checked before a workbook is parsed: a hostile or broken .xlsx is refused with a Chinese
message before python-calamine sees it (calamine allocates a sheet's whole declared area: one cell at
XFD1048576 asks for 512 GB and aborts the process).

Checked from the zip directory and a bounded read of each part, never by inflating a part into memory:
declared sizes (a zip bomb of empty rows), each sheet's <dimension> and, for parts small enough to scan,
the cells' own bounding box (far more declared cells than data), Excel's own maxima (1,048,576 rows ×
16,384 columns, 32,767 characters a cell) and the size of the shared strings."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .errors import LimitError

MAX_ROWS = 1_048_576
MAX_COLS = 16_384
MAX_CELL_CHARS = 32_767
MAX_TOTAL_UNCOMPRESSED = 3 << 30        # all parts together, as declared by the zip directory
MAX_PART_UNCOMPRESSED = 2 << 30         # one sheet or the shared strings
MAX_SHARED_STRINGS = 512 << 20          # bytes of sharedStrings.xml
MAX_RATIO = 500                         # inflated/compressed of a large part: rows of nothing
RATIO_MIN_SIZE = 64 << 20               # ratios only matter for parts this large
SCAN_LIMIT = 256 << 20                  # parts up to this size are scanned whole for cell references
MAX_AREA_PER_CELL = 2_000               # bounding box cells per cell actually present
MIN_AREA_CHECKED = 5_000_000            # smaller boxes are fine whatever they hold
HEAD = 64 << 10

_DIM_RE = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?\"")
_CELL_RE = re.compile(rb"<(?:\w+:)?c\s[^>]*?r=\"([A-Z]{1,4})(\d{1,8})\"")
_ROW_R = re.compile(rb"<(?:\w+:)?row\s[^>]*?r=\"(\d+)\"")
_WIDE_COL = re.compile(rb" r=\"([A-Z]{2,4})\d")
_LONG_TEXT = re.compile(rb">([^<]{%d,})" % (MAX_CELL_CHARS + 1))   # a literal first: searched at C speed


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def check_workbook(path: Path) -> None:
    """Raise LimitError for an .xlsx/.xlsm that must not reach the parser; anything that is not a
    readable zip is left to the parser's own error message."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    name = path.name
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise LimitError(f"“{name}”解压后声明有 {total / 2**30:.1f} GB，超过上限 {MAX_TOTAL_UNCOMPRESSED >> 30} GB，"
                             "未导入。请确认文件无误，或拆分为几个较小的文件。")
        for info in infos:
            part = info.filename
            if part.startswith("xl/worksheets/") and part.endswith(".xml"):
                _check_sheet(zf, info, name)
            elif part.endswith("sharedStrings.xml"):
                _check_shared_strings(zf, info, name)


def _too_big(info: zipfile.ZipInfo, name: str, what: str) -> None:
    if info.file_size > MAX_PART_UNCOMPRESSED:
        raise LimitError(f"“{name}”的{what}解压后有 {info.file_size / 2**30:.1f} GB，超过上限 "
                         f"{MAX_PART_UNCOMPRESSED >> 30} GB，未导入。请拆分为几个较小的文件。")
    if info.file_size > RATIO_MIN_SIZE and info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        raise LimitError(f"“{name}”的{what}压缩比异常（{info.compress_size / 2**20:.0f} MB 解压为 "
                         f"{info.file_size / 2**20:.0f} MB，多为大量空行），未导入。请在 Excel/WPS 中删除空行后另存再导入。")


def _check_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> None:
    what = f"工作表部件“{info.filename.rsplit('/', 1)[-1]}”"
    _too_big(info, name, what)
    with zf.open(info) as fh:
        head = fh.read(HEAD)
    m = _DIM_RE.search(head)
    if m:
        c0, r0, c1, r1 = m.groups()
        cols = [_col_number(c) for c in (c0, c1) if c]
        rows = [int(r) for r in (r0, r1) if r]
        if (rows and max(rows) > MAX_ROWS) or (cols and max(cols) > MAX_COLS):
            raise LimitError(f"“{name}”的{what}声明的范围（{m.group(0)[16:-1].decode(errors='replace')}）超过 Excel 上限 "
                             f"{MAX_ROWS:,} 行 × {MAX_COLS:,} 列，文件已损坏或被改动，未导入。")
        if len(rows) == 2 and len(cols) == 2:
            area = (abs(rows[1] - rows[0]) + 1) * (abs(cols[1] - cols[0]) + 1)
            # an honest sheet holds at least a few bytes of XML per declared cell somewhere
            if area > MIN_AREA_CHECKED and area > max(info.file_size, 1) * 50:
                _refuse_area(name, what, area, None)
    if info.file_size <= SCAN_LIMIT:
        _scan_cells(zf, info, name, what)


def _refuse_area(name: str, what: str, area: int, cells: int | None) -> None:
    held = f"，实际只有 {cells:,} 个单元格" if cells is not None else ""
    raise LimitError(f"“{name}”的{what}声明了 {area:,} 个单元格的范围{held}（常见于误改了远处的单元格，如 XFD1048576），"
                     "读取会耗尽内存，未导入。请在 Excel/WPS 中删除数据区以外的单元格（或复制数据到新工作簿）后另存再导入。")


def _scan_cells(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, what: str) -> None:
    """The cells' own bounding box, for a part small enough to read: calamine sizes the sheet by it.
    Counted at C speed (bytes.count, regexes that match only outliers), not cell by cell."""
    with zf.open(info) as fh:
        data = fh.read()
    cells = data.count(b"<c ")
    if not cells:
        return
    last = data.rfind(b"<row")
    m = _ROW_R.match(data, last) if last >= 0 else None
    max_r = max(int(m.group(1)) if m else 0, data.count(b"<row"))
    # cell references with more row digits than the last row has: the only ones that can lie beyond it
    outliers = re.findall(rb' r="[A-Z]{1,4}(\d{%d,})"' % (len(str(max_r)) + 1), data)
    if outliers:
        max_r = max(max_r, max(map(int, outliers)))
    wide = set(_WIDE_COL.findall(data))   # columns of two or more letters (beyond Z)
    max_c = max(map(_col_number, wide)) if wide else 26
    if max_r > MAX_ROWS or max_c > MAX_COLS:
        raise LimitError(f"“{name}”的{what}有单元格超出 Excel 上限 {MAX_ROWS:,} 行 × {MAX_COLS:,} 列，文件已损坏或被改动，未导入。")
    area = max_r * max_c
    if area > MIN_AREA_CHECKED and area > cells * MAX_AREA_PER_CELL:
        _refuse_area(name, what, area, cells)
    if len(data) > cells * 200:   # text only worth a scan when the cells hold far more bytes than usual
        _check_texts(data, name, what)


def _check_texts(data: bytes, name: str, what: str) -> None:
    """No text (a shared or inline string, a value) longer than Excel's 32,767 characters: runs of
    over 32,767 bytes without markup are found by a regex and only those are decoded and counted."""
    for m in _LONG_TEXT.finditer(data):
        n = m.end(1) - m.start(1)
        if n > 5 * MAX_CELL_CHARS or len(m.group(1).decode("utf-8", "replace")) > MAX_CELL_CHARS:
            _cell_too_long(name, what)


def _check_shared_strings(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> None:
    what = "共享字符串部件"
    if info.file_size > MAX_SHARED_STRINGS:
        raise LimitError(f"“{name}”的{what}解压后有 {info.file_size / 2**20:.0f} MB，超过上限 "
                         f"{MAX_SHARED_STRINGS >> 20} MB，未导入。请拆分为几个较小的文件。")
    _too_big(info, name, what)
    # streamed in 1 MB blocks: a string longer than Excel allows is refused without holding it whole.
    carry = 0        # bytes of markup-free text at the end of the blocks read so far
    with zf.open(info) as fh:
        while block := fh.read(1 << 20):
            first = block.find(b"<")
            if first < 0:
                carry += len(block)
            else:
                if carry + first > 5 * MAX_CELL_CHARS:
                    _cell_too_long(name, what)
                _check_texts(block, name, what)
                carry = len(block) - block.rfind(b"<") - 1
            if carry > 5 * MAX_CELL_CHARS:
                _cell_too_long(name, what)


def _cell_too_long(name: str, what: str) -> None:
    raise LimitError(f"“{name}”的{what}中有一个单元格超过 Excel 上限 {MAX_CELL_CHARS:,} 个字符，"
                     "文件已损坏或被改动，未导入。请检查后另存再导入。")
