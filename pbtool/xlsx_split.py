"""One sheet's data area parsed on several cores (issue 12): the sheet XML cut into pieces at row
boundaries, each piece a workbook of its own in memory, parsed by fastexcel in a thread of its own.

fastexcel (calamine) parses a sheet on one core, without the GIL: 1.0 s of a 50,000-row import's 3 s,
with the second core idle. Two parses of two halves take 0.57 s together (measured on the benchmark's
50,000-row roster, 2 cores). What a piece is:

- the sheet's XML before `<sheetData>` (its `<dimension>` dropped) and from `</sheetData>` on;
- the rows of the piece, exactly the bytes of the original;
- every other part of the workbook (shared strings, styles, other sheets) copied as it is stored.

fastexcel numbers a sheet's rows from its first row, so a piece's table begins with the empty rows
above it: they are checked to hold no value (a row written out of order or without its number would
be there) and dropped. The pieces' tables are then put together as the whole sheet's would be: a piece whose
last rows hold no value is padded with empty rows up to the next piece, a piece narrower than the
others gets empty columns, and a column that is empty in a piece takes the type it has elsewhere.
Whenever the pieces cannot give exactly the whole sheet's table (rows out of order, a row written
without its number, an error cell addressed into an earlier piece's rows, columns of other types in
different pieces, a sheet that does not begin where it was declared to), None is returned and the
sheet is parsed in one piece as before."""
from __future__ import annotations

import os
import re
import struct
import zipfile
from pathlib import Path
from typing import Any, Callable

from .background import Background

SPLIT_MIN_BYTES = 8 << 20      # a sheet's XML below this parses in under 0.2 s: one piece
# Above this the sheet's XML and its pieces in memory cost more than the time saved is worth: the
# benchmark's 200,000-row roster (182 MB of XML) took 7.3 s instead of 8.5 s but 760–820 MB of memory
# instead of 425 MB (measured). Up to 64 MB (about 70,000 rows of 15 columns: a district's roster) the
# extra memory stays under about 100 MB; larger sheets are parsed in one piece.
SPLIT_MAX_BYTES = 64 << 20
MAX_PIECES = 4

_ROW_NUMBER_RE = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_DIMENSION_RE = re.compile(rb"<dimension\b[^>]*/>")
_ERROR_CELL_RE = re.compile(rb'<c\b[^>]*\bt="e"[^>]*>')
_CELL_ROW_RE = re.compile(rb'\br="[A-Z]+(\d+)"')

# load([workbook bytes], skip_rows): pops the bytes from the list once the parser has them, so that
# they are freed while the piece is parsed
LoadPiece = Callable[[list[bytes], int], tuple[Any, list[int]]]


