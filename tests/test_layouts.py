"""Layouts modelled on real public templates and exports (sources in samples/README.md), filled with
synthetic people. Each test imports the file as a clerk would, without --map, and checks what lands in
the store: the 正式/预备 split, branch, employer, residence and organization status."""
from __future__ import annotations

from pathlib import Path

import openpyxl
from builders import make_id, write_lists, write_xlsx, stored

from pbtool.importer import import_files




def split(db: str) -> dict:
    return dict(stored(db, "select coalesce(category, '无'), count(*) from members group by 1"))


def district_lists(tmp_path: Path, orgs=()) -> Path:
    comms = [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": "朝阳社区党委"}]
    ests = [{"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": ""}]
    return write_lists(tmp_path / "资源清单.xlsx", comms, ests, list(orgs))


# ---------------------------------------------------------------- 1. owip 党员信息一张表导入样表


def test_owip_one_sheet_import_layout(tmp_path, db):
    """xvchaoqun/owip doc/excel/党建/[sample_member_all_update]党员信息一张表导入样表.xlsx: 人员类别 holds
    教职工/离退休/学生, 党籍状态 holds 正式党员/预备党员, the branch is 所属党支部."""
    header = ["学工号", "姓名", "人员类别", "性别", "身份证号", "出生时间", "所属党委", "所属党支部", "党籍状态",
              "入党时间", "转正时间", "工作/学习单位", "联系地址", "手机"]
    types = ["教职工", "离退休", "本科生", "教职工", "研究生"]
    rows = [[f"T{i:04d}", f"教工{i}", types[i % 5], "男", make_id(i), "1980-01-01", "青湖区机关党委",
             "机关第一党支部" if i < 3 else "机关第二党支部", "预备党员" if i == 4 else "正式党员",
             "2010-07-01", "2011-07-01", "青湖智联科技有限公司", f"东湖街道幸福里小区{i}栋101", "13800138000"]
            for i in range(5)]
    f = write_xlsx(tmp_path / "东湖街道党员信息一张表.xlsx", {"党员信息": (header, rows)})
    r = import_files([district_lists(tmp_path), f], "2026Q3", db)
    assert not [p for p in r.problems if p.code == "BAD_VALUE"]
    assert any("“党籍状态”列的内容是正式党员/预备党员，已按人员类别导入" in n for n in r.notes)
    assert any("“人员类别”列" in n and "人员身份" in n for n in r.notes)
    assert split(db) == {"正式": 4, "预备": 1}
    assert stored(db, "select person_type, count(*) from members group by 1 order by 1") == [
        ("教职工", 2), ("本科生", 1), ("研究生", 1), ("离退休", 1)]
    assert stored(db, "select branch, count(*) from members group by 1 order by 1") == [
        ("机关第一党支部", 3), ("机关第二党支部", 2)]
    assert {e for (e,) in stored(db, "select employer from members")} == {"青湖智联科技有限公司"}
    assert stored(db, "select distinct community, estate, place_source from members") == [
        ("朝阳社区", "幸福里小区", "address")]


# ---------------------------------------------------------------- 2. owip 党员导出（getCommonExportTitles）


def test_owip_member_export_layout(tmp_path, db):
    """xvchaoqun/owip src/main/java/controller/member/MemberController.java getCommonExportTitles():
    正式/预备 stand under 政治面貌, 人员类别 holds 教职工; 入党时所在党支部 is not the branch."""
    header = ["姓名", "学工号", "人员类别", "性别", "出生日期", "年龄", "身份证号", "民族", "籍贯", "所属党委",
              "所属党支部", "政治面貌", "入党时间", "入党时所在党支部", "入党介绍人", "转正时间", "转正时所在党支部",
              "党内职务", "党内奖励", "其他奖励", "增加类型", "手机号码", "备注1", "备注2", "备注3"]
    rows = [[f"学者{i}", f"S{i}", "教职工", "女", "1990-05-01", 36, make_id(i, "19900501", "女"), "汉族", "北京",
             "某学院党委", "物理系党支部", "预备党员" if i < 2 else "正式党员", "2015-06-01", "物理系学生党支部",
             "某某", "2016-06-01", "物理系学生党支部", "", "", "", "", "13900139000", "", "", ""]
            for i in range(6)]
    f = write_xlsx(tmp_path / "东湖街道党员信息(20260901).xlsx", {"Sheet1": (header, rows)})
    r = import_files([f], "2026Q3", db)
    assert not [p for p in r.problems if p.code == "BAD_VALUE"]
    assert split(db) == {"正式": 4, "预备": 2}
    assert stored(db, "select distinct branch, person_type from members") == [("物理系党支部", "教职工")]
    # this export holds no employer and no residence: nothing is invented
    assert stored(db, "select distinct employer, community, estate from members") == [(None, None, None)]


# ---------------------------------------------------------------- 3. 非公有制经济组织工作台账（附件2）


def unpublic_ledger(path: Path, orgs: list[tuple[str, str, int, str, str]]) -> Path:
    """3babydaddy/ProjectRepository TwoNewOrg/src/main/resources/templet/unpublic.xlsx: 3 title rows,
    3 header rows with merged groups and √ sub-columns. orgs: (name, type tick, employees, 是否建立, form tick)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet2"
    ws["B1"] = "附件2："
    ws.merge_cells("B1:N1")
    ws["B2"] = "非公有制经济组织工作台账（一）\n"
    ws.merge_cells("B2:N2")
    ws["B3"] = "填报单位（盖章）：东湖街道党工委        主要负责人（签字）：        填表日期：     年  月  日"
    ws.merge_cells("B3:N3")
    top = {1: "单位", 2: "序号", 3: "企业座落地", 6: "园区级别︵国家级、市级、区级及以下︶", 7: "是否为亿元楼宇︵是、否︶",
           8: "所在园区、商务楼宇名称", 9: "企业基本情况", 19: "企业出资人情况", 23: "党组织设置情况"}
    mid = {3: "园区", 4: "楼宇", 5: "其他", 9: "企业\n名称", 10: "企业注册地", 11: "企业经营地", 12: "联系\n电话",
           13: "企业类型", 16: "年营业收入\n（万元）", 17: "从业人员数量（名）", 18: "是否规模以上企业︵是、否︶",
           19: "企业出资人姓名", 20: "是否是党员", 23: "是否建立党组织", 24: "党组织成立时间", 25: "党组织\n组建形式"}
    low = {13: "私营企业", 14: "港澳台商投资企业", 15: "外商投资企业", 25: "单独建立", 26: "联合建立", 27: "网格建立"}
    for row, cells in ((4, top), (5, mid), (6, low)):
        for c, v in cells.items():
            ws.cell(row, c, v)
    for rng in ("A4:A6", "B4:B6", "C4:E4", "F4:F6", "G4:G6", "H4:H6", "I4:R4", "S4:V4", "W4:AA4",
                "I5:I6", "J5:J6", "K5:K6", "L5:L6", "M5:O5", "P5:P6", "Q5:Q6", "R5:R6", "S5:S6", "T5:T6",
                "W5:W6", "X5:X6", "Y5:AA5"):
        ws.merge_cells(rng)
    for k, (name, typ, n, est, form) in enumerate(orgs):
        r = 7 + k
        ws.cell(r, 2, k + 1)
        ws.cell(r, 9, name)
        for c, t in ((13, "私营企业"), (14, "港澳台商投资企业"), (15, "外商投资企业")):
            ws.cell(r, c, "√" if t == typ else "")
        ws.cell(r, 17, n)
        ws.cell(r, 23, est)
        for c, t in ((25, "单独建立"), (26, "联合建立"), (27, "网格建立")):
            ws.cell(r, c, "√" if t in form.split("+") else "")
    wb.save(path)
    return path


def test_unpublic_ledger_imports_as_org_list_without_map(tmp_path, db):
    f = unpublic_ledger(tmp_path / "东湖街道非公有制经济组织工作台账.xlsx", [
        ("青湖智联科技有限公司", "私营企业", 120, "否", ""),
        ("青湖港通物流有限公司", "港澳台商投资企业", 40, "是", "单独建立"),
        ("青湖外服咨询有限公司", "外商投资企业", 15, "是", "网格建立"),
        ("青湖双标贸易有限公司", "私营企业", 8, "是", "单独建立+联合建立"),
        ("青湖无勾贸易有限公司", "私营企业", 9, "是", ""),
    ])
    r = import_files([f], "2026Q3", db)
    [sheet] = r.sheets
    assert (sheet.kind, sheet.header_row, sheet.rows) == ("org", 6, 5)
    assert stored(db, "select name, org_type, employees, org_status from orgs order by row") == [
        ("青湖智联科技有限公司", "非公企业", 120, "未建立"),
        ("青湖港通物流有限公司", "非公企业", 40, "单独组建"),
        ("青湖外服咨询有限公司", "非公企业", 15, "联合组建"),
        ("青湖双标贸易有限公司", "非公企业", 8, None),
        ("青湖无勾贸易有限公司", "非公企业", 9, None)]
    ticks = [(p.code, p.row, p.column, p.value) for p in r.problems if p.code.startswith("TICK")]
    assert ticks == [("TICK_MANY", 10, "单独建立、联合建立、网格建立", "单独建立、联合建立"),
                     ("TICK_NONE", 11, "单独建立、联合建立、网格建立", "是")]
    assert r.errors == 1


# ---------------------------------------------------------------- 4. 社会组织党组织工作台账（民办学校）


def test_social_org_ledger_layout(tmp_path, db):
    """3babydaddy/ProjectRepository TwoNewOrg/src/main/resources/templet/social.xlsx (民办学校党组织工作台账):
    社会组织名称 / 社会组织性质, 是否成立党组织 and the 党组织组建形式 tick group."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "民办学校（含幼儿园）"
    ws["A2"] = "民办学校党组织工作台账（一）"
    ws.merge_cells("A2:L2")
    ws["A3"] = "填报单位（盖章）：东湖街道            填表日期：2026年9月  日"
    ws.merge_cells("A3:L3")
    for c, v in {1: "序号", 2: "社会组织基本情况", 7: "党组织设置情况"}.items():
        ws.cell(4, c, v)
    for c, v in {2: "社会组织名称", 3: "社会组织性质", 4: "从业人员情况", 7: "是否\n成立\n党组织", 8: "党组织名称",
                 9: "党组织组建形式"}.items():
        ws.cell(5, c, v)
    for c, v in {4: "总数", 5: "专职\n人员\n（人）", 6: "中共\n党员（人）", 9: "在会员中建", 10: "在理事会中建",
                 11: "在业务主管部门联合建", 12: "其他\n"}.items():
        ws.cell(6, c, v)
    for rng in ("A4:A6", "B4:F4", "G4:L4", "B5:B6", "C5:C6", "D5:F5", "G5:G6", "H5:H6", "I5:L5"):
        ws.merge_cells(rng)
    data = [("青湖启明培训学校", "民办非企业单位", 30, "是", "朝阳社区民办学校党支部", 9),
            ("青湖小树幼儿园", "民办非企业单位", 12, "否", "", None),
            ("青湖书法协会", "社会团体", 5, "是", "联合党支部", 11)]
    for k, (name, nature, n, est, org, tick) in enumerate(data):
        r = 7 + k
        for c, v in {1: k + 1, 2: name, 3: nature, 4: n, 7: est, 8: org}.items():
            ws.cell(r, c, v)
        if tick:
            ws.cell(r, tick, "√")
    f = tmp_path / "东湖街道社会组织党组织工作台账.xlsx"
    wb.save(f)
    r = import_files([f], "2026Q3", db)
    assert [(s.kind, s.rows) for s in r.sheets] == [("org", 3)]
    assert stored(db, "select name, org_type, org_status, party_org from orgs order by row") == [
        ("青湖启明培训学校", "社会组织", "单独组建", "朝阳社区民办学校党支部"),
        ("青湖小树幼儿园", "社会组织", "未建立", None),
        ("青湖书法协会", "社会组织", "联合组建", "联合党支部")]


# ---------------------------------------------------------------- 5. WisdomTown 党员导出（easypoi）


def test_wisdomtown_party_member_export_layout(tmp_path, db):
    """LeeStep1/WisdomTown service-pb/src/main/java/com/bit/module/pb/vo/partyMember/PartyMemberExportVO.java:
    所属党支部 first, 党籍状态 = 正式党员/预备党员, 工作/学习单位, 现居住地 (free text)."""
    header = ["所属党支部", "姓名", "性别", "出生日期", "民族", "学历", "身份证号码", "联系电话", "入党时间", "党籍状态",
              "户籍所在派出所", "工作/学习单位", "现居住地", "籍贯", "原服役部队"]
    rows = [["朝阳社区第一党支部", f"居民{i}", "男", "1970-03-01", "汉族", "本科", make_id(i, "19700301"),
             "13700137000", "2000-07-01", "预备党员" if i == 0 else "正式党员", "东湖派出所",
             "青湖智联科技有限公司" if i < 3 else "青湖(杭州)数据服务有限公司", f"东湖街道幸福里小区{i}栋", "浙江", ""]
            for i in range(5)]
    f = write_xlsx(tmp_path / "东湖街道党员导出.xlsx", {"党员信息": (header, rows)})
    orgs = [{"单位名称": "青湖智联科技有限公司", "组织类型": "非公有制企业", "所在街道": "东湖街道", "所在社区": "朝阳社区",
             "党组织建立情况": "未建立"},
            {"单位名称": "青湖(杭州)数据服务有限公司", "组织类型": "民办非企业单位", "所在街道": "东湖街道",
             "所在社区": "朝阳社区", "党组织建立情况": "联合组建"}]
    r = import_files([district_lists(tmp_path, orgs), f], "2026Q3", db)
    assert not [p for p in r.problems if p.code in ("BAD_VALUE", "UNKNOWN_PLACE")]
    assert any("“党籍状态”列的内容是正式党员/预备党员" in n for n in r.notes)
    assert split(db) == {"正式": 4, "预备": 1}
    assert stored(db, "select distinct branch from members") == [("朝阳社区第一党支部",)]
    assert stored(db, "select employer, count(*) from members group by 1 order by 2 desc") == [
        ("青湖智联科技有限公司", 3), ("青湖(杭州)数据服务有限公司", 2)]
    assert stored(db, "select distinct community, estate from members") == [("朝阳社区", "幸福里小区")]
    assert stored(db, "select name, org_status from orgs order by name") == [
        ("青湖(杭州)数据服务有限公司", "联合组建"), ("青湖智联科技有限公司", "未建立")]


# ---------------------------------------------------------------- 6. 全国党员管理信息系统导出


def test_national_system_export_layout(tmp_path, db):
    """The 全国党员管理信息系统 header set (domain.md §4): 人员类别 = 正式党员, 党籍状态 = 正常, no estate
    column, the residence only in 家庭住址; 工作岗位 is an occupation, not the employer."""
    header = ["序号", "姓名", "性别", "公民身份证号", "民族", "出生日期", "学历", "人员类别", "所在党支部", "加入党组织日期",
              "转为正式党员日期", "工作岗位", "家庭住址", "党籍状态", "是否为流动党员"]
    rows = [[i + 1, f"老党员{i}", "男", make_id(i, "19550101"), "汉族", "1955-01-01", "高中",
             "预备党员" if i == 3 else "正式党员", "朝阳社区离退休党支部", "1980-07-01", "1981-07-01", "离退休人员",
             f"东湖街道幸福里小区{i}栋2单元", "停止党籍" if i == 2 else "正常", "否"] for i in range(4)]
    f = write_xlsx(tmp_path / "东湖街道党员信息（全国党员管理信息系统导出）.xlsx", {"党员信息": (header, rows)})
    r = import_files([district_lists(tmp_path), f], "2026Q3", db)
    assert not [p for p in r.problems if p.code == "BAD_VALUE"]
    assert split(db) == {"正式": 3, "预备": 1}
    assert stored(db, "select status, count(*) from members group by 1 order by 1") == [("停止党籍", 1), ("正常", 3)]
    assert stored(db, "select distinct branch, employer, occupation, person_type from members") == [
        ("朝阳社区离退休党支部", None, "离退休人员", None)]
    assert stored(db, "select distinct community, estate, place_source from members") == [
        ("朝阳社区", "幸福里小区", "address")]


# ---------------------------------------------------------------- 7. 党员基本信息采集表（一人一表）


def person_form(ws, n: int, name: str, category: str, branch: str) -> None:
    """The 全国党员管理信息系统 党员基本信息采集表 style: label cells beside value cells, one person per sheet."""
    ws["A1"] = "党员基本信息采集表"
    ws.merge_cells("A1:F1")
    ws["A2"] = "填报单位：青湖区东湖街道朝阳社区党委"
    ws.merge_cells("A2:F2")
    cells = {"A3": "姓名", "B3": name, "C3": "性别", "D3": "男", "E3": "民族", "F3": "汉族",
             "A4": "公民身份号码", "B4": make_id(n), "E4": "出生日期", "F4": "1980-01-01",
             "A5": "学历", "B5": "本科", "C5": "人员类别", "D5": category, "E5": "入党日期", "F5": "2005-07-01",
             "A6": "所在党支部", "B6": branch, "A7": "工作单位", "B7": "青湖智联科技有限公司",
             "A8": "家庭住址", "B8": f"东湖街道幸福里小区{n}栋", "A9": "联系电话", "B9": "13800138000"}
    for ref, v in cells.items():
        ws[ref] = v
    for rng in ("B4:D4", "B6:F6", "B7:F7", "B8:F8", "B9:F9"):
        ws.merge_cells(rng)


def test_one_person_forms_import_as_one_roster(tmp_path, db):
    wb = openpyxl.Workbook()
    person_form(wb.active, 1, "周一", "正式党员", "朝阳社区第一党支部")
    wb.active.title = "周一"
    person_form(wb.create_sheet("周二"), 2, "周二", "预备党员", "朝阳社区第一党支部")
    a = tmp_path / "东湖街道党员基本信息采集表.xlsx"
    wb.save(a)
    wb = openpyxl.Workbook()
    person_form(wb.active, 3, "周三", "正式党员", "朝阳社区第二党支部")
    b = tmp_path / "东湖街道党员基本信息采集表-周三.xlsx"
    wb.save(b)
    r = import_files([district_lists(tmp_path), a, b], "2026Q3", db)
    assert [(s.sheet, s.kind, s.rows) for s in r.sheets if s.kind == "roster"] == [
        ("周一", "roster", 1), ("周二", "roster", 1), ("Sheet", "roster", 1)]
    assert split(db) == {"正式": 2, "预备": 1}
    # row = the Excel row of the name on the form
    assert stored(db, "select name, branch, employer, estate, street, row from members order by name") == [
        ("周一", "朝阳社区第一党支部", "青湖智联科技有限公司", "幸福里小区", "东湖街道", 3),
        ("周三", "朝阳社区第二党支部", "青湖智联科技有限公司", "幸福里小区", "东湖街道", 3),
        ("周二", "朝阳社区第一党支部", "青湖智联科技有限公司", "幸福里小区", "东湖街道", 3)]
    assert not [p for p in r.problems if p.severity == "错误"]


def test_header_normalization_reads_real_spellings(tmp_path, db):
    """Prefixes 所属/所在/现, suffixes 名称/全称, bracketed notes, units, A/B alternatives, full width."""
    header = ["序号", "姓　名", "身份证号码（18位）", "人员类别（正式党员或预备党员）", "所属党支部名称", "工作/学习单位",
              "现居住小区名称", "所在社区", "出生时间", "手机", "联系地址", "街道名称"]
    rows = [[1, "钱一", make_id(1), "正式党员", "第一党支部", "青湖智联科技有限公司", "幸福里小区", "朝阳社区",
             "1980-01-01", "13800138000", "东湖街道幸福里小区1栋", "东湖街道"]]
    f = write_xlsx(tmp_path / "花名册.xlsx", {"花名册": (header, rows)})
    r = import_files([district_lists(tmp_path), f], "2026Q3", db)
    assert not [p for p in r.problems if p.code == "UNKNOWN_COLUMN"]
    assert stored(db, "select name, category, branch, employer, estate, community, street, birth_date, phone, address "
                      "from members") == [
        ("钱一", "正式", "第一党支部", "青湖智联科技有限公司", "幸福里小区", "朝阳社区", "东湖街道", "1980-01-01",
         "13800138000", "东湖街道幸福里小区1栋")]
    orgs = write_xlsx(tmp_path / "两新组织.xlsx", {"两新组织": (
        ["单位全称", "社会组织类型", "从业人员数量（名）", "党组织组建形式"],
        [["青湖书画协会", "社会团体", 12, "联合组建"]])})
    import_files([orgs], "2026Q3", db, street="东湖街道")
    assert stored(db, "select name, org_type, employees, org_status from orgs") == [("青湖书画协会", "社会组织", 12, "联合组建")]


def test_place_columns_with_unknown_headers_are_judged_by_their_values(tmp_path, db):
    header = ["姓名", "身份证号", "人员类别", "居委会", "住宅楼盘", "籍贯"]
    rows = [[f"孙{i}", make_id(i), "正式党员", "朝阳社区", "幸福里小区", "浙江杭州"] for i in range(3)]
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (header, rows)})
    r = import_files([district_lists(tmp_path), f], "2026Q3", db)
    assert any("“居委会”列的内容是社区名称，已按所属社区导入" in n for n in r.notes)
    assert any("“住宅楼盘”列的内容是小区名称，已按居住小区导入" in n for n in r.notes)
    assert stored(db, "select distinct community, estate, place_source from members") == [
        ("朝阳社区", "幸福里小区", "column")]
    assert [p.column for p in r.problems if p.code == "UNKNOWN_COLUMN"] == ["籍贯"]


