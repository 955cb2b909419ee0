"""pbtool report: the year-end summary, quarterly bulletin and rectification notices rendered from the
shipped templates for the samples and for a small district built here, read back with python-docx and
checked against the store and the coverage result; fonts and page setup; missing figures; user
templates in the sandbox; charts without a CJK font; PDF with and without LibreOffice."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from builders import ROSTER_HEADER, member, write_lists, write_xlsx, user_template
from conftest import ENGINES, store_url
from docx import Document
from docx.oxml.ns import qn

from pbtool import present, report
from pbtool.coverage import compute_coverage
from pbtool.importer import import_files
from pbtool.report import ReportError, charts, context, fmt, variables
from pbtool.report import pdf as report_pdf

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NOTICE_DATE = dt.date(2026, 10, 8)
SETTINGS = report.ReportSettings(org_name="x")


# ------------------------------------------------------------------------------------ reading documents


def doc_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            parts.append("|".join(c.text for c in row.cells))
    return "\n".join(parts)


def table_rows(path: Path, first_header: str, second_header: str | None = None) -> list[list[str]]:
    """Rows (header included) of the first table whose header starts with the given cells."""
    for t in Document(str(path)).tables:
        header = [c.text for c in t.rows[0].cells]
        if header[0] == first_header and (second_header is None or header[1] == second_header):
            return [[c.text for c in row.cells] for row in t.rows]
    raise AssertionError(f"no table headed {first_header}/{second_header} in {path.name}")




# ------------------------------------------------------------------------------------ stores


@pytest.fixture(scope="module", params=ENGINES)
def samples_db(request, tmp_path_factory) -> Iterator[str]:
    """The shipped samples, 2026Q2 and 2026Q3, on each engine."""
    with store_url(request.param, tmp_path_factory.mktemp("samples"), request) as db:
        for period, spec in EXPECTED["periods"].items():
            import_files([SAMPLES / f for f in spec["files"]], period, db)
        yield db


ROSTER = ROSTER_HEADER + ["是否到社区报到"]


def _mini_lists(path: Path, year: int) -> Path:
    comms = [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": "朝阳社区党委"},
             {"所在街道": "西山街道", "社区名称": "青松社区", "社区党组织名称": "青松社区党支部" if year == 2026 else ""}]
    ests = [{"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": "幸福里小区党支部"},
            {"所在街道": "西山街道", "所属社区": "青松社区", "小区名称": "青松苑", "小区党组织名称": ""}]
    orgs = [{"单位名称": "甲科技有限公司", "组织类型": "非公有制企业", "所在街道": "东湖街道", "所在社区": "朝阳社区",
             "党组织建立情况": "联合组建" if year == 2026 else "未建立"},
            {"单位名称": "乙养老服务中心", "组织类型": "民办非企业单位", "所在街道": "西山街道", "所在社区": "青松社区",
             "党组织建立情况": "单独组建", "党组织名称": "乙养老服务中心党支部"}]
    units = [{"单位名称": "区税务局", "单位类型": "机关", "所在街道": "东湖街道", "是否签订共建协议": "是", "共建项目数": 2}]
    if year == 2026:
        orgs += [{"单位名称": "丙物流有限公司", "组织类型": "非公有制企业", "所在街道": "东湖街道", "所在社区": "朝阳社区",
                  "党组织建立情况": "挂靠"},
                 {"单位名称": "丁商贸有限公司", "组织类型": "非公有制企业", "所在街道": "西山街道", "所在社区": "青松社区",
                  "党组织建立情况": "未建立", "党建工作指导员": "张三"}]
        units = [{"单位名称": "区税务局", "单位类型": "机关", "所在街道": "东湖街道", "是否签订共建协议": "是", "共建项目数": 3},
                 {"单位名称": "区人民医院", "单位类型": "事业单位", "所在街道": "西山街道", "是否签订共建协议": "否",
                  "共建项目数": 1},
                 {"单位名称": "区第一中学", "单位类型": "事业单位", "所在街道": "西山街道", "是否签订共建协议": "是"}]
    return write_lists(path, comms, ests, orgs, units)


def _mini_roster(path: Path, street: str) -> Path:
    if street == "东湖街道":
        rows = [member(1, branch="朝阳社区党委", community="朝阳社区", estate="幸福里小区", 是否到社区报到="是"),
                member(2, branch="朝阳社区党委", community="朝阳社区", estate="幸福里小区", 是否到社区报到="是"),
                member(3, branch="朝阳社区党委", community="朝阳社区", estate="幸福里小区", 是否到社区报到="否"),
                member(4, branch="东湖街道机关党总支", community="朝阳社区", estate="幸福里小区"),
                member(5, branch="东湖街道机关党总支", community="朝阳社区", estate="幸福里小区"),
                member(6, branch="甲科技联合党支部", category="预备党员", employer="甲科技有限公司",
                       community="朝阳社区", estate="幸福里小区")]
    else:
        rows = [member(11, branch="青松社区党支部", community="青松社区", estate="青松苑", 是否到社区报到="是"),
                member(12, branch="青松社区党支部", community="青松社区", estate="青松苑", 是否到社区报到="否"),
                member(13, branch="青松社区党支部", community="青松社区", estate="青松苑"),
                member(14, branch="乙养老服务中心党支部", employer="乙养老服务中心", community="青松社区"),
                member(15, branch="乙养老服务中心党支部", employer="乙养老服务中心", community="青松社区")]
    return write_xlsx(path, {"花名册": (ROSTER, rows)}, title=f"{street}党员花名册")


@pytest.fixture(scope="module", params=ENGINES)
def mini_db(request, tmp_path_factory) -> Iterator[str]:
    """Two streets, year-end 2025Q4 and 2026Q4: Party organizations of every type, 双报到 answers,
    resident units, and organizations covered during 2026 (甲 newly, 丙 newly listed)."""
    tmp = tmp_path_factory.mktemp("mini")
    with store_url(request.param, tmp, request) as db:
        for year in (2025, 2026):
            d = tmp / str(year)
            d.mkdir()
            files = [_mini_lists(d / "资源清单.xlsx", year), _mini_roster(d / "东湖街道花名册.xlsx", "东湖街道"),
                     _mini_roster(d / "西山街道花名册.xlsx", "西山街道")]
            import_files(files, f"{year}Q4", db)
        yield db


@pytest.fixture(scope="module")
def annual_doc(mini_db, tmp_path_factory) -> tuple[Path, report.ReportResult]:
    out = tmp_path_factory.mktemp("annual_out")
    result = report.render_annual(mini_db, 2026, out, doc_date=dt.date(2026, 12, 31), org_name="中共某某区委组织部")
    return result.files[0], result


@pytest.fixture(scope="module")
def quarterly_doc(samples_db, tmp_path_factory) -> tuple[Path, report.ReportResult]:
    out = tmp_path_factory.mktemp("quarterly_out")
    result = report.render_quarterly(samples_db, "2026Q3", out, doc_date=NOTICE_DATE)
    return result.files[0], result


@pytest.fixture(scope="module")
def notices(samples_db, tmp_path_factory) -> report.ReportResult:
    out = tmp_path_factory.mktemp("notices_out")
    return report.render_notices(samples_db, "2026Q3", out, doc_date=NOTICE_DATE, org_name="中共青湖区委组织部")


# ------------------------------------------------------------------------------------ 年度总结


def test_annual_file_name_and_basic_figures(annual_doc):
    path, result = annual_doc
    assert path.name == "2026年度城市基层党建工作总结.docx"
    text = doc_text(path)
    assert "2026年度城市基层党建工作总结" in text
    assert "全区共有街道2个、社区2个、小区2个" in text
    assert "党员11名，其中正式党员10名、预备党员1名" in text
    assert "在职党员到社区报到3名" in text
    assert "驻区单位签订共建协议2家，实施共建项目4个" in text
    assert "【待填写】" not in text.replace("【待填写：", "")   # every figure came from the store
    assert result.missing == []


def test_annual_counts_party_organizations_by_type_once_each(annual_doc):
    path, _ = annual_doc
    text = doc_text(path)
    # 东湖: 朝阳社区党委 (roster and list), 东湖街道机关党总支, 甲科技联合党支部, 幸福里小区党支部 (list);
    # 西山: 青松社区党支部 (roster and list), 乙养老服务中心党支部.
    assert "全区基层党组织6个，其中党委1个、党总支1个、党支部3个、联合党支部1个" in text
    rows = table_rows(path, "街道", "党组织合计")
    assert rows[1:] == [["东湖街道", "4", "1", "1", "1", "1", "1", "1"],
                        ["西山街道", "2", "0", "0", "2", "0", "1", "0"],
                        ["合计", "6", "1", "1", "3", "1", "2", "1"]]


def test_annual_members_table_matches_store(annual_doc):
    path, _ = annual_doc
    rows = table_rows(path, "街道", "党员")
    assert rows[1:] == [["东湖街道", "6", "5", "1", "2"], ["西山街道", "5", "5", "0", "1"], ["合计", "11", "10", "1", "3"]]


def test_annual_coverage_rates_and_change_against_previous_year(annual_doc, mini_db):
    path, _ = annual_doc
    cov = compute_coverage(mini_db, "2026Q4")
    district = next(r for r in cov.rates if r.scope == "district" and r.kind == "合计")
    assert (district.org_covered, district.work_covered, district.total) == (3, 4, 4)
    text = doc_text(path)
    assert "全区两新组织4个，其中非公企业3个、社会组织1个" in text
    assert "两新组织党组织覆盖率75.0%，比上年末上升25.0个百分点" in text
    assert "工作覆盖率100.0%，比上年末上升50.0个百分点" in text
    assert "非公企业党组织覆盖率66.7%（比上年末上升66.7个百分点）" in text
    assert "小区党组织覆盖率50.0%，与上年末持平" in text
    rows = table_rows(path, "街道", "两新组织")
    assert rows[1] == ["东湖街道", "2", "100.0%", "+100.0", "100.0%", "+100.0", "1", "100.0%", "0.0"]
    assert rows[-1] == ["全区", "4", "75.0%", "+25.0", "100.0%", "+50.0", "2", "50.0%", "0.0"]


def test_annual_counts_organizations_set_up_this_year(annual_doc):
    path, _ = annual_doc
    # 甲科技 was 未建立 at the end of 2025; 丙物流 was not listed; 乙 was covered already.
    assert "本年新建两新组织党组织2个" in doc_text(path)


def test_annual_problems_come_from_open_blind_spots(annual_doc, mini_db):
    path, result = annual_doc
    cov = compute_coverage(mini_db, "2026Q4")
    assert [(f.rule, f.street, f.target) for f in cov.findings] == [("RES_NO_ORG", "西山街道", "青松苑")]
    text = doc_text(path)
    assert "全区2个街道中有1个存在空白点，共1处（问题1个）" in text
    assert "1.小区应建未建党组织1处，涉及西山街道。" in text
    assert "西山街道1处：小区应建未建党组织1处。" in text
    assert "【待填写：社区党组织书记" in text            # narrative left to the clerk, and listed
    assert any(n.startswith("【待填写：社区党组织书记") for n in result.narrative)


def test_annual_prefills_practice_and_problems_from_the_data(annual_doc):
    path, _ = annual_doc
    text = doc_text(path)
    # 甲科技 and 丙物流 got Party organizations during 2026; coverage rose; one estate blind spot remains
    assert "本年，丙物流有限公司、甲科技有限公司两新组织建立了党组织；两新组织党组织覆盖率由50.0%提高到75.0%" in text
    assert "驻区单位签订共建协议2家，实施共建项目4个，在职党员到社区报到3名。" in text
    assert "对尚未整改的1处空白点逐一建立整改台账" in text


def test_annual_without_previous_year_compares_with_the_earliest_quarter(samples_db, tmp_path):
    result = report.render_annual(samples_db, 2026, tmp_path, doc_date=dt.date(2026, 12, 31), org_name="x")
    text = doc_text(result.files[0])
    cov = compute_coverage(samples_db, "2026Q3")
    district, before = cov.rate("district", ""), cov.previous.rate("district", "")
    assert cov.previous_period == "2026Q2"
    assert "各项变化与本年最早导入的2026年第二季度末比较" in text
    assert f"两新组织党组织覆盖率{present.pct_text(district.org_coverage)}，较2026年第二季度末" \
           f"{present.pp_prose(district.org_coverage, before.org_coverage)}" in text
    assert "比上年末" not in text and "【待填写】" not in text
    assert result.missing == []
    # the samples' rosters have no 双报到 column: no sentence, no column
    assert "在职党员到社区报到" not in text
    assert "双报到" not in [c.text for t in Document(str(result.files[0])).tables for c in t.rows[0].cells]


def test_annual_members_show_unknown_category_and_duplicates_apart(samples_db, tmp_path):
    result = report.render_annual(samples_db, 2026, tmp_path, doc_date=dt.date(2026, 12, 31), org_name="x")
    path = result.files[0]
    s = compute_coverage(samples_db, "2026Q3").summary
    assert (s["member_rows"], s["duplicates"], s["unknown_category"]) == (287, 2, 2)
    assert s["members"] == 285 == s["full"] + s["probationary"] + s["unknown_category"]
    text = doc_text(path)
    assert f"党员285名，其中正式党员{s['full']}名、预备党员{s['probationary']}名、类别不详2名（重复填报2人次，已按1人计）" in text
    rows = table_rows(path, "街道", "党员")
    assert rows[0] == ["街道", "党员", "正式党员", "预备党员", "类别不详"]
    assert rows[-1] == ["合计", "285", str(s["full"]), str(s["probationary"]), "2"]
    for r in rows[1:-1]:
        assert int(r[1]) == int(r[2]) + int(r[3]) + int(r[4])
    assert sum(int(r[1]) for r in rows[1:-1]) == 285
    assert "同一党员在两处名单中重复2人次（南桥街道1人次、西山街道1人次），已按1人计" in text


def test_annual_with_a_roster_only_is_a_chinese_error(tmp_path):
    db = str(tmp_path / "roster_only.db")
    roster = write_xlsx(tmp_path / "东湖街道花名册.xlsx",
                        {"花名册": (ROSTER_HEADER, [member(i, branch="朝阳社区党委") for i in range(1, 5)])},
                        title="东湖街道党员花名册")
    import_files([roster], "2026Q4", db)
    with pytest.raises(ReportError, match="缺少社区清单"):
        report.render_annual(db, 2026, tmp_path / "out", doc_date=dt.date(2026, 12, 31))
    with pytest.raises(ReportError, match="缺少"):
        report.render_quarterly(db, "2026Q4", tmp_path / "out")


def test_annual_for_a_year_without_data_is_a_chinese_error(samples_db, tmp_path):
    with pytest.raises(ReportError, match="没有 2024 年的数据"):
        report.render_annual(samples_db, 2024, tmp_path)


# ------------------------------------------------------------------------------------ 季度通报


def test_quarterly_ranks_streets_by_coverage(quarterly_doc, samples_db):
    path, _ = quarterly_doc
    assert path.name == "2026Q3季度通报.docx"
    cov = compute_coverage(samples_db, "2026Q3")
    org = {r.street: r.org_coverage for r in cov.rates if r.scope == "street" and r.kind == "合计"}
    rows = table_rows(path, "排名")[1:]
    assert sorted(org[r[1]] for r in rows) == sorted(org.values(), reverse=True)[::-1]
    assert [org[r[1]] for r in rows] == sorted(org.values(), reverse=True)
    for r in rows:
        assert r[3] == present.pct_text(org[r[1]])
        assert r[9] == str(sum(1 for p in cov.places if p.street == r[1]))


def test_quarterly_rate_changes_against_previous_quarter(quarterly_doc, samples_db):
    path, _ = quarterly_doc
    cov = compute_coverage(samples_db, "2026Q3")
    for row in table_rows(path, "排名")[1:]:
        cur, prev = cov.rate("street", row[1]), cov.previous.rate("street", row[1])
        assert row[4] == present.pp_text(cur.org_coverage, prev.org_coverage)
        assert row[6] == present.pp_text(cur.work_coverage, prev.work_coverage)
    d, pd = cov.rate("district", ""), cov.previous.rate("district", "")
    assert f"较上季度{present.pp_prose(d.org_coverage, pd.org_coverage)}" in doc_text(path)


def test_quarterly_lists_places_new_persisting_changed_and_closed(quarterly_doc, samples_db):
    path, _ = quarterly_doc
    cov = compute_coverage(samples_db, "2026Q3")
    c = cov.counts()
    text = doc_text(path)
    assert "本期全区3个街道均存在空白点" in text                       # not “3个街道中，3个街道…”
    assert (f"共有空白点{c['places']}处（问题{c['problems']}个），其中新增{c['new']}处、持续未整改{c['persisting']}处、"
            f"问题类型变化{c['changed']}处；上期（2026年第二季度）以来已整改销号{c['closed']}处") in text
    tables = [t for t in Document(str(path)).tables if t.rows[0].cells[0].text == "序号"]
    listed = [(row.cells[1].text, row.cells[3].text, row.cells[5].text) for t in tables for row in t.rows[1:]]
    assert len(listed) == len({x[0] for x in listed}) == len(cov.places)     # one row per place
    moved = next(x for x in listed if x[0] == "杭州西山物流有限公司")
    assert moved[1] == "两新组织应单独组建；两新组织工作覆盖空白" and moved[2] == "由应联合组建转为应单独组建"
    for p in cov.closed_places:
        assert f"{p.target.replace('(', '（').replace(')', '）')}（{p.titles}）" in text
    assert "杭州西山物流有限公司（" not in text.split("已整改销号")[-1]


# ------------------------------------------------------------------------------------ 整改通知书


def test_one_notice_per_street_one_row_per_place_and_a_deadline_after_the_date(notices, samples_db):
    cov = compute_coverage(samples_db, "2026Q3")
    streets = sorted({p.street for p in cov.places})
    assert sorted(p.name for p in notices.files) == sorted(f"{s}整改通知书（2026Q3）.docx" for s in streets)
    for path in notices.files:
        street = path.name.split("整改通知书")[0]
        text = doc_text(path)
        assert f"{street}党工委：" in text
        assert "请于2026年11月7日前完成整改" in text          # 30 days after the document's date 2026-10-08
        assert "中共青湖区委组织部" in text and "2026年10月8日" in text
        mine = [p for p in cov.places if p.street == street]
        assert f"你街道存在空白点{len(mine)}处（问题{sum(len(p.findings) for p in mine)}个" in text
        rows = table_rows(path, "序号", "对象")[1:]
        assert [r[1] for r in rows] == [present_name(p.target) for p in mine]
        assert [r[6] for r in rows] == [present_name(p.action) for p in mine]
        feedback = [t for t in Document(str(path)).tables if [c.text for c in t.rows[0].cells][3:] ==
                    ["整改措施", "责任人", "完成时间"]]
        assert len(feedback) == 1 and [r.cells[1].text for r in feedback[0].rows[1:]] == [r[1] for r in rows]


def present_name(text: str) -> str:
    return text.replace("(", "（").replace(")", "）")


def test_notice_for_one_street_with_a_given_deadline_and_settings(samples_db, tmp_path):
    result = report.render_notices(samples_db, "2026Q3", tmp_path, street="西山街道", deadline=dt.date(2026, 12, 31),
                                   org_name="中共某某区委组织部", doc_date=NOTICE_DATE, contact="王某",
                                   phone="0571-12345678")
    assert [p.name for p in result.files] == ["西山街道整改通知书（2026Q3）.docx"]
    text = doc_text(result.files[0])
    assert "请于2026年12月31日前完成整改" in text
    assert "中共某某区委组织部" in text and "联系人：王某　　联系电话：0571-12345678" in text
    assert "【" not in text.replace("【待填写", "") and result.missing == []


@pytest.mark.parametrize("due", [NOTICE_DATE, NOTICE_DATE - dt.timedelta(days=1)])
def test_deadline_on_or_before_the_date_is_refused(samples_db, tmp_path, due):
    with pytest.raises(ReportError, match="不能早于或等于成文日期2026年10月8日"):
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", deadline=due, doc_date=NOTICE_DATE)
    assert not (tmp_path / "out").exists()


def test_settings_from_pbtool_toml_and_no_fictional_default(samples_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = report.render_notices(samples_db, "2026Q3", tmp_path / "a", street="东湖街道", doc_date=NOTICE_DATE)
    text = doc_text(r.files[0])
    assert "【发文机关】" in text and "青湖区委" not in text
    assert any("pbtool.toml" in w and "--org-name" in w for w in r.warnings)
    assert any("联系人" in m for m in r.missing)
    (tmp_path / "pbtool.toml").write_text(
        '[report]\n"发文机关" = "中共某某区委组织部"\n"联系人" = "李某"\nphone = "12345"\n"发文字号" = "某组通"\n'
        '"抄送" = "区委办公室"\n"印发机关" = "中共某某区委组织部办公室"\n', encoding="utf-8")
    r = report.render_notices(samples_db, "2026Q3", tmp_path / "b", street="东湖街道", doc_date=NOTICE_DATE,
                              doc_number="7")
    text = doc_text(r.files[0])
    assert "某组通〔2026〕7号" in text and "联系人：李某" in text and "【发文机关】" not in text
    assert "抄送：区委办公室。" in text and "中共某某区委组织部办公室\t2026年10月8日印发" in text
    assert r.missing == [] and r.warnings == []
    (tmp_path / "pbtool.toml").write_text('[report]\n"机关" = "x"\n', encoding="utf-8")
    with pytest.raises(ReportError, match="不是可用的设置"):
        report.render_notices(samples_db, "2026Q3", tmp_path / "c", doc_date=NOTICE_DATE)


def test_notice_for_an_unknown_street_is_a_chinese_error(samples_db, tmp_path):
    with pytest.raises(ReportError, match="没有“北山街道”的数据"):
        report.render_notices(samples_db, "2026Q3", tmp_path, street="北山街道")


def test_unknown_period_is_a_chinese_error(samples_db, tmp_path):
    with pytest.raises(ReportError, match="没有 2025Q1 的数据"):
        report.render_notices(samples_db, "2025Q1", tmp_path)
    with pytest.raises(ReportError, match="格式不对"):
        report.render_quarterly(samples_db, "2026-3", tmp_path)


def test_default_deadline_is_thirty_days_after_the_document_date():
    assert context.default_deadline(dt.date(2026, 11, 29)) == dt.date(2026, 12, 29)
    assert context.default_deadline(dt.date(2026, 12, 15)) == dt.date(2027, 1, 14)


# ------------------------------------------------------------------------------------ format


def _all_outputs(annual_doc, quarterly_doc, notices) -> list[Path]:
    return [annual_doc[0], quarterly_doc[0], *notices.files]


def test_every_run_and_style_names_an_east_asian_font(annual_doc, quarterly_doc, notices):
    for path in _all_outputs(annual_doc, quarterly_doc, notices):
        doc = Document(str(path))
        parts = [doc.element.body] + [s.footer._element for s in doc.sections] + [
            s.even_page_footer._element for s in doc.sections]
        for part in parts:
            for r in part.iter(f"{W}r"):
                if r.find(f"{W}t") is None or not r.findtext(f"{W}t"):
                    continue
                fonts = r.find(f"{W}rPr/{W}rFonts")
                assert fonts is not None and fonts.get(qn("w:eastAsia")), (path.name, r.findtext(f"{W}t"))
        for fonts in doc.styles.element.iter(f"{W}rFonts"):
            assert fonts.get(qn("w:eastAsia")), path.name
        assert doc.styles["Normal"].element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
        assert doc.styles["公文标题"].element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
        assert doc.styles["一级标题"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
        assert doc.styles["二级标题"].element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"


def test_page_setup_follows_gb_t_9704(annual_doc, quarterly_doc, notices):
    for path in _all_outputs(annual_doc, quarterly_doc, notices):
        doc = Document(str(path))
        s = doc.sections[0]
        assert (round(s.page_width.mm), round(s.page_height.mm)) == (210, 297)
        assert [round(x.mm) for x in (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)] == [37, 35, 28, 26]
        normal = doc.styles["Normal"]
        assert normal.font.size.pt == 16
        assert normal.paragraph_format.line_spacing.pt == pytest.approx(28.95, abs=0.05)
        assert doc.styles["公文标题"].font.size.pt == 22
        assert doc.settings.odd_and_even_pages_header_footer
        odd, even = s.footer.paragraphs[0], s.even_page_footer.paragraphs[0]
        assert odd.text.replace("1", "") == "—  —" and even.text.replace("1", "") == "—  —"
        assert odd.alignment == 2 and even.alignment == 0              # outer side: right, left
        assert "PAGE" in "".join(t.text or "" for t in s.footer._element.iter(f"{W}instrText"))
        assert odd.style.font.size.pt == 14


def test_tables_repeat_their_header_row(annual_doc, quarterly_doc, notices):
    for path in _all_outputs(annual_doc, quarterly_doc, notices):
        for t in Document(str(path)).tables:
            assert t.rows[0]._tr.trPr.find(f"{W}tblHeader") is not None
            assert all(r.font.bold for r in t.rows[0].cells[0].paragraphs[0].runs)


def test_dates_are_in_arabic_numerals(notices):
    assert fmt.date_text(dt.date(2026, 1, 5)) == "2026年1月5日"
    assert "2026年10月8日" in doc_text(notices.files[0])


# ------------------------------------------------------------------------------------ user templates, sandbox


def test_user_template_is_rendered(samples_db, tmp_path):
    tpl = user_template(tmp_path / "my.docx", "致{{ addressee }}：共{{ places_count }}处空白点，限{{ deadline }}前整改。",
                        "{%p for f in places %}", "{{ f.no }}. {{ f.target }}", "{%p endfor %}")
    result = report.render_notices(samples_db, "2026Q3", tmp_path / "out", street="南桥街道", template=tpl,
                                   doc_date=NOTICE_DATE)
    text = doc_text(result.files[0])
    cov = compute_coverage(samples_db, "2026Q3", street="南桥街道")
    assert f"致南桥街道党工委：共{len(cov.places)}处空白点，限2026年11月7日前整改。" in text
    for i, p in enumerate(cov.places, 1):
        assert f"{i}. {p.target}" in text


def test_misspelled_placeholder_in_user_template_is_named_in_chinese(samples_db, tmp_path):
    tpl = user_template(tmp_path / "bad.docx", "{{ stret_name }}街道：")
    with pytest.raises(ReportError) as err:
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", template=tpl)
    msg = str(err.value)
    assert "模板中的“{{ stret_name }}”不是可用变量" in msg
    assert "是否应为“street”" in msg
    assert "pbtool report vars notice" in msg
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_misspelled_field_in_a_loop_lists_the_valid_fields(samples_db, tmp_path):
    tpl = user_template(tmp_path / "bad.docx", "{%p for f in places %}", "{{ f.titel }}", "{%p endfor %}")
    with pytest.raises(ReportError) as err:
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", template=tpl)
    msg = str(err.value)
    assert "“{{ f.titel }}”" in msg and "字段“titel”不存在" in msg and "是否应为“titles”" in msg


def test_template_syntax_error_is_explained_in_chinese(samples_db, tmp_path):
    tpl = user_template(tmp_path / "bad.docx", "{%p if findings %}", "有问题")
    with pytest.raises(ReportError, match="语法错误.*endif"):
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", template=tpl)


@pytest.mark.parametrize("expr", ["{{ ''.__class__.__mro__ }}", "{{ ''.__class__ }}",
                                  "{{ places.__class__.__base__.__subclasses__() }}",
                                  "{{ street|attr('__class__') }}"])
def test_sandbox_refuses_walking_to_python_internals(samples_db, tmp_path, expr):
    tpl = user_template(tmp_path / "evil.docx", expr)
    with pytest.raises(ReportError) as err:
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", template=tpl)
    assert "出于安全考虑已拒绝" in str(err.value)
    assert "__class__" in str(err.value)


def test_sandbox_refuses_changing_data_and_reading_files(samples_db, tmp_path):
    tpl = user_template(tmp_path / "evil.docx", "{{ places.append(1) }}")
    with pytest.raises(ReportError, match="已拒绝"):
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", template=tpl)
    tpl = user_template(tmp_path / "evil2.docx", "{% include '/etc/passwd' %}")
    with pytest.raises(ReportError, match="不能引用其他文件"):
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", template=tpl)


@pytest.mark.parametrize("expr, message", [("{% for x in range(10**9) %}{% endfor %}", "循环次数过多"),
                                           ("{{ 'x' * 1000000000 }}", "过长"), ("{{ 9 ** 999999 }}", "指数过大")])
def test_sandbox_refuses_runaway_templates(samples_db, tmp_path, expr, message):
    tpl = user_template(tmp_path / "big.docx", expr)
    with pytest.raises(ReportError, match=message):
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", street="东湖街道", template=tpl)


def test_template_that_is_not_a_docx_is_a_chinese_error(samples_db, tmp_path):
    bad = tmp_path / "old.doc"
    bad.write_bytes(b"\xd0\xcf\x11\xe0 legacy word")
    with pytest.raises(ReportError, match="不是 Word 文档"):
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", template=bad)
    with pytest.raises(ReportError, match="找不到模板文件"):
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", template=tmp_path / "none.docx")


def test_values_with_xml_characters_are_escaped(tmp_path):
    db = str(tmp_path / "x.db")
    lists = write_lists(tmp_path / "清单.xlsx",
                        [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": "朝阳社区党委"}], [],
                        [{"单位名称": "A&B<科技>有限公司", "组织类型": "非公有制企业", "所在街道": "东湖街道",
                          "所在社区": "朝阳社区", "党组织建立情况": "未建立"}])
    import_files([lists], "2026Q3", db)
    result = report.render_notices(db, "2026Q3", tmp_path / "out")
    assert "A&B<科技>有限公司" in doc_text(result.files[0])


# ------------------------------------------------------------------------------------ variables


def _item_fields(value) -> dict[str, set[str]]:
    return {k: set(v[0]) for k, v in value.items() if isinstance(v, list) and v and isinstance(v[0], dict)}


@pytest.mark.parametrize("kind", variables.KINDS)
def test_vars_toml_documents_exactly_the_context(kind, mini_db, samples_db):
    if kind == "annual":
        ctx = context.build_annual(mini_db, 2026, settings=SETTINGS, doc_date=None).context
    elif kind == "quarterly":
        ctx = context.build_quarterly(samples_db, "2026Q3", settings=SETTINGS, doc_date=None).context
    else:
        ctx = context.build_notices(samples_db, "2026Q3", street=None, deadline=None, settings=SETTINGS,
                                    doc_date=None)[0][0].context
    documented = {v["name"] for v in variables.specs(kind)}
    assert variables.top_level_names(kind) == set(ctx)
    for name, fields in _item_fields(ctx).items():
        assert {f"{name}[].{f}" for f in fields} == {d for d in documented if d.startswith(f"{name}[].") and
                                                    d.count("[]") == 1}
        for sub, subfields in _item_fields(ctx[name][0]).items():
            assert {f"{name}[].{sub}[].{f}" for f in subfields} == {d for d in documented
                                                                   if d.startswith(f"{name}[].{sub}[].")}


def test_template_vars_describe_and_give_values(samples_db):
    described = report.template_vars("notice")
    assert all(v.meaning and v.type for v in described)
    assert {"street", "deadline", "places", "places[].action"} <= {v.name for v in described}
    valued = {v.name: v.value for v in report.template_vars("notice", samples_db, "2026Q3")}
    assert valued["street"] == "东湖街道"
    due = dt.date.today() + dt.timedelta(days=30)
    assert valued["deadline"] == f"{due.year}年{due.month}月{due.day}日"
    assert valued["places"].startswith("共")
    q = {v.name: v.value for v in report.template_vars("quarterly", samples_db, "2026Q3")}
    assert q["period_text"] == "2026年第三季度"
    with pytest.raises(ReportError, match="没有“memo”这种文书"):
        report.template_vars("memo")


def test_vars_markdown_covers_every_kind():
    md = report.vars_markdown()
    for kind in variables.KINDS:
        assert f"（{kind}）" in md
    assert "| `places[].action` | 文本 |" in md


# ------------------------------------------------------------------------------------ charts


def _images(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [n for n in z.namelist() if n.startswith("word/media/")]


def test_charts_left_out_with_a_warning_when_no_cjk_font(mini_db, tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "find_cjk_font", lambda *a, **k: None)
    result = report.render_annual(mini_db, 2026, tmp_path, doc_date=dt.date(2026, 12, 31), org_name="x")
    text = doc_text(result.files[0])
    assert text.count("【图表未生成：未安装中文字体】") == 2
    assert _images(result.files[0]) == []
    assert len(result.warnings) == 1 and "fonts-noto-cjk" in result.warnings[0] and "思源黑体" in result.warnings[0]


@pytest.mark.skipif(charts.find_cjk_font() is None, reason="没有安装中文字体（fonts-noto-cjk），图表不会生成")
def test_charts_are_embedded_when_a_cjk_font_is_installed(annual_doc):
    path, result = annual_doc
    assert len(_images(path)) == 2
    assert result.warnings == []
    assert "图1　各街道两新组织党组织覆盖率和工作覆盖率" in doc_text(path)


def test_font_lookup_misses_fonts_that_are_not_installed():
    assert charts.find_cjk_font(("没有这种字体",)) is None


def test_many_streets_chart_shows_the_lowest_twenty():
    rows = [(f"第{i}街道", i / 100, 1.0) for i in range(60)]
    shown, title = charts.coverage_rows(rows)
    assert len(shown) == charts.MAX_BARS and shown[0][0] == "第0街道" and "最低的20个街道" in title


# ------------------------------------------------------------------------------------ formatting


def test_rates_and_changes_are_rounded_once_from_exact_fractions():
    # 21/29 = 72.41%, 16/24 = 66.67%: the change is 5.747 points -> 5.7, never 5.75 -> 5.8
    cur, prev = Fraction(21, 29), Fraction(16, 24)
    assert present.pct_text(cur) == "72.4%" and present.pct_text(prev) == "66.7%"
    assert present.pp_text(cur, prev) == "+5.7" and present.pp_prose(cur, prev) == "上升5.7个百分点"
    assert present.pp_number(cur, prev) == 5.7
    assert present.pct_text(Fraction(1, 8)) == "12.5%" and present.pct_text(Fraction(1, 16)) == "6.3%"   # half up
    assert present.pp_text(prev, cur) == "-5.7" and present.pp_prose(prev, cur) == "下降5.7个百分点"
    assert present.pp_text(cur, cur) == "0.0" and present.pp_prose(cur, cur) == "持平"
    assert present.pct_text(None) == "—" and present.pp_text(cur, None) == "—"
    assert fmt.rate_text(Fraction(8534, 10000)) == "85.3%"
    assert [fmt.cn_number(n) for n in (1, 10, 11, 20, 23, 100, 105, 230)] == [
        "一", "十", "十一", "二十", "二十三", "一百", "一百零五", "二百三十"]
    assert fmt.period_text("2026Q1") == "2026年第一季度"


# ------------------------------------------------------------------------------------ templates


def test_shipped_templates_are_what_the_build_script_makes(tmp_path):
    """The committed templates match the script (the parts it writes: body, footers, fonts, settings);
    rerun `python templates/build_templates.py` after editing it."""
    subprocess.run([sys.executable, str(ROOT / "templates" / "build_templates.py"), str(tmp_path)], check=True,
                   capture_output=True)
    parts = ("word/document.xml", "word/footer1.xml", "word/footer2.xml", "word/fontTable.xml", "word/settings.xml")
    for name in ("年度总结.docx", "季度通报.docx", "整改通知书.docx"):
        with zipfile.ZipFile(tmp_path / name) as built, zipfile.ZipFile(ROOT / "templates" / name) as shipped:
            for part in parts:
                assert built.read(part) == shipped.read(part), (name, part)


def test_missing_database_is_a_chinese_error(tmp_path):
    with pytest.raises(ReportError, match="不存在"):
        report.render_quarterly(str(tmp_path / "none.db"), "2026Q3", tmp_path)


def test_templates_declare_font_substitutes():
    with zipfile.ZipFile(ROOT / "templates" / "年度总结.docx") as z:
        fonts = z.read("word/fontTable.xml").decode("utf-8")
    for name, alt in (("方正小标宋简体", "宋体"), ("仿宋_GB2312", "仿宋"), ("楷体_GB2312", "楷体")):
        assert f'w:name="{name}"><w:altName w:val="{alt}"/>' in fonts


# ------------------------------------------------------------------------------------ PDF


def test_pdf_without_libreoffice_warns_and_keeps_the_docx(samples_db, tmp_path, monkeypatch):
    monkeypatch.setattr(report_pdf, "office", lambda: None)
    result = report.render_notices(samples_db, "2026Q3", tmp_path, street="东湖街道", pdf=True)
    assert result.pdf_files == [] and result.files[0].is_file()
    assert any("未找到 LibreOffice" in w for w in result.warnings)


HAS_PDF_TOOLS = shutil.which("soffice") and shutil.which("pdftotext") and shutil.which("pdfinfo")


def _pdf_pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


# Children of these property elements must come in schema order (ECMA-376 Part 1): Word reports a
# document whose properties are out of order as damaged, even where LibreOffice reads it.
PROPERTY_ORDER = {
    "pPr": ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
            "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
            "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
            "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection",
            "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"],
    "rPr": ["rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
            "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing", "w",
            "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText", "vertAlign",
            "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath"],
    "tblPr": ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
              "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook"],
    "trPr": ["cnfStyle", "divId", "gridBefore", "gridAfter", "wBefore", "wAfter", "cantSplit", "trHeight",
             "tblHeader", "tblCellSpacing", "jc", "hidden"],
    "sectPr": ["headerReference", "footerReference", "footnotePr", "endnotePr", "type", "pgSz", "pgMar",
               "paperSrc", "pgBorders", "lnNumType", "pgNumType", "cols", "formProt", "vAlign", "noEndnote",
               "titlePg", "textDirection", "bidi", "rtlGutter", "docGrid", "printerSettings", "sectPrChange"],
}


def test_document_properties_are_in_schema_order(annual_doc, quarterly_doc, notices):
    from lxml import etree
    paths = _all_outputs(annual_doc, quarterly_doc, notices) + sorted((ROOT / "templates").glob("*.docx"))
    for path in paths:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if not (name.startswith("word/") and name.endswith(".xml")):
                    continue
                root = etree.fromstring(z.read(name))
                for tag, order in PROPERTY_ORDER.items():
                    for el in root.iter(f"{W}{tag}"):
                        children = [c.tag[len(W):] for c in el if c.tag.startswith(W)]
                        assert all(c in order for c in children), (path.name, name, tag, children)
                        positions = [order.index(c) for c in children]
                        assert positions == sorted(positions), (path.name, name, tag, children)


def test_quarterly_without_a_previous_period_leaves_comparisons_out(samples_db, tmp_path):
    result = report.render_quarterly(samples_db, "2026Q2", tmp_path, doc_date=NOTICE_DATE, org_name="x")
    path = result.files[0]
    text = doc_text(path)
    assert "较上季度" not in text and "增减" not in text and "【待填写】" not in text
    assert table_rows(path, "排名")[0] == ["排名", "街道", "两新组织", "党组织覆盖率", "工作覆盖率", "小区党组织覆盖率",
                                          "空白点（处）"]
    assert any("之前的数据" in w for w in result.warnings)


def test_not_applicable_figure_in_a_user_template_is_listed(samples_db, tmp_path):
    tpl = user_template(tmp_path / "my.docx", "双报到{{ dual_report_count }}名")
    result = report.render_annual(samples_db, 2026, tmp_path / "out", template=tpl, org_name="x",
                                  doc_date=dt.date(2026, 12, 31))
    assert "双报到【待填写】名" in doc_text(result.files[0])
    assert any("是否到社区报到" in m for m in result.missing)


def test_dual_report_of_a_street_without_the_column_is_left_blank_not_zero(tmp_path):
    db = str(tmp_path / "dual.db")
    lists = _mini_lists(tmp_path / "资源清单.xlsx", 2026)
    east = _mini_roster(tmp_path / "东湖街道花名册.xlsx", "东湖街道")          # has 是否到社区报到
    west = write_xlsx(tmp_path / "西山街道花名册.xlsx",
                      {"花名册": (ROSTER_HEADER, [member(11 + i, branch="青松社区党支部", community="青松社区",
                                                         estate="青松苑") for i in range(3)])},
                      title="西山街道党员花名册")
    import_files([lists, east, west], "2026Q4", db)
    result = report.render_annual(db, 2026, tmp_path / "out", doc_date=dt.date(2026, 12, 31), org_name="x")
    rows = table_rows(result.files[0], "街道", "党员")
    assert rows[0][-1] == "双报到"
    assert rows[1][-1] == "2" and rows[2][-1] == "【待填写】" and rows[3][-1] == "【待填写】"
    assert any("西山街道" in m and "是否到社区报到" in m for m in result.missing)


def test_member_line_names_error_records_only_when_there_are_some():
    """The members line of the terminal and the ledger: records with errors are named beside the totals
    when there are some; with none, no "0 条记录有问题" clause (it read as a defect in a clean district)."""
    base = {"members": 450, "full": 405, "probationary": 45, "unknown_category": 0, "duplicates": 0}
    assert present.member_line({**base, "members_with_errors": 0}) == "党员 450 名（正式 405，预备 45）。"
    line = present.member_line({**base, "members_with_errors": 13, "duplicates": 2, "unknown_category": 2})
    assert line == ("党员 450 名（正式 405，预备 45，类别不详 2）；重复 2 人次，已按 1 人计；"
                    "13 条记录有“错误”级问题，仍按其居住地/工作单位计入。")
