"""What web systems export (point 5) and what is not data (point 6), through real files: HTML tables saved
as .xls, CSV under an Excel name, UTF-16 "Unicode text", a GB18030 CSV with a bad byte; note boxes, rows of
spaces, a repeated header, pbtool's own workbooks, a file titled for another period."""
from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter
from builders import ROSTER_HEADER, make_id, member, write_xlsx, stored

from pbtool.coverage import compute_coverage
from pbtool.importer import ImportError_, import_files
from pbtool.outputs.ledger_xlsx import write_ledger
from pbtool.outputs.problems_xlsx import write_problem_workbook

HEADER = ["序号", "姓名", "性别", "身份证号", "人员类别", "所在党支部", "工作单位", "所属社区", "居住小区"]




def people(n: int) -> list[list[str]]:
    return [[str(i + 1), f"张{'一二三四五六七八'[i]}", "男", make_id(i + 1), "预备党员" if i == 0 else "正式党员",
             "第一党支部", "青湖智联科技有限公司", "朝阳社区", "幸福里小区"] for i in range(n)]


def snapshot(db: str):
    """The members as stored, or None where no store was made (no file; no tables on a server)."""
    from sqlalchemy.exc import DBAPIError
    if "://" not in db and not Path(db).exists():
        return None
    try:
        return stored(db, "select name, category from members order by name")
    except DBAPIError:
        return None


# ---------------------------------------------------------------- point 5: formats


def test_html_table_saved_as_xls(tmp_path, db):
    rows = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>" for r in people(3))
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>'
            f'<table border="1"><tr><td colspan="{len(HEADER)}">东湖街道党员花名册</td></tr>'
            "<tr>" + "".join(f"<th>{h}</th>" for h in HEADER) + f"</tr>{rows}</table></body></html>")
    f = tmp_path / "东湖街道党员导出.xls"
    f.write_bytes(html.encode("gb18030"))
    r = import_files([f], "2026Q3", db)
    [sheet] = r.sheets
    assert (sheet.kind, sheet.header_row, sheet.rows, sheet.street) == ("roster", 2, 3, "东湖街道")
    assert snapshot(db) == [("张一", "预备"), ("张三", "正式"), ("张二", "正式")]
    assert stored(db, "select id_number from members where name='张二'") == [(make_id(2),)]


def test_csv_content_named_xlsx(tmp_path, db):
    f = tmp_path / "东湖街道党员花名册.xlsx"
    f.write_text(",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in people(2)) + "\n", encoding="utf-8")
    import_files([f], "2026Q3", db)
    assert snapshot(db) == [("张一", "预备"), ("张二", "正式")]


def test_utf16_unicode_text_tab_separated(tmp_path, db):
    f = tmp_path / "东湖街道党员花名册.txt"   # Excel: 另存为 “Unicode 文本”
    f.write_bytes("\r\n".join("\t".join(r) for r in [HEADER, *people(3)]).encode("utf-16"))
    r = import_files([f], "2026Q3", db)
    assert r.sheets[0].rows == 3
    assert snapshot(db) == [("张一", "预备"), ("张三", "正式"), ("张二", "正式")]


def test_gb18030_csv_with_an_undecodable_byte(tmp_path, db):
    lines = [",".join(HEADER).encode("gb18030")] + [",".join(r).encode("gb18030") for r in people(4)]
    lines[2] = lines[2].replace("张二".encode("gb18030"), b"\xff\xfe")   # line 3: a byte no encoding has
    f = tmp_path / "东湖街道党员花名册.csv"
    f.write_bytes(b"\r\n".join(lines) + b"\r\n")
    r = import_files([f], "2026Q3", db)
    assert [(p.code, p.row) for p in r.problems if p.code == "BAD_BYTES"] == [("BAD_BYTES", 3)]
    assert snapshot(db) == [("张一", "预备"), ("张三", "正式"), ("张四", "正式")]   # no mojibake, no row lost silently


# ---------------------------------------------------------------- point 6: not data


def test_note_box_space_rows_and_repeated_header_are_not_members(tmp_path, db):
    f = tmp_path / "东湖街道党员花名册.xlsx"
    wb = xlsxwriter.Workbook(str(f))
    ws = wb.add_worksheet("花名册")
    ws.write_row(0, 0, HEADER)
    data = people(4)
    ws.write_row(1, 0, data[0])
    ws.write_row(2, 0, data[1])
    ws.write_row(3, 0, ["   "] * len(HEADER))                 # a row of spaces
    ws.write_row(4, 0, HEADER)                                # the header printed again (page two)
    ws.write_row(5, 0, data[2])
    ws.merge_range(6, 0, 8, len(HEADER) - 1, "填写要求：人员类别只填正式党员或预备党员，身份证号以文本录入。")
    ws.write_row(9, 0, data[3])
    wb.close()
    r = import_files([f], "2026Q3", db)
    [sheet] = r.sheets
    assert (sheet.rows, sheet.blank_rows, sheet.header_repeats, sheet.note_rows) == (4, 1, 1, 3)
    assert snapshot(db) == [("张一", "预备"), ("张三", "正式"), ("张二", "正式"), ("张四", "正式")]
    assert not [p for p in r.problems if p.code == "MISSING_REQUIRED"]


def test_own_problem_workbook_and_ledger_are_refused(tmp_path, db, lists):
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [
        member(i, community="朝阳社区", estate="幸福里小区") for i in range(1, 5)] + [member(9, category="党员")])})
    r = import_files([lists, f], "2026Q3", db)
    problems = write_problem_workbook(r, [lists, f], tmp_path / "问题清单.xlsx") or tmp_path / "问题清单.xlsx"
    ledger = tmp_path / "整改台账.xlsx"
    write_ledger(compute_coverage(db, "2026Q3"), ledger)
    before = stored(db, "select count(*) from imports")
    with pytest.raises(ImportError_, match="问题清单.xlsx”是pbtool 导出的问题清单"):
        import_files([problems], "2026Q3", db)
    with pytest.raises(ImportError_, match="整改台账.xlsx”是pbtool 导出的整改台账"):
        import_files([ledger], "2026Q3", db)
    assert stored(db, "select count(*) from imports") == before


