"""Limits checked before a workbook is parsed: a hostile or broken .xlsx is refused with a Chinese
message before python-calamine sees it (calamine allocates a sheet's whole declared area: one cell at
XFD1048576 asks for 512 GB and aborts the process).

Checked from the zip directory and one streamed pass over each part, never by inflating a part into
memory: declared sizes (a zip bomb of empty rows), each sheet's <dimension> and the cells' own bounding box (far more declared cells than data), Excel's own maxima (1,048,576 rows ×
16,384 columns, 32,767 characters a cell) and the size of the shared strings."""
from __future__ import annotations

import queue
import re
import threading
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generator, Iterator

from .errors import InputError, LimitError

_isal: Any = None   # ISA-L's inflate: twice as fast as zlib's on a large sheet (open_part)
_ISAL_ERROR: Any = ()
try:
    from isal import isal_zlib as _isal
    _ISAL_ERROR = _isal.error
except ImportError:  # pragma: no cover - then zipfile inflates with zlib, as before
    pass


def crc32(data: Any, value: int = 0) -> int:
    """zlib's CRC-32, by ISA-L where it is installed (several times faster on a sheet's XML)."""
    return (_isal or zlib).crc32(data, value)


if TYPE_CHECKING:
    import numpy as np

MAX_ROWS = 1_048_576
MAX_COLS = 16_384
MAX_CELL_CHARS = 32_767
MAX_TOTAL_UNCOMPRESSED = 3 << 30        # all parts together, as declared by the zip directory
MAX_PART_UNCOMPRESSED = 2 << 30         # one sheet or the shared strings
MAX_SHARED_STRINGS = 512 << 20          # bytes of sharedStrings.xml
MAX_RATIO = 500                         # inflated/compressed of a large part: rows of nothing
RATIO_MIN_SIZE = 64 << 20               # ratios only matter for parts this large
BLOCK = 8 << 20                         # sheet parts are streamed in blocks of this size
OVERLAP = 64                            # bytes of a block searched again with the next one
READ_AHEAD = 1                          # inflated blocks waiting for the scan (one more is being inflated)
PIECE = 1 << 20                         # blocks are searched by numpy in pieces of this size
VALUE_WINDOW = 64 << 10                 # a block's last value is looked for in its last bytes first
MAX_MERGES_XML = 64 << 20               # the <mergeCells> element
MAX_AREA_PER_CELL = 2_000               # bounding box cells per cell actually present
MIN_AREA_CHECKED = 5_000_000            # smaller boxes are fine whatever they hold
CELLS_ENOUGH = -(-MAX_ROWS * MAX_COLS // MAX_AREA_PER_CELL)   # no box within Excel's maxima is refused with as many
HEAD = 64 << 10

_DIM_RE = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?\"")
_CELL_RE = re.compile(rb"<(?:\w+:)?c\s[^>]*?r=\"([A-Z]{1,4})(\d{1,8})\"")
_ROW_R = re.compile(rb"<(?:\w+:)?row\s[^>]*?r=\"(\d+)\"")
_ROW_START = re.compile(rb"<(?:\w+:)?row[\s>/]")
_MERGES_START = re.compile(rb"<(?:\w+:)?mergeCells[\s>]")
_MERGES_END = re.compile(rb"</(?:\w+:)?mergeCells>|<(?:\w+:)?mergeCells[^>]*/>")
_WIDE_COL = re.compile(rb" r=\"([A-Z]{2,4})\d")
_SHAPES = bytes.maketrans(bytes(range(65, 91)) + b"0123456789", b"A" * 26 + b"0" * 10)
_WIDE = b' r="AA'                       # the shape of a reference beyond column Z
_DEEP = b' r="A'                        # ... and, followed by enough zeros, of one with too many row digits
_LONG_TEXT = re.compile(rb">([^<]{%d,})" % (MAX_CELL_CHARS + 1))   # a literal first: searched at C speed


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


@dataclass
class PartScan:
    """What one streaming pass over a sheet part found besides its limits: the XML of its first
    rows (for a truncated copy the header can be read from), its merged ranges and its last row."""

    head: bytes = b""
    head_complete: bool = True      # the head holds every row of the part
    merges: bytes = b""             # the <mergeCells> element, as written
    last_row: int = 0               # 1-based number of the last <row> element (0: no rows)
    last_value_row: int = 0         # 1-based number of the last row holding a value (<v> or an inline string)
    cells: int = 0                  # <c elements; counting stops at CELLS_ENOUGH (no box is refused then)
    first_col: int = 0              # 0-based first column of the declared <dimension> (A when none)


