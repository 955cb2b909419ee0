"""README.md's tables of problem codes, coverage rules and report template variables, generated from
the data files they describe (pbtool/data/problems.toml, pbtool/data/rules.toml,
pbtool/report/vars.toml), so that the README cannot drift from what pbtool does.

    python scripts/readme_tables.py           # rewrite the tables in README.md
    python scripts/readme_tables.py --check   # exit 1 when README.md is not up to date (CI)

Each table sits between `<!-- BEGIN name -->` and `<!-- END name -->` lines; the rest of the README is
left as written."""
from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DATA = ROOT / "pbtool" / "data"
VARS = ROOT / "pbtool" / "report" / "vars.toml"

UNIT = {"community": "社区", "estate": "小区", "org": "两新组织", "branch": "党支部"}
KIND_TITLES = {"common": "各类文书通用", "annual": "年度总结（annual）", "quarterly": "季度通报（quarterly）",
               "notice": "整改通知书（notice）"}


def _load(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def problems_table() -> str:
    rows = ["| 代码 | 级别 | 问题 | 处理办法 |", "|---|---|---|---|"]
    for code, spec in _load(DATA / "problems.toml").items():
        rows.append(f"| {code} | {spec['severity']} | {_cell(spec['title'])} | {_cell(spec['fix'])} |")
    return "\n".join(rows)


def _bound(value: object, thresholds: dict) -> str:
    if isinstance(value, str):
        return f"{thresholds[value]}（{value}）"
    return str(value)


def rule_condition(rule: dict, thresholds: dict) -> str:
    parts = [f"{UNIT[rule['unit']]}"]
    if rule.get("uncovered") == "org":
        parts.append("没有党组织（单独/联合组建或挂靠）")
    elif rule.get("uncovered") == "work":
        parts.append("既无党组织也无党建工作指导员")
    if "full_at_least" in rule:
        parts.append(f"正式党员 ≥ {_bound(rule['full_at_least'], thresholds)} 名")
    if "members_at_least" in rule:
        parts.append(f"党员 ≥ {_bound(rule['members_at_least'], thresholds)} 名")
    if "full_below" in rule:
        parts.append(f"正式党员 < {_bound(rule['full_below'], thresholds)} 名")
    if "members_above" in rule:
        parts.append(f"党员（正式+预备）> {_bound(rule['members_above'], thresholds)} 名")
    return "，".join(parts)


def rules_table() -> str:
    data = _load(DATA / "rules.toml")
    th = data.get("thresholds", {})
    rows = ["| 代码 | 问题 | 条件（默认阈值及其在 pbtool.toml [thresholds] 中的名称） |", "|---|---|---|"]
    for rule in data["rules"]:
        rows.append(f"| {rule['code']} | {_cell(rule['title'])} | {_cell(rule_condition(rule, th))} |")
    return "\n".join(rows)


def vars_table() -> str:
    data = _load(VARS)
    out = []
    for kind, items in data.items():
        out += [f"**{KIND_TITLES.get(kind, kind)}**", "", "| 变量 | 类型 | 含义 |", "|---|---|---|"]
        out += [f"| `{v['name']}` | {v['type']} | {_cell(v['meaning'])} |" for v in items]
        out.append("")
    return "\n".join(out).rstrip()


TABLES = {"problems": problems_table, "rules": rules_table, "vars": vars_table}


def render(text: str) -> str:
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} [^\n]*-->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- BEGIN {name} … --> / <!-- END {name} --> block")
        table = make()
        text = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), text)
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that README.md is up to date")
    args = ap.parse_args()
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if args.check:
        if new != text:
            print("README.md 中的表格与数据文件不一致，请运行 python scripts/readme_tables.py 更新。", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
