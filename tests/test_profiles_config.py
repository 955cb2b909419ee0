"""Value profiles in pbtool.toml: a district adds or overrides entries of data/profiles.toml the way it adds
synonyms, and a malformed entry is one Chinese line. End to end: a pbtool.toml in the working folder of a
real `pbtool import` process changes where a real .xlsx's columns land in the store."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from builders import make_id, stored, write_xlsx
from conftest import ROOT
from typer.testing import CliRunner

from pbtool.cli import app

HEADER = ["序号", "姓名", "性别", "身份证号", "党籍状态", "人员类别", "组织关系", "工作单位", "居住小区"]
PERSON_TYPES = ["农村党员", "在岗职工", "离退休人员", "城镇居民"]   # a county system's 人员类别, not shipped


def readme_example() -> str:
    """The pbtool.toml example of the README's section on profiles: what is documented is what is tested."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### 按本区的表格调整识别规则（pbtool.toml）"):]
    return section[section.index("```toml\n") + 8:section.index("```\n", section.index("```toml\n") + 8)]


DISTRICT_TOML = readme_example()


def county_roster(path: Path, n: int = 400) -> Path:
    """A roster as a county system exports it: 党籍状态 holds 正式/预备, 人员类别 the person type, the
    branch under 组织关系. 400 rows, so the .xlsx is read by columns."""
    rows = [[i, f"测试{i}", "男", make_id(i), "预备党员" if i % 5 == 0 else "正式党员", PERSON_TYPES[i % 4],
             f"第{1 + i % 2}党支部", "", ""] for i in range(1, n + 1)]
    return write_xlsx(path, {"花名册": (HEADER, rows)})


def import_in(folder: Path, roster: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "pbtool", "import", str(roster), "--period", "2026Q3",
                           "--db", str(folder / "store.db")], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)


def test_profiles_in_pbtool_toml_change_where_columns_land(tmp_path):
    roster = county_roster(tmp_path / "东湖街道花名册.xlsx")
    plain, district = tmp_path / "默认", tmp_path / "本区"
    plain.mkdir()
    district.mkdir()
    (district / "pbtool.toml").write_text(DISTRICT_TOML, encoding="utf-8")

    res = import_in(plain, roster)                    # shipped profiles only
    assert res.returncode == 0, res.stderr
    rows = stored(str(plain / "store.db"), "SELECT category, person_type, branch, extra FROM members")
    assert Counter(r[0] for r in rows) == {"正式": 320, "预备": 80}
    assert {r[1] for r in rows} == {None} and {r[2] for r in rows} == {None}
    assert all(json.loads(r[3])["组织关系"].endswith("党支部") for r in rows)   # kept raw, unused

    res = import_in(district, roster)                 # the district's pbtool.toml
    assert res.returncode == 0, res.stderr
    assert "“人员类别”列的内容是农村党员/在岗职工等人员身份，已按人员身份导入" in res.stdout
    assert "“组织关系”列的内容是党支部名称，已按所在党支部导入" in res.stdout
    rows = stored(str(district / "store.db"), "SELECT category, person_type, branch FROM members")
    assert Counter(r[0] for r in rows) == {"正式": 320, "预备": 80}
    assert Counter(r[1] for r in rows) == {t: 100 for t in PERSON_TYPES}
    assert Counter(r[2] for r in rows) == {"第1党支部": 200, "第2党支部": 200}
    assert stored(str(district / "store.db"), "SELECT count(*) FROM problems") == [(0,)]


def test_inspect_shows_the_district_profile(tmp_path, monkeypatch):
    roster = county_roster(tmp_path / "东湖街道花名册.xlsx", 30)
    (tmp_path / "pbtool.toml").write_text(DISTRICT_TOML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["inspect", str(roster), "--format", "json"])
    assert res.exit_code == 0, res.output
    cols = {c["header"]: c for c in json.loads(res.stdout)["files"][0]["sheets"][0]["columns"]}
    assert cols["组织关系"]["field"] == "branch" and cols["组织关系"]["reason"] == "内容"
    assert cols["人员类别"]["field"] == "person_type"
    assert cols["组织关系"]["looks_like"].startswith("党支部名称")


