"""Resource lists (两新组织、社区、小区、驻区单位) in layouts modelled on real public templates and systems,
filled with synthetic units. Each test imports the file as a clerk would, without --map, and checks
what lands in the store. The source of each layout is named in its test."""
from __future__ import annotations

from pathlib import Path

import pytest
from builders import COMMUNITY_HEADER, ESTATE_HEADER, ORG_HEADER, ROSTER_HEADER, make_uscc, member, write_xlsx, stored

from pbtool.coverage import compute_coverage
from pbtool.importer import ImportError_, import_files


def kinds(result) -> list[tuple[str, str, int]]:
    return [(s.sheet, s.kind, s.rows) for s in result.sheets]


# ---------------------------------------------------------------- 1. 是否建立党组织 是/否, no form column


NONPUBLIC_SURVEY = ["序号", "企业名称", "统一社会信用代码", "企业类型", "所在街道", "所在社区", "从业人员数", "党员人数",
                    "是否建立党组织", "党组织名称", "是否派驻党建指导员", "党建指导员姓名"]


def nonpublic_survey(path: Path) -> Path:
    """A flat 非公企业党建工作情况 list whose status is only 是否建立党组织 (是/否), as in
    A1500/cam cam/WebContent/jsp/ext/somsd/manage/check/group/detail/groupCheckDetail2.jsp (社会团体年检:
    党建情况 = 是/否, ifBuildParty), 3babydaddy/ProjectRepository TwoNewOrg/.../templet/unpublic.xlsx
    (是否建立党组织 beside the form ticks, here without them) and an Android 两新组织 form with
    是否组建党组织 / 是否派驻党建指导员 selects; the instructor's name under 党建指导员姓名 as in a
    “组织建设 / 两个覆盖” Vue page (partyBuildingInstructorName). Title rows above the header."""
    rows = [[1, "青湖一号科技有限公司", make_uscc(1), "私营企业", "东湖街道", "朝阳社区", 50, 4, "是",
             "青湖一号科技有限公司党支部", "否", ""],
            [2, "青湖二号贸易有限公司", make_uscc(2), "私营企业", "东湖街道", "朝阳社区", 8, 1, "否", "", "是", ""],
            [3, "青湖三号餐饮有限公司", make_uscc(3), "民营企业", "东湖街道", "朝阳社区", 12, 0, "否", "", "否", "王指导"],
            [4, "青湖四号物流有限公司", make_uscc(4), "私营企业", "东湖街道", "朝阳社区", 30, 3, "否", "", "否", ""]]
    return write_xlsx(path, {"非公企业": (NONPUBLIC_SURVEY, rows)}, title="东湖街道非公有制企业党建工作情况统计表")


def test_yes_no_established_column_is_the_org_status_without_a_guessed_form(tmp_path, db):
    """是 is stored as 已建立 (there is a Party organization; the list does not say how it was formed),
    否 as 未建立; the sheet is an organization list (it had been refused: no 党组织建立情况 column)."""
    r = import_files([nonpublic_survey(tmp_path / "东湖街道非公企业党建情况.xlsx")], "2026Q3", db)
    assert kinds(r) == [("非公企业", "org", 4)]
    assert stored(db, "select name, uscc, org_type, community, employees, org_status, party_org, instructor, "
                      "instructor_assigned from orgs order by row") == [
        ("青湖一号科技有限公司", make_uscc(1), "非公企业", "朝阳社区", 50, "已建立", "青湖一号科技有限公司党支部", None, False),
        ("青湖二号贸易有限公司", make_uscc(2), "非公企业", "朝阳社区", 8, "未建立", None, None, True),
        ("青湖三号餐饮有限公司", make_uscc(3), "非公企业", "朝阳社区", 12, "未建立", None, "王指导", False),
        ("青湖四号物流有限公司", make_uscc(4), "非公企业", "朝阳社区", 30, "未建立", None, None, False)]
    assert [p.column for p in r.problems] == ["党员人数"]   # the member count is kept, not a field


