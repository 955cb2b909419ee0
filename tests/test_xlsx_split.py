"""A sheet's data area parsed in pieces on several cores (pbtool/xlsx_split.py) must give exactly the
table of the one-piece parse, or nothing (and then the one-piece parse is used): the same rows, the
same columns, the same types, on workbooks written by openpyxl and on hand-written XML with rows out
of order, rows without values before a cut and columns that change type between pieces."""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest
from builders import make_id, sqlite_dump
from test_columnar import messy_workbook

from pbtool import xlsx_split
from pbtool.importer import import_files
from pbtool.read import read_file
from pbtool.xlsx_fast import HEAD_ROWS

PIECES: list[bool] = []     # per load_pieces call: whether it gave a table


@pytest.fixture
def split(monkeypatch):
    """Pieces forced for any size (3 pieces); PIECES records each attempt's outcome."""
    real = xlsx_split.load_pieces
    PIECES.clear()

    def spy(*args, **kwargs):
        got = real(*args, **kwargs)
        PIECES.append(got is not None)
        return got

    monkeypatch.setattr(xlsx_split, "load_pieces", spy)
    monkeypatch.setattr(xlsx_split, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(xlsx_split, "usable_cores", lambda: 3)
    return monkeypatch


def data_area(path: Path, start: int, text: set[int] = frozenset()):
    return read_file(path).sheets[0].columns(start, set(text))


def both(path: Path, monkeypatch, start: int, text: set[int] = frozenset()):
    """(in pieces, in one piece)."""
    pieced = data_area(path, start, text)
    monkeypatch.setattr(xlsx_split, "SPLIT_MIN_BYTES", 1 << 60)
    whole = data_area(path, start, text)
    monkeypatch.setattr(xlsx_split, "SPLIT_MIN_BYTES", 0)
    return pieced, whole


def same(a, b) -> None:
    assert (a is None) == (b is None)
    if a is not None:
        assert a[1] == b[1]
        assert a[0].schema == b[0].schema
        assert a[0].to_pydict() == b[0].to_pydict()


def write_xml_workbook(path: Path, rows: list[tuple[int | None, list[tuple[str, object]]]]) -> Path:
    """A minimal .xlsx from hand-written sheet XML: each row (its number, or None for a row written
    without r="…") with cells (column letter, value: an int is a number, "" a formatted empty cell,
    "#N/A" an error cell, any other text an inline string)."""
    xml = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<dimension ref="A1:H9999"/><sheetData>']
    for r, cells in rows:
        xml.append(f'<row r="{r}">' if r is not None else "<row>")
        for col, v in cells:
            ref = f' r="{col}{r}"' if r is not None else ""
            if v == "":
                xml.append(f'<c{ref} s="1"/>')
            elif v == "#N/A":
                xml.append(f'<c{ref} t="e"><f>VLOOKUP(1,B:B,2,0)</f><v>#N/A</v></c>')
            elif isinstance(v, int):
                xml.append(f"<c{ref}><v>{v}</v></c>")
            else:
                xml.append(f'<c{ref} t="inlineStr"><is><t>{v}</t></is></c>')
        xml.append("</row>")
    xml.append("</sheetData></worksheet>")
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>",
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="花名册" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        "</Relationships>",
        "xl/styles.xml": '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf/><xf applyBorder="1"/></cellXfs></styleSheet>',
        "xl/worksheets/sheet1.xml": "".join(xml),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


def member_cells(k: int) -> list[tuple[str, object]]:
    return [("A", k), ("B", f"成员{k}"), ("C", make_id(3000 + k)), ("D", "正式党员")]


HEAD = [(1, [("A", "序号"), ("B", "姓名"), ("C", "身份证号"), ("D", "人员类别")])]
N = HEAD_ROWS + 300


def test_pieces_of_an_openpyxl_workbook_give_the_whole_sheets_table(tmp_path, split):
    """Shared strings, dates, a column empty in the first rows and numbers later, a value far right in
    one late row only, formatted empty rows at the end."""
    path = tmp_path / "东湖街道党员花名册.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "姓名", "身份证号", "出生日期", "人员类别", "联系电话", "备注"])
    for k in range(N):
        ws.append([k + 1, f"党员{k % 50}", make_id(k + 1), dt.datetime(1970, 1, 1) + dt.timedelta(days=17 * k),
                   "预备党员" if k % 9 == 0 else "正式党员", 13800000000 + k if k > N // 2 else None, None])
    ws.cell(N - 5, 9, "最右一格")                  # one value in column I, late in the sheet
    for r in range(N + 2, N + 30):               # formatted, empty
        ws.cell(r, 2).border = openpyxl.styles.Border(left=openpyxl.styles.Side(style="thin"))
    wb.save(path)
    pieced, whole = both(path, split, 1)
    assert PIECES == [True]                       # really read in pieces
    same(pieced, whole)
    table, cols = pieced
    assert cols == list(range(9)) and table.num_rows == N
    assert table.column(8).to_pylist()[N - 7] == "最右一格"
    # the text-only columns (looked at for 合计 words only) stay text in every piece
    pieced, whole = both(path, split, 1, {0, 5})
    same(pieced, whole)
    assert str(pieced[0].schema.field(0).type) == "string"


def test_the_pieces_are_of_the_sheet_that_was_cut_not_the_first_sheet(tmp_path, split):
    """The roster on the second sheet, the first holding only error cells (#N/A, read as empty): the
    pieces must parse the roster (before the fix they parsed sheet 1, whose empty rows passed every
    check and replaced the roster)."""
    path = tmp_path / "东湖街道党员花名册.xlsx"
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "汇总"
    for r in range(1, 40):
        for c in range(1, 6):
            first.cell(r, c).value = "#N/A"
            first.cell(r, c).data_type = "e"
    ws = wb.create_sheet("花名册")
    ws.append(["序号", "姓名", "身份证号", "人员类别"])
    for k in range(N):
        ws.append([k + 1, f"党员{k}", make_id(k + 1), "正式党员"])
    wb.save(path)
    sheets = read_file(path).sheets
    assert [s.name for s in sheets] == ["汇总", "花名册"]
    pieced = sheets[1].columns(1, set())
    split.setattr(xlsx_split, "SPLIT_MIN_BYTES", 1 << 60)
    whole = read_file(path).sheets[1].columns(1, set())
    assert PIECES == [True]
    same(pieced, whole)
    assert pieced[0].num_rows == N and pieced[0].column(1).to_pylist()[-1] == f"党员{N - 1}"


def test_rows_without_values_before_a_cut_are_kept_as_empty_rows(tmp_path, split):
    rows = list(HEAD)
    for k in range(2, N):
        # a long stretch of formatted empty rows in the middle, where the cuts fall, and a gap of
        # missing rows
        if N // 3 - 40 < k < N // 3 + 40 or 2 * N // 3 - 40 < k < 2 * N // 3 + 40:
            rows.append((k, [("B", ""), ("C", "")]))
        elif k % 50 == 7:
            continue
        else:
            rows.append((k, member_cells(k)))
    rows.append((N + 5, [("A", ""), ("B", "")]))
    path = write_xml_workbook(tmp_path / "名单.xlsx", rows)
    pieced, whole = both(path, split, 1)
    assert PIECES == [True]
    same(pieced, whole)
    assert pieced[0].num_rows == N - 2    # up to the last row holding a value


def test_rows_out_of_order_fall_back_to_the_one_piece_parse(tmp_path, split):
    rows = list(HEAD) + [(k, member_cells(k)) for k in range(2, N) if k != 40]
    rows.append((40, member_cells(40)))              # written last: its place is in the first piece
    path = write_xml_workbook(tmp_path / "名单.xlsx", rows)
    pieced, whole = both(path, split, 1)
    assert PIECES == [False]
    same(pieced, whole)
    assert pieced[0].column(1).to_pylist()[38] == "成员40"   # row 40 where it belongs


def test_error_cells_in_their_rows_are_cut_but_one_addressed_upwards_is_not(tmp_path, split):
    """#N/A reads as empty. In its own row it is just an empty cell of the piece; written in a late row
    but addressed to an early one (a damaged file), the one-piece parse lets it replace that cell, and
    the pieces could not tell: such a sheet is not cut."""
    rows = list(HEAD) + [(k, member_cells(k) + ([("E", "#N/A")] if k % 7 == 0 else [])) for k in range(2, N)]
    path = write_xml_workbook(tmp_path / "名单.xlsx", rows)
    pieced, whole = both(path, split, 1)
    assert PIECES == [True]
    same(pieced, whole)
    path = write_xml_workbook(tmp_path / "损坏.xlsx", list(HEAD) + [(k, member_cells(k)) for k in range(2, N)])
    text = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    text = text.replace(b"</row></sheetData>", b'<c r="B40" t="e"><v>#N/A</v></c></row></sheetData>')
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/sheet1.xml"] = text
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    PIECES.clear()
    pieced, whole = both(path, split, 1)
    assert PIECES == []                              # not cut
    same(pieced, whole)
    assert whole[0].column(1).to_pylist()[38] is None   # B40: the late #N/A replaced 成员40


def test_rows_without_numbers_are_not_cut(tmp_path, split):
    rows = list(HEAD) + [(None, member_cells(k)) for k in range(2, N)]
    path = write_xml_workbook(tmp_path / "名单.xlsx", rows)
    pieced, whole = both(path, split, 1)
    assert PIECES == []                              # not even tried: no row number at a cut
    same(pieced, whole)


def test_a_column_of_another_type_in_a_later_piece_is_mixed_as_in_the_whole_sheet(tmp_path, split):
    rows = list(HEAD)
    for k in range(2, N):
        cells = member_cells(k)
        if k > 2 * N // 3:
            cells[0] = ("A", f"第{k}号")              # 序号 as text in the last third only
        rows.append((k, cells))
    path = write_xml_workbook(tmp_path / "名单.xlsx", rows)
    pieced, whole = both(path, split, 1)
    assert whole is None and pieced is None          # strict: mixed types are refused either way
    pieced, whole = both(path, split, 1, {0})        # read as text: then both give the table
    same(pieced, whole)
    assert pieced is not None and PIECES[-1] is True


def test_an_import_in_pieces_stores_what_the_one_piece_import_stores(tmp_path, split):
    path = messy_workbook(tmp_path / "东湖街道党员花名册.xlsx")
    dumps = []
    for minimum in (0, 1 << 60):
        split.setattr(xlsx_split, "SPLIT_MIN_BYTES", minimum)
        db = str(tmp_path / f"s{minimum}.db")
        r = import_files([path], "2026Q3", db, street="东湖街道")
        problems = [(p.sheet, p.row, p.column, p.code, p.value) for p in r.problems]
        dump = [re.sub(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+'", "'时刻'", line) for line in sqlite_dump(db)]
        dumps.append((problems, dump))
    assert True in PIECES                            # the first import really read a sheet in pieces
    assert dumps[0] == dumps[1]
    con = sqlite3.connect(tmp_path / "s0.db")
    assert con.execute("select count(*) from members").fetchone()[0] > HEAD_ROWS
    con.close()


def test_only_sheets_of_a_middling_size_are_cut_and_only_on_several_cores(monkeypatch):
    info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
    monkeypatch.setattr(xlsx_split, "usable_cores", lambda: 2)
    for size, want in ((xlsx_split.SPLIT_MIN_BYTES - 1, 1), (xlsx_split.SPLIT_MIN_BYTES, 2),
                       (xlsx_split.SPLIT_MAX_BYTES, 2), (xlsx_split.SPLIT_MAX_BYTES + 1, 1)):
        info.file_size = size
        assert xlsx_split.pieces_wanted(info) == want
    monkeypatch.setattr(xlsx_split, "usable_cores", lambda: 1)
    info.file_size = xlsx_split.SPLIT_MIN_BYTES
    assert xlsx_split.pieces_wanted(info) == 1
    monkeypatch.setattr(xlsx_split, "usable_cores", lambda: 16)
    assert xlsx_split.pieces_wanted(info) == xlsx_split.MAX_PIECES


def test_the_cores_counted_are_those_the_process_may_use(monkeypatch):
    import os

    if hasattr(os, "sched_getaffinity"):
        assert xlsx_split.usable_cores() == len(os.sched_getaffinity(0))
        monkeypatch.delattr(os, "sched_getaffinity")    # as on Windows
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert xlsx_split.usable_cores() == 6