def check_workbook(path: Path, head_rows: int = 0) -> dict[str, PartScan]:
    """Raise LimitError for an .xlsx/.xlsm that must not reach the parser; anything that is not a
    readable zip is left to the parser's own error message. Returns, per sheet part, what the scan
    found (the XML of its first `head_rows` rows, its merged ranges)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return {}
    name = path.name
    out: dict[str, PartScan] = {}
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise LimitError(f"“{name}”解压后声明有 {total / 2**30:.1f} GB，超过上限 {MAX_TOTAL_UNCOMPRESSED >> 30} GB，"
                             "未导入。请确认文件无误，或拆分为几个较小的文件。")
        for info in infos:
            part = info.filename
            sheet = part.startswith("xl/worksheets/") and part.endswith(".xml")
            if not sheet and not part.endswith("sharedStrings.xml"):
                continue
            if info.flag_bits & 0x1:   # an encrypted member (zipfile would raise RuntimeError)
                raise InputError(f"“{name}”中的部件“{part}”是加密的，无法读取，未导入，数据库未改变。"
                                 "请取消加密后用 Excel/WPS 另存为 .xlsx 再导入。")
            try:
                if sheet:
                    out[part] = _check_sheet(zf, info, name, head_rows)
                else:
                    _check_shared_strings(zf, info, name)
            except NotImplementedError:   # a compression method zipfile cannot inflate (Deflate64 …)
                raise InputError(f"“{name}”中的部件“{part}”用了不支持的压缩方式，无法读取，未导入，数据库未改变。"
                                 "请用 Excel/WPS 打开后另存为 .xlsx 再导入。") from None
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                # a damaged download or copy: the compressed data of a part does not inflate to what the
                # zip directory says (bad CRC, bad deflate data, cut short)
                raise InputError(f"“{name}”已损坏：其中的部件“{part}”无法解压（{str(exc)[:120] or '数据不完整'}），"
                                 "未导入，数据库未改变。请用 Excel/WPS 打开后另存为 .xlsx 再导入；"
                                 "打不开时请报送单位重新发送文件。") from None
    return out


def _too_big(info: zipfile.ZipInfo, name: str, what: str) -> None:
    if info.file_size > MAX_PART_UNCOMPRESSED:
        raise LimitError(f"“{name}”的{what}解压后有 {info.file_size / 2**30:.1f} GB，超过上限 "
                         f"{MAX_PART_UNCOMPRESSED >> 30} GB，未导入。请拆分为几个较小的文件。")
    if info.file_size > RATIO_MIN_SIZE and info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        raise LimitError(f"“{name}”的{what}压缩比异常（{info.compress_size / 2**20:.0f} MB 解压为 "
                         f"{info.file_size / 2**20:.0f} MB，多为大量空行），未导入。请在 Excel/WPS 中删除空行后另存再导入。")


def _check_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, head_rows: int) -> PartScan:
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
    scan = _scan_cells(zf, info, name, what, head_rows)
    if m and m.group(1):
        scan.first_col = _col_number(m.group(1)) - 1
    return scan


def _refuse_area(name: str, what: str, area: int, cells: int | None) -> None:
    held = f"，实际只有 {cells:,} 个单元格" if cells is not None else ""
    raise LimitError(f"“{name}”的{what}声明了 {area:,} 个单元格的范围{held}（常见于误改了远处的单元格，如 XFD1048576），"
                     "读取会耗尽内存，未导入。请在 Excel/WPS 中删除数据区以外的单元格（或复制数据到新工作簿）后另存再导入。")


def _scan_cells(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, what: str, head_rows: int) -> PartScan:
    """The cells' own bounding box (calamine sizes the sheet by it), streamed in blocks so that a part of
    any size is checked without being held in memory. Counted at C speed (numpy, regexes that run only
    where an outlier may be), not cell by cell. Each block is searched with the tail of the one before,
    so that no reference is missed where a block ends. A thread inflates the next block while this one
    is searched: zlib and numpy both let go of the GIL, so the two run on two cores (a bytes search
    holds it for milliseconds, and zlib, which takes it back several times a block, would wait)."""
    scan = PartScan()
    max_r = 0
    max_c = 26
    head: list[bytes] = []
    head_starts = 0                     # rows begun in the head blocks so far
    tail = b""
    with _blocks(zf, info) as blocks:
        for block in blocks:
            data = b""                      # tail + block, joined only where a search needs it
            before = scan.last_row          # the row open where this block begins
            last = block.rfind(b"<row")
            if last >= 0:
                m = _ROW_R.match(block, last)
            else:                           # none in the block: one may begin in the tail
                data = tail + block
                last = data.rfind(b"<row")
                m = _ROW_R.match(data, last) if last >= 0 else None
            if m:
                max_r = max(max_r, int(m.group(1)))
                scan.last_row = int(m.group(1))
            # Columns of two or more letters (beyond Z), and references with more row digits than the
            # block's last row (the only ones that can lie beyond it: A1048576 in a short sheet): one
            # regex led by a literal; the wide ones carry their row too. ' r="' stands before every
            # cell: the regex would try each one, so it runs only on a block where numpy found one of
            # the two shapes (or where the tail holds one: searched in a copy whose letters are all A
            # and digits all 0).
            digits = len(str(max(max_r, 1)))
            cells, odd_seen, merges_seen = _marks(block, digits, scan.cells < CELLS_ENOUGH)
            scan.cells += cells             # past CELLS_ENOUGH no box can be refused: not counted on
            deep = _DEEP + b"0" * (digits + 1)
            edge = (tail + block[:len(deep) - 1]).translate(_SHAPES)
            if odd_seen or _WIDE in edge or deep in edge:
                data = data or tail + block
                odd = re.compile(rb' r="(?:([A-Z]{2,4})(\d+)|[A-Z](\d{%d,}))' % (digits + 1))
                for wide, wide_row, row in odd.findall(data):
                    if wide:
                        max_c = max(max_c, _col_number(wide))
                        max_r = max(max_r, int(wide_row))
                    else:
                        max_r = max(max_r, int(row))
            v = _last_value(block)
            if v >= 0:   # the last value of the block, and the row it stands in
                r = block.rfind(b"<row", 0, v)
                mv = _ROW_R.match(block, r) if r >= 0 else None
                scan.last_value_row = max(scan.last_value_row, int(mv.group(1)) if mv else before)
            if max_r > MAX_ROWS or max_c > MAX_COLS:
                raise LimitError(f"“{name}”的{what}有单元格超出 Excel 上限 {MAX_ROWS:,} 行 × {MAX_COLS:,} 列，"
                                 "文件已损坏或被改动，未导入。")
            if head_rows and head_starts <= head_rows:
                head.append(block)   # rows counted only until the head is known to be full
                head_starts += sum(1 for _ in islice(_ROW_START.finditer(block), head_rows + 1 - head_starts))
            if scan.merges:
                scan.merges += block
            elif merges_seen or b"mergeCells" in tail + block[:9]:
                data = data or tail + block
                if (first := data.find(b"mergeCells")) >= 0:
                    # an element that holds this first "mergeCells" in its prefix starts at the '<'
                    # before it; none that starts earlier can match
                    if mm := _MERGES_START.search(data, max(data.rfind(b"<", 0, first), 0)):
                        scan.merges = data[mm.start():]
            if len(scan.merges) > MAX_MERGES_XML:
                raise LimitError(f"“{name}”的{what}中合并单元格的记录超过 {MAX_MERGES_XML >> 20} MB，"
                                 "文件已损坏或被改动，未导入。")
            tail = block[-OVERLAP:]
    if scan.cells:
        max_r = max(max_r, scan.last_row)
        area = max_r * max_c
        if area > MIN_AREA_CHECKED and area > scan.cells * MAX_AREA_PER_CELL:
            _refuse_area(name, what, area, scan.cells)
    if head_rows:
        joined = b"".join(head)
        starts = [m.start() for m in islice(_ROW_START.finditer(joined), head_rows + 1)]
        scan.head_complete = len(starts) <= head_rows
        scan.head = joined if scan.head_complete else joined[: starts[head_rows]]
    end = _MERGES_END.search(scan.merges)
    scan.merges = scan.merges[: end.end()] if end else b""
    return scan


def _marks(block: bytes, digits: int, count: bool) -> tuple[int, bool, bool]:
    """What the block holds, found by numpy in pieces that stay in the CPU cache, with the GIL let go
    (the inflating thread is never kept waiting): the number of "<c " that begin in it (when `count`),
    whether a reference ' r="' + two letters, or ' r="' + a letter + more than `digits` digits, may
    begin in it at its 5th byte or later, and whether "mergeCel" begins in it. A "may" can be a false
    alarm, never a miss; what begins earlier is the tail's, searched with the block's first bytes."""
    import numpy as np   # here: commands that never read a workbook do not pay for it at start-up

    a = np.frombuffer(block, np.uint8)
    n = len(a)
    cells = 0
    odd = merges = False
    reach = digits + 2                  # the bytes after a position that a shape looks at
    for s in range(0, n, PIECE):
        e = min(s + PIECE, n)
        x = a[s:min(e + reach, n)]
        k = len(x)
        if count and (j := min(e - s, k - 2)) > 0:
            cells += int(np.count_nonzero((x[:j] == 60) & (x[1:j + 1] == 99) & (x[2:j + 2] == 32)))
        if not odd:
            upper = (x - np.uint8(65)) < 26
            j = min(e - s, k - 1)
            if (pair := upper[:j] & upper[1:j + 1]).any():
                odd = _after_r(a, np.flatnonzero(pair) + s)
            j = min(e - s, k - digits - 1)
            if not odd and j > 0:
                digit = (x - np.uint8(48)) < 10
                if (far := upper[:j] & digit[digits + 1:j + digits + 1]).any():
                    at = np.flatnonzero(far) + s
                    for t in range(1, digits + 1):
                        at = at[(a[at + t] - np.uint8(48)) < 10]
                    odd = _after_r(a, at)
        if not merges and (m := x[:e - s] == 109).any():
            at = np.flatnonzero(m) + s
            at = at[at + 8 <= n]
            for t, ch in enumerate(b"ergeCel", 1):
                at = at[a[at + t] == ch]
            merges = len(at) > 0
    return cells, odd, merges


def _after_r(a: np.ndarray, at: np.ndarray) -> bool:
    """Whether ' r="' stands right before one of the positions `at`."""
    at = at[at >= 4]
    return bool(((a[at - 1] == 34) & (a[at - 2] == 61) & (a[at - 3] == 114) & (a[at - 4] == 32)).any())


def _last_value(block: bytes) -> int:
    """max(block.rfind(b"<v>"), block.rfind(b"<is>")), looked for in the block's end first: a sheet
    of inline strings holds no <v> at all, and a whole-block search for it would cost a pass."""
    lo = max(len(block) - VALUE_WINDOW, 0)
    while True:
        v = max(block.rfind(b"<v>", lo), block.rfind(b"<is>", lo))
        if v >= 0 or lo == 0:
            return v
        lo = 0


@contextmanager
def _blocks(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[Iterator[bytes]]:
    """The part's blocks exactly as `fh.read(BLOCK)` returns them, and any error of the read in its
    place. A part of more than one block is inflated by a thread one block ahead (at most READ_AHEAD
    blocks wait in the queue); the thread has ended when the `with` does, whatever happened."""
    if info.file_size <= BLOCK:
        def one() -> Generator[bytes, None, None]:
            with zf.open(info) as fh:
                while block := fh.read(BLOCK):
                    yield block
        blocks = one()
        try:
            yield blocks
        finally:
            blocks.close()      # the part is closed here, not when the generator is collected
        return
    q: queue.Queue = queue.Queue(READ_AHEAD)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def inflate() -> None:
        try:
            with open_part(zf, info) as fh:
                while put(block := fh.read(BLOCK)) and block:
                    pass
        except BaseException as exc:  # noqa: BLE001 - handed to the scanning thread, raised there in order
            put(exc)

    def received() -> Iterator[bytes]:
        while True:
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item

    thread = threading.Thread(target=inflate, name="pbtool-limits-inflate", daemon=True)
    thread.start()
    try:
        yield received()
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()


def open_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes] | _Inflated:
    """The part for reading, as zf.open(info) gives it: inflated by ISA-L (python-isal) where it is
    installed and the part is plainly deflated, else by zipfile. ISA-L inflates a 921 MB sheet in 0.94 s
    against zlib's 2.18 s (measured here), and the limits scan of a large sheet waits on the inflating."""
    if _isal is None or info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1 \
            or not isinstance(zf.filename, str):
        return zf.open(info)
    return _Inflated(zf.filename, info)


