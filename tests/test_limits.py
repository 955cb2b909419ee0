"""Issue 10: limits before parsing. Small hostile workbooks built byte by byte; each is refused with a
Chinese message and exit 2 before python-calamine sees it, and the store is left exactly as it was."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from builders import ROSTER_HEADER, member, write_xlsx, sqlite_dump as dump

from pbtool import limits
from pbtool.errors import LimitError
from pbtool.importer import find_near_misses, import_files

ROOT = Path(__file__).resolve().parents[1]
NS = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
HEAD_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c><c r="B1" t="inlineStr"><is><t>身份证号</t></is></c></row>'


def xlsx(path, sheet_xml, shared=None):
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' if shared else '') +
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="花名册" sheetId="1" r:id="rId1"/></sheets></workbook>')
    wbrels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
              + ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>' if shared else '')
              + '</Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", wbrels)
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared:
            z.writestr("xl/sharedStrings.xml", shared)
    return path



@pytest.fixture
def db(sqlite_db: str) -> str:
    """These tests read and lock the SQLite file itself (iterdump, BEGIN IMMEDIATE, file modes), so
    they run on SQLite; PostgreSQL's serialized imports and messages are in test_postgres.py."""
    return sqlite_db



def pbtool(*args: str) -> subprocess.CompletedProcess:
    """The real command in its own process: a failed limit would abort it, not the test run."""
    return subprocess.run([sys.executable, "-m", "pbtool", *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"})


@pytest.fixture
def store(tmp_path):
    db = str(tmp_path / "store.db")
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(i) for i in range(1, 4)])})
    import_files([f], "2026Q3", db)
    return db


def refused(path: Path, db: str, expect: str) -> None:
    before = dump(db)
    res = pbtool("import", str(path), "--period", "2026Q3", "--db", db, "--street", "西山街道")
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert expect in res.stderr and "未导入" in res.stderr and "Traceback" not in res.stderr
    assert dump(db) == before
    import resource
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2 * 1024 * 1024   # KiB: under 2 GB