def test_org_list_with_unknown_status_header_is_not_taken_for_a_community_list(tmp_path, db):
    """A two-new list whose status column has a header no synonym knows (党建情况): 所属社区 names where
    each organization is, so the sheet is not a community list (it had been stored as one, replacing
    the street's communities with the organizations' community names); the status column's values
    (单独组建/联合建立/未建立) name the field, and the sheet is imported as the organization list."""
    header = ["序号", "单位名称", "所属社区", "所在街道", "党建情况"]
    rows = [[1, "杭州青湖科技有限公司", "朝阳社区", "东湖街道", "单独组建"],
            [2, "杭州东湖餐饮有限公司", "朝阳社区", "东湖街道", "未建立"],
            [3, "青湖区爱心社工服务中心", "朝阳社区", "东湖街道", "联合建立"]]
    f = write_xlsx(tmp_path / "东湖街道两新组织.xlsx", {"Sheet1": (header, rows)})
    r = import_files([f], "2026Q3", db)
    assert [s.kind for s in r.sheets] == ["org"]
    assert any("“党建情况”列的内容是单独组建/联合组建/挂靠/未建立等党组织建立情况，已按党组织建立情况导入" in n
               for n in r.notes)
    assert stored(db, "select name, community, org_status from orgs order by row") == [
        ("杭州青湖科技有限公司", "朝阳社区", "单独组建"), ("杭州东湖餐饮有限公司", "朝阳社区", "未建立"),
        ("青湖区爱心社工服务中心", "朝阳社区", "联合组建")]
    assert stored(db, "select count(*) from communities") == [(0,)]