def test_file_titled_for_another_quarter_is_refused_unless_confirmed(tmp_path, db):
    f = write_xlsx(tmp_path / "东湖街道党员花名册（2026年第三季度）.xlsx", {"花名册": (ROSTER_HEADER, [member(1)])})
    with pytest.raises(ImportError_, match="文件名写的是“2026年第三季度”，与 --period 2026Q2 不符"):
        import_files([f], "2026Q2", db)
    assert snapshot(db) is None
    g = write_xlsx(tmp_path / "东湖街道党员花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(2)])},
                   title="东湖街道2025年度党员花名册")
    with pytest.raises(ImportError_, match="标题写的是“2025年”"):
        import_files([g], "2026Q2", db)
    r = import_files([f], "2026Q2", db, period_mismatch_ok=True)
    assert r.imported == {"roster": 1}
    # a title naming this quarter settles it, whatever else the rows above the header mention
    k = write_xlsx(tmp_path / "南桥街道党员花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(4)])},
                   title="南桥街道党员花名册（2026年第四季度）根据2026年第三季度数据预填")
    assert import_files([k], "2026Q4", db).imported == {"roster": 1}
    with pytest.raises(ImportError_, match="标题写的是“2026年第四季度”，与 --period 2026Q1 不符"):
        import_files([k], "2026Q1", db)
    # a date in the 填报 row (2026年9月30日) names no period
    h = write_xlsx(tmp_path / "西山街道党员花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(3)])}, title="西山街道党员花名册")
    assert import_files([h], "2026Q3", db).imported == {"roster": 1}


# ---------------------------------------------------------------- point 9: fixes


def test_map_wins_and_names_the_column_that_lost(tmp_path, db):
    header = ["姓名", "身份证号", "人员类别", "党籍状态", "所在党支部", "工作单位"]
    rows = [[f"李{i}", make_id(i), "党员", "预备党员" if i == 0 else "正式党员", "第一党支部", ""] for i in range(3)]
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (header, rows)})
    r = import_files([f], "2026Q3", db, user_map={"党籍状态": "category"})
    assert any("“人员类别”列按表头应为人员类别，但 --map 已把人员类别给了“党籍状态”列" in n for n in r.notes)
    assert stored(db, "select category, count(*) from members group by 1 order by 1") == [("正式", 2), ("预备", 1)]
    assert not [p for p in r.problems if p.code == "BAD_VALUE"]


