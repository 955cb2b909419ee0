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
    made: list = []
    files: dict[str, int] = {}
    real = st._create_stage_file

    def counted(p):
        made.append(p)
        real(p)

    monkeypatch.setattr(st, "_create_stage_file", counted)
    # staged whole; staged in pieces (a thread writes the next piece while one is moved in); executemany;
    # staged in pieces of which the second cannot be made (a full disk): the rest bound one by one
    for case, min_rows, piece_rows in (("whole", 1, 10**9), ("pieces", 1, 1), ("rows", 10**9, 10**9),
                                       ("second_fails", 1, 1)):
        monkeypatch.setattr(st, "STAGE_MIN_ROWS", min_rows)
        monkeypatch.setattr(st, "STAGE_PIECE_MIN_ROWS", piece_rows)
        if case == "second_fails":
            def full_disk(p):
                made.append(p)
                if len(made) == 2:
                    raise OSError(28, "磁盘已满（测试）")
                real(p)
            monkeypatch.setattr(st, "_create_stage_file", full_disk)
        made.clear()
        folder = tmp_path / case
        folder.mkdir()
        db = str(folder / "store.db")
        import_files([path], "2026Q3", db, street="东湖街道")
        assert not [p for p in folder.iterdir() if p.name.startswith(".pbtool-stage")]
        files[case] = len(made)
        dumps.append([re.sub(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+'", "'时刻'", line) for line in sqlite_dump(db)])
    assert dumps[0] == dumps[1] == dumps[2] == dumps[3]
    assert any(line.startswith('INSERT INTO "members"') for line in dumps[0])
    # each staged table (members, aggregates) one file whole, up to STAGE_PIECES in pieces; the failed
    # import made its second file only
    assert files["rows"] == 0 and 0 < files["whole"] < files["pieces"] and files["second_fails"] >= 2


def test_a_failure_after_staging_leaves_the_store_and_folder_as_they_were(tmp_path, monkeypatch):
    import pbtool.store as st

    monkeypatch.setattr(st, "STAGE_MIN_ROWS", 1)
    path = messy_workbook(tmp_path / "东湖街道党员花名册.xlsx")
    db = str(tmp_path / "store.db")
    import_files([path], "2026Q3", db, street="东湖街道")
    before = sqlite_dump(db)

    def boom(*args, **kwargs):
        raise RuntimeError("磁盘已满（测试）")

    monkeypatch.setattr(st.Store, "update_aggregates", boom)   # after the rows were staged and inserted
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


# ---------------------------------------------------------------- found in review (both readers agree)


def test_header_repeated_with_trailing_spaces_is_not_a_member_on_either_reader(tmp_path, monkeypatch):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER[:7])
    for k in range(HEAD_ROWS + 80):
        if k == HEAD_ROWS + 40:
            ws.append(["序号 ", *HEADER[1:7]])   # printed again, with a trailing space in its first cell
            continue
        ws.append([k + 1, f"党员{k}", "男", make_id(k + 1), "1980-01-01", "正式党员", "第一党支部"])
    path = tmp_path / "东湖街道花名册.xlsx"
    wb.save(path)
    fast, rows = import_both(tmp_path, monkeypatch, path)
    assert fast == rows
    assert fast[0][0][5] == 1 and fast[0][0][1] == HEAD_ROWS + 79    # one header repeat, never a member


def test_a_form_with_formatted_empty_rows_below_is_still_a_form(tmp_path, monkeypatch):
    from test_layouts import person_form

    wb = openpyxl.Workbook()
    person_form(wb.active, 7, "张伟", "正式党员", "朝阳社区第一党支部")
    for r in range(10, 400):            # rows with a height only: no value
        wb.active.row_dimensions[r].height = 18
    path = tmp_path / "东湖街道党员基本信息采集表.xlsx"
    wb.save(path)
    fast, rows = import_both(tmp_path, monkeypatch, path)
    assert fast == rows and [s[1] for s in fast[0]] == [1]


def test_a_broken_cell_below_the_head_gives_the_chinese_message(tmp_path, monkeypatch):
    import zipfile

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER[:7])
    for k in range(HEAD_ROWS + 80):
        ws.append([k + 1, f"党员{k}", "男", make_id(k + 1), "1980-01-01", "正式党员", "第一党支部"])
    good = tmp_path / "good.xlsx"
    wb.save(good)
    bad = tmp_path / "东湖街道花名册.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":   # row 380's name: a shared string that does not exist
                head, sep, rest = data.partition(b'<c r="B380" t="inlineStr">')
                assert sep
                data = head + b'<c r="B380" t="s"><v>999999</v></c>' + rest[rest.index(b"</c>") + 4:]
            dst.writestr(info, data)
    from pbtool.read import ReadError
    monkeypatch.setenv("PBTOOL_COLUMNAR", "1")
    db = tmp_path / "s.db"
    with pytest.raises(ReadError, match="无法读取"):
        import_files([bad], "2026Q3", str(db), street="东湖街道")
    assert not db.exists() or not [line for line in sqlite_dump(str(db)) if line.startswith('INSERT INTO "members"')]


def test_stale_scratch_databases_of_dead_imports_are_deleted_on_open(tmp_path):
    """kill -9 cannot clean up: the next command that opens the store deletes what a dead import left."""
    import subprocess
    import sys

    from pbtool.store import Store

    db = tmp_path / "store.db"
    Store.open(str(db)).close()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".pbtool-stage-{dead.stdout.strip()}-0badf00d.db"
    stale.write_bytes(b"rows of members")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        busy = tmp_path / f".pbtool-stage-{alive.pid}-0badf00d.db"   # another import, still running
        busy.write_bytes(b"rows of members")
        Store.open(str(db)).close()
        assert not stale.exists() and busy.exists()
    finally:
        alive.kill()
        alive.wait()


def test_terminating_an_import_while_it_stages_leaves_no_rows_behind(tmp_path):
    """SIGTERM (the window closed, `kill`) during the staged write: rolled back, scratch file deleted."""
    import signal
    import subprocess
    import sys
    import time

    import xlsxwriter

    path = tmp_path / "东湖街道花名册.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("花名册")
    ws.write_row(0, 0, HEADER[:7])
    for k in range(1, 150_001):
        ws.write_row(k, 0, [k, f"党员{k}", "男", make_id(k), "1980-01-01", "正式党员", f"第{k % 50}党支部"])
    wb.close()
    db = tmp_path / "store.db"
    import_files([messy_workbook(tmp_path / "西山街道花名册.xlsx")], "2026Q3", str(db), street="西山街道")
    before = sqlite_dump(str(db))
    proc = subprocess.Popen([sys.executable, "-m", "pbtool", "import", str(path), "--period", "2026Q3",
                             "--db", str(db), "--street", "东湖街道"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    seen = False
    while proc.poll() is None and time.monotonic() < deadline:
        if list(tmp_path.glob(".pbtool-stage-*.db")):
            seen = True
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.005)
    _out, err = proc.communicate(timeout=120)
    assert seen, "the import finished before its scratch database was seen"
    assert proc.returncode == 130 and "已取消" in err and "Traceback" not in err
    assert not list(tmp_path.glob(".pbtool-stage-*"))
    assert sqlite_dump(str(db)) == before


def test_a_stage_that_cannot_be_written_falls_back_to_row_inserts(tmp_path, monkeypatch):
    import pbtool.store as st

    monkeypatch.setattr(st, "STAGE_MIN_ROWS", 1)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    import adbc_driver_sqlite
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return full_disk()

    monkeypatch.setattr(adbc_driver_sqlite, "connect", counted)   # the stage's connection
    path = messy_workbook(tmp_path / "东湖街道党员花名册.xlsx")
    r = import_files([path], "2026Q3", str(tmp_path / "s.db"), street="东湖街道")
    assert calls, "the stage was never tried"
    assert r.imported["roster"] > 600
    con = sqlite3.connect(tmp_path / "s.db")
    assert con.execute("select count(*) from members").fetchone() == (r.imported["roster"],)
    con.close()
    assert not list(tmp_path.glob(".pbtool-stage-*"))


def test_a_sheet_read_row_by_row_after_the_head_copy_may_be_named_anything(tmp_path, monkeypatch):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "wb"                      # the name once collided with the reader's own cache key
    ws.append(HEADER[:7])
    for k in range(HEAD_ROWS + 30):
        ident = make_id(k + 1)
        ws.append([k + 1, f"党员{k}", "男", float(ident) if k == 5 else ident, "1980-01-01", "正式党员", "第一党支部"])
    path = tmp_path / "东湖街道花名册.xlsx"
    wb.save(path)
    fast, rows = import_both(tmp_path, monkeypatch, path)
    assert fast == rows and COLUMNAR_SHEETS == [] and fast[0][0][1] == HEAD_ROWS + 30


def test_a_sheet_whose_cells_begin_at_column_c_is_numbered_from_a_on_both_readers(tmp_path, monkeypatch):
    """Columns A and B empty, the table from column C: fastexcel numbers the loaded columns from the
    first used one, and pbtool puts them back at their letters (the columns' positions come from the
    load itself). Both readers store the same rows and problems, with the problems at the right letters."""
    path = tmp_path / "西山街道花名册.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.cell(1, 3, "西山街道党员花名册")
    for c, h in enumerate(["姓名", "身份证号", "人员类别", "所在党支部", "工作单位"], start=3):
        ws.cell(2, c, h)
    for k in range(HEAD_ROWS + 60):
        ident = make_id(7000 + k)
        if k == HEAD_ROWS + 7:
            ident = ident[:-1] + ("0" if ident[-1] != "0" else "1")   # a wrong check digit below the head
        for c, v in enumerate([f"成员{k}", ident, "预备党员" if k % 9 == 0 else "正式党员", f"第{k % 4 + 1}党支部",
                               "西山物流有限公司"], start=3):
            ws.cell(3 + k, c, v)
    wb.save(path)
    f = read_file(path)
    table, cols = f.sheets[0].columns(2, set())
    assert cols == [2, 3, 4, 5, 6] and table.num_rows == HEAD_ROWS + 60
    fast, rows = import_both(tmp_path, monkeypatch, path)
    assert len(COLUMNAR_SHEETS) == 1     # the sheet really went through fastexcel
    assert fast == rows
    bad = [p for p in fast[1] if p[3] == "ID_CHECKSUM"]
    assert bad == [("花名册", HEAD_ROWS + 10, "身份证号", "ID_CHECKSUM", bad[0][4])]
    con = sqlite3.connect(tmp_path / "c1.db")
    assert con.execute("select count(*), sum(category='预备') from members").fetchone() == (HEAD_ROWS + 60, 43)
    con.close()


def test_text_only_columns_of_a_sheet_beginning_at_column_c_are_the_right_columns(tmp_path, monkeypatch):
    """fastexcel names the columns of `dtypes` by their sheet position (absolute_index). A sheet from
    column C with a 备注 column (read as text only) after a date column: the date column must keep its
    dates (before the fix the text-only type went to the column two places left, 出生日期), and the
    columnar import must store what the row reader stores."""
    path = tmp_path / "西山街道花名册.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    header = ["姓名", "身份证号", "出生日期", "人员类别", "备注"]
    for c, h in enumerate(header, start=3):
        ws.cell(1, c, h)
    for k in range(HEAD_ROWS + 60):
        birth = dt.datetime(1970, 1, 1) + dt.timedelta(days=97 * k)
        values = [f"成员{k}", make_id(8000 + k, birth.strftime("%Y%m%d")), birth, "正式党员",
                  k if k % 5 else "调入"]
        for c, v in enumerate(values, start=3):
            ws.cell(2 + k, c, v)
    wb.save(path)
    table, cols = read_file(path).sheets[0].columns(1, {6})
    assert cols == [2, 3, 4, 5, 6]
    assert str(table.schema.field(2).type).startswith("timestamp")    # 出生日期 keeps its dates
    assert str(table.schema.field(4).type) == "string"                # 备注 (numbers and words) as text
    fast, rows = import_both(tmp_path, monkeypatch, path)
    assert len(COLUMNAR_SHEETS) == 1
    assert fast == rows
