"""A city's store: two districts imported into one store (青湖区, 东江区), two quarters each. The city
bulletin ranks the districts by the rates each district's own coverage gives; a district bulletin of
the same store still ranks that district's streets only; `pbtool coverage` shows the district level on
the terminal, in JSON and in the ledger; the city bulletin read back from .docx, PDF and PNG."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from builders import ROSTER_HEADER, member, write_lists, write_xlsx
from conftest import ENGINES, store_url
from docx import Document
from typer.testing import CliRunner

from pbtool import present, report
from pbtool.cli import app
from pbtool.coverage import compute_coverage
from pbtool.importer import import_files

DOC_DATE = dt.date(2026, 10, 8)
SETTINGS = report.ReportSettings(org_name="市委组织部")


def _org(name: str, street: str, community: str, status: str, **extra: str) -> dict[str, str]:
    return {"单位名称": name, "组织类型": "非公有制企业", "所在街道": street, "所在社区": community,
            "党组织建立情况": status, **extra}


def _qinghu(d: Path, period: str) -> list[Path]:
    """青湖区: 东湖街道 and 西山街道; organizations 3 of 4 covered in 2026Q3 (2 of 4 in 2026Q2);
    3 members live in 幸福里小区, which has no Party organization, nor has 朝阳社区."""
    comms = [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": ""},
             {"所在街道": "西山街道", "社区名称": "青松社区", "社区党组织名称": "青松社区党委"}]
    ests = [{"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": ""},
            {"所在街道": "西山街道", "所属社区": "青松社区", "小区名称": "青松苑", "小区党组织名称": "青松苑党支部"}]
    orgs = [_org("青湖甲科技有限公司", "东湖街道", "朝阳社区", "未建立"),
            _org("青湖乙物流有限公司", "东湖街道", "朝阳社区", "单独组建"),
            _org("青湖丙商贸有限公司", "西山街道", "青松社区", "联合组建" if period == "2026Q3" else "未建立"),
            _org("青湖丁电子有限公司", "西山街道", "青松社区", "挂靠")]
    rows = [member(i, community="朝阳社区", estate="幸福里小区") for i in (1, 2, 3)]
    rows.append(member(4, employer="青湖甲科技有限公司", community="朝阳社区", estate="幸福里小区"))
    return [write_lists(d / "青湖区资源清单.xlsx", comms, ests, orgs),
            write_xlsx(d / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)}, title="东湖街道党员花名册")]


def _dongjiang(d: Path, period: str) -> list[Path]:
    """东江区: 江滨街道 only; organizations 1 of 2 covered, the other with an instructor; estates 1 of 2."""
    comms = [{"所在街道": "江滨街道", "社区名称": "江滨社区", "社区党组织名称": "江滨社区党委"}]
    ests = [{"所在街道": "江滨街道", "所属社区": "江滨社区", "小区名称": "滨江花园", "小区党组织名称": "滨江花园党支部"},
            {"所在街道": "江滨街道", "所属社区": "江滨社区", "小区名称": "观澜苑", "小区党组织名称": ""}]
    orgs = [_org("东江戊科技有限公司", "江滨街道", "江滨社区", "单独组建"),
            _org("东江己服务有限公司", "江滨街道", "江滨社区", "未建立", 党建工作指导员="李四")]
    rows = [member(101, community="江滨社区", estate="观澜苑"), member(102, community="江滨社区", estate="观澜苑"),
            member(103, employer="东江己服务有限公司", community="江滨社区", estate="滨江花园")]
    return [write_lists(d / "东江区资源清单.xlsx", comms, ests, orgs),
            write_xlsx(d / "江滨街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)}, title="江滨街道党员花名册")]


@pytest.fixture(scope="module", params=ENGINES)
def city_db(request, tmp_path_factory) -> Iterator[str]:
    """Two districts in one store, 2026Q2 and 2026Q3 each, imported through the Python API."""
    tmp = tmp_path_factory.mktemp("city")
    with store_url(request.param, tmp, request) as db:
        for period in ("2026Q2", "2026Q3"):
            for district, files in (("青湖区", _qinghu), ("东江区", _dongjiang)):
                d = tmp / period / district
                d.mkdir(parents=True)
                import_files(files(d, period), period, db, district=district)
        yield db


def doc_text(path: Path) -> str:
    doc = Document(str(path))
    return "\n".join([p.text for p in doc.paragraphs]
                     + ["|".join(c.text for c in row.cells) for t in doc.tables for row in t.rows])


def tables(path: Path) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in t.rows] for t in Document(str(path)).tables]


@pytest.fixture(scope="module")
def city_doc(city_db, tmp_path_factory) -> Path:
    result = report.render_quarterly(city_db, "2026Q3", tmp_path_factory.mktemp("city_doc"), doc_date=DOC_DATE,
                                     settings=SETTINGS)
    assert result.missing == [] and result.warnings == []
    return result.files[0]


def test_city_bulletin_ranks_districts_by_their_own_coverage(city_doc, city_db):
    ranking = tables(city_doc)[0]
    assert ranking[0][:2] == ["排名", "区"]
    # 青湖区 75.0% (3 of 4, +25.0 from 2 of 4) before 东江区 50.0%: by rate, not by name (东 sorts before 青)
    assert ranking[1:] == [["1", "青湖区", "4", "75.0%", "+25.0", "75.0%", "+25.0", "50.0%", "0.0", "3"],
                           ["2", "东江区", "2", "50.0%", "0.0", "100.0%", "0.0", "50.0%", "0.0", "1"]]
    for row in ranking[1:]:   # the same figures as each district's own coverage
        own = compute_coverage(city_db, "2026Q3", district=row[1])
        total, before = own.rate("district", ""), own.previous.rate("district", "")
        assert row[3] == present.pct_text(total.org_coverage)
        assert row[4] == present.pp_text(total.org_coverage, before.org_coverage)
        assert row[5] == present.pct_text(total.work_coverage)
        assert row[7] == present.pct_text(own.estate("").coverage)
        assert row[9] == str(len(own.places))


def test_city_bulletin_speaks_of_districts_and_the_city(city_doc):
    text = doc_text(city_doc)
    assert "各区（县、市）委组织部：" in text and "各街道党工委：" not in text
    assert "二、各区覆盖率排名" in text and "表1　各区覆盖率排名" in text and "三、各区空白点情况" in text
    assert "本期全市2个区均存在空白点，共有空白点4处（问题5个）" in text
    assert "全市两新组织6个，党组织覆盖率66.7%，较上季度上升16.7个百分点" in text   # 4 of 6, was 3 of 6
    assert "两新组织党组织覆盖率最高的是青湖区（75.0%），最低的是东江区（50.0%）。" in text
    assert "全区" not in text and "各街道覆盖率" not in text


def test_city_bulletin_counts_each_districts_blind_spots_by_street(city_doc):
    text = doc_text(city_doc)
    assert "（一）东江区\n共有空白点1处（问题1个），其中新增0处、持续未整改1处。" in text
    assert "（二）青湖区\n共有空白点3处（问题4个），其中新增0处、持续未整改3处；上期以来已整改销号1处。" in text
    by_street = [t for t in tables(city_doc) if t[0][:2] == ["序号", "街道"]]
    assert [t[1:] for t in by_street] == [[["1", "江滨街道", "1", "1", "0", "1", "0"]],
                                          [["1", "东湖街道", "3", "4", "0", "3", "0"],
                                           ["2", "西山街道", "0", "0", "0", "0", "1"]]]
    assert "青湖甲科技有限公司" not in text   # the places are listed in the district's own bulletin


def test_district_bulletin_of_the_same_store_ranks_its_streets_only(city_db, tmp_path):
    result = report.render_quarterly(city_db, "2026Q3", tmp_path, district="青湖区", doc_date=DOC_DATE,
                                     settings=SETTINGS)
    text = doc_text(result.files[0])
    ranking = tables(result.files[0])[0]
    assert ranking[0][:2] == ["排名", "街道"]
    assert [r[:4] for r in ranking[1:]] == [["1", "西山街道", "2", "100.0%"], ["2", "东湖街道", "2", "50.0%"]]
    assert "各街道党工委：" in text and "全区两新组织4个，党组织覆盖率75.0%" in text
    assert "江滨街道" not in text and "东江" not in text and "全市" not in text
    assert "青湖甲科技有限公司" in text


def test_pbtool_toml_district_gives_its_bulletin_and_city_option_the_citys(city_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pbtool.toml").write_text('district = "东江区"\n', encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["report", "quarterly", "--period", "2026Q3", "--db", city_db, "--out", "a"])
    assert res.exit_code == 0, res.output
    ranking = tables(tmp_path / "a" / "2026Q3季度通报.docx")[0]
    assert [r[1] for r in ranking] == ["街道", "江滨街道"]
    res = runner.invoke(app, ["report", "quarterly", "--period", "2026Q3", "--db", city_db, "--out", "b", "--city"])
    assert res.exit_code == 0, res.output
    ranking = tables(tmp_path / "b" / "2026Q3季度通报.docx")[0]
    assert [r[1] for r in ranking] == ["区", "青湖区", "东江区"]
    res = runner.invoke(app, ["report", "quarterly", "--period", "2026Q3", "--db", city_db, "--out", "c", "--city",
                              "--district", "青湖区"])
    assert res.exit_code == 2 and "只能用一个" in res.output
    assert not (tmp_path / "c").exists()


def test_city_coverage_shows_each_district_on_terminal_json_and_ledger(city_db, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["coverage", "--period", "2026Q3", "--db", city_db, "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["is_city"] is True
    parts = {d["district"]: d for d in data["districts"]}
    assert list(parts) == ["东江区", "青湖区"]
    qinghu = next(r for r in parts["青湖区"]["rates"] if r["kind"] == "合计")
    assert (qinghu["total"], qinghu["org_covered"], qinghu["org_coverage_text"]) == (4, 3, "75.0%")
    assert parts["青湖区"]["counts"]["places"] == 3 and parts["东江区"]["counts"]["places"] == 1
    change = next(c for c in parts["青湖区"]["rate_changes"] if c["kind"] == "合计")
    assert change["org_coverage_pp_text"] == "+25.0"

    res = runner.invoke(app, ["coverage", "--period", "2026Q3", "--db", city_db, "--xlsx", str(tmp_path / "台账.xlsx")])
    assert res.exit_code == 0, res.output
    assert "各区覆盖率" in res.output and "│ 全市" in res.output and "│ 青湖区 │ 3/4" in res.output
    assert "青湖区东湖街道：空白点 3 处" in res.output and "东江区江滨街道：空白点 1 处" in res.output
    ws = openpyxl.load_workbook(tmp_path / "台账.xlsx")["汇总"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if r[0] == "区")
    assert rows[head][:4] == ["区", "两新组织", "党组织覆盖率", "较上期"]
    assert [r[:4] + r[9:11] for r in rows[head + 1:head + 3]] == [["东江区", 2, 0.5, "0.0", 1, 0],
                                                                  ["青湖区", 4, 0.75, "+25.0", 3, 1]]
    assert rows[3][0] == "全市"

    one = runner.invoke(app, ["coverage", "--period", "2026Q3", "--db", city_db, "--district", "东江区",
                              "--format", "json"])
    assert json.loads(one.output)["districts"] == [] and json.loads(one.output)["is_city"] is False


def test_city_bulletin_variables_are_documented(city_db):
    from pbtool.report import context, variables
    ctx = context.build_quarterly(city_db, "2026Q3", settings=SETTINGS, doc_date=DOC_DATE).context
    documented = {v["name"] for v in variables.specs("quarterly")}
    assert variables.top_level_names("quarterly") == set(ctx)
    rows = ctx["streets"][1]["street_rows"]
    assert {f"streets[].street_rows[].{k}" for k in rows[0]} == {d for d in documented
                                                                 if d.startswith("streets[].street_rows[].")}
    assert (ctx["is_city"], ctx["unit_name"], ctx["scope_name"]) == (True, "区", "全市")


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice or poppler-utils not installed")
def test_city_bulletin_as_pdf_reads_as_a_city_bulletin(city_doc, tmp_path):
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(city_doc)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "2026Q3季度通报.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "各区（县、市）委组织部：" in text and "各区覆盖率排名" in text
    rows = (line.split() for line in text.splitlines())
    ranked = [r for r in rows if len(r) > 3 and r[0] in ("1", "2") and r[3].endswith("%")]
    assert [r[:4] for r in ranked] == [["1", "青湖区", "4", "75.0%"], ["2", "东江区", "2", "50.0%"]]
    assert "【待填写：其他工作要求】" in text


def test_a_district_without_its_lists_is_named_not_ranked(tmp_path):
    db = str(tmp_path / "store.db")
    for district, files in (("青湖区", _qinghu), ("东江区", _dongjiang)):
        d = tmp_path / district
        d.mkdir()
        got = files(d, "2026Q3")
        import_files(got if district == "青湖区" else got[1:], "2026Q3", db, district=district)   # 东江区: roster only
    cov = compute_coverage(db, "2026Q3")
    assert [p.district for p in cov.districts] == ["青湖区"]
    assert len(cov.district_notes) == 1 and cov.district_notes[0].startswith("东江区：2026Q3 缺少社区清单")
    result = report.render_quarterly(db, "2026Q3", tmp_path / "out", doc_date=DOC_DATE, settings=SETTINGS)
    assert any(w.startswith("未参加排名：东江区：") for w in result.warnings)
    assert [r[1] for r in tables(result.files[0])[0]] == ["区", "青湖区"]


def test_an_unknown_district_is_named_with_the_districts_there_are(city_db, tmp_path):
    from pbtool.coverage import CoverageError
    with pytest.raises(CoverageError, match="数据库中没有“北山区”的数据。已有的区：东江区、青湖区。"):
        compute_coverage(city_db, "2026Q3", district="北山区")
    with pytest.raises(report.ReportError, match="没有“北山区”的数据"):
        report.render_quarterly(city_db, "2026Q3", tmp_path, district="北山区")


def test_notices_and_annual_summary_for_one_district_of_the_city(city_db, tmp_path):
    res = CliRunner().invoke(app, ["report", "notices", "--period", "2026Q3", "--db", city_db, "--district", "东江区",
                                   "--date", "2026-10-08", "--out", str(tmp_path / "n")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "n").iterdir()) == ["江滨街道整改通知书（2026Q3）.docx"]
    assert "东江己服务有限公司" in doc_text(tmp_path / "n" / "江滨街道整改通知书（2026Q3）.docx")
    annual = report.render_annual(city_db, 2026, tmp_path / "a", district="青湖区", doc_date=DOC_DATE,
                                  settings=SETTINGS)
    text = doc_text(annual.files[0])
    assert "全区共有街道2个" in text and "东湖街道" in text and "江滨街道" not in text


def test_a_district_new_this_quarter_has_no_changes_and_is_said_so(tmp_path):
    db = str(tmp_path / "store.db")
    for period in ("2026Q2", "2026Q3"):
        d = tmp_path / period
        d.mkdir()
        import_files(_qinghu(d, period), period, db, district="青湖区")
    nanshan = write_lists(tmp_path / "南山区资源清单.xlsx",
                          [{"所在街道": "南山街道", "社区名称": "南山社区", "社区党组织名称": "南山社区党委"}],
                          [{"所在街道": "南山街道", "所属社区": "南山社区", "小区名称": "南山小区", "小区党组织名称": "南山小区党支部"}],
                          [_org("南山甲有限公司", "南山街道", "南山社区", "单独组建")])
    import_files([nanshan], "2026Q3", db, district="南山区")
    result = report.render_quarterly(db, "2026Q3", tmp_path / "out", doc_date=DOC_DATE, settings=SETTINGS)
    assert result.warnings == ["南山区没有 2026Q3 之前的数据，表1中该区的增减为“—”。"]
    ranking = tables(result.files[0])[0]
    assert ranking[1] == ["1", "南山区", "1", "100.0%", "—", "100.0%", "—", "100.0%", "—", "0"]
    assert ranking[2][:5] == ["2", "青湖区", "4", "75.0%", "+25.0"]
    text = doc_text(result.files[0])
    assert "【待填写】" not in text and "本期全市2个区中有1个存在空白点" in text
    assert "（一）南山区\n本期未发现空白点。" in text


def _same_street(d: Path, district: str, community_org: str, residents: int) -> list[Path]:
    """A district with a 城关街道 and its 东门社区 (names many districts share), `residents` full members."""
    comms = [{"所在街道": "城关街道", "社区名称": "东门社区", "社区党组织名称": community_org}]
    ests = [{"所在街道": "城关街道", "所属社区": "东门社区", "小区名称": "东门小区", "小区党组织名称": "东门小区党支部"}]
    orgs = [_org(f"{district}城关商贸有限公司", "城关街道", "东门社区", "单独组建")]
    base = 500 if district == "青湖区" else 600
    rows = [member(base + i, community="东门社区", estate="东门小区") for i in range(residents)]
    return [write_lists(d / f"{district}资源清单.xlsx", comms, ests, orgs),
            write_xlsx(d / "城关街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)}, title="城关街道党员花名册")]


@pytest.mark.parametrize("engine", ENGINES)
def test_city_keeps_two_districts_streets_of_the_same_name_apart(engine, tmp_path, request):
    """Two districts each have a 城关街道 with a 东门社区: 青湖区's has no Party organization and 3 full
    members, 东江区's has one and 2. The city result names each street with its district and counts
    each community on its own (not 5 members in one community listed twice); each district's own
    result is untouched."""
    with store_url(engine, tmp_path, request) as db:
        for district, org, n in (("青湖区", "", 3), ("东江区", "东门社区党委", 2)):
            d = tmp_path / district
            d.mkdir()
            import_files(_same_street(d, district, org, n), "2026Q3", db, district=district)
        city = compute_coverage(db, "2026Q3", city=True)
        assert city.is_city
        assert [(f.rule, f.street, f.target, f.full_members) for f in city.findings] == [
            ("COMMUNITY_NO_ORG", "青湖区城关街道", "东门社区", 3)]
        by_street = city.summary["by_street"]
        assert (by_street["青湖区城关街道"]["full"], by_street["东江区城关街道"]["full"]) == (3, 2)
        assert "城关街道" not in by_street
        assert {r.street for r in city.rates if r.scope == "street"} == {"青湖区城关街道", "东江区城关街道"}
        own = compute_coverage(db, "2026Q3", district="青湖区")
        assert [(f.street, f.full_members) for f in own.findings] == [("城关街道", 3)]
        assert [(f.street, f.full_members) for f in compute_coverage(db, "2026Q3", district="东江区").findings] == []
        res = CliRunner().invoke(app, ["coverage", "--period", "2026Q3", "--db", db, "--city"])
        assert res.exit_code == 0, res.output
        assert "青湖区城关街道：空白点 1 处" in res.output


def test_city_annual_and_notices_name_streets_with_their_district(city_db, tmp_path):
    """The year-end summary and the notices of a city's store read as a whole say 全市 and name every
    street with its district, in the figures' tables as in the coverage tables (never a mix of 东湖街道
    and 青湖区东湖街道); the same store read for one district says 全区 with plain street names."""
    annual = report.render_annual(city_db, 2026, tmp_path / "a", doc_date=DOC_DATE, settings=SETTINGS)
    text = doc_text(annual.files[0])
    assert "全市共有街道" in text and "全区" not in text
    street_rows = [row[0] for t in tables(annual.files[0]) for row in t[1:] if row[0] not in ("合计", "全市")]
    assert street_rows and all(r.startswith(("青湖区", "东江区")) for r in street_rows), street_rows
    assert {"青湖区东湖街道", "东江区江滨街道"} <= set(street_rows)
    notices = report.render_notices(city_db, "2026Q3", tmp_path / "n", doc_date=DOC_DATE, settings=SETTINGS)
    names = sorted(p.name for p in notices.files)
    assert names == ["东江区江滨街道整改通知书（2026Q3）.docx", "青湖区东湖街道整改通知书（2026Q3）.docx"]
    text = doc_text(next(p for p in notices.files if p.name.startswith("青湖区")))
    assert "青湖区东湖街道党工委：" in text and "全市城市基层党建空白点排查结果" in text
    one = report.render_annual(city_db, 2026, tmp_path / "q", doc_date=DOC_DATE, settings=SETTINGS, district="青湖区")
    text = doc_text(one.files[0])
    assert "全区共有街道" in text and "青湖区东湖街道" not in text and "东湖街道" in text


def test_coverage_city_and_district_together_is_one_chinese_line(city_db):
    res = CliRunner().invoke(app, ["coverage", "--period", "2026Q3", "--db", city_db, "--city", "--district", "青湖区"])
    assert res.exit_code == 2 and "只能用一个" in res.output and "Traceback" not in res.output
