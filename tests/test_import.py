"""pbtool import on real files: one test per mess of domain.md §4 and per problem code of §5."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlwt
from builders import ROSTER_HEADER, make_id, make_uscc, member, write_csv, write_lists, write_xlsx, stored

from pbtool.importer import ImportError_, import_files
from pbtool.store import SCHEMA_VERSION, Store


def codes(result, code=None):
    return [(p.code, p.row, p.column) for p in result.problems if code is None or p.code == code]




def roster(tmp_path: Path, rows, name="东湖街道党员花名册.xlsx", **kw) -> Path:
    return write_xlsx(tmp_path / name, {"花名册": (ROSTER_HEADER, rows)}, **kw)


# ---------------------------------------------------------------- layout


def test_header_found_under_title_rows_and_footer_skipped(tmp_path, lists, db):
    f = roster(tmp_path, [member(i, community="朝阳社区", estate="幸福里小区") for i in range(1, 4)],
               title="东湖街道党员花名册", footer=True)
    r = import_files([lists, f], "2026Q3", db)
    sheet = next(s for s in r.sheets if s.kind == "roster")
    assert (sheet.header_row, sheet.rows, sheet.footer_rows) == (3, 3, 2)
    assert sheet.street == "东湖街道" and sheet.street_source == "标题行"
    assert stored(db, "select row from members order by row") == [(4,), (5,), (6,)]
    assert r.problems == []


def test_instruction_and_hidden_sheets_are_skipped(tmp_path, db):
    f = write_xlsx(tmp_path / "西山街道.xlsx", {"花名册": (ROSTER_HEADER, [member(1)]), "参数": (["a", "b"], [[1, 2]])},
                   hidden=["参数"], instructions=True)
    r = import_files([f], "2026Q3", db)
    reasons = {s: why for _, s, why in r.skipped}
    assert "隐藏" in reasons["参数"] and reasons["填表说明"] == "填表说明工作表，未导入"
    assert r.imported == {"roster": 1}


def test_blank_row_in_the_middle_is_skipped_not_counted(tmp_path, db):
    rows = [member(1), ["", "", "", "", "", "", "", "", "", "", ""], member(2)]
    rows = [[r.get(h, "") for h in ROSTER_HEADER] if isinstance(r, dict) else r for r in rows]
    f = write_xlsx(tmp_path / "东湖街道.xlsx", {"花名册": (ROSTER_HEADER, rows)})
    r = import_files([f], "2026Q3", db)
    assert r.sheets[0].rows == 2 and r.sheets[0].blank_rows == 1
    assert stored(db, "select row from members order by row") == [(2,), (4,)]


def test_two_row_merged_header_in_legacy_xls(tmp_path, db):
    path = tmp_path / "西山街道党员信息采集表.xls"
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("朝阳社区")
    ws.write_merge(0, 0, 0, 5, "西山街道党员信息采集表")
    ws.write_merge(1, 2, 0, 0, "序号")
    ws.write_merge(1, 1, 1, 3, "基本信息")
    ws.write_merge(1, 1, 4, 5, "党籍信息")
    for c, h in enumerate(["姓名", "性别", "公民身份号码", "党员类别", "党组织名称"], start=1):
        ws.write(2, c, h)
    for i in range(3):
        ws.write(3 + i, 0, i + 1)
        for c, v in enumerate([f"测试{i}", "男", make_id(i), "正式", "朝阳党支部"], start=1):
            ws.write(3 + i, c, v)
    wb.save(str(path))
    r = import_files([path], "2026Q3", db)
    s = r.sheets[0]
    assert (s.kind, s.header_row, s.rows, s.street) == ("roster", 3, 3, "西山街道")
    # one sheet per community: the community is the sheet name
    assert stored(db, "select distinct community, category, branch from members") == [("朝阳社区", "正式", "朝阳党支部")]
    assert [p.code for p in r.problems if p.code != "UNKNOWN_COLUMN"] == []


def test_cell_merged_down_holds_for_every_row_but_empty_cell_stays_missing(tmp_path, db, lists):
    path = tmp_path / "东湖街道花名册.xlsx"
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("花名册")
    ws.write_row(0, 0, ["姓名", "身份证号", "人员类别", "所属社区"])
    for i in range(4):
        ws.write_row(1 + i, 0, [f"测试{i}", make_id(i), "正式党员"])
    ws.merge_range(1, 3, 3, 3, "朝阳社区")   # rows 2-4 merged; row 5 left empty
    wb.close()
    import_files([lists, path], "2026Q3", db)
    assert stored(db, "select row, community from members where period='2026Q3' order by row") == [
        (2, "朝阳社区"), (3, "朝阳社区"), (4, "朝阳社区"), (5, None)]


def test_gb18030_csv_from_excel_is_read_without_mojibake(tmp_path, db):
    f = write_csv(tmp_path / "南桥街道.csv", ["姓名", "身份证号", "人员类别", "所在党支部"],
                  [{"姓名": "测试甲", "身份证号": make_id(1), "人员类别": "预备党员", "所在党支部": "枫林社区第一党支部"}])
    r = import_files([f], "2026Q3", db)
    assert r.sheets[0].street == "南桥街道" and r.sheets[0].street_source == "文件名"
    assert stored(db, "select name, category, branch from members") == [("测试甲", "预备", "枫林社区第一党支部")]


def test_utf8_bom_csv_with_street_column(tmp_path, db):
    f = write_csv(tmp_path / "补充名单.csv", ["街道", "姓名", "身份证号", "人员类别"],
                  [{"街道": "东湖街道", "姓名": "甲", "身份证号": make_id(1), "人员类别": "正式"},
                   {"街道": "西山街道", "姓名": "乙", "身份证号": make_id(2), "人员类别": "正式"}], encoding="utf-8-sig")
    import_files([f], "2026Q3", db)
    assert stored(db, "select name, street from members order by name") == [("乙", "西山街道"), ("甲", "东湖街道")]


# ---------------------------------------------------------------- values


def test_dates_in_every_written_form(tmp_path, db):
    forms = [dt.date(2019, 7, 1), 43647, "2019-07-01", "2019/7/1", "2019.07.01", "2019年7月1日", "20190701",
             "2019.07", "201907"]
    rows = [member(i, 入党时间=v) for i, v in enumerate(forms, start=1)]
    f = roster(tmp_path, rows)
    r = import_files([f], "2026Q3", db)
    assert codes(r, "BAD_DATE") == []
    got = [d for (d,) in stored(db, "select join_date from members order by row")]
    assert got == ["2019-07-01"] * 7 + ["2019-07"] * 2


def test_impossible_date_is_reported_never_guessed(tmp_path, db):
    f = roster(tmp_path, [member(1, 入党时间="2019.13.01"), member(2, 入党时间="2021年2月30日")])
    r = import_files([f], "2026Q3", db)
    assert codes(r, "BAD_DATE") == [("BAD_DATE", 2, "入党时间"), ("BAD_DATE", 3, "入党时间")]
    assert stored(db, "select join_date, has_error from members") == [(None, 1), (None, 1)]


def test_id_spelling_variants_are_cleaned_not_reported(tmp_path, db):
    good = "11010519491231002X"
    variants = ["11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ", " 110105 1949 1231 002X", "110105491231002"]
    rows = [member(i, idn=v, birth="19491231", sex="女") for i, v in enumerate(variants, start=1)]
    f = roster(tmp_path, rows)
    r = import_files([f], "2026Q3", db)
    assert [c for c in codes(r) if c[0].startswith("ID_")] == []
    assert {i for (i,) in stored(db, "select id_number from members")} == {good}


def test_id_stored_as_number_is_unrecoverable(tmp_path, db):
    f = roster(tmp_path, [member(1, idn="330106195301272123")], number_cells=["身份证号"])
    r = import_files([f], "2026Q3", db)
    [p] = [p for p in r.problems if p.code == "ID_NUMBER_CELL"]
    assert (p.row, p.severity, p.value) == (2, "错误", "3.30106195301272E+17")
    assert "无法恢复" in p.message
    assert stored(db, "select id_number, has_error from members") == [(None, 1)]


def test_id_format_and_checksum(tmp_path, db):
    f = roster(tmp_path, [member(1, idn="3301061953012721"), member(2, idn="110105194912310021")])
    r = import_files([f], "2026Q3", db)
    assert codes(r) == [("ID_FORMAT", 2, "身份证号"), ("ID_CHECKSUM", 3, "身份证号")]
    assert "“X”" in r.problems[1].message


def test_birth_date_and_sex_checked_against_id(tmp_path, db):
    idn = make_id(7, "19800101", "男")
    f = roster(tmp_path, [member(1, idn=idn, 出生日期="1981-01-01"), member(2, idn=make_id(8, "19800101", "男"), sex="女")])
    r = import_files([f], "2026Q3", db)
    assert codes(r) == [("ID_BIRTH_MISMATCH", 2, "出生日期"), ("ID_SEX_MISMATCH", 3, "性别")]
    assert all(p.severity == "警告" for p in r.problems)


def test_missing_required_and_bad_category(tmp_path, db):
    f = roster(tmp_path, [member(1, name=""), member(2, category=""), member(3, category="党员")])
    r = import_files([f], "2026Q3", db)
    assert codes(r) == [("MISSING_REQUIRED", 2, "姓名"), ("MISSING_REQUIRED", 3, "人员类别"), ("BAD_VALUE", 4, "人员类别")]
    assert "正式党员" in r.problems[2].message
    assert stored(db, "select count(*) from members")[0][0] == 3  # kept and flagged, never dropped


def test_uscc_format_and_checksum(tmp_path, db):
    good = make_uscc(5)
    orgs = [{"单位名称": "甲公司", "统一社会信用代码": good, "党组织建立情况": "未建立"},
            {"单位名称": "乙公司", "统一社会信用代码": "91330106MA0000O0X1", "党组织建立情况": "未建立"},
            {"单位名称": "丙公司", "统一社会信用代码": good[:17] + ("0" if good[17] != "0" else "1"), "党组织建立情况": "未建立"},
            {"单位名称": "", "统一社会信用代码": "", "党组织建立情况": "挂靠"}]
    f = write_lists(tmp_path / "清单.xlsx", [], [], orgs)
    r = import_files([f], "2026Q3", db, street="东湖街道")
    assert codes(r) == [("USCC_FORMAT", 3, "统一社会信用代码"), ("USCC_CHECKSUM", 4, "统一社会信用代码"),
                        ("MISSING_REQUIRED", 5, "单位名称")]


def test_duplicate_person_within_a_file_and_across_streets(tmp_path, db):
    same = make_id(42)
    a = roster(tmp_path, [member(1, idn=same), member(2), member(3, idn=same)], name="东湖街道花名册.xlsx")
    b = roster(tmp_path, [member(9, idn=same)], name="西山街道花名册.xlsx")
    r = import_files([a, b], "2026Q3", db)
    dups = [(p.file, p.row) for p in r.problems if p.code == "DUPLICATE_PERSON"]
    assert dups == [("东湖街道花名册.xlsx", 4), ("西山街道花名册.xlsx", 2)]
    assert "东湖街道花名册.xlsx" in r.problems[-1].message and "第2行" in r.problems[-1].message
    # a later import of another street is checked against what the store already holds
    c = roster(tmp_path, [member(10, idn=same)], name="南桥街道花名册.xlsx")
    r2 = import_files([c], "2026Q3", db)
    assert [p.code for p in r2.problems] == ["DUPLICATE_PERSON"]


# ---------------------------------------------------------------- places and names


def test_estate_found_in_home_address(tmp_path, lists, db):
    header = ["姓名", "公民身份证号", "人员类别", "所在党支部", "家庭住址", "党籍状态"]
    rows = [{"姓名": "甲", "公民身份证号": make_id(1), "人员类别": "正式党员", "家庭住址": "青湖区南桥街道翠苑一区5幢101室"},
            {"姓名": "乙", "公民身份证号": make_id(2), "人员类别": "正式党员", "家庭住址": "南桥街道枫林5栋2单元"},
            {"姓名": "丙", "公民身份证号": make_id(3), "人员类别": "正式党员", "家庭住址": "锦绣家园对面枫林小区2栋"},
            {"姓名": "丁", "公民身份证号": make_id(4), "人员类别": "正式党员", "家庭住址": "火星路1号"}]
    f = write_csv(tmp_path / "南桥街道党员信息（全国党员管理信息系统导出）.csv", header, rows)
    r = import_files([lists, f], "2026Q3", db)
    assert stored(db, "select name, community, estate, place_status from members order by row") == [
        ("甲", "枫林社区", "翠苑一区", "ok"), ("乙", "枫林社区", "枫林小区", "ok"),
        ("丙", None, None, "ambiguous"), ("丁", None, None, "unknown")]
    assert codes(r) == [("AMBIGUOUS_PLACE", 4, "家庭住址"), ("UNKNOWN_PLACE", 5, "家庭住址")]
    assert "锦绣家园" in r.problems[0].message and "枫林小区" in r.problems[0].message


def test_estate_name_inside_the_community_name_of_an_address_is_not_that_estate(tmp_path, lists, db):
    """枫林小区 is listed, and so is 枫林社区: in “南桥街道枫林社区锦绣家园3幢” the 枫林 belongs to the
    community, so the residence is 锦绣家园 (before: ambiguous between 枫林小区 and 锦绣家园, an error
    on every such row). Written as 枫林5栋, 枫林 is still 枫林小区."""
    header = ["姓名", "公民身份证号", "人员类别", "家庭住址"]
    rows = [{"姓名": "甲", "公民身份证号": make_id(1), "人员类别": "正式党员", "家庭住址": "南桥街道枫林社区锦绣家园3幢"},
            {"姓名": "乙", "公民身份证号": make_id(2), "人员类别": "正式党员", "家庭住址": "南桥街道枫林社区枫林小区2幢"},
            {"姓名": "丙", "公民身份证号": make_id(3), "人员类别": "正式党员", "家庭住址": "南桥街道枫林5栋2单元"}]
    f = write_csv(tmp_path / "南桥街道党员信息.csv", header, rows)
    r = import_files([lists, f], "2026Q3", db)
    assert stored(db, "select name, community, estate, place_status from members order by row") == [
        ("甲", "枫林社区", "锦绣家园", "ok"), ("乙", "枫林社区", "枫林小区", "ok"), ("丙", "枫林社区", "枫林小区", "ok")]
    assert codes(r) == []


def test_repeated_community_name_without_street_is_ambiguous(tmp_path, lists, db):
    f = write_xlsx(tmp_path / "名单.xlsx", {"花名册": (ROSTER_HEADER, [member(1, community="朝阳社区", estate="幸福里小区")])})
    r = import_files([lists, f], "2026Q3", db)
    [p] = r.problems
    assert p.code == "AMBIGUOUS_PLACE" and "东湖街道、西山街道" in p.message
    # with the street the same row resolves
    r2 = import_files([f], "2026Q3", db, street="西山街道")
    assert r2.problems == []
    assert stored(db, "select street, community, estate from members") == [("西山街道", "朝阳社区", "幸福里小区")]


def test_estate_missing_from_the_list_is_unknown_place(tmp_path, lists, db):
    f = roster(tmp_path, [member(1, community="朝阳社区", estate="火星小区")])
    r = import_files([lists, f], "2026Q3", db)
    assert codes(r) == [("UNKNOWN_PLACE", 2, "居住小区")]
    assert r.problems[0].severity == "警告"


def test_community_that_disagrees_with_the_estate_list_is_reported_not_silently_moved(tmp_path, lists, db):
    """青松苑 is listed under 青松社区. A row that writes 朝阳社区 beside it is stored under the listed
    community (the list places the estate) with a warning naming both; written as 青松 or with the street
    before it, it is the same community and nothing is said."""
    f = roster(tmp_path, [member(1, community="朝阳社区", estate="青松苑"),
                          member(2, community="东湖街道青松社区", estate="青松苑"),
                          member(3, community="青松", estate="青松苑"),
                          member(4, community="朝阳社区", estate="幸福里小区")])
    r = import_files([lists, f], "2026Q3", db)
    assert codes(r) == [("PLACE_MISMATCH", 2, "所属社区")]
    [p] = r.problems
    assert p.severity == "警告" and p.value == "朝阳社区"
    assert "青松苑" in p.message and "“青松社区”" in p.message and "“朝阳社区”" in p.message
    assert stored(db, "select community, estate, place_status from members order by row") == [
        ("青松社区", "青松苑", "ok"), ("青松社区", "青松苑", "ok"), ("青松社区", "青松苑", "ok"),
        ("朝阳社区", "幸福里小区", "ok")]
    # an estate listed without its community: nothing to compare the row's community with
    ests = [{"所在街道": "东湖街道", "所属社区": "", "小区名称": "无名苑", "小区党组织名称": ""}]
    blank = write_lists(tmp_path / "补充小区清单.xlsx", [], ests, [])
    r3 = import_files([blank, roster(tmp_path, [member(6, community="朝阳社区", estate="无名苑")], name="东湖街道补充.xlsx")],
                      "2026Q3", db, mode="append")
    assert not [p for p in r3.problems if p.code == "PLACE_MISMATCH"]
    # without a street, an estate listed in two streets under communities the row does not name
    g = write_xlsx(tmp_path / "名单.xlsx", {"花名册": (ROSTER_HEADER, [member(5, community="青松社区", estate="幸福里小区")])})
    r2 = import_files([g], "2026Q3", db)
    [p2] = r2.problems
    assert p2.code == "AMBIGUOUS_PLACE" and "东湖街道朝阳社区、西山街道朝阳社区" in p2.message and "“青松社区”" in p2.message


def test_a_roster_sheet_whose_rows_are_all_error_cells_beside_a_real_one(tmp_path, db):
    """Two roster sheets; the second's rows hold only #N/A (a lookup formula that found nothing), which
    reads as empty. The import stores the first sheet and counts the second as imported with 0 rows
    (it stopped with an internal error: the store compiled an insert for no row)."""
    import openpyxl

    path = tmp_path / "东湖街道党员花名册.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "朝阳社区"
    ws.append(ROSTER_HEADER)
    for k in range(1, 6):
        ws.append([member(k)[h] for h in ROSTER_HEADER])
    other = wb.create_sheet("青松社区")
    other.append(ROSTER_HEADER)
    for r in range(2, 8):
        for c in range(1, len(ROSTER_HEADER) + 1):
            other.cell(r, c).value = "#N/A"
            other.cell(r, c).data_type = "e"
    wb.save(path)
    r = import_files([path], "2026Q3", db)
    assert r.imported == {"roster": 5}
    assert {s.sheet: s.rows for s in r.sheets} == {"朝阳社区": 5, "青松社区": 0}
    assert stored(db, "select count(*) from members") == [(5,)]


def test_unknown_column_reported_once_with_candidates_and_kept(tmp_path, db):
    header = ROSTER_HEADER + ["籍贯", "入党年月日"]
    f = write_xlsx(tmp_path / "东湖街道.xlsx", {"花名册": (header, [member(1, 籍贯="浙江杭州", 入党年月日="2019"), member(2)])})
    r = import_files([f], "2026Q3", db)
    unknown = [(p.row, p.column) for p in r.problems if p.code == "UNKNOWN_COLUMN"]
    assert unknown == [(1, "籍贯"), (1, "入党年月日")]
    assert "入党时间" in r.problems[1].message
    assert stored(db, "select extra from members order by row")[0][0] == '{"籍贯": "浙江杭州", "入党年月日": "2019"}'


def test_user_map_assigns_an_unknown_column(tmp_path, db, lists):
    header = ["姓名", "身份证号", "人员类别", "现居楼盘"]
    f = write_xlsx(tmp_path / "东湖街道.xlsx", {"花名册": (header, [["甲", make_id(1), "正式党员", "青松苑"]])})
    r = import_files([lists, f], "2026Q3", db, user_map={"现居楼盘": "居住小区"})
    assert r.problems == []
    assert stored(db, "select community, estate from members") == [("青松社区", "青松苑")]
    with pytest.raises(ImportError_, match="没有字段"):
        import_files([f], "2026Q3", db, user_map={"现居楼盘": "楼盘"})


def test_employer_near_miss_is_warned_and_brackets_still_match(tmp_path, lists, db):
    f = roster(tmp_path, [member(1, employer="青湖智联科技有限责任公司"), member(2, employer="青湖（杭州）数据服务有限公司 ")])
    r = import_files([lists, f], "2026Q3", db)
    assert codes(r) == [("NAME_NEAR_MISS", 2, "工作单位")]
    assert "青湖智联科技有限公司" in r.problems[0].message


# ---------------------------------------------------------------- store behaviour


def test_reimport_replaces_instead_of_doubling(tmp_path, db):
    f = roster(tmp_path, [member(i) for i in range(1, 6)])
    import_files([f], "2026Q3", db)
    r = import_files([f], "2026Q3", db)
    assert r.replaced == {("roster", "东湖街道"): 5}
    assert stored(db, "select count(*) from members")[0][0] == 5
    # another street and another period are untouched
    g = roster(tmp_path, [member(i) for i in range(10, 12)], name="西山街道花名册.xlsx")
    import_files([g], "2026Q3", db)
    import_files([f], "2026Q2", db)
    import_files([f], "2026Q3", db)
    assert stored(db, "select period, street, count(*) from members group by 1, 2 order by 1, 2") == [
        ("2026Q2", "东湖街道", 5), ("2026Q3", "东湖街道", 5), ("2026Q3", "西山街道", 2)]


def _snapshot(db: str):
    return {t: stored(db, f"select * from {t} order by id") for t in ("imports", "members", "problems")}


def test_failure_half_way_leaves_store_unchanged(tmp_path, db, monkeypatch):
    f = roster(tmp_path, [member(i) for i in range(1, 6)])
    import_files([f], "2026Q3", db)
    before = _snapshot(db)
    g = roster(tmp_path, [member(i, category="党员") for i in range(1, 8)])
    calls = {"n": 0}
    original = Store.insert_rows

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("磁盘已满")
        return original(*args)

    monkeypatch.setattr(Store, "insert_rows", staticmethod(failing))
    with pytest.raises(OSError):
        import_files([g], "2026Q3", db)
    assert _snapshot(db) == before


def test_killed_import_leaves_store_unchanged(tmp_path, db):
    import os
    import subprocess
    import sys
    import textwrap
    f = roster(tmp_path, [member(i) for i in range(1, 6)])
    import_files([f], "2026Q3", db)
    before = _snapshot(db)
    g = roster(tmp_path, [member(i) for i in range(20, 30)], name="西山街道花名册.xlsx")
    script = textwrap.dedent(f"""
        import os, signal
        from pbtool import store, importer
        original = store.Store.insert_rows
        def insert_then_die(*args):
            n = original(*args)
            os.kill(os.getpid(), signal.SIGKILL)   # killed after rows went in, before commit
        store.Store.insert_rows = staticmethod(insert_then_die)
        importer.import_files([{str(g)!r}, {str(f)!r}], "2026Q3", {db!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    assert proc.returncode == -9
    assert _snapshot(db) == before


def test_dry_run_reports_but_writes_nothing(tmp_path, sqlite_db):
    db = sqlite_db   # about the store file itself
    f = roster(tmp_path, [member(1, category="党员")])
    r = import_files([f], "2026Q3", db, dry_run=True)
    assert r.imported == {"roster": 1} and codes(r) == [("BAD_VALUE", 2, "人员类别")]
    assert not Path(db).exists()   # a first dry run leaves no store behind
    import_files([f], "2026Q3", db)
    before = _snapshot(db)
    again = import_files([f], "2026Q3", db, dry_run=True)
    assert again.replaced == {("roster", "东湖街道"): 1}   # says what a real run would replace
    assert _snapshot(db) == before


def test_bad_period_and_unreadable_file_are_refused(tmp_path, sqlite_db):
    db = sqlite_db   # about the store file itself
    f = roster(tmp_path, [member(1)])
    with pytest.raises(ImportError_, match="2026Q3"):
        import_files([f], "2026-3", db)
    bad = tmp_path / "坏文件.xlsx"
    bad.write_bytes(b"not a workbook")
    from pbtool.read import ReadError
    with pytest.raises(ReadError, match="坏文件.xlsx"):
        import_files([f, bad], "2026Q3", db)
    assert not Path(db).exists()  # nothing was opened, let alone written


def test_every_stored_row_knows_its_provenance(tmp_path, db):
    f = roster(tmp_path, [member(1)], title="东湖街道党员花名册")
    import_files([f], "2026Q3", db)
    [(period, file, sheet, row)] = stored(db, "select period, file, sheet, row from members")
    assert (period, file, sheet, row) == ("2026Q3", f.name, "花名册", 4)
    [(sha,)] = stored(db, "select sha256 from imports")
    import hashlib
    assert sha == hashlib.sha256(f.read_bytes()).hexdigest()
    assert stored(db, "select value from meta where key='schema_version'") == [(str(SCHEMA_VERSION),)]


def test_header_synonyms_extend_from_workspace_config(tmp_path, db, lists, monkeypatch):
    (tmp_path / "pbtool.toml").write_text('[synonyms.roster]\nestate = ["居住楼盘"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    header = ["姓名", "身份证号", "人员类别", "居住楼盘"]
    f = write_xlsx(tmp_path / "东湖街道.xlsx", {"花名册": (header, [["甲", make_id(1), "正式党员", "青松苑"]])})
    r = import_files([lists, f], "2026Q3", db)
    assert r.problems == []
    assert stored(db, "select community, estate from members") == [("青松社区", "青松苑")]


def test_bad_workspace_config_is_a_clear_error(tmp_path, monkeypatch):
    from pbtool.config import ConfigError, load_config
    (tmp_path / "pbtool.toml").write_text('[synonyms.roster]\n"小区" = ["x"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="没有字段"):
        load_config()


def test_chunked_reading_gives_the_same_rows_as_row_by_row(tmp_path, db, monkeypatch):
    """Plain chunks are taken whole; chunks with blank, footer or merged rows go row by row."""
    import pbtool.importer as imp
    rows = [member(i) for i in range(1, 12)]
    rows.insert(5, {h: "" for h in ROSTER_HEADER})
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)}, title="东湖街道党员花名册",
                   footer=True)
    whole = import_files([f], "2026Q3", db, dry_run=True)
    monkeypatch.setattr(imp, "PARSE_CHUNK", 3)
    chunked = import_files([f], "2026Q3", db)
    assert whole.sheets == chunked.sheets
    assert chunked.sheets[0].rows == 11 and chunked.sheets[0].blank_rows == 1 and chunked.sheets[0].footer_rows == 2
    assert [r for (r,) in stored(db, "select row from members order by row")] == [4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]


def test_control_characters_removed_reported_and_long_text_kept(tmp_path, db):
    """NUL (which PostgreSQL refuses in text) and other invisible control characters are removed at
    cleaning and reported; a 40-character 学历 or a 300-character employer is stored whole on both engines."""
    education = "大学本科(工学学士,计算机科学与技术专业,全日制,二〇〇二年毕业于青湖大学信息工程学院)"
    employer = "青湖" + "智联" * 150 + "有限公司"
    header = ROSTER_HEADER + ["学历"]
    rows = [member(1, name="张\x00三", employer=employer, 学历=education),
            member(2, branch="第一\x07党支部", 学历="高中")]
    f = write_csv(tmp_path / "东湖街道花名册.csv", header, rows, encoding="utf-8")
    assert b"\x00" in f.read_bytes()
    r = import_files([f], "2026Q3", db)
    assert codes(r) == [("CONTROL_CHARS", 2, "姓名"), ("CONTROL_CHARS", 3, "所在党支部")]
    p = r.problems[0]
    assert p.severity == "警告" and "1个不可见的控制字符" in p.message and p.value == "张三"
    assert stored(db, "select name, branch, education, employer from members order by row") == [
        ("张三", "第一党支部", education, employer), ("测试2", "第一党支部", "高中", None)]
    assert len(education) > 32 and len(employer) > 255
    assert all("\x00" not in v and "\x07" not in v for (v,) in stored(db, "select value from problems"))


def test_two_new_list_with_组建方式_and_组织类别_is_an_organization_list(tmp_path, lists, db):
    """A statistics sheet of two-new organizations headed 组织名称 | 组织类别 | 所属社区 | 党组织组建方式
    (单独建立/联合建立…): before, 党组织组建方式 was not known, so the sheet read as a community list
    (所属社区 as its name) and would replace the street's communities."""
    header = ["序号", "组织名称", "统一社会信用代码", "组织类别", "所属街道", "所属社区", "党组织组建方式",
              "是否选派党建工作指导员"]
    ways = ["单独建立", "联合建立", "未建立", "挂靠"]
    rows = [[i, f"东湖样{i}科技有限公司", make_uscc(900 + i), "非公企业" if i % 2 else "社会组织", "东湖街道", "朝阳社区",
             ways[i % 4], "是" if i % 3 == 0 else "否"] for i in range(1, 9)]
    f = write_xlsx(tmp_path / "东湖街道两新组织统计表.xlsx", {"两新组织": (header, rows)}, title="东湖街道两新组织党建工作情况统计表")
    import_files([lists], "2026Q3", db)
    r = import_files([f], "2026Q3", db, mode="replace")
    assert [(p.code, p.column) for p in r.problems] == []
    assert stored(db, "select org_status, count(*) from orgs where street = '东湖街道' group by org_status order by 1") == [
        ("单独组建", 2), ("挂靠", 2), ("未建立", 2), ("联合组建", 2)]
    assert stored(db, "select org_type, count(*) from orgs where street = '东湖街道' group by org_type order by 1") == [
        ("社会组织", 4), ("非公企业", 4)]
    assert stored(db, "select count(*) from communities where street = '东湖街道'") == [(2,)]   # untouched
