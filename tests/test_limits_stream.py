"""Issue 12: the limits scan inflates a sheet part in a thread while numpy searches the block before, and
still finds what it found block by block. These parts put the bytes that matter where blocks (BLOCK) and
numpy's pieces (PIECE) end, with both made small; one test replays random parts against the scan as
it was before (a copy kept below as the reference)."""
from __future__ import annotations

import os
import random
import re
import threading
import zipfile
from itertools import islice
from pathlib import Path

import pytest

from pbtool import limits
from pbtool.errors import InputError, LimitError

NS = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
PART = "xl/worksheets/sheet1.xml"


def part(path: Path, xml: bytes) -> Path:
    """A workbook zip holding the one sheet part the scan reads."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(PART, xml)
    return path


def row(r: int, text: str = "张三") -> bytes:
    return (f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{text}</t></is></c>'
            f'<c r="B{r}"><v>{r}</v></c></row>').encode()


def rows(first: int, last: int) -> bytes:
    return b"".join(row(r) for r in range(first, last + 1))


def padded(before: bytes, at: int, after: bytes, r: int) -> bytes:
    """`before`, then a row numbered r whose text makes what follows begin at byte `at`, then `after`."""
    bare = before + row(r, "")
    assert len(bare) <= at, (len(bare), at)
    return before + row(r, "x" * (at - len(bare))) + after


@pytest.fixture
def small(monkeypatch):
    """Blocks of 4 KB searched in pieces of 1 KB: a part of a few hundred KB crosses many of both."""
    monkeypatch.setattr(limits, "BLOCK", 4096)
    monkeypatch.setattr(limits, "PIECE", 1024)
    return 4096


@pytest.fixture
def threads(monkeypatch):
    """The inflating threads the scan started."""
    started: list[threading.Thread] = []

    class Recorded(threading.Thread):
        def start(self):
            started.append(self)
            super().start()

    monkeypatch.setattr(limits.threading, "Thread", Recorded)
    return started


def open_paths() -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return out


@pytest.mark.parametrize("ref", [b'r="XFD1048576"', b'r="A99999999"', b'r="AB1048577"'])
@pytest.mark.parametrize("cut", range(-2, 16))
def test_an_outlying_reference_is_found_wherever_a_block_ends_in_it(tmp_path, small, ref, cut):
    """The reference begins `cut` bytes before the end of the third block (after it when negative): its
    ' r="' in one block and its letters or digits in the next one too."""
    cell = b"<c " + ref + b"><v>1</v></c>"
    opening = b'<row r="72">'
    at = 3 * small - cut - 3 - len(opening)        # the reference begins 3 bytes after "<c "
    xml = padded(NS + b"<sheetData>" + rows(1, 70), at, opening + cell + b"</row>" + rows(73, 200)
                 + b"</sheetData></worksheet>", 71)
    assert xml.index(ref) == 3 * small - cut
    with pytest.raises(LimitError) as exc:
        limits.check_workbook(part(tmp_path / "far.xlsx", xml), 320)
    assert "未导入" in str(exc.value)


def test_a_far_cell_in_the_last_block_is_counted_against_the_cells_held(tmp_path, small):
    xml = NS + b"<sheetData>" + rows(1, 3000) + b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    assert len(xml) > 30 * small and xml.rindex(b"XFD") > len(xml) - small
    # cells counted as before: each "<c " within a block (one cut by a block's end is not)
    held = sum(xml[i:i + small].count(b"<c ") for i in range(0, len(xml), small))
    assert 5990 < held < xml.count(b"<c ") == 6001
    with pytest.raises(LimitError, match=f"声明了 {1048576 * 16384:,} 个单元格的范围，实际只有 {held:,} 个单元格"):
        limits.check_workbook(part(tmp_path / "far.xlsx", xml), 320)


def test_a_limit_met_mid_stream_leaves_no_thread_and_no_open_file(tmp_path, small, threads):
    xml = NS + b"<sheetData>" + rows(1, 30) + b'<row r="31"><c r="XFE31"><v>1</v></c></row>' + rows(32, 20_000) \
        + b"</sheetData></worksheet>"
    assert len(xml) > 300 * small
    path = part(tmp_path / "wide.xlsx", xml)
    with pytest.raises(LimitError, match="超出 Excel 上限"):
        limits.check_workbook(path, 320)
    assert len(threads) == 1 and not threads[0].is_alive()
    assert not [t for t in threading.enumerate() if t.name.startswith("pbtool-limits")]
    assert str(path) not in open_paths()


def test_a_broken_part_raises_the_reader_error_after_the_blocks_before_it(tmp_path, small, threads):
    """A wrong CRC is found by the reading thread at the part's end and raised in the scanning one, as
    zipfile raises it, then said in Chinese (the file is damaged, nothing imported); a limit met earlier
    in the part is raised instead, as it was before."""
    good = NS + b"<sheetData>" + rows(1, 3000) + b"</sheetData></worksheet>"
    path = part(tmp_path / "crc.xlsx", good)
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    raw[central + 16] ^= 0xFF                  # the CRC-32 that zipfile checks at the end of the part
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="“crc.xlsx”已损坏.*Bad CRC-32.*未导入") as caught:
        limits.check_workbook(path, 320)
    assert isinstance(caught.value.__context__, zipfile.BadZipFile)
    far = good.replace(row(40), b'<row r="40"><c r="XFE40"><v>1</v></c></row>')
    path = part(tmp_path / "both.xlsx", far)
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"PK\x01\x02") + 16] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(LimitError, match="超出 Excel 上限"):
        limits.check_workbook(path, 320)
    assert len(threads) == 2 and not any(t.is_alive() for t in threads)
    assert str(path) not in open_paths()


MERGES = [b'<mergeCells count="2"><mergeCell ref="A1:C1"/><mergeCell ref="A2:B3"/></mergeCells>',
          b'<mergeCells count="0"/>']


@pytest.mark.parametrize("merges", MERGES)
@pytest.mark.parametrize("cut", range(-1, len(MERGES[0]) + 1))
def test_merged_ranges_split_by_a_block_end_are_kept_whole(tmp_path, small, merges, cut):
    at = 2 * small - cut
    xml = padded(NS + b"<sheetData>" + rows(1, 20), at - len(b"</sheetData>"), b"</sheetData>" + merges
                 + b'<pageMargins left="0.7"/></worksheet>', 21)
    assert xml.index(merges) == at
    scan = limits.check_workbook(part(tmp_path / "merged.xlsx", xml), 5)[PART]
    assert scan.merges == merges
    assert not scan.head_complete and scan.last_row == 21


def test_merged_ranges_longer_than_a_block_are_kept_whole(tmp_path, small):
    merges = b'<mergeCells count="900">' + b"".join(b'<mergeCell ref="A%d:C%d"/>' % (r, r) for r in range(1, 901)) \
        + b"</mergeCells>"
    assert len(merges) > 4 * small
    xml = NS + b"<sheetData>" + rows(1, 900) + b"</sheetData>" + merges + b"</worksheet>"
    assert limits.check_workbook(part(tmp_path / "merged.xlsx", xml), 320)[PART].merges == merges


@pytest.mark.parametrize("count", [319, 320, 321])
def test_a_head_of_exactly_head_rows_rows_is_the_whole_part(tmp_path, small, count):
    xml = NS + b"<sheetData>" + rows(1, count) + b"</sheetData></worksheet>"
    assert len(xml) > 5 * small
    scan = limits.check_workbook(part(tmp_path / "head.xlsx", xml), 320)[PART]
    assert scan.head_complete == (count <= 320)
    assert scan.head == (xml if count <= 320 else xml[:xml.index(b'<row r="321"')])
    assert scan.last_row == scan.last_value_row == count


def test_enough_cells_for_any_box_within_excel(tmp_path):
    """Cells are counted until CELLS_ENOUGH: with that many no box within Excel's maxima (beyond them the
    scan has refused already) is large enough to be refused, and with one fewer the largest one is."""
    box = limits.MAX_ROWS * limits.MAX_COLS
    assert limits.CELLS_ENOUGH * limits.MAX_AREA_PER_CELL >= box > (limits.CELLS_ENOUGH - 1) * limits.MAX_AREA_PER_CELL


# The scan as it was before issue 12 (one thread, bytes searches over tail + block), kept as the
# reference the new one must agree with.
def _reference_scan(zf, info, name, what, head_rows):
    L = limits
    scan = L.PartScan()
    max_r, max_c, head, head_starts, tail = 0, 26, [], 0, b""
    with zf.open(info) as fh:
        while block := fh.read(L.BLOCK):
            data = tail + block
            before = scan.last_row
            scan.cells += block.count(b"<c ")
            last = data.rfind(b"<row")
            m = L._ROW_R.match(data, last) if last >= 0 else None
            if m:
                max_r = max(max_r, int(m.group(1)))
                scan.last_row = int(m.group(1))
            digits = len(str(max(max_r, 1)))
            odd = re.compile(rb' r="(?:([A-Z]{2,4})(\d+)|[A-Z](\d{%d,}))' % (digits + 1))
            for wide, wide_row, r in odd.findall(data):
                if wide:
                    max_c = max(max_c, L._col_number(wide))
                    max_r = max(max_r, int(wide_row))
                else:
                    max_r = max(max_r, int(r))
            v = max(block.rfind(b"<v>"), block.rfind(b"<is>"))
            if v >= 0:
                r = block.rfind(b"<row", 0, v)
                mv = L._ROW_R.match(block, r) if r >= 0 else None
                scan.last_value_row = max(scan.last_value_row, int(mv.group(1)) if mv else before)
            if max_r > L.MAX_ROWS or max_c > L.MAX_COLS:
                raise LimitError(f"“{name}”的{what}有单元格超出 Excel 上限 {L.MAX_ROWS:,} 行 × {L.MAX_COLS:,} 列，"
                                 "文件已损坏或被改动，未导入。")
            if head_rows and head_starts <= head_rows:
                head.append(block)
                head_starts += sum(1 for _ in islice(L._ROW_START.finditer(block), head_rows + 1 - head_starts))
            if scan.merges:
                scan.merges += block
            elif mm := L._MERGES_START.search(data):
                scan.merges = data[mm.start():]
            if len(scan.merges) > L.MAX_MERGES_XML:
                raise LimitError(f"“{name}”的{what}中合并单元格的记录超过 {L.MAX_MERGES_XML >> 20} MB，"
                                 "文件已损坏或被改动，未导入。")
            tail = block[-L.OVERLAP:]
    if scan.cells:
        max_r = max(max_r, scan.last_row)
        area = max_r * max_c
        if area > L.MIN_AREA_CHECKED and area > scan.cells * L.MAX_AREA_PER_CELL:
            L._refuse_area(name, what, area, scan.cells)
    if head_rows:
        joined = b"".join(head)
        starts = [m.start() for m in islice(L._ROW_START.finditer(joined), head_rows + 1)]
        scan.head_complete = len(starts) <= head_rows
        scan.head = joined if scan.head_complete else joined[: starts[head_rows]]
    end = L._MERGES_END.search(scan.merges)
    scan.merges = scan.merges[: end.end()] if end else b""
    return scan


def _column(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _random_sheet(rng: random.Random) -> bytes:
    """Rows of plain, styled, shared and inline cells (English and Chinese texts, texts that look like
    markup), a namespace prefix, merged ranges before, inside and after the rows, rare outliers."""
    pre = rng.choice(["", "", "x:"])

    def merges() -> str:
        k = rng.randint(0, 6)
        if k == 0:
            return f'<{pre}mergeCells count="0"/>'
        return (f'<{pre}mergeCells count="{k}">' + "".join(f'<mergeCell ref="A{i}:{_column(rng.randint(1, 30))}{i}"/>'
                                                         for i in range(1, k + 1)) + f"</{pre}mergeCells>")

    out = ['<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="x">']
    if rng.random() < 0.1:
        out.append(merges())
    out.append(f"<{pre}sheetData>")
    r, width = 0, rng.choice([3, 15, 26, 30, 60])
    for _ in range(rng.randint(0, rng.choice([10, 80, 500]))):
        r += rng.choice([1, 1, 1, 2, 9, 150]) if rng.random() < 0.998 else rng.randint(1, 2_000_000)
        attrs = f' r="{r}"' if rng.random() < 0.95 else ""
        cells = []
        for c in range(1, rng.randint(0, width) + 1):
            rr = r if rng.random() > 0.001 else rng.choice([1048576, 1048577, 99999999, 99999, 500000])
            cc = c if rng.random() > 0.001 else rng.choice([16384, 16385, 702, 703, 18279])
            ref = f' r="{_column(cc)}{rr}"' if rng.random() < 0.97 else ""
            kind = rng.random()
            if kind < 0.3:
                cells.append(f"<{pre}c{ref}><{pre}v>{rng.randint(0, 10 ** rng.randint(1, 12))}</{pre}v></{pre}c>")
            elif kind < 0.6:
                text = rng.choice(["张三", "ABC", "mergeCells", 'x r="AB12"', "DEF GH", "中文" * 3, "13031468011"])
                cells.append(f'<{pre}c{ref} t="inlineStr"><{pre}is><{pre}t>{text}</{pre}t></{pre}is></{pre}c>')
            else:
                cells.append(f'<{pre}c{ref} s="1"/>')
        out.append(f"<{pre}row{attrs}>" + "".join(cells) + f"</{pre}row>")
        if rng.random() < 0.005:
            out.append(merges())
    out.append(f"</{pre}sheetData>")
    if rng.random() < 0.7:
        out.append(merges())
    out.append("</worksheet>")
    return "".join(out).encode()


def _outcome(path: Path, head_rows: int) -> object:
    try:
        return {k: vars(v) for k, v in limits.check_workbook(path, head_rows).items()}
    except LimitError as exc:
        return str(exc)


def test_same_results_as_the_block_by_block_scan(tmp_path, monkeypatch):
    rng = random.Random(12)
    for i in range(120):
        xml = _random_sheet(rng)
        path = part(tmp_path / f"r{i}.xlsx", xml)
        monkeypatch.setattr(limits, "BLOCK", max(rng.choice([64, 100, 333, 1000, 4096]), len(xml) // 100))
        monkeypatch.setattr(limits, "PIECE", rng.choice([16, 100, 1024]))
        monkeypatch.setattr(limits, "MIN_AREA_CHECKED", rng.choice([5_000_000, 1000]))
        monkeypatch.setattr(limits, "MAX_MERGES_XML", rng.choice([64 << 20, 300]))
        head_rows = rng.choice([0, 3, 320])
        new = _outcome(path, head_rows)
        with monkeypatch.context() as m:
            m.setattr(limits, "_scan_cells", _reference_scan)
            old = _outcome(path, head_rows)
        assert new == old, (i, limits.BLOCK, limits.PIECE)
