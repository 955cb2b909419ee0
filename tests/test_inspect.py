"""`pbtool inspect` and exit code 2 when nothing can be imported, through the real command line."""
from __future__ import annotations

import json
from pathlib import Path

from builders import ROSTER_HEADER, make_id, member, write_xlsx
from typer.testing import CliRunner

from pbtool.cli import app

runner = CliRunner()


def owip_like(path: Path) -> Path:
    header = ["姓名", "人员类别", "身份证号", "所属党支部", "党籍状态", "手机"]
    rows = [[f"王{i}", "教职工", make_id(i), "机关党支部", "预备党员" if i == 0 else "正式党员", "13800138000"]
            for i in range(4)]
    return write_xlsx(path, {"党员信息": (header, rows)})


def test_inspect_text_shows_fields_reasons_and_masked_samples(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = owip_like(tmp_path / "[样表]东湖街道党员信息.xlsx")
    res = runner.invoke(app, ["inspect", str(f)])
    assert res.exit_code == 0, res.output
    assert "[样表]东湖街道党员信息.xlsx" in res.output       # printed as written, brackets kept
    assert "党员花名册" in res.output and "表头在第1行" in res.output
    assert "“党籍状态”列的内容是正式党员/预备党员，已按人员类别导入" in res.output.replace("\n", "")
    assert make_id(1) not in res.output and make_id(1)[:6] + "********" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [f.name]   # wrote nothing


def test_inspect_json(tmp_path):
    f = owip_like(tmp_path / "东湖街道党员信息.xlsx")
    res = runner.invoke(app, ["inspect", str(f), "--format", "json"])
    assert res.exit_code == 0
    data = json.loads(res.output)
    [sheet] = data["files"][0]["sheets"]
    cols = {c["header"]: c for c in sheet["columns"]}
    assert (sheet["kind"], sheet["header_rows"]) == ("roster", [1])
    assert (cols["党籍状态"]["field"], cols["党籍状态"]["reason"]) == ("category", "内容")
    assert (cols["人员类别"]["field"], cols["人员类别"]["reason"]) == ("person_type", "内容")
    assert (cols["所属党支部"]["field"], cols["所属党支部"]["reason"]) == ("branch", "表头")
    assert cols["身份证号"]["samples"][0] == make_id(0)[:6] + "********" + make_id(0)[14:]
    assert "18位身份证号" in cols["身份证号"]["looks_like"]


def test_nothing_imported_exits_2_with_a_diagnosis_and_map_line(tmp_path, db):
    f = write_xlsx(tmp_path / "东湖街道党员名单.xlsx", {"名单": (
        ["序号", "党员名字", "身份证号", "人员类别", "所在党支部"],
        [[1, "赵一", make_id(1), "正式党员", "第一党支部"]])}, instructions=True)
    res = runner.invoke(app, ["import", str(f), "--period", "2026Q3", "--db", db])
    assert res.exit_code == 2
    out = res.output.replace("\n", "")
    assert "工作表“填表说明”：填表说明工作表，不是数据。" in out
    assert "工作表“名单”：最像党员花名册" in out and "缺少“姓名”列" in out
    assert "--map 党员名字=name" in out
    assert not Path(db).exists()
    res = runner.invoke(app, ["import", str(f), "--period", "2026Q3", "--db", db, "--map", "党员名字=name"])
    assert res.exit_code == 0, res.output


def test_header_only_template_is_not_a_success(tmp_path, db):
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [])})
    res = runner.invoke(app, ["import", str(f), "--period", "2026Q3", "--db", db])
    assert res.exit_code == 2 and "表头下没有数据行" in res.output.replace("\n", "")


def test_import_prints_bracketed_names_as_written(tmp_path, db):
    # "[sample_x]" is a valid rich tag: escaped once it prints as written, escaped twice it shows a backslash
    f = write_xlsx(tmp_path / "[sample_x]东湖街道花名册.xlsx", {"花名册(正式)": (ROSTER_HEADER, [member(1)])})
    res = runner.invoke(app, ["import", str(f), "--period", "2026Q3", "--db", db])
    assert res.exit_code == 0, res.output
    assert "[sample_x]东湖街道花名册.xlsx" in res.output and "花名册(正式)" in res.output
    assert "\\[" not in res.output


def test_inspect_shows_columns_found_by_their_values(tmp_path):
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (["姓名", "身份证号", "人员类别", "居委会", "住宅楼盘"], [
        [f"孙{i}", make_id(i), "正式党员", "朝阳社区", "幸福里小区"] for i in range(3)])})
    res = runner.invoke(app, ["inspect", str(f), "--format", "json"])
    assert res.exit_code == 0, res.output
    cols = {c["header"]: c for c in json.loads(res.output)["files"][0]["sheets"][0]["columns"]}
    assert (cols["居委会"]["field"], cols["居委会"]["reason"]) == ("community", "内容")
    assert (cols["住宅楼盘"]["field"], cols["住宅楼盘"]["reason"]) == ("estate", "内容")
