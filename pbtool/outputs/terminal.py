"""Terminal renderers (rich). Personal data is masked unless the caller asks otherwise."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..importer import ImportResult
from ..problems import ERROR, mask_value

KIND_TITLES = {"roster": "党员花名册", "community": "社区清单", "estate": "小区清单", "org": "两新组织清单", "unit": "驻区单位清单"}


def print_import(result: ImportResult, console: Console, limit: int = 20, mask: bool = True) -> None:
    verb = "检查（试运行，未写入数据库）" if result.dry_run else "导入"
    t = Table(title=f"{result.period} {verb}结果", title_justify="left")
    for h in ("文件 / 工作表", "类型", "街道（来源）", "表头行", "数据行", "错误", "警告"):
        t.add_column(h, overflow="fold")
    for s in result.sheets:
        t.add_row(f"{s.file}\n/ {s.sheet}", KIND_TITLES.get(s.kind, s.kind), f"{s.street or '—'}（{s.street_source}）",
                  str(s.header_row), str(s.rows), _red(s.errors), _yellow(s.warnings))
    console.print(t)
    for f, s, why in result.skipped:
        console.print(f"  跳过：{f} / {s}：{why}")
    for s in result.sheets:
        if s.footer_rows or s.blank_rows:
            console.print(f"  {s.file} / {s.sheet}：略过空行 {s.blank_rows} 行、合计/签字行 {s.footer_rows} 行")
    for (kind, street), n in result.replaced.items():
        what = "将替换" if result.dry_run else "已替换"
        console.print(f"  {what} {street or '未注明街道'} 本期原有{KIND_TITLES.get(kind, kind)} {n} 行（重新导入，不重复计入）")
    for note in result.notes:
        console.print(f"  [yellow]提示[/]：{note}")
    counts = "，".join(f"{KIND_TITLES.get(k, k)} {n} 行" for k, n in result.imported.items())
    console.print(f"\n共{'检查' if result.dry_run else '导入'}：{counts or '无'}；"
                  f"问题 {len(result.problems)} 个（错误 {result.errors}，警告 {result.warnings}）。")
    if not result.problems:
        return
    pt = Table(title=f"问题（前 {min(limit, len(result.problems))} 个，共 {len(result.problems)} 个）", title_justify="left")
    for h in ("位置", "代码", "说明"):
        pt.add_column(h, overflow="fold")
    for p in result.problems[:limit]:
        where = f"{p.file}\n{p.sheet} 第{p.row}行" if p.row else f"{p.file}\n{p.sheet}"
        sev = f"[red]{p.code}[/]" if p.severity == ERROR else f"[yellow]{p.code}[/]"
        pt.add_row(where, sev, mask_value(p.message) if mask else p.message)
    console.print(pt)
    if len(result.problems) > limit:
        console.print(f"  还有 {len(result.problems) - limit} 个问题未显示：用 --problems 问题清单.xlsx 导出全部问题，"
                      "或 --format json 查看。")


def _red(n: int) -> str:
    return f"[red]{n}[/]" if n else "0"


def _yellow(n: int) -> str:
    return f"[yellow]{n}[/]" if n else "0"
