"""pbtool coverage: each rule at and around its threshold, matching by place and employer, period
comparison, and the ledger workbook read back."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from builders import ROSTER_HEADER, make_uscc, member, stored, write_lists, write_xlsx
from typer.testing import CliRunner

from pbtool.cli import app
from pbtool.config import load_config
from pbtool.coverage import CoverageError, compute_coverage
from pbtool.importer import import_files
from pbtool.outputs.ledger_xlsx import write_ledger

runner = CliRunner()


def district(tmp_path: Path, db: str, lists: Path, rows: list[dict], period: str = "2026Q3",
             name: str = "东湖街道花名册.xlsx"):
    f = write_xlsx(tmp_path / name, {"花名册": (ROSTER_HEADER, rows)})
    import_files([lists, f], period, db)
    return compute_coverage(db, period)


def found(result, rule=None):
    return sorted((f.rule, f.target, f.full_members, f.probationary, f.members)
                  for f in result.findings if rule is None or f.rule == rule)


def residents(n_full: int, n_prob: int = 0, start: int = 1, estate="幸福里小区", community="朝阳社区", **kw):
    rows = [member(start + i, community=community, estate=estate, **kw) for i in range(n_full)]
    rows += [member(start + n_full + i, community=community, estate=estate, category="预备党员", **kw)
             for i in range(n_prob)]
    return rows


# ---------------------------------------------------------------- thresholds


def test_estate_with_two_full_members_is_not_a_blind_spot(tmp_path, db, lists):
    assert found(district(tmp_path, db, lists, residents(2)), "RES_NO_ORG") == []


def test_estate_with_three_full_members_and_no_org_is_res_no_org(tmp_path, db, lists):
    r = district(tmp_path, db, lists, residents(3))
    assert found(r, "RES_NO_ORG") == [("RES_NO_ORG", "幸福里小区", 3, 0, 3)]
    assert found(r, "COMMUNITY_NO_ORG") == [("COMMUNITY_NO_ORG", "朝阳社区", 3, 0, 3)]


def test_an_estate_listed_without_its_community_counts_its_residents_and_their_community(tmp_path, db):
    """无名苑 is listed with a blank 所属社区. Its residents keep the community their rows name (written
    朝阳 here, stored as the listed 朝阳社区): three of them make both the estate and 朝阳社区 blind
    spots. (They were stored with a blank community: the estate counted them, the community did not.)
    A same-named estate listed in 青松社区 keeps its own two residents (not counted for the other)."""
    comms = [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": ""},
             {"所在街道": "东湖街道", "社区名称": "青松社区", "社区党组织名称": "青松社区党委"}]
    ests = [{"所在街道": "东湖街道", "所属社区": "", "小区名称": "无名苑", "小区党组织名称": ""},
            {"所在街道": "东湖街道", "所属社区": "青松社区", "小区名称": "无名苑", "小区党组织名称": ""}]
    orgs = [{"单位名称": "青湖智联科技有限公司", "组织类型": "非公有制企业", "所在街道": "东湖街道", "所在社区": "朝阳社区",
             "党组织建立情况": "单独组建"}]
    lists = write_lists(tmp_path / "资源清单.xlsx", comms, ests, orgs)
    rows = residents(3, estate="无名苑", community="朝阳") + residents(2, start=10, estate="无名苑", community="青松社区")
    r = district(tmp_path, db, lists, rows)
    assert found(r, "RES_NO_ORG") == [("RES_NO_ORG", "无名苑", 3, 0, 3)]
    assert found(r, "COMMUNITY_NO_ORG") == [("COMMUNITY_NO_ORG", "朝阳社区", 3, 0, 3)]
    assert stored(db, "select community, estate, place_status, count(*) from members "
                      "group by community, estate, place_status order by community") == [
        ("朝阳社区", "无名苑", "ok", 3), ("青松社区", "无名苑", "ok", 2)]


def test_probationary_members_never_count_toward_three(tmp_path, db, lists):
    r = district(tmp_path, db, lists, residents(2, 1))
    assert found(r, "RES_NO_ORG") == [] and found(r, "COMMUNITY_NO_ORG") == []


def test_estate_with_its_own_org_is_covered(tmp_path, db, lists):
    r = district(tmp_path, db, lists, residents(5, estate="青松苑", community="青松社区"))
    assert found(r, "RES_NO_ORG") == [] and found(r, "COMMUNITY_NO_ORG") == []


def test_names_repeated_across_streets_are_counted_apart(tmp_path, db, lists):
    # 2 full members in 东湖's 幸福里小区 and 2 in 西山's: four by name, never three in one place
    a = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, residents(2))})
    b = write_xlsx(tmp_path / "西山街道花名册.xlsx", {"花名册": (ROSTER_HEADER, residents(2, start=10))})
    import_files([lists, a, b], "2026Q3", db)
    assert found(compute_coverage(db, "2026Q3"), "RES_NO_ORG") == []


def test_branch_of_fifty_is_fine_and_fifty_one_is_too_big(tmp_path, db, lists):
    rows = [member(i, branch="甲党支部") for i in range(1, 51)]
    rows += [member(100 + i, branch="乙党支部") for i in range(1, 51)] + [member(200, branch="乙党支部", category="预备党员")]
    r = district(tmp_path, db, lists, rows)
    assert found(r, "BRANCH_TOO_BIG") == [("BRANCH_TOO_BIG", "乙党支部", 50, 1, 51)]


def test_org_rules_solo_joint_and_no_work(tmp_path, db, lists):
    rows = [member(i, employer="青湖智联科技有限公司") for i in range(1, 3)]   # 2 full: joint, not solo
    r = district(tmp_path, db, lists, rows)
    assert found(r, "ORG_SOLO") == []
    assert found(r, "ORG_JOINT") == [("ORG_JOINT", "青湖智联科技有限公司", 2, 0, 2)]
    assert found(r, "ORG_NO_WORK") == [("ORG_NO_WORK", "青湖智联科技有限公司", 2, 0, 2)]
    rows.append(member(3, employer="青湖智联科技有限公司"))
    r = district(tmp_path, db, lists, rows)
    assert found(r, "ORG_SOLO") == [("ORG_SOLO", "青湖智联科技有限公司", 3, 0, 3)] and found(r, "ORG_JOINT") == []


def test_org_with_only_a_probationary_member_should_join(tmp_path, db, lists):
    r = district(tmp_path, db, lists, [member(1, employer="青湖智联科技有限公司", category="预备党员")])
    assert found(r, "ORG_JOINT") == [("ORG_JOINT", "青湖智联科技有限公司", 0, 1, 1)]


def test_uncovered_org_with_instructor_and_no_members_has_no_finding(tmp_path, db):
    orgs = [{"单位名称": "甲服务中心", "组织类型": "民办非企业单位", "所在街道": "东湖街道", "党组织建立情况": "未建立",
             "党建工作指导员": "王某"},
            {"单位名称": "乙商贸有限公司", "组织类型": "非公有制企业", "所在街道": "东湖街道", "党组织建立情况": "未建立"}]
    lists = write_lists(tmp_path / "清单.xlsx", [{"所在街道": "东湖街道", "社区名称": "朝阳社区"}], [], orgs)
    r = district(tmp_path, db, lists, [member(1)])
    assert found(r) == [("ORG_NO_WORK", "乙商贸有限公司", 0, 0, 0)]


def test_employer_matched_after_normalizing_brackets_and_spaces(tmp_path, db, lists):
    rows = [member(i, employer=e) for i, e in enumerate(
        ["青湖（杭州）数据服务有限公司", "青湖 (杭州) 数据服务有限公司", "青湖(杭州)数据服务有限公司 总经理"], start=1)]
    # the org is 联合组建 in the list, so it is covered: no finding, but its employees are matched
    r = district(tmp_path, db, lists, rows + [member(9, employer="青湖智联科技有限责任公司")])
    assert found(r) == [("ORG_NO_WORK", "青湖智联科技有限公司", 0, 0, 0)]
    assert r.near_misses == [{"street": "东湖街道", "employer": "青湖智联科技有限责任公司",
                              "org": "青湖智联科技有限公司", "members": 1}]


def test_employer_matched_by_credit_code_before_name(tmp_path, db):
    code = make_uscc(77)
    orgs = [{"单位名称": "青湖未来科技有限公司", "统一社会信用代码": code, "组织类型": "非公有制企业", "所在街道": "东湖街道",
             "党组织建立情况": "未建立", "党建工作指导员": "李某"}]
    lists = write_lists(tmp_path / "清单.xlsx", [{"所在街道": "东湖街道", "社区名称": "朝阳社区"}], [], orgs)
    header = ROSTER_HEADER + ["单位统一社会信用代码"]
    rows = [member(i, employer="未来科技", 单位统一社会信用代码=code) for i in range(1, 4)]
    f = write_xlsx(tmp_path / "东湖街道.xlsx", {"花名册": (header, rows)})
    import_files([lists, f], "2026Q3", db)
    assert found(compute_coverage(db, "2026Q3")) == [("ORG_SOLO", "青湖未来科技有限公司", 3, 0, 3)]


def test_members_with_unfixable_problems_still_count_and_are_flagged(tmp_path, db, lists):
    rows = residents(3)
    rows[0]["身份证号"] = "3301061953"   # ID_FORMAT: an error, but the residence is known
    r = district(tmp_path, db, lists, rows)
    [f] = [f for f in r.findings if f.rule == "RES_NO_ORG"]
    assert (f.full_members, f.members_with_problems) == (3, 1)
    assert r.summary["members_with_errors"] == 1


def test_thresholds_come_from_workspace_config(tmp_path, db, lists, monkeypatch):
    (tmp_path / "pbtool.toml").write_text("[thresholds]\nsolo_min_full = 2\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_config().thresholds["solo_min_full"] == 2
    r = district(tmp_path, db, lists, residents(2))
    assert found(r, "RES_NO_ORG") == [("RES_NO_ORG", "幸福里小区", 2, 0, 2)]


# ---------------------------------------------------------------- rates and periods


def test_rates_by_kind_with_numerator_and_denominator(tmp_path, db, lists):
    r = district(tmp_path, db, lists, [member(1)])
    rates = {(x.scope, x.street, x.kind): (x.total, x.org_covered, x.work_covered) for x in r.rates}
    assert rates[("district", "", "非公企业")] == (1, 0, 0)
    assert rates[("district", "", "社会组织")] == (1, 1, 1)
    assert rates[("street", "东湖街道", "合计")] == (2, 1, 1)
    est = {e.street: (e.total, e.with_org) for e in r.estates}
    assert est[""] == (7, 1) and est["东湖街道"] == (2, 1)


def test_status_new_then_persisting_then_closed(tmp_path, db, lists):
    for period in ("2026Q1", "2026Q2", "2026Q3"):
        district(tmp_path, db, lists, residents(3), period=period)
    r = compute_coverage(db, "2026Q3")
    [f] = [f for f in r.findings if f.rule == "RES_NO_ORG"]
    assert (f.status, f.quarters_open) == ("持续", 3)
    r4 = district(tmp_path, db, lists, residents(2), period="2026Q4")
    assert found(r4, "RES_NO_ORG") == []
    assert {(c.rule, c.target) for c in r4.closed} == {("RES_NO_ORG", "幸福里小区"), ("COMMUNITY_NO_ORG", "朝阳社区")}
    q1 = compute_coverage(db, "2026Q1")
    assert q1.previous_period is None and all(f.status == "新增" for f in q1.findings)


def test_rate_change_in_percentage_points(tmp_path, db):
    def lists_with(status):
        orgs = [{"单位名称": "甲公司", "组织类型": "非公有制企业", "所在街道": "东湖街道", "党组织建立情况": status},
                {"单位名称": "乙公司", "组织类型": "非公有制企业", "所在街道": "东湖街道", "党组织建立情况": "未建立"}]
        return write_lists(tmp_path / f"清单{status}.xlsx", [{"所在街道": "东湖街道", "社区名称": "朝阳社区"}], [], orgs)
    district(tmp_path, db, lists_with("未建立"), [member(1)], period="2026Q2")
    r = district(tmp_path, db, lists_with("单独组建"), [member(1)], period="2026Q3")
    [d] = [c for c in r.rate_changes if c["scope"] == "district" and c["kind"] == "合计"]
    assert d["org_coverage_pp"] == 50.0


def test_missing_period_or_lists_is_a_clear_error(tmp_path, db):
    f = write_xlsx(tmp_path / "东湖街道.xlsx", {"花名册": (ROSTER_HEADER, [member(1)])})
    import_files([f], "2026Q3", db)
    with pytest.raises(CoverageError, match="2026Q2"):
        compute_coverage(db, "2026Q2")
    with pytest.raises(CoverageError, match="社区清单"):
        compute_coverage(db, "2026Q3")
    res = runner.invoke(app, ["coverage", "--period", "2026Q3", "--db", db])
    assert res.exit_code == 2 and "资源清单" in res.output


# ---------------------------------------------------------------- outputs


def test_coverage_json_and_fail_on_findings(tmp_path, db, lists):
    district(tmp_path, db, lists, residents(3))
    res = runner.invoke(app, ["coverage", "-p", "2026Q3", "--db", db, "--format", "json", "--fail-on-findings"])
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert {"period", "previous_period", "findings", "closed", "rates", "estates"} <= set(data)
    keys = {"rule", "title", "street", "community", "target", "full_members", "probationary", "members", "status",
            "quarters_open", "action"}
    assert all(keys <= set(f) for f in data["findings"])
    assert {"scope", "street", "community", "kind", "total", "org_covered", "work_covered", "org_coverage",
            "work_coverage"} <= set(data["rates"][0])
    assert all(0 <= r["org_coverage"] <= 1 for r in data["rates"] if r["org_coverage"] is not None)
    ok = runner.invoke(app, ["coverage", "-p", "2026Q3", "--db", db, "--street", "西山街道"])
    assert ok.exit_code == 0 and "西山街道" in ok.output


def test_ledger_workbook_read_back(tmp_path, db, lists):
    rows = residents(3)
    rows[1]["居住小区"] = "幸福里小区"
    result = district(tmp_path, db, lists, rows)
    result.places[0].target = "=HYPERLINK(\"http://x\")"   # a hostile name stays text
    out = write_ledger(result, tmp_path / "整改台账.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "汇总" and "东湖街道" in wb.sheetnames
    ws = wb["东湖街道"]
    header = [c.value for c in ws[1]]
    assert header[-3:] == ["责任人", "整改措施", "整改时限"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    mine = [p for p in result.places if p.street == "东湖街道"]
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_row=1 + len(mine))]
    # one row per place, all its rule codes together
    assert [r[5] for r in body] == ["；".join(p.rules) for p in mine]
    assert {code for r in body for code in r[5].split("；")} == {f.rule for f in result.findings if f.street == "东湖街道"}
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "=HYPERLINK(\"http://x\")")
    assert cell.data_type == "s"
    summary = wb["汇总"]
    assert summary["A3"].value == "范围" and summary.freeze_panes == "A4"


def _has_calc() -> bool:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        return False
    program = Path(exe).resolve().parent
    return any((d / "libsclo.so").exists() for d in (program, Path("/usr/lib/libreoffice/program")))


@pytest.mark.skipif(not _has_calc(), reason="未安装 LibreOffice Calc（libreoffice-calc-nogui）")
def test_ledger_opens_in_libreoffice(tmp_path, db, lists):
    out = write_ledger(district(tmp_path, db, lists, residents(3)), tmp_path / "台账.xlsx")
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    # CSV filter options 44,34,76: comma, double quote, UTF-8
    proc = subprocess.run([exe, "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
                           "--outdir", str(tmp_path), str(out)], capture_output=True, timeout=180)
    assert proc.returncode == 0
    text = (tmp_path / "台账.csv").read_text(encoding="utf-8")
    assert "范围" in text and "组织覆盖率" in text


def test_org_with_blank_name_keeps_its_place_by_credit_code(tmp_path, db):
    code = make_uscc(31)
    def lists_with(name):
        orgs = [{"单位名称": name, "统一社会信用代码": code, "组织类型": "非公有制企业", "所在街道": "东湖街道",
                 "党组织建立情况": "未建立"}]
        return write_lists(tmp_path / f"清单{name or '空'}.xlsx", [{"所在街道": "东湖街道", "社区名称": "朝阳社区"}],
                           [], orgs)
    district(tmp_path, db, lists_with("青湖云帆科技有限公司"), [member(1)], period="2026Q2")
    r = district(tmp_path, db, lists_with(""), [member(1)], period="2026Q3")
    assert r.rate("district", "").total == r.previous.rate("district", "").total == 1
    [place] = r.places
    assert place.target == f"单位名称未填（统一社会信用代码{code}）"
    assert (place.status, place.quarters_open) == ("持续", 2) and r.closed_places == []


def test_each_period_is_computed_once_and_then_read_back(tmp_path, db, lists, monkeypatch):
    """A computed state is stored after the consistent read, not during it: storing it inside made the
    read see a change and compute everything a second time."""
    import pbtool.coverage as cov

    for period, n in (("2026Q2", 3), ("2026Q3", 4)):   # imported only: no coverage computed yet
        f = write_xlsx(tmp_path / f"东湖街道花名册{period}.xlsx", {"花名册": (ROSTER_HEADER, residents(n))})
        import_files([lists, f], period, db, period_mismatch_ok=True)
    calls: list[str] = []
    passes: list[str] = []
    real, real_once = cov._period_state, cov._compute_once
    monkeypatch.setattr(cov, "_period_state", lambda store, period, config, **kw: calls.append(period) or real(store, period, config, **kw))
    monkeypatch.setattr(cov, "_compute_once", lambda *a, **kw: passes.append(a[1]) or real_once(*a, **kw))
    first = compute_coverage(db, "2026Q3")
    assert sorted(calls) == ["2026Q2", "2026Q3"] and passes == ["2026Q3"]   # one pass over the store
    again = compute_coverage(db, "2026Q3")
    assert sorted(calls) == ["2026Q2", "2026Q3"]      # both read back from the stored states
    assert [f.rule for f in again.findings] == [f.rule for f in first.findings] and first.findings


def test_yes_no_instructor_column_counts_as_work_coverage(tmp_path, db):
    """A 台账 that says 是/否 under 是否选派党建工作指导员 instead of naming the instructor: 是 covers the
    organization's work (no ORG_NO_WORK), 否 and blank do not; the answer is kept with the organization."""
    header = ["单位名称", "组织类型", "所在街道", "党组织建立情况", "是否选派党建工作指导员"]
    orgs = [["甲服务中心", "民办非企业单位", "东湖街道", "未建立", "是"],
            ["乙商贸有限公司", "非公有制企业", "东湖街道", "未建立", "否"],
            ["丙科技有限公司", "非公有制企业", "东湖街道", "未建立", ""]]
    comms = write_xlsx(tmp_path / "社区清单.xlsx", {"社区": (["所在街道", "社区名称"], [["东湖街道", "朝阳社区"]]),
                                                  "小区": (["所在街道", "所属社区", "小区名称"], [["东湖街道", "朝阳社区", "幸福里小区"]])})
    org_list = write_xlsx(tmp_path / "两新组织台账.xlsx", {"两新组织": (header, orgs)})
    roster = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1)])})
    r = import_files([comms, org_list, roster], "2026Q3", db)
    assert not [p for p in r.problems if p.code in ("UNKNOWN_COLUMN", "BAD_VALUE") and p.file == "两新组织台账.xlsx"]
    from builders import stored
    assert stored(db, "select name, instructor_assigned from orgs order by row") == [
        ("甲服务中心", True), ("乙商贸有限公司", False), ("丙科技有限公司", None)]
    cov = compute_coverage(db, "2026Q3")
    assert sorted(t for rule, t, *_ in found(cov) if rule == "ORG_NO_WORK") == ["丙科技有限公司", "乙商贸有限公司"]
    [total] = [x for x in cov.rates if x.scope == "district" and x.kind == "合计"]
    assert (total.total, total.work_covered) == (3, 1)