def usable_cores() -> int:
    """The cores this process may run on (a container or `taskset` may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # Windows, macOS
        return os.cpu_count() or 1


def pieces_wanted(info: zipfile.ZipInfo) -> int:
    """How many pieces to cut a sheet part into: 1 (not cut) for a small or a very large sheet, or on one core."""
    cores = usable_cores()
    if cores < 2 or not SPLIT_MIN_BYTES <= info.file_size <= SPLIT_MAX_BYTES or info.flag_bits & 0x1:
        return 1
    return min(MAX_PIECES, cores)


def split_sheet(path: Path, part: str, data_start: int) -> tuple[list[bytes], list[int]] | None:
    """The pieces (pieces_wanted) as workbooks in memory, and the 0-based row index where each piece's
    rows begin (the first: data_start). None when the sheet is not to be cut or cannot be cut safely."""
    from .limits import inflate_member

    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    [info] = [i for i in infos if i.filename == part]
    pieces = pieces_wanted(info)
    if pieces < 2:
        return None
    stored = _stored_parts(path, infos)
    if stored is None:
        return None
    others = [(i, raw) for i, raw in stored if i.filename != part]
    [raw] = [raw for i, raw in stored if i.filename == part]
    data = inflate_member(info, raw)
    if data is None:
        return None
    start = data.find(b"<sheetData")
    end = data.rfind(b"</sheetData>")
    if start < 0 or end < 0:                 # a prefixed namespace (x:sheetData) or no rows at all
        return None
    body = data.index(b">", start) + 1
    if data[body - 2:body] == b"/>":
        return None
    cuts, firsts = [body], [data_start]
    for k in range(1, pieces):
        at = data.find(b"<row ", body + (end - body) * k // pieces, end)
        m = _ROW_NUMBER_RE.match(data, at) if at >= 0 else None
        if m is None:
            return None
        row = int(m.group(1)) - 1            # 0-based, as fastexcel numbers the rows
        if row <= firsts[-1] + 1 or at <= cuts[-1]:
            return None                      # the header or the first piece would be cut: too few rows
        cuts.append(at)
        firsts.append(row)
    cuts.append(end)
    if not all(_errors_in_place(data, cuts[k], cuts[k + 1], firsts[k]) for k in range(1, pieces)):
        return None
    head = _DIMENSION_RE.sub(b"", data[:body], count=1)
    tail = data[end:]
    blobs = [_workbook(others, part, [head, memoryview(data)[cuts[k]:cuts[k + 1]], tail]) for k in range(pieces)]
    return blobs, firsts


def _errors_in_place(data: bytes, start: int, end: int, above: int) -> bool:
    """Whether every error cell (#N/A …) of a piece stands in the piece's own rows. fastexcel reads an
    error as empty, so one addressed into an earlier piece's rows (a damaged file; the one-piece parse
    lets it replace that cell) would pass the check of the rows above as empty."""
    if data.find(b't="e"', start, end) < 0:    # the usual case: no error cell at all
        return True
    for m in _ERROR_CELL_RE.finditer(data, start, end):
        ref = _CELL_ROW_RE.search(m.group(0))
        if ref is None or int(ref.group(1)) <= above:
            return False
    return True


def _stored_parts(path: Path, infos: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, bytes]] | None:
    """The parts as they are stored (compressed bytes: the others are copied without inflating them)."""
    from .limits import seek_member_data

    out = []
    total = 0
    with open(path, "rb") as fh:
        for info in infos:
            if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                return None
            try:
                seek_member_data(fh, info)
            except zipfile.BadZipFile:
                return None
            raw = fh.read(info.compress_size)
            if len(raw) != info.compress_size:
                return None
            total += len(raw)
            out.append((info, raw))
    return out if total < 1 << 30 else None


def _workbook(others: list[tuple[zipfile.ZipInfo, bytes]], part: str, sheet: list[Any]) -> bytes:
    """A zip archive: the other parts as stored, the sheet stored (not compressed) with its CRC-32."""
    from .limits import crc32

    chunks: list[Any] = []
    directory: list[bytes] = []
    pos = 0

    def add(name: str, method: int, crc: int, csize: int, usize: int, data: list[Any]) -> None:
        nonlocal pos
        encoded = name.encode()
        fields = (20, 0x800, method, 0, 0x21, crc, csize, usize, len(encoded))
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *fields, 0) + encoded
        directory.append(struct.pack("<4sH", b"PK\x01\x02", 20) + struct.pack("<HHHHHIIIH", *fields)
                         + struct.pack("<HHHHII", 0, 0, 0, 0, 0, pos) + encoded)
        chunks.append(local)
        chunks.extend(data)
        pos += len(local) + sum(len(d) for d in data)

    for info, raw in others:
        add(info.filename, info.compress_type, info.CRC, info.compress_size, info.file_size, [raw])
    crc = 0
    for piece in sheet:
        crc = crc32(piece, crc)
    size = sum(len(piece) for piece in sheet)
    add(part, zipfile.ZIP_STORED, crc, size, size, sheet)
    central = b"".join(directory)
    chunks.append(central)
    chunks.append(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(directory), len(directory), len(central), pos, 0))
    return b"".join(chunks)


def load_pieces(blobs: list[bytes], firsts: list[int], first_col: int, load: LoadPiece) -> tuple[Any, list[int]] | None:
    """Each piece parsed by `load([workbook bytes], skip_rows)` (the first here, the others in threads), and
    the tables put together as the whole sheet's; None when they cannot be (see the module's text)."""
    from .arrow import pa

    def attempt(k: int) -> tuple[Any, list[int]] | None:
        box = [blobs[k]]
        blobs[k] = b""                       # the piece's only reference is the box, emptied by load()
        try:
            # the first piece skips the header rows; the others keep the empty rows above them, which
            # are checked to be empty below (a row written out of order would be there)
            return load(box, firsts[k] if k == 0 else 0)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # noqa: BLE001 - mixed types, anything fastexcel refuses (a Rust panic too)
            return None

    others = [Background(attempt, k, name=f"pbtool-piece-{k}") for k in range(1, len(blobs))]
    try:
        first = attempt(0)
    finally:   # the other pieces are done before anything is returned or raised (Ctrl-C included)
        rest = [b.result() for b in others]
    results = [first, *rest]
    if any(r is None for r in results):
        return None
    tables: list[Any] = []
    offsets: list[int] = []             # the sheet column of each piece's first column, less first_col
    for k, (table, columns) in enumerate(results):
        if not columns or columns != list(range(columns[0], columns[0] + len(columns))) or columns[0] < first_col \
                or (k == 0 and columns[0] != first_col):
            return None                 # the whole sheet begins elsewhere: its one-piece parse says where
        if k:
            above = table.slice(0, firsts[k])
            if any(col.null_count != len(col) for col in above.columns):
                return None             # a value above the piece: rows out of order, or without numbers
            table = table.slice(firsts[k])
        tables.append(table)
        offsets.append(columns[0] - first_col)
    width = max(o + t.num_columns for o, t in zip(offsets, tables))
    types: list[Any] = [None] * width
    for o, t in zip(offsets, tables):
        for i, col in enumerate(t.columns, o):
            if col.null_count == len(col):   # empty in this piece: takes the type it has elsewhere
                continue
            if types[i] is None:
                types[i] = col.type
            elif types[i] != col.type:
                return None                  # the whole sheet's column would be inferred otherwise
    # the whole sheet ends at its last row holding a value: pieces after the last one with rows add none
    last = max((k for k, t in enumerate(tables) if t.num_rows), default=0)
    chunks: list[list[Any]] = [[] for _ in range(width)]
    for k, (o, t) in enumerate(zip(offsets, tables)):
        if k > last:
            break
        rows = t.num_rows
        if k < last:
            expected = firsts[k + 1] - firsts[k]
            if rows > expected:
                return None                  # a row of the next piece's (out of order)
            rows = expected                  # the piece's last rows hold no value: empty, as in the whole sheet
        for i in range(width):
            want = types[i] or pa.string()
            j = i - o
            if 0 <= j < t.num_columns and t.column(j).null_count < t.num_rows:
                col = t.column(j)
                chunks[i].extend(c.cast(want) if c.type != want else c for c in col.chunks)
            else:
                chunks[i].append(pa.nulls(t.num_rows, want))
            if rows > t.num_rows:
                chunks[i].append(pa.nulls(rows - t.num_rows, want))
    # one record batch, as the one-piece parse gives it: a column without an empty cell is "not null"
    arrays = [pa.concat_arrays(c) for c in chunks]
    schema = pa.schema([pa.field(f"__UNNAMED__{i}", a.type, nullable=a.null_count > 0) for i, a in enumerate(arrays)])
    return pa.RecordBatch.from_arrays(arrays, schema=schema), list(range(first_col, first_col + width))
