"""The columnar reader (issue 12) against the row-by-row one: the same messy workbook imported both ways
must store the same rows, problems and sheet counts. Sheets are longer than the head copy (320 rows),
so the data area really goes through fastexcel; a sheet with a mixed-type column must fall back."""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from builders import make_id, sqlite_dump

from pbtool.importer import import_files
from pbtool.read import read_file
from pbtool.xlsx_fast import HEAD_ROWS

HEADER = ["序号", "姓名", "性别", "身份证号", "出生日期", "人员类别", "所在党支部", "工作单位", "爱好"]


def messy_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(["东湖街道党员花名册"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(HEADER)
    n = 0
    merge_top = 0
    for i in range(HEAD_ROWS + 300):
        r = ws.max_row + 1
        if i == 40:
            ws.append([])                       # a blank row
            continue
        if i == 41:
            ws.append(["  ", " ", "", "   "])   # a row of spaces
            continue
        if i == 200:
            ws.append(HEADER)                   # the header printed again mid-sheet
            continue
        if i == 380:
            ws.append(["合计", "", "", "", "", "", "", "", ""])
            continue
        n += 1
        ident = make_id(n) if i != 500 else make_id(n)[:17] + "0"     # one bad check digit
        if i == 510:
            ident = make_id(3)                                          # a duplicate of row 3's member
        ws.append([n if i % 97 else None, f"党员{n}", "男" if n % 2 else "女", ident,
                   (dt.date(1980, 1, 1) + dt.timedelta(days=n)).isoformat(), "预备党员" if n % 9 == 0 else "正式党员",
                   "第一党支部" if n % 3 else "第二党支部", f"青湖{n % 17}号公司" if n % 5 else "",
                   "书法" if n % 11 == 0 else None])
        if i == 350:   # the branch merged down over four rows: their own cells empty
            merge_top = r
    for k in range(1, 4):
        ws.cell(merge_top + k, 7).value = None
    ws.merge_cells(start_row=merge_top, start_column=7, end_row=merge_top + 3, end_column=7)
    last = ws.max_row + 1
    ws.cell(last, 1, "注：本表由各支部填报，请核对身份证号。")   # a note box over the data width
    ws.merge_cells(start_row=last, start_column=1, end_row=last + 1, end_column=len(HEADER))
    ws.cell(last + 2, 1, "填表人：张三")
    mixed = wb.create_sheet("第二党支部")
    mixed.append(HEADER[:7])
    for k in range(HEAD_ROWS + 50):
        ident = make_id(5000 + k)
        mixed.append([k + 1, f"成员{k}", "女", float(ident) if k == HEAD_ROWS + 10 else ident,
                      "1990-02-03", "正式党员", "第二党支部"])
    typed = wb.create_sheet("第三党支部")   # cells of other types, one type per column: read by columns
    typed.append(["姓名", "身份证号", "出生日期", "人员类别", "联系电话", "是否失联"])
    for k in range(HEAD_ROWS + 40):
        typed.append([f"成员{k}", make_id(9000 + k), dt.datetime(1970, 1, 1) + dt.timedelta(days=30 * k),
                      "正式党员", 13800000000 + k, k % 7 == 0])
    wb.save(path)
    return path


COLUMNAR_SHEETS: list[str] = []


def import_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Path) -> tuple[list, list]:
    """Import with the columnar reader, then with the row reader; COLUMNAR_SHEETS names the sheets the
    first import really read by columns."""
    import pbtool.importer as imp

    real = imp._special_rows
    COLUMNAR_SHEETS.clear()

    def spy(table, *args):
        COLUMNAR_SHEETS.append(table.num_rows)
        return real(table, *args)

    monkeypatch.setattr(imp, "_special_rows", spy)
    out = []
    for flag in ("1", "0"):
        monkeypatch.setenv("PBTOOL_COLUMNAR", flag)
        db = str(tmp_path / f"c{flag}.db")
        r = import_files([path], "2026Q3", db, street="东湖街道")
        summary = [(s.sheet, s.rows, s.footer_rows, s.blank_rows, s.note_rows, s.header_repeats, s.errors)
                   for s in r.sheets]
        problems = [(p.sheet, p.row, p.column, p.code, p.value) for p in r.problems]
        dump = [re.sub(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+'", "'时刻'", line) for line in sqlite_dump(db)]
        out.append((summary, problems, dump))
    return out[0], out[1]


def test_columnar_reader_stores_what_the_row_reader_stores(tmp_path, monkeypatch):
    path = messy_workbook(tmp_path / "东湖街道党员花名册.xlsx")
    monkeypatch.setenv("PBTOOL_COLUMNAR", "1")
    f = read_file(path)
    first, second, third = f.sheets
    assert first.columns is not None and first.prefix is not None
    assert first.columns(2, {0}) is not None          # the first sheet really is read by columns
    assert first.columns(2, set()) is None            # 序号 holds numbers and 合计: only as text
    assert second.columns(1, {0}) is None             # one number cell among the IDs: row by row
    table, cols = third.columns(1, set())
    assert cols == [0, 1, 2, 3, 4, 5] and table.num_rows == HEAD_ROWS + 40
    fast, rows = import_both(tmp_path, monkeypatch, path)
    assert len(COLUMNAR_SHEETS) == 2     # 花名册 and 第三党支部 by columns; 第二党支部 row by row
    assert fast[0] == rows[0]
    assert fast[1] == rows[1]
    assert fast[2] == rows[2]
    summary = dict((s[0], s[1:]) for s in fast[0])
    # the special rows were seen: blank, spaces, a repeated header, 合计 + 填表人, the note box
    footer, blank, notes, repeats = summary["花名册"][1:5]
    assert footer >= 2 and blank >= 2 and notes >= 1 and repeats == 1
    codes = {c for _, _, _, c, _ in fast[1]}
    assert {"ID_CHECKSUM", "DUPLICATE_PERSON", "ID_NUMBER_CELL"} <= codes


def test_merged_branch_fills_its_rows_on_both_readers(tmp_path, monkeypatch):
    path = messy_workbook(tmp_path / "东湖街道党员花名册.xlsx")
    import_both(tmp_path, monkeypatch, path)
    for flag in ("1", "0"):
        con = sqlite3.connect(tmp_path / f"c{flag}.db")
        # three rows had no branch of their own: the merge over them gives it
        blank = con.execute("select count(*) from members where sheet='花名册' and (branch is null or branch='')")
        assert blank.fetchone() == (0,)
        con.close()


def test_staged_insert_stores_what_executemany_stores(tmp_path, monkeypatch):
    """The Arrow/ADBC stage (large sheets on SQLite) against executemany: same rows, same aggregates,
    and no scratch file left beside the store, also when the import is refused after staging."""
    import pbtool.store as st

    path = messy_workbook(tmp_path / "东湖街道党员花名册.xlsx")
    dumps = []
    for min_rows in (1, 10**9):
        monkeypatch.setattr(st, "STAGE_MIN_ROWS", min_rows)
        folder = tmp_path / f"s{min_rows}"
        folder.mkdir()
        db = str(folder / "store.db")
        import_files([path], "2026Q3", db, street="东湖街道")
        assert sorted(p.name for p in folder.iterdir()) == ["store.db"] or \
            not [p for p in folder.iterdir() if p.name.startswith(".pbtool-stage")]
        dumps.append([re.sub(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+'", "'时刻'", line) for line in sqlite_dump(db)])
    assert dumps[0] == dumps[1]
    assert any(line.startswith('INSERT INTO "members"') for line in dumps[0])


def test_a_failure_after_staging_leaves_the_store_and_folder_as_they_were(tmp_path, monkeypatch):
    import pbtool.importer as imp
    import pbtool.store as st

    monkeypatch.setattr(st, "STAGE_MIN_ROWS", 1)
    path = messy_workbook(tmp_path / "东湖街道党员花名册.xlsx")
    db = str(tmp_path / "store.db")
    import_files([path], "2026Q3", db, street="东湖街道")
    before = sqlite_dump(db)

    def boom(*args, **kwargs):
        raise RuntimeError("磁盘已满（测试）")

    monkeypatch.setattr(imp.st.Store, "update_aggregates", boom)   # after the rows were staged and inserted
    with pytest.raises(RuntimeError):
        import_files([path], "2026Q3", db, street="东湖街道", mode="replace")
    assert sqlite_dump(db) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pbtool-stage")]


def test_deep_header_tick_box_ledger_same_on_both_readers(tmp_path, monkeypatch):
    """The 非公有制经济组织工作台账 layout of test_layouts (3 title rows, 3 merged header rows, √ sub-columns)
    with 400 organizations: read by columns (a real fastexcel load) it stores what the row reader stores,
    tick-box problems included."""
    from test_layouts import unpublic_ledger

    patterns = [("私营企业", 120, "否", ""), ("港澳台商投资企业", 40, "是", "单独建立"), ("外商投资企业", 15, "是", "网格建立"),
                ("私营企业", 8, "是", "单独建立+联合建立"), ("私营企业", 9, "是", "")]
    orgs = [(f"青湖第{k}贸易有限公司", *patterns[k % 5]) for k in range(400)]
    path = unpublic_ledger(tmp_path / "东湖街道非公有制经济组织工作台账.xlsx", orgs)
    monkeypatch.setenv("PBTOOL_COLUMNAR", "1")
    [sheet] = read_file(path).sheets
    assert sheet.columns is not None and sheet.columns(6, {0, 1}) is not None
    fast, rows = import_both(tmp_path, monkeypatch, path)
    assert COLUMNAR_SHEETS == [400]
    assert fast == rows
    assert sum(1 for p in fast[1] if p[3] == "TICK_MANY") == 80 and sum(1 for p in fast[1] if p[3] == "TICK_NONE") == 80