def test_res_no_org_fires_for_an_estate_list_without_community_column(tmp_path, db):
    lists = write_xlsx(tmp_path / "资源清单.xlsx", {
        "社区": (["所在街道", "社区名称", "社区党组织名称"], [["东湖街道", "朝阳社区", "朝阳社区党委"]]),
        "小区": (["所在街道", "小区名称", "小区党组织名称"], [["东湖街道", "幸福里小区", ""]]),
        "两新组织": (["单位名称", "组织类型", "所在街道", "党组织建立情况"], [["某某公司", "非公有制企业", "东湖街道", "未建立"]])})
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [
        member(i, estate="幸福里小区") for i in range(1, 5)])})
    import_files([lists, f], "2026Q3", db)
    assert stored(db, "select community from estates") == [("",)]
    findings = [(x.rule, x.target) for x in compute_coverage(db, "2026Q3").findings]
    assert ("RES_NO_ORG", "幸福里小区") in findings


def test_unknown_place_names_an_unknown_street(tmp_path, db, lists):
    f = write_xlsx(tmp_path / "北湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [
        member(1, community="朝阳社区", estate="幸福里小区")])})
    r = import_files([lists, f], "2026Q3", db)
    [p] = [p for p in r.problems if p.code == "UNKNOWN_PLACE"]
    assert "没有“北湖街道”" in p.message and "街道名称不符" in p.message


def test_html_rowspan_holds_for_every_row_it_covers(tmp_path, db):
    """A web export that merges the community over its members' rows (rowspan) reads like Excel's merge."""
    head = "<tr>" + "".join(f"<td>{h}</td>" for h in ["姓名", "身份证号", "人员类别", "所在党支部", "所属社区", "居住小区"]) + "</tr>"
    body = (f'<tr><td>吴一</td><td>{make_id(1)}</td><td>正式党员</td><td>第一党支部</td><td rowspan="2">朝阳社区</td>'
            f"<td>幸福里小区</td></tr>"
            f"<tr><td>吴二</td><td>{make_id(2)}</td><td>预备党员</td><td>第一党支部</td><td>幸福里小区</td></tr>")
    f = tmp_path / "东湖街道党员花名册.xlsx"
    f.write_text(f"<html><body><table>{head}{body}</table></body></html>", encoding="utf-8")
    import_files([f], "2026Q3", db)
    assert stored(db, "select name, community, estate from members order by name") == [
        ("吴一", "朝阳社区", "幸福里小区"), ("吴二", "朝阳社区", "幸福里小区")]


def test_instruction_sheet_listing_fields_beside_their_rules_is_not_a_member(tmp_path, db):
    """A template's 填表说明 (here as a workbook re-saved without pbtool's marker) lists each field beside
    how to fill it: label cells beside text, like a one-person form, but never data."""
    f = tmp_path / "东湖街道党员花名册.xlsx"
    wb = xlsxwriter.Workbook(str(f))
    ws = wb.add_worksheet("填表说明")
    for r, (label, rule) in enumerate([("姓名", "填写党员姓名"), ("性别", "从下拉列表选择：男、女。"),
                                       ("公民身份号码", "18位，以文本格式填写"), ("人员类别", "从下拉列表选择：正式党员、预备党员。"),
                                       ("所在党支部", "从下拉列表选择")]):
        ws.write(r + 2, 0, label)
        ws.write(r + 2, 1, rule)
    ws = wb.add_worksheet("花名册")
    ws.write_row(0, 0, ROSTER_HEADER)
    row = member(1)
    ws.write_row(1, 0, [row.get(h, "") for h in ROSTER_HEADER] if isinstance(row, dict) else row)
    wb.close()
    r = import_files([f], "2026Q3", db)
    assert r.imported == {"roster": 1}
    assert ("东湖街道党员花名册.xlsx", "填表说明", "填表说明工作表，未导入") in r.skipped
    assert not [p for p in r.problems if p.sheet == "填表说明"]


def test_roster_of_only_the_required_columns_imports(tmp_path, db):
    f = tmp_path / "东湖街道三列.csv"
    f.write_text("姓名,身份证号码,人员类别\n" + "".join(f"张{i},{make_id(i)},正式党员\n" for i in range(3)),
                 encoding="utf-8")
    r = import_files([f], "2026Q3", db)
    assert r.imported == {"roster": 3}
    assert not [p for p in r.problems if p.code == "MISSING_REQUIRED"]