def inflate_member(info: zipfile.ZipInfo, raw: bytes) -> bytes | None:
    """A member's bytes from its stored bytes in one call (ISA-L where installed), checked as zipfile
    checks them (size and CRC-32); None when they do not agree. For a part read whole into memory,
    where open_part() would inflate it block by block."""
    if info.compress_type == zipfile.ZIP_STORED:
        data = raw
    else:
        try:
            data = (_isal or zlib).decompress(raw, -15, info.file_size or 1)
        except (zlib.error, _ISAL_ERROR):   # (_ISAL_ERROR: ISA-L's own class, or () without it)
            return None
    if len(data) != info.file_size or crc32(data) != info.CRC:
        return None
    return data


def seek_member_data(fh: IO[bytes], info: zipfile.ZipInfo) -> None:
    """Put `fh` (the zip file) at the first byte of the member's stored data, after its local header;
    zipfile.BadZipFile when no local header stands where the central directory says."""
    import struct

    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("Bad magic number for file header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)


class _Inflated:
    """A deflated zip member read by ISA-L with zipfile's own checks: output cut at the declared size,
    EOFError when the compressed data ends early, zipfile.BadZipFile when the CRC-32 differs, the
    inflater's error (zlib.error, as zipfile raises it) when the data is not deflate."""

    def __init__(self, path: str, info: zipfile.ZipInfo):
        self._fh = open(path, "rb")
        try:
            seek_member_data(self._fh, info)
        except BaseException:
            self._fh.close()
            raise
        self._name = info.filename
        self._compress_left = info.compress_size
        self._left = info.file_size
        self._expected_crc = info.CRC
        self._crc = 0
        self._inflater = _isal.decompressobj(-15)
        self._pending = b""             # inflated, not yet read
        self._done = False

    def read(self, n: int = -1) -> bytes:
        """n bytes (all the rest for n < 0), fewer only where the part ends: block by block as zipfile's
        read(n) gives them (ISA-L may hold back output that zlib would give; it is kept here)."""
        want = self._left + len(self._pending) if n is None or n < 0 else n
        parts = [self._pending] if self._pending else []
        have = len(self._pending)
        self._pending = b""
        while have < want and not self._done:
            chunk = self._inflate(want - have)
            parts.append(chunk)
            have += len(chunk)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if len(data) > want:
            data, self._pending = data[:want], data[want:]
        return data

    def _inflate(self, most: int) -> bytes:
        data = self._inflater.unconsumed_tail
        if not data and self._compress_left > 0:
            data = self._fh.read(min(self._compress_left, 1 << 20))
            self._compress_left -= len(data)
            if not data:
                raise EOFError
        try:
            chunk = self._inflater.decompress(data, most)
            if self._inflater.eof or (self._compress_left <= 0 and not self._inflater.unconsumed_tail):
                chunk += self._inflater.flush()
                self._done = True
        except _ISAL_ERROR as exc:
            raise zlib.error(str(exc)) from None
        chunk = chunk[:self._left]
        self._left -= len(chunk)
        if self._left <= 0:
            self._done = True
        self._crc = _isal.crc32(chunk, self._crc)
        if self._done and self._crc != self._expected_crc:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self._name!r}")
        return chunk

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "_Inflated":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    with zf.open(info) as fh:
        _stream_texts(fh, name, what)


def _stream_texts(fh: IO[bytes], name: str, what: str) -> None:
    """No text longer than Excel allows, streamed in blocks: a run of markup-free bytes is carried from
    one block to the next, so a string is refused without ever holding it whole."""
    carry = 0        # bytes of markup-free text at the end of the blocks read so far
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


def check_sheet_texts(path: Path, parts: set[str] | None = None) -> None:
    """The texts of every sheet part (or of `parts`; inline strings): for readers that do not measure
    their cells."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with zf:
        for info in zf.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml") \
                    and (parts is None or info.filename in parts):
                with zf.open(info) as fh:
                    _stream_texts(fh, path.name, f"工作表部件“{info.filename.rsplit('/', 1)[-1]}”")


def _cell_too_long(name: str, what: str) -> None:
    raise LimitError(f"“{name}”的{what}中有一个单元格超过 Excel 上限 {MAX_CELL_CHARS:,} 个字符，"
                     "文件已损坏或被改动，未导入。请检查后另存再导入。")