def test_one_far_cell_is_refused_before_calamine(tmp_path, store):
    p = xlsx(tmp_path / "far.xlsx", NS + "<sheetData>" + HEAD_ROW +
             '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
    assert p.stat().st_size < 2048
    refused(p, store, "XFD1048576")


def test_declared_dimension_far_beyond_the_data_is_refused(tmp_path, store):
    p = xlsx(tmp_path / "dim.xlsx", NS + '<dimension ref="A1:XFD1048576"/><sheetData>' + HEAD_ROW +
             "</sheetData></worksheet>")
    refused(p, store, "个单元格的范围")


def test_dimension_beyond_excel_is_refused(tmp_path, store):
    p = xlsx(tmp_path / "big.xlsx", NS + '<dimension ref="A1:B2000000"/><sheetData>' + HEAD_ROW +
             "</sheetData></worksheet>")
    refused(p, store, "超过 Excel 上限")


def test_cell_over_32767_characters_is_refused(tmp_path, store):
    long = "某" * 40_000
    p = xlsx(tmp_path / "long.xlsx", NS + "<sheetData>" + HEAD_ROW +
             '<row r="2"><c r="A2" t="s"><v>0</v></c></row></sheetData></worksheet>',
             shared=f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>{long}</t></si></sst>')
    refused(p, store, "32,767")
    p = xlsx(tmp_path / "inline.xlsx", NS + "<sheetData>" + HEAD_ROW +
             f'<row r="2"><c r="A2" t="inlineStr"><is><t>{long}</t></is></c></row></sheetData></worksheet>')
    refused(p, store, "32,767")   # inline strings: checked when the sheet holds far more bytes than cells


def test_a_string_of_exactly_32767_characters_passes(tmp_path):
    ok = "某" * 32_767
    p = xlsx(tmp_path / "ok.xlsx", NS + "<sheetData>" + HEAD_ROW +
             '<row r="2"><c r="A2" t="s"><v>0</v></c></row></sheetData></worksheet>',
             shared=f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>{ok}</t></si></sst>')
    limits.check_workbook(p)   # no exception


def test_huge_shared_strings_streamed_and_refused(tmp_path, monkeypatch):
    # 3 MB in one string, read in 1 MB blocks: refused without decoding it whole
    p = xlsx(tmp_path / "sst.xlsx", NS + "<sheetData>" + HEAD_ROW + "</sheetData></worksheet>",
             shared='<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
                    + "a" * (3 << 20) + "</t></si></sst>")
    with pytest.raises(LimitError, match="32,767"):
        limits.check_workbook(p)


def test_zip_of_empty_rows_is_refused_by_its_ratio(tmp_path, store, monkeypatch):
    monkeypatch.setattr(limits, "RATIO_MIN_SIZE", 1 << 20)
    rows = "<row/>" * 1_000_000   # rows of nothing: a few KB that inflate to MBs
    p = xlsx(tmp_path / "bomb.xlsx", NS + "<sheetData>" + HEAD_ROW + rows + "</sheetData></worksheet>")
    info = zipfile.ZipFile(p).getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size / info.compress_size > limits.MAX_RATIO
    with pytest.raises(LimitError, match="压缩比异常"):
        limits.check_workbook(p)


def test_near_miss_check_skips_absurdly_long_names():
    name = "某" * 32_767 + "有限公司"
    t = time.perf_counter()
    assert find_near_misses({name}, {"某" * 32_766 + "有限公司": "x"}) == {}
    assert time.perf_counter() - t < 5


@pytest.mark.parametrize("stray", ['<c r="A1048576"/>', '<c r="XFD403"/><c r="A1048576"/>'])
def test_stray_cells_far_below_and_far_right_are_refused(tmp_path, store, stray):
    """A short sheet with a cell at A1048576 (and at XFD403) inside an early <row>, not the last one: the
    box calamine would allocate is 1,048,576 rows deep."""
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>x{r}</t></is></c></row>' for r in range(2, 400))
    p = xlsx(tmp_path / "stray.xlsx", NS + "<sheetData>" + HEAD_ROW + rows +
             f'<row r="403">{stray}</row>'
             + '<row r="404"><c r="A404" t="inlineStr"><is><t>end</t></is></c></row></sheetData></worksheet>')
    refused(p, store, "未导入")


@pytest.mark.parametrize("inflater", ["isal", "zlib"])
@pytest.mark.parametrize("damage", ["crc", "deflate", "encrypted"])
def test_damaged_compressed_data_is_refused_in_chinese(tmp_path, store, monkeypatch, inflater, damage):
    """A damaged copy (a byte flipped in the sheet's compressed data): the limits scan inflates every
    part and refuses it with one Chinese line, whether ISA-L (limits.open_part, for a part of more than
    one block) or zipfile's zlib inflates it; before, zlib's error ended the import as an internal
    error. A part marked encrypted is refused as such."""
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>党员{r:05d}</t></is></c>'
                   f'<c r="B{r}"><v>{r * 7919 % 100003}</v></c></row>' for r in range(2, 40_000))
    p = xlsx(tmp_path / "东湖街道花名册.xlsx", NS + "<sheetData>" + HEAD_ROW + rows + "</sheetData></worksheet>")
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(p.read_bytes())
    start = info.header_offset + 30 + int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little") \
        + int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    if damage == "crc":
        data[start + info.compress_size // 2] ^= 0x55
    elif damage == "deflate":   # not deflate data at all: found where the part's head is read
        data[start:start + 4] = b"\xff\xff\xff\xff"
    else:   # the "encrypted" flag in the central directory's entry of the sheet
        central = _central_entry(data, info.filename)
        data[central + 8] |= 0x1
    p.write_bytes(bytes(data))
    opened = []
    if inflater == "zlib":
        monkeypatch.setattr(limits, "_isal", None)
    else:
        assert limits._isal is not None, "python-isal is a dependency"
        monkeypatch.setattr(limits, "BLOCK", 1 << 16)       # a part of many blocks: inflated by the thread
        real = limits._Inflated
        monkeypatch.setattr(limits, "_Inflated", lambda *a: opened.append(a[1].filename) or real(*a))
    before = dump(store)
    with pytest.raises(Exception) as caught:
        import_files([p], "2026Q3", store, street="东湖街道")
    message = str(caught.value)
    assert type(caught.value).__name__ == "InputError" and "sheet1.xml" in message
    assert ("加密" if damage == "encrypted" else "已损坏") in message and "（）" not in message
    assert "未导入" in message and dump(store) == before
    assert opened == (["xl/worksheets/sheet1.xml"] if (inflater, damage) == ("isal", "crc") else [])
    if (inflater, damage) == ("isal", "deflate"):   # ISA-L's own error comes out as zipfile's zlib.error
        import zlib
        with zipfile.ZipFile(p) as z, pytest.raises(zlib.error), limits.open_part(z, info) as fh:
            fh.read(1 << 16)


def _central_entry(data: bytearray, name: str) -> int:
    """Where the zip's central directory entry of `name` begins."""
    at = data.index(b"PK\x01\x02")
    while True:
        name_len = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + name_len].decode() == name:
            return at
        extra, comment = int.from_bytes(data[at + 30:at + 32], "little"), int.from_bytes(data[at + 32:at + 34], "little")
        at += 46 + name_len + extra + comment