def test_established_organization_is_covered_and_not_a_blind_spot(tmp_path, db):
    """An organization whose list says 是 has a Party organization: three 正式党员 working there are no
    ORG_SOLO blind spot, and it counts toward the organizational coverage rate."""
    lists = nonpublic_survey(tmp_path / "东湖街道非公企业党建情况.xlsx")
    roster = [member(i, employer="青湖一号科技有限公司", community="朝阳社区") for i in range(1, 4)]
    roster += [member(i, employer="青湖四号物流有限公司", community="朝阳社区") for i in range(4, 7)]
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, roster)})
    places = write_xlsx(tmp_path / "东湖街道社区小区.xlsx", {
        "社区": (COMMUNITY_HEADER, [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": "朝阳社区党委"}]),
        "小区": (ESTATE_HEADER, [{"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区",
                                 "小区党组织名称": "幸福里小区党支部"}])})
    import_files([places, lists, f], "2026Q3", db)
    res = compute_coverage(db, "2026Q3")
    solo = sorted(x.target for x in res.findings if x.rule == "ORG_SOLO")
    assert solo == ["青湖四号物流有限公司"]
    no_work = sorted(x.target for x in res.findings if x.rule == "ORG_NO_WORK")
    assert no_work == ["青湖四号物流有限公司"]   # 二号 has an instructor assigned, 三号 a named one
    [total] = [x for x in res.rates if (x.scope, x.street, x.kind) == ("street", "东湖街道", "合计")]
    assert (total.total, total.org_covered, total.work_covered) == (4, 1, 3)


def test_unknown_established_value_is_reported_not_guessed(tmp_path, db):
    rows = [[1, "青湖五号科技有限公司", make_uscc(5), "私营企业", "东湖街道", "朝阳社区", 20, 2, "正在筹建", "", "否", ""],
            [2, "青湖六号科技有限公司", make_uscc(6), "私营企业", "东湖街道", "朝阳社区", 20, 2, "否", "", "否", ""]]
    f = write_xlsx(tmp_path / "东湖街道非公企业.xlsx", {"非公企业": (NONPUBLIC_SURVEY, rows)})
    r = import_files([f], "2026Q3", db)
    bad = [(p.code, p.row, p.column, p.value) for p in r.problems if p.code == "BAD_VALUE"]
    assert bad == [("BAD_VALUE", 2, "是否建立党组织", "正在筹建")]
    assert stored(db, "select name, org_status from orgs order by row") == [
        ("青湖五号科技有限公司", None), ("青湖六号科技有限公司", "未建立")]


def test_a_lone_yes_no_column_is_not_taken_for_the_status(tmp_path, db):
    """A 是/否 column under a header no synonym knows (是否规模以上企业) says nothing about a Party
    organization: the sheet has no status column, and it is refused with the --map hint."""
    header = ["序号", "企业名称", "统一社会信用代码", "所在社区", "是否规模以上企业"]
    rows = [[1, "青湖七号科技有限公司", make_uscc(7), "朝阳社区", "是"], [2, "青湖八号科技有限公司", make_uscc(8), "朝阳社区", "否"]]
    f = write_xlsx(tmp_path / "东湖街道企业.xlsx", {"Sheet1": (header, rows)})
    with pytest.raises(ImportError_, match="数据库未作任何改动"):
        import_files([f], "2026Q3", db, street="东湖街道")
    # the clerk who knows the column holds the status says so
    f2 = write_xlsx(tmp_path / "东湖街道社会组织.xlsx", {"社会组织": (
        ["序号", "社会组织名称", "统一社会信用代码", "社会组织类型", "党建情况"],
        [[1, "青湖区书画协会", make_uscc(11), "社会团体", "是"], [2, "青湖区启明培训学校", make_uscc(12), "民办非企业单位", "否"]])})
    import_files([f2], "2026Q3", db, street="东湖街道", user_map={"党建情况": "org_status"})
    assert stored(db, "select name, org_type, org_status from orgs order by row") == [
        ("青湖区书画协会", "社会组织", "已建立"), ("青湖区启明培训学校", "社会组织", "未建立")]


# ---------------------------------------------------------------- 2. 组建情况 beside 单位类型


def test_org_list_with_zujian_qingkuang_is_not_taken_for_a_resident_unit_list(tmp_path, db):
    """A two-new list headed 单位名称 | 统一社会信用代码 | 单位类型 | 所属社区 | 从业人员 | 组建情况 | 党组织类别 |
    党组织名称 | 党建指导员 (组建情况 is the column the brief's 两新组织 统计表 names; 单位类型 is a header
    both lists share). It had been imported as a 驻区单位 list (name + 单位类型 + 社区), its
    statuses, credit codes and instructors dropped, replacing the street's resident units."""
    header = ["序号", "单位名称", "统一社会信用代码", "单位类型", "所属社区", "从业人员", "组建情况", "党组织类别", "党组织名称",
              "党建指导员"]
    rows = [[1, "青湖六号科技有限公司", make_uscc(6), "非公企业", "朝阳社区", 40, "单独建立", "党支部", "青湖六号科技有限公司党支部", ""],
            [2, "青湖七号贸易有限公司", make_uscc(7), "非公企业", "朝阳社区", 6, "联合建立", "联合党支部", "朝阳社区非公企业联合党支部", ""],
            [3, "青湖八号餐饮有限公司", make_uscc(8), "非公企业", "朝阳社区", 9, "未建立", "", "", "郑十"]]
    f = write_xlsx(tmp_path / "东湖街道两新组织.xlsx", {"两新组织": (header, rows)})
    r = import_files([f], "2026Q3", db, street="东湖街道")
    assert kinds(r) == [("两新组织", "org", 3)]
    assert stored(db, "select name, uscc, org_type, community, employees, org_status, party_org, instructor "
                      "from orgs order by row") == [
        ("青湖六号科技有限公司", make_uscc(6), "非公企业", "朝阳社区", 40, "单独组建", "青湖六号科技有限公司党支部", None),
        ("青湖七号贸易有限公司", make_uscc(7), "非公企业", "朝阳社区", 6, "联合组建", "朝阳社区非公企业联合党支部", None),
        ("青湖八号餐饮有限公司", make_uscc(8), "非公企业", "朝阳社区", 9, "未建立", None, "郑十")]
    assert stored(db, "select count(*) from units") == [(0,)]


def test_org_list_with_unknown_status_header_beside_unit_type_is_an_org_list(tmp_path, db):
    """The same kind of list with its status under a header no synonym knows (党建情况, as the
    A1500/cam 社会团体年检 page labels it): 单位类型 alone made it a 驻区单位 list, because the values
    of unnamed columns were only consulted when no list fitted. Now a kind that lacks a key field
    asks the values wherever they could make it win; a real 驻区单位 list in the same import stays one."""
    header = ["序号", "单位名称", "统一社会信用代码", "单位类型", "所属社区", "党建情况", "党建工作指导员"]
    rows = [[1, "青湖九号科技有限公司", make_uscc(9), "非公企业", "朝阳社区", "单独组建", ""],
            [2, "青湖十号贸易有限公司", make_uscc(10), "社会组织", "朝阳社区", "未建立", "钱指导"]]
    f = write_xlsx(tmp_path / "东湖街道两新组织.xlsx", {"Sheet1": (header, rows)})
    units = write_xlsx(tmp_path / "东湖街道驻区单位.xlsx", {"驻区单位": (
        ["序号", "单位名称", "单位性质", "所在社区", "单位党组织名称", "是否签订共建协议", "共建项目数"],
        [[1, "青湖区税务局", "机关", "朝阳社区", "青湖区税务局机关党委", "是", 2],
         [2, "青湖第一中学", "事业单位", "朝阳社区", "青湖一中党总支", "否", 0]])})
    r = import_files([f, units], "2026Q3", db, street="东湖街道")
    assert sorted(kinds(r)) == [("Sheet1", "org", 2), ("驻区单位", "unit", 2)]
    assert any("“党建情况”列的内容是单独组建/联合组建/挂靠/未建立等党组织建立情况" in n for n in r.notes)
    assert stored(db, "select name, uscc, org_type, community, org_status, instructor from orgs order by row") == [
        ("青湖九号科技有限公司", make_uscc(9), "非公企业", "朝阳社区", "单独组建", None),
        ("青湖十号贸易有限公司", make_uscc(10), "社会组织", "朝阳社区", "未建立", "钱指导")]
    assert stored(db, "select name, unit_type, community, agreement, projects from units order by row") == [
        ("青湖区税务局", "机关", "朝阳社区", True, 2), ("青湖第一中学", "事业单位", "朝阳社区", False, 0)]



# ---------------------------------------------------------------- 3. 驻区单位: 共建项目 holding names


def test_resident_unit_projects_column_of_names_is_kept_not_a_bad_count(tmp_path, db):
    """区域化党建 项目清单-style 驻区单位 list: 共建项目 holds the projects' names (助老服务), not a count.
    It had been read as 共建项目数: every name a BAD_VALUE 非负整数 and the text lost from the store.
    Now the column is no count and its text is kept as written; a 共建项目 column of counts still is one."""
    header = ["序号", "单位名称", "单位性质", "所在社区", "单位党组织名称", "党员人数", "联系人", "是否签订共建协议", "共建项目"]
    rows = [[1, "青湖区税务局", "机关", "朝阳社区", "青湖区税务局机关党委", 80, "钱六", "是", "助老服务"],
            [2, "青湖第一中学", "事业单位", "朝阳社区", "青湖一中党总支", 40, "孙七", "是", "共建文明小区"],
            [3, "青湖区人民医院", "事业单位", "朝阳社区", "青湖区人民医院党委", 120, "周八", "否", ""]]
    f = write_xlsx(tmp_path / "东湖街道驻区单位.xlsx", {"驻区单位": (header, rows)})
    r = import_files([f], "2026Q3", db, street="东湖街道")
    assert kinds(r) == [("驻区单位", "unit", 3)]
    assert not [p for p in r.problems if p.code == "BAD_VALUE"]
    assert any("“共建项目”列的内容不是共建项目个数，未按共建项目数导入，内容原样保存" in n for n in r.notes)
    got = stored(db, "select name, agreement, projects, extra from units order by row")
    assert [(n, a, p) for n, a, p, _ in got] == [("青湖区税务局", True, None), ("青湖第一中学", True, None),
                                                 ("青湖区人民医院", False, None)]
    assert ["助老服务" in e for *_, e in got] == [True, False, False]
    assert "共建文明小区" in got[1][3]
    counts = write_xlsx(tmp_path / "东湖街道驻区单位2.xlsx", {"驻区单位": (
        ["序号", "单位名称", "单位性质", "所在社区", "是否签订共建协议", "共建项目"],
        [[1, "青湖区税务局", "机关", "朝阳社区", "是", 3], [2, "青湖第一中学", "事业单位", "朝阳社区", "是", 1]])})
    import_files([counts], "2026Q3", db, street="东湖街道", mode="replace")
    assert stored(db, "select name, projects from units order by row") == [("青湖区税务局", 3), ("青湖第一中学", 1)]


# ---------------------------------------------------------------- 4. 社区、小区 lists


def test_community_party_org_category_and_estate_total_households(tmp_path, db):
    """社区 list with 党组织类别 (党委/党总支/党支部: the label party-organization forms use, e.g. partyOrgType
    beside 党组织组建形式 in two-new systems) and a 小区 list with 总户数 (红色物业 小区台账 style, with
    物业服务企业 and 党员人数 kept as written). Both columns had been unknown."""
    f = write_xlsx(tmp_path / "东湖街道社区小区清单.xlsx", {
        "社区": (["序号", "街道名称", "社区名称", "社区党组织名称", "党组织类别", "书记姓名", "党员人数"],
                 [[1, "东湖街道", "朝阳社区", "朝阳社区党委", "党委", "周八", 120],
                  [2, "东湖街道", "文晖社区", "文晖社区党总支", "党总支", "吴九", 60]]),
        "小区": (["序号", "街道", "社区", "小区名称", "物业服务企业", "总户数", "党员人数", "小区党支部名称"],
                 [[1, "东湖街道", "朝阳社区", "幸福里小区", "青湖物业有限公司", 800, 12, "幸福里小区党支部"],
                  [2, "东湖街道", "文晖社区", "锦绣家园", "", 300, 2, ""]])})
    r = import_files([f], "2026Q3", db)
    assert kinds(r) == [("社区", "community", 2), ("小区", "estate", 2)]
    assert stored(db, "select street, name, party_org, org_type from communities order by row") == [
        ("东湖街道", "朝阳社区", "朝阳社区党委", "党委"), ("东湖街道", "文晖社区", "文晖社区党总支", "党总支")]
    assert stored(db, "select street, community, name, party_org, households from estates order by row") == [
        ("东湖街道", "朝阳社区", "幸福里小区", "幸福里小区党支部", 800), ("东湖街道", "文晖社区", "锦绣家园", None, 300)]
    assert sorted(p.column for p in r.problems if p.code == "UNKNOWN_COLUMN") == ["书记姓名", "党员人数", "党员人数",
                                                                                "物业服务企业"]


# ---------------------------------------------------------------- 5. 是否建立党组织 beside a plain form column


@pytest.mark.parametrize("order", ["established_first", "form_first"])
def test_established_column_beside_a_form_column_fills_only_its_gaps(tmp_path, db, order):
    """3babydaddy/ProjectRepository TwoNewOrg/.../templet/unpublic.xlsx has 是否建立党组织 beside 党组织组建形式;
    filled as plain columns (no √ sub-columns) the form column holds the status, whichever stands first,
    and 是否建立党组织 only speaks where the form is empty (否 -> 未建立, 是 -> 已建立). With 是否建立党组织
    first, it had taken the field and every 单独组建 had been stored as 已建立."""
    est, form = "是否建立党组织", "党组织组建形式"
    data = [("青湖一号科技有限公司", "是", "单独建立"), ("青湖二号贸易有限公司", "是", "联合建立"),
            ("青湖三号餐饮有限公司", "否", ""), ("青湖四号物流有限公司", "是", "")]
    if order == "established_first":
        header = ["序号", "企业名称", "统一社会信用代码", est, form]
        rows = [[i + 1, n, make_uscc(i + 1), e, f] for i, (n, e, f) in enumerate(data)]
    else:
        header = ["序号", "企业名称", "统一社会信用代码", form, est]
        rows = [[i + 1, n, make_uscc(i + 1), f, e] for i, (n, e, f) in enumerate(data)]
    f = write_xlsx(tmp_path / "东湖街道非公企业.xlsx", {"非公企业": (header, rows)})
    r = import_files([f], "2026Q3", db, street="东湖街道")
    assert kinds(r) == [("非公企业", "org", 4)]
    assert stored(db, "select name, org_status from orgs order by row") == [
        ("青湖一号科技有限公司", "单独组建"), ("青湖二号贸易有限公司", "联合组建"), ("青湖三号餐饮有限公司", "未建立"),
        ("青湖四号物流有限公司", "已建立")]
    assert not [p for p in r.problems if p.severity == "错误"]
    assert any("“是否建立党组织”列只用于“党组织组建形式”列空着的行（是按已建立，否按未建立）" in n for n in r.notes)


def test_tick_ledger_options_written_as_text_in_plain_columns(tmp_path, db):
    """The unpublic.xlsx ledger's options (企业类型 私营企业/港澳台商投资企业/外商投资企业, 组建形式
    单独建立/联合建立/网格建立, and 挂靠建立/依托建立 of other ledgers) typed into plain columns read as they do
    when ticked; they had been BAD_VALUE. A value outside the vocabulary is still reported."""
    header = ["序号", "企业名称", "企业类型", "从业人员数量", "党组织组建形式"]
    rows = [[1, "青湖一号科技有限公司", "港澳台商投资企业", 40, "网格建立"],
            [2, "青湖二号贸易有限公司", "外商投资企业", 12, "挂靠建立"],
            [3, "青湖三号餐饮有限公司", "私营企业", 9, "依托建立"],
            [4, "青湖四号物流有限公司", "私营企业", 30, "区域联建"],
            [5, "青湖五号商贸有限公司", "私营企业", 5, "正在筹建"]]
    f = write_xlsx(tmp_path / "东湖街道非公企业.xlsx", {"非公企业": (header, rows)})
    r = import_files([f], "2026Q3", db, street="东湖街道")
    assert stored(db, "select name, org_type, org_status from orgs order by row") == [
        ("青湖一号科技有限公司", "非公企业", "联合组建"), ("青湖二号贸易有限公司", "非公企业", "挂靠"),
        ("青湖三号餐饮有限公司", "非公企业", "挂靠"), ("青湖四号物流有限公司", "非公企业", "联合组建"),
        ("青湖五号商贸有限公司", "非公企业", None)]
    assert [(p.code, p.row, p.value) for p in r.problems if p.severity == "错误"] == [("BAD_VALUE", 6, "正在筹建")]


def test_district_may_change_what_the_status_profile_leaves_out(tmp_path, db):
    """pbtool.toml [profiles.org_status] exclude = [] lets a district whose lists head their 是/否 status
    column with an unknown header (党建情况, as A1500/cam's 社会团体年检 page) have it taken by its values."""
    from pbtool.config import load_config
    (tmp_path / "pbtool.toml").write_text('[profiles.org_status]\nexclude = []\n', encoding="utf-8")
    config = load_config(tmp_path / "pbtool.toml")
    f = write_xlsx(tmp_path / "东湖街道社会组织.xlsx", {"社会组织": (
        ["序号", "社会组织名称", "统一社会信用代码", "社会组织类型", "党建情况"],
        [[1, "青湖区书画协会", make_uscc(11), "社会团体", "是"], [2, "青湖区启明培训学校", make_uscc(12), "民办非企业单位", "否"]])})
    import_files([f], "2026Q3", db, street="东湖街道", config=config)
    assert stored(db, "select name, org_status from orgs order by row") == [
        ("青湖区书画协会", "已建立"), ("青湖区启明培训学校", "未建立")]


def test_org_list_without_status_is_refused_without_offering_the_serial_column(tmp_path, db):
    """A two-new list with 党组织名称 but no status column (a 两个覆盖 page's list view without 覆盖情况):
    nothing says whether each organization has a Party organization, so it is refused, store untouched.
    The diagnosis had offered “--map 序号=org_status” (序号, a column that carries nothing, was the
    “closest” header); it now names the missing column and offers no --map."""
    header = ["序号", "单位名称", "统一社会信用代码", "组织类型", "所在社区", "党组织名称", "党建工作指导员"]
    rows = [[1, "青湖一号科技有限公司", make_uscc(1), "非公企业", "朝阳社区", "青湖一号科技有限公司党支部", ""],
            [2, "青湖二号贸易有限公司", make_uscc(2), "非公企业", "朝阳社区", "", "王指导"]]
    f = write_xlsx(tmp_path / "东湖街道两新组织.xlsx", {"两新组织": (header, rows)})
    with pytest.raises(ImportError_) as exc:
        import_files([f], "2026Q3", db, street="东湖街道")
    text = str(exc.value).replace("\n", "")
    assert "数据库未作任何改动" in text and "缺少“党组织建立情况”列" in text
    assert "--map" not in text


def test_lists_template_carries_established_and_assigned_instructor_to_the_next_quarter(tmp_path, db):
    """The next quarter's fill-in template keeps what the list said: 已建立 as the status, and
    是否选派党建工作指导员 (是/否) as a column of its own, written only when the street's list had it.
    Without that column, an organization with an instructor assigned but not named lost it on the way
    back and became an ORG_NO_WORK blind spot the next quarter. The street returns the template
    untouched: the next quarter's organizations are this quarter's."""
    import openpyxl

    from pbtool.fillin import make_templates

    places = write_xlsx(tmp_path / "东湖街道社区小区.xlsx", {
        "社区": (COMMUNITY_HEADER, [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": "朝阳社区党委"}]),
        "小区": (ESTATE_HEADER, [{"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区",
                                 "小区党组织名称": "幸福里小区党支部"}])})
    import_files([places, nonpublic_survey(tmp_path / "东湖街道非公企业党建情况.xlsx")], "2026Q3", db)
    out = tmp_path / "模板"
    [path] = make_templates("lists", "2026Q4", out, db).files
    ws = openpyxl.load_workbook(path)["两新组织"]
    header = [c.value for c in ws[3]]
    assert "是否选派党建工作指导员" in header
    rows = {r[0]: dict(zip(header, r)) for r in ws.iter_rows(min_row=4, values_only=True) if r[0]}
    assert (rows["青湖一号科技有限公司"]["党组织建立情况"], rows["青湖一号科技有限公司"]["是否选派党建工作指导员"]) == ("已建立", "否")
    assert rows["青湖二号贸易有限公司"]["是否选派党建工作指导员"] == "是"
    import_files([path], "2026Q4", db)
    q = "select name, org_status, instructor, instructor_assigned from orgs where period = '{}' order by name"
    assert stored(db, q.format("2026Q4")) == stored(db, q.format("2026Q3"))
    for period in ("2026Q3", "2026Q4"):   # 二号 (assigned) and 三号 (named) have work coverage in both
        res = compute_coverage(db, period)
        assert sorted(x.target for x in res.findings if x.rule == "ORG_NO_WORK") == ["青湖四号物流有限公司"]


def test_lists_template_without_assigned_instructors_has_no_such_column(tmp_path, db):
    """A list without 是否选派党建工作指导员 gets a template without that column (always = false)."""
    import openpyxl

    from pbtool.fillin import make_templates

    header = ["单位名称", "组织类型", "所在街道", "所在社区", "党组织建立情况", "党建工作指导员"]
    rows = [["青湖五号科技有限公司", "非公企业", "东湖街道", "朝阳社区", "联合组建", "李指导"]]
    import_files([write_xlsx(tmp_path / "东湖街道两新组织.xlsx", {"两新组织": (header, rows)})], "2026Q3", db)
    [path] = make_templates("lists", "2026Q4", tmp_path / "模板", db).files
    ws = openpyxl.load_workbook(path)["两新组织"]
    assert "是否选派党建工作指导员" not in [c.value for c in ws[3]]


# ---------------------------------------------------------------- 6. 社区/小区 lists saying 是否建立党组织 (是/否)


def place_lists_yes_no(path: Path) -> Path:
    """社区 and 小区 lists that say whether each place has a Party organization (是/否) instead of naming
    it, the convention of the organization lists above (是否建立党组织). No public community or estate
    layout with this column was found; it is the same column on the other lists of the same street."""
    return write_xlsx(path, {
        "社区": (["序号", "所在街道", "社区名称", "是否建立社区党组织"],
                 [[1, "东湖街道", "朝阳社区", "是"], [2, "东湖街道", "文晖社区", "否"]]),
        "小区": (["序号", "所在街道", "所属社区", "小区名称", "是否建立党组织", "小区党组织名称"],
                 [[1, "东湖街道", "朝阳社区", "幸福里小区", "是", ""],
                  [2, "东湖街道", "朝阳社区", "锦绣家园", "否", ""],
                  [3, "东湖街道", "文晖社区", "丹桂苑", "否", "丹桂苑党支部"],
                  [4, "东湖街道", "文晖社区", "翠苑", "", ""]]),
        "两新组织": (ORG_HEADER, [{"单位名称": "青湖五号科技有限公司", "组织类型": "非公企业", "所在街道": "东湖街道",
                                  "所在社区": "朝阳社区", "党组织建立情况": "联合组建"}])})


def test_community_and_estate_said_to_have_an_organization_are_not_blind_spots(tmp_path, db):
    """是 under 是否建立党组织 is stored (org_built) and covers the place: 朝阳社区 and 幸福里小区, each with
    three 正式党员, are no blind spots; 文晖社区 and 锦绣家园 (否) are, and so is 翠苑 (nothing said). A
    name beside 否 (丹桂苑) still counts: a named organization is what the file holds. Before the column
    was known it was an UNKNOWN_COLUMN and every such place a false blind spot in the notices."""
    lists = place_lists_yes_no(tmp_path / "东湖街道社区小区.xlsx")
    roster = []
    for n, (community, estate) in enumerate([("朝阳社区", "幸福里小区"), ("朝阳社区", "锦绣家园"),
                                            ("文晖社区", "丹桂苑"), ("文晖社区", "翠苑")]):
        roster += [member(10 * n + i, community=community, estate=estate) for i in range(1, 4)]
    r = import_files([lists, write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, roster)})],
                     "2026Q3", db)
    assert kinds(r)[:3] == [("社区", "community", 2), ("小区", "estate", 4), ("两新组织", "org", 1)]
    assert not [p for p in r.problems if p.code == "UNKNOWN_COLUMN"]
    assert stored(db, "select name, party_org, org_built from communities order by row") == [
        ("朝阳社区", None, True), ("文晖社区", None, False)]
    assert stored(db, "select name, party_org, org_built from estates order by row") == [
        ("幸福里小区", None, True), ("锦绣家园", None, False), ("丹桂苑", "丹桂苑党支部", False), ("翠苑", None, None)]
    res = compute_coverage(db, "2026Q3")
    spots = sorted((f.rule, f.target) for f in res.findings if f.unit in ("community", "estate"))
    assert spots == [("COMMUNITY_NO_ORG", "文晖社区"), ("RES_NO_ORG", "翠苑"), ("RES_NO_ORG", "锦绣家园")]
    district = res.estate("")
    assert (district.total, district.with_org) == (4, 2)
    from pbtool.store import Store

    store = Store.open(db, create=False)
    try:
        communities, estates = store.place_counts("2026Q3")
    finally:
        store.close()
    assert communities == [("东湖街道", 2, 1)] and estates == [("东湖街道", 4, 2)]


def test_lists_template_carries_community_and_estate_yes_no_to_the_next_quarter(tmp_path, db):
    """The next quarter's template writes 是否建立…党组织 where the street's list had it, so that a place
    said to have an organization (but not named) stays covered when the street returns the template;
    a street whose lists name their organizations gets no such column."""
    import openpyxl

    from pbtool.fillin import make_templates

    import_files([place_lists_yes_no(tmp_path / "东湖街道社区小区.xlsx")], "2026Q3", db)
    [path] = make_templates("lists", "2026Q4", tmp_path / "模板", db).files
    wb = openpyxl.load_workbook(path)
    for sheet, title in (("社区", "是否建立社区党组织"), ("小区", "是否建立小区党组织")):
        header = [c.value for c in wb[sheet][3]]
        assert title in header, header
    comm_header = [c.value for c in wb["社区"][3]]
    comms = {r[comm_header.index("社区名称")]: r[comm_header.index("是否建立社区党组织")]
             for r in wb["社区"].iter_rows(min_row=4, values_only=True) if r[comm_header.index("社区名称")]}
    assert comms == {"朝阳社区": "是", "文晖社区": "否"}
    import_files([path], "2026Q4", db)
    for t in ("communities", "estates"):
        q = f"select name, party_org, org_built from {t} where period = '{{}}' order by name"
        assert stored(db, q.format("2026Q4")) == stored(db, q.format("2026Q3"))
    spots = {p: sorted(f.target for f in compute_coverage(db, p).findings) for p in ("2026Q3", "2026Q4")}
    assert spots["2026Q3"] == spots["2026Q4"]

    named = write_xlsx(tmp_path / "西山街道社区小区.xlsx", {
        "社区": (COMMUNITY_HEADER, [{"所在街道": "西山街道", "社区名称": "西山社区", "社区党组织名称": "西山社区党委"}]),
        "小区": (ESTATE_HEADER, [{"所在街道": "西山街道", "所属社区": "西山社区", "小区名称": "西山小区",
                                 "小区党组织名称": ""}])})
    import_files([named], "2026Q3", tmp_path / "other.db")
    [other] = make_templates("lists", "2026Q4", tmp_path / "模板2", tmp_path / "other.db").files
    wb = openpyxl.load_workbook(other)
    assert not any("是否建立" in str(c.value) for s in ("社区", "小区") for c in wb[s][3])


def test_place_lists_answering_with_established_words_are_read_as_yes_no(tmp_path, db):
    """是否建立党组织 answered 已建立/未建立 (the words of the org lists' 党组织建立情况) or 有/无: the same
    yes/no; another word is BAD_VALUE at its row, and nothing is guessed for it."""
    f = write_xlsx(tmp_path / "东湖街道社区清单.xlsx", {
        "社区": (["序号", "所在街道", "社区名称", "是否建立党组织"],
                 [[1, "东湖街道", "朝阳社区", "已建立"], [2, "东湖街道", "文晖社区", "未建立"],
                  [3, "东湖街道", "丹桂社区", "有"], [4, "东湖街道", "翠苑社区", "正在筹建"]])})
    r = import_files([f], "2026Q3", db)
    assert stored(db, "select name, org_built from communities order by row") == [
        ("朝阳社区", True), ("文晖社区", False), ("丹桂社区", True), ("翠苑社区", None)]
    assert [(p.code, p.row, p.value) for p in r.problems] == [("BAD_VALUE", 5, "正在筹建")]