MALFORMED = {
    "list_as_text": ('[profiles.person_type]\nadd_values = "农村党员"\n', "[profiles.person_type] 的 add_values 应为文字列表"),
    "bad_regex": ('[profiles.x]\nfield = "branch"\nkinds = ["roster"]\nlabel = "党支部"\npattern = \'^(党支部\'\n',
                  "[profiles.x] 的 pattern 不是有效的正则表达式（第 2 个字符附近有误）"),
    "unknown_field": ('[profiles.x]\nfield = "branchh"\nkinds = ["roster"]\nlabel = "党支部"\nvalues = ["一支部"]\n',
                      "field = \"branchh\" 不是 roster 的字段"),
    "unknown_key": ('[profiles.x]\nlabel = "党支部"\nvalue = ["一支部"]\n', "[profiles.x] 中的 value 不是可用的键"),
    "no_kinds": ('[profiles.x]\nfield = "branch"\nlabel = "党支部"\nvalues = ["一支部"]\n', "还要用 kinds 写明"),
    "no_label": ('[profiles.x]\nfield = "branch"\nkinds = ["roster"]\nvalues = ["一支部"]\n', "[profiles.x] 缺少 label"),
    "nothing_to_match": ('[profiles.x]\nfield = "branch"\nkinds = ["roster"]\nlabel = "党支部"\n', "既没有 values、pattern 也没有 vocab"),
    "unknown_vocab": ('[profiles.x]\nfield = "org_status"\nkinds = ["org"]\nlabel = "组建情况"\nvocab = "org_statuss"\n',
                      "vocab = \"org_statuss\" 不是已有的取值表"),
    "unknown_kind": ('[profiles.x]\nfield = "branch"\nkinds = ["rooster"]\nlabel = "党支部"\nvalues = ["一支部"]\n',
                     "rooster 不是已知的清单类型"),
    "not_a_bool": ('[profiles.category]\noverrides_header = "yes"\n', "overrides_header 应为true 或 false"),
    "not_a_table": ('[profiles]\nx = 1\n', "[profiles.x] 应是一个表"),
    "scalar": ('profiles = 3\n', "profiles 应写成 [profiles.名称] 表"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_profile_entry_is_one_chinese_line(tmp_path, monkeypatch, case):
    text, expected = MALFORMED[case]
    roster = county_roster(tmp_path / "东湖街道花名册.xlsx", 5)
    (tmp_path / "pbtool.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for args in (["import", str(roster), "--period", "2026Q3", "--db", "store.db"], ["inspect", str(roster)]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, (case, res.output)
        out = res.output.strip()
        assert len(out.splitlines()) == 1 and out.startswith("错误：配置文件 pbtool.toml："), out
        assert expected in out and "Traceback" not in out
        assert "missing" not in out and "unterminated" not in out   # re's English message is not passed on
    assert not (tmp_path / "store.db").exists()


def test_shipped_vocab_profile_can_be_overridden_key_by_key(tmp_path, monkeypatch):
    """[profiles.org_status] (values from the org_status vocabulary) overridden in pbtool.toml: the entry
    is accepted without values or pattern, and its claims_unknown = false takes effect: the list whose
    status column is headed 党建情况 is then not an organization list (inspect finds no importable sheet)."""
    header = ["序号", "单位名称", "所属社区", "所在街道", "党建情况"]
    rows = [[1, "杭州青湖科技有限公司", "朝阳社区", "东湖街道", "单独组建"],
            [2, "杭州东湖餐饮有限公司", "朝阳社区", "东湖街道", "未建立"]]
    f = write_xlsx(tmp_path / "东湖街道两新组织.xlsx", {"Sheet1": (header, rows)})
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["inspect", str(f), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["files"][0]["sheets"][0]["kind"] == "org"
    (tmp_path / "pbtool.toml").write_text("[profiles.org_status]\nclaims_unknown = false\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["inspect", str(f), "--format", "json"])
    assert res.exit_code == 2, res.output
    assert json.loads(res.stdout)["files"][0]["sheets"][0]["kind"] in (None, "")
