"""Cleaning on Arrow columns (issue 12): clean_arrow_column and strip_controls_arrow give exactly what
clean_column and strip_controls give on the same column as Python lists, and a roster read by columns
reports every problem at the Excel row the row reader reports it at."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest
import xlsxwriter
from builders import make_id
from test_columnar import COLUMNAR_SHEETS, import_both

from pbtool.clean import (arrow_list, clean_arrow_column, clean_column, cleaners, strip_controls,
                          strip_controls_arrow)
from pbtool.config import load_config
from pbtool.xlsx_fast import HEAD_ROWS

REG = cleaners(load_config().schema)


def both(ftype: str, values: list, arrow_type=None):
    """(cleaned list, issues) by the list path, and by the Arrow path (None in the Arrow column is an
    empty cell, '' for the list path)."""
    as_list = ["" if v is None else v for v in values]
    expected = clean_column(ftype, REG[ftype], as_list)
    ac = clean_arrow_column(ftype, REG[ftype], pa.array(values, arrow_type))
    return expected, (ac.tolist(), ac.issues), ac


@pytest.mark.parametrize("ftype, values", [
    ("text", ["大学本科", None, " 大专 ", "ＡＢＣ", "", "大学本科", "硕士  研究生"]),
    ("person_name", ["张三", "王  五", None, "Ｊｏｈｎ", "欧阳·修", "", "李四"]),
    ("phone", ["13800000000", "138 0000 1111", None, "０５７１－８８８８", "", "13800000001"]),
    ("date", ["1980-01-01", "1980-02-30", None, "2001.07", "20010701", "不详", "1980年7月1日", "", "1980-01-01"]),
    ("id_number", [make_id(1), make_id(2)[:17] + "0", None, make_id(3)[:6] + make_id(3)[8:17], " " + make_id(4),
                   "33010" + "x" * 13, "", make_id(5).lower(), "３３０１０６１９８００１０１００２Ｘ"]),
    ("gender", ["男", "女", None, "未知", "", "男性", "未知"]),
    ("category", ["正式党员", "预备", "积极分子", None, " 正式党员", "积极分子"]),
    ("place", ["德水社区", "海方社区 ", None, "ＡＢ社区", "德水 社区"]),
    ("org_name", ["青湖贸易有限公司", "杭州 星云  科技有限公司", None, "青湖（杭州）公司"]),
])
def test_arrow_cleaning_equals_list_cleaning(ftype, values):
    expected, got, ac = both(ftype, values)
    assert got == expected
    if expected[1]:
        assert ac.raw_at(expected[1][0][0]) == ["" if v is None else v for v in values][expected[1][0][0]]


def test_a_bad_value_repeated_on_a_thousand_rows_is_reported_on_each_of_them():
    values = ["男" if k % 3 else "未知" for k in range(3000)]
    values[5] = None
    expected, got, ac = both("gender", values)
    assert got == expected
    assert [i for i, code, _ in ac.issues] == [k for k in range(3000) if k % 3 == 0]
    assert {code for _, code, _ in ac.issues} == {"BAD_VALUE"}
    assert ac.distinct is not None and len(ac.distinct) == 3      # 男, 未知 and the empty cell: cleaned once each


def test_numbers_and_datetimes_in_arrow_columns_clean_as_the_row_reader_gives_them():
    stamps = [dt.datetime(1980, 1, 1), None, dt.datetime(1999, 12, 31)]
    expected, got, _ = both("date", stamps, pa.timestamp("ms"))
    assert got == expected and got[0] == ["1980-01-01", None, "1999-12-31"]
    phones = [13800000000.0, None, 13800000001.0]
    expected, got, _ = both("phone", phones)
    assert got == expected and got[0] == ["13800000000", None, "13800000001"]
    ints = [3.0, None, 2.5]
    expected, got, _ = both("int", ints)
    assert got == expected and got[1] == [(2, "BAD_VALUE", {"allowed": "非负整数"})]


def test_control_characters_in_an_arrow_column():
    values = ["张三", "李\x01四", None, "王\x07五\x00", "é\x1f", "", "Tab\tand\nnewline stay"]
    arr = pa.array(values)
    stripped, changed = strip_controls_arrow(arr)
    exp_values, exp_changed = strip_controls(arrow_list(arr))
    assert changed == exp_changed == [(1, 1), (3, 2), (4, 1)]
    assert arrow_list(stripped) == exp_values
    same, none = strip_controls_arrow(pa.array(["没有", "控制字符", None]))
    assert none == [] and arrow_list(same) == ["没有", "控制字符", ""]
    sliced, changed = strip_controls_arrow(arr.slice(2))       # an array that starts inside its buffers
    assert changed == [(1, 2), (2, 1)] and arrow_list(sliced) == exp_values[2:]


HEADER = ["序号", "姓名", "性别", "身份证号", "出生日期", "人员类别", "所在党支部", "工作单位"]


def roster(path: Path, rows: int) -> tuple[Path, dict[str, list[int]]]:
    """A roster long enough to be read by columns, with the defects the Arrow cleaning must place:
    empty cells among a low-cardinality column, a bad 性别 on 1,000 rows, control characters, bad dates.
    Returns the Excel rows each defect is on."""
    wb = xlsxwriter.Workbook(str(path))       # openpyxl refuses control characters; Excel keeps them
    ws = wb.add_worksheet("花名册")
    ws.write_row(0, 0, HEADER)
    where: dict[str, list[int]] = {"未知": [], "ctrl": [], "empty_sex": [], "bad_date": [], "no_category": []}
    for k in range(rows):
        excel = k + 2
        ident = make_id(k, birth=(dt.date(1950, 1, 1) + dt.timedelta(days=k)).strftime("%Y%m%d"),
                        sex="男" if k % 2 else "女")
        sex = "男" if k % 2 else "女"
        if k % 3 == 1:
            sex = "未知"
            where["未知"].append(excel)
        elif k % 7 == 0:
            sex = None
            where["empty_sex"].append(excel)
        name = f"党员{k}"
        if k % 250 == 3:
            name = f"党员\x01{k}"
            where["ctrl"].append(excel)
        birth = f"{ident[6:10]}-{ident[10:12]}-{ident[12:14]}"
        if k % 400 == 5:
            birth = "1980-13-01"
            where["bad_date"].append(excel)
        category = "正式党员" if k % 5 else "预备党员"
        if k % 600 == 11:
            category = None
            where["no_category"].append(excel)
        ws.write_row(excel - 1, 0, [k + 1, name, sex, ident, birth, category, f"第{k % 4}党支部", f"青湖{k % 9}号公司"])
    wb.close()
    return path, where


def test_a_roster_read_by_columns_reports_every_problem_at_its_excel_row(tmp_path, monkeypatch):
    rows = max(HEAD_ROWS + 200, 3000)
    path, where = roster(tmp_path / "东湖街道花名册.xlsx", rows)
    fast, slow = import_both(tmp_path, monkeypatch, path)
    assert COLUMNAR_SHEETS == [rows]               # really read by columns
    assert fast == slow                            # sheets, problems and the whole store
    by_code: dict[str, list[int]] = {}
    for _sheet, row, _column, code, _value in fast[1]:
        by_code.setdefault(code, []).append(row)
    bad_sex = [r for _s, r, c, code, v in fast[1] if code == "BAD_VALUE" and c == "性别"]
    assert bad_sex == where["未知"] and len(bad_sex) == rows // 3
    assert by_code["CONTROL_CHARS"] == where["ctrl"]
    assert by_code["BAD_DATE"] == where["bad_date"]
    assert by_code["MISSING_REQUIRED"] == where["no_category"]
    con = sqlite3.connect(tmp_path / "c1.db")
    stored = dict(con.execute("select row, name from members where name like '党员%'"))
    assert all("\x01" not in n for n in stored.values()) and stored[where["ctrl"][0]] == "党员3"
    empty = [r for (r,) in con.execute("select row from members where gender is null order by row")]
    assert set(where["empty_sex"]) <= set(empty) and set(empty) - set(where["empty_sex"]) == set(where["未知"])
    con.close()


def test_unknown_columns_and_merged_rows_still_go_to_extra_on_the_arrow_path(tmp_path, monkeypatch):
    path = tmp_path / "东湖街道花名册.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, [*HEADER[:6], "爱好"])
    for k in range(HEAD_ROWS + 60):
        ws.write_row(k + 1, 0, [k + 1, f"党员{k}", "男", make_id(k + 1), "1980-01-01", "正式党员",
                                "书法\x02" if k % 10 == 0 else None])
    wb.close()
    fast, slow = import_both(tmp_path, monkeypatch, path)
    assert COLUMNAR_SHEETS == [HEAD_ROWS + 60] and fast == slow
    con = sqlite3.connect(tmp_path / "c1.db")
    extra = [json.loads(e) for (e,) in con.execute("select extra from members where extra is not null order by row")]
    con.close()
    assert len(extra) == (HEAD_ROWS + 60 + 9) // 10 and extra[0] == {"爱好": "书法"}


def test_ids_repeated_within_and_across_imports_on_the_arrow_path(tmp_path, monkeypatch):
    """The columnar roster's IDs are told distinct in Arrow; a repeat inside the sheet, or of an ID
    stored by an earlier import, is still reported at its row, naming the first occurrence."""
    from pbtool.importer import import_files

    def sheet(path: Path, ids: list[str]) -> Path:
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("花名册")
        ws.write_row(0, 0, HEADER[:6])
        for k, ident in enumerate(ids):
            ws.write_row(k + 1, 0, [k + 1, f"党员{k}", "男" if int(ident[16]) % 2 else "女", ident, "", "正式党员"])
        wb.close()
        return path

    def ident(k: int) -> str:
        return make_id(k % 400, birth=(dt.date(1960, 1, 1) + dt.timedelta(days=k // 400)).strftime("%Y%m%d"))

    n = HEAD_ROWS + 100
    first = sheet(tmp_path / "东湖街道花名册.xlsx", [ident(k) for k in range(n)])
    again = [ident(k) for k in range(n, 2 * n)]
    again[HEAD_ROWS + 50] = ident(7)                  # a member of the first file (its Excel row 9)
    second = sheet(tmp_path / "东湖街道花名册补充.xlsx", again)
    inner = [ident(k) for k in range(2 * n, 3 * n)]
    inner[HEAD_ROWS + 60] = inner[HEAD_ROWS + 20]     # the same ID twice in one file, none stored
    third = sheet(tmp_path / "东湖街道花名册新增.xlsx", inner)
    seen = []
    for flag in ("1", "0"):
        monkeypatch.setenv("PBTOOL_COLUMNAR", flag)
        db = str(tmp_path / f"d{flag}.db")
        assert not import_files([first], "2026Q3", db, street="东湖街道").problems
        found = []
        for path in (second, third):
            r = import_files([path], "2026Q3", db, street="东湖街道", mode="append")
            found += [(p.code, p.row, p.value, p.message) for p in r.problems]
        seen.append(found)
    assert seen[0] == seen[1]
    dups = [(row, msg) for code, row, _v, msg in seen[0] if code == "DUPLICATE_PERSON"]
    assert [row for row, _ in dups] == [HEAD_ROWS + 52, HEAD_ROWS + 62]
    assert "第9行" in dups[0][1] and f"第{HEAD_ROWS + 22}行" in dups[1][1]


def test_a_column_pyarrow_cannot_clean_is_cleaned_as_a_list(tmp_path, monkeypatch):
    """Any Arrow type the column cleaning cannot take falls back to the list cleaning of that column,
    with the same stored rows and problems as the row reader."""
    import pbtool.importer as imp

    real = imp.clean_arrow_column
    refused = []

    def picky(ftype, clean, arr):
        if ftype == "gender":
            refused.append(len(arr))
            raise pa.ArrowNotImplementedError("no kernel (test)")
        return real(ftype, clean, arr)

    monkeypatch.setattr(imp, "clean_arrow_column", picky)
    rows = HEAD_ROWS + 200
    path, where = roster(tmp_path / "东湖街道花名册.xlsx", rows)
    fast, slow = import_both(tmp_path, monkeypatch, path)
    assert refused == [rows] and fast == slow
    assert [r for _s, r, c, code, _v in fast[1] if code == "BAD_VALUE" and c == "性别"] == where["未知"]


def test_a_column_without_any_value_cleans_to_nulls():
    ac = clean_arrow_column("text", REG["text"], pa.nulls(4))
    assert ac.tolist() == [None] * 4 and ac.issues == []
    assert clean_column("text", REG["text"], [""] * 4) == ([None] * 4, [])