def test_sheet_naming_only_where_rows_belong_is_refused_not_stored_as_communities(tmp_path, db):
    """The same list without any status column: nothing says what the rows are. It must not become a
    community list; the import refuses the file and the store stays empty."""
    header = ["序号", "单位名称", "所属社区", "所在街道"]
    rows = [[1, "杭州青湖科技有限公司", "朝阳社区", "东湖街道"], [2, "杭州东湖餐饮有限公司", "朝阳社区", "东湖街道"]]
    f = write_xlsx(tmp_path / "东湖街道单位.xlsx", {"Sheet1": (header, rows)})
    import pytest

    from pbtool.importer import ImportError_
    with pytest.raises(ImportError_, match="数据库未作任何改动"):
        import_files([f], "2026Q3", db)
    from sqlalchemy.exc import OperationalError, ProgrammingError
    try:
        assert stored(db, "select count(*) from communities") == [(0,)]
    except (OperationalError, ProgrammingError):   # no store was created at all
        pass


def test_community_list_named_by_its_own_header_still_detected(tmp_path, db):
    """社区 / 社区名称 as the community list's own name column, beside 所在街道: still a community list."""
    for i, name_header in enumerate(["社区名称", "社区"]):
        f = write_xlsx(tmp_path / f"社区清单{i}.xlsx", {"社区": (["所在街道", name_header, "社区党组织名称"],
                                                                [["东湖街道", "朝阳社区", "朝阳社区党委"]])})
        r = import_files([f], "2026Q3", db)
        assert [s.kind for s in r.sheets] == ["community"], name_header
