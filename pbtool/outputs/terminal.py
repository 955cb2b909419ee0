"""Terminal renderers (rich). Personal data is masked unless the caller asks otherwise."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from ..coverage import CoverageResult, Rate
from ..present import member_line, pct_text, pp_text
from ..problems import ERROR, mask_value
from .safe import for_terminal

if TYPE_CHECKING:   # the importer pulls in pandas and numpy: not for a coverage run
    from ..importer import ImportResult

KIND_TITLES = {"roster": "党员花名册", "community": "社区清单", "estate": "小区清单", "org": "两新组织清单", "unit": "驻区单位清单"}


def print_import(result: ImportResult, console: Console, limit: int = 20, mask: bool = True) -> None:
    """Callers pass outputs.safe.for_terminal(result): every string of it is already markup-escaped."""
    verb = "检查（试运行，未写入数据库）" if result.dry_run else "导入"
    console.print(f"[bold]{result.period} {verb}结果[/]")
    files: dict[str, list] = {}
    for s in result.sheets:
        files.setdefault(s.file, []).append(s)
    for file, sheets in files.items():
        t = Table(title=file, title_justify="left")
        for h in ("工作表", "类型", "街道（来源）", "表头行", "数据行", "错误", "警告"):
            t.add_column(h, overflow="fold")
        for s in sheets:
            t.add_row(s.sheet, KIND_TITLES.get(s.kind, s.kind), f"{s.street or '—'}（{s.street_source}）",
                      str(s.header_row), str(s.rows), _red(s.errors), _yellow(s.warnings))
        console.print(t)
    for f, s, why in result.skipped:
        console.print(f"  跳过：{f} / {s}：{why}")
    for s in result.sheets:
        if s.footer_rows or s.blank_rows:
            console.print(f"  {s.file} / {s.sheet}：略过空行 {s.blank_rows} 行、合计/签字行 {s.footer_rows} 行")
        if getattr(s, "note_rows", 0) or getattr(s, "header_repeats", 0):
            console.print(f"  {s.file} / {s.sheet}：略过说明框 {s.note_rows} 行、"
                          f"重复的表头 {s.header_repeats} 行（不是党员或组织）")
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
    shown = result.problems[:limit]
    console.print(f"[bold]问题（前 {len(shown)} 个，共 {len(result.problems)} 个）[/]")
    by_file: dict[str, list] = {}
    for p in shown:
        by_file.setdefault(p.file, []).append(p)
    for file, items in by_file.items():
        pt = Table(title=file, title_justify="left")
        for h in ("位置", "代码", "说明"):
            pt.add_column(h, overflow="fold")
        for p in items:
            sheet = "" if p.sheet == Path(p.file).stem else f"{p.sheet} "
            where = f"{sheet}第{p.row}行" if p.row else sheet or "—"
            code = f"[red]{p.code}[/]" if p.severity == ERROR else f"[yellow]{p.code}[/]"
            pt.add_row(where, code, mask_value(p.message) if mask else p.message)
        console.print(pt)
    if len(result.problems) > limit:
        console.print(f"  还有 {len(result.problems) - limit} 个问题未显示：用 --problems 问题清单.xlsx 导出全部问题，"
                      "或 --format json 查看。")


def _red(n: int) -> str:
    return f"[red]{n}[/]" if n else "0"


def _yellow(n: int) -> str:
    return f"[yellow]{n}[/]" if n else "0"


TERMINAL_LIMIT = 20   # places listed per street (and closed places, name notes) unless --all


def _terminal_view(result: CoverageResult, limit: int | None) -> CoverageResult:
    """What the terminal lists, made safe: at most `limit` places per street, closed places and
    name notes; districts and the previous period without their places. At city scale the whole
    result made safe took 20 seconds and its tables 2 minutes of scrolling; the counts printed are
    taken from the whole result before this."""
    shown: dict[str, int] = {}
    places = []
    for p in result.places:
        if limit is None or shown.get(p.street, 0) < limit:
            places.append(p)
            shown[p.street] = shown.get(p.street, 0) + 1
    prev = result.previous
    view = dataclasses.replace(
        result, findings=[], closed=[], places=places, closed_places=result.closed_places[:limit],
        near_misses=result.near_misses[:limit],
        previous=None if prev is None else prev.figures_only(),
        districts=[dataclasses.replace(d, result=_terminal_view(d.result, 0)) for d in result.districts])
    return for_terminal(view)


def print_coverage(result: CoverageResult, console: Console, limit: int | None = TERMINAL_LIMIT) -> None:
    """Places (one row each, with all their problems) per street, closed places, then the rate
    table; every figure through pbtool.present, as in the ledger, JSON and documents. Fits 80 columns.
    At most `limit` places per street are listed (None: all); the counts are always the whole result's."""
    c = result.counts()
    street_counts: dict[str, list[int]] = {}
    for p in result.places:
        n = street_counts.setdefault(p.street, [0, 0])
        n[0] += 1
        n[1] += len(p.findings)
    district_places = {d.district: len(d.result.places) for d in result.districts}
    n_closed, n_near = len(result.closed_places), len(result.near_misses)
    result = _terminal_view(result, limit)
    more = "完整清单见整改台账（--xlsx）或 JSON（--format json），或加 --all 全部列出"
    prev = f"，对比 {result.previous_period}" if result.previous_period else "（无上期数据可对比）"
    console.print(f"[bold]{result.period} 党组织覆盖空白点排查[/]{prev}")
    if result.compare_note:
        console.print(result.compare_note)
    console.print(member_line(result.summary))
    by_street: dict[str, list] = {}
    for p in result.places:
        by_street.setdefault(p.street, []).append(p)
    if not result.places:
        console.print("[green]未发现空白点。[/]")
    else:
        console.print(f"空白点 {c['places']} 处（问题 {c['problems']} 个）：新增 {c['new']} 处，持续 {c['persisting']} 处，"
                      f"问题变化 {c['changed']} 处；已整改 {c['closed']} 处。")
    for street, items in by_street.items():   # a city's streets are named with their district (青湖区东湖街道)
        n_places, n_problems = street_counts[street]
        t = Table(title=f"{street or '未注明街道'}：空白点 {n_places} 处（问题 {n_problems} 个）",
                  title_justify="left", expand=False)
        for h in ("对象", "社区", "问题", "正式/预备", "状态"):
            t.add_column(h, overflow="fold")
        for p in items:
            note = f"\n含问题记录{p.members_with_problems}名" if p.members_with_problems else ""
            t.add_row(p.target, p.community or "—", "\n".join(f.title for f in p.findings),
                      f"{p.full_members}/{p.probationary}{note}", p.status_text)
        console.print(t)
        if n_places > len(items):
            console.print(f"  ……另有 {n_places - len(items)} 处未列出，{more}。")
    if result.closed_places:
        t = Table(title=f"较 {result.previous_period} 已整改的空白点 {n_closed} 处", title_justify="left")
        for h in ("街道", "对象", "原问题"):
            t.add_column(h, overflow="fold")
        for p in result.closed_places:
            t.add_row(p.street, p.target, "\n".join(f.title for f in p.findings))
        console.print(t)
        if n_closed > len(result.closed_places):
            console.print(f"  ……另有 {n_closed - len(result.closed_places)} 处已整改的空白点未列出，{more}。")
    prev_state = result.previous
    t = Table(title="覆盖率（括号内为较上期变化，百分点）" if prev_state else "覆盖率", title_justify="left")
    for h in ("范围", "两新组织党组织覆盖", "工作覆盖", "非公/社会组织", "小区党组织"):
        t.add_column(h, overflow="fold")
    scopes = [("district", "")] + [("street", s) for s in sorted({r.street for r in result.rates if r.scope == "street"}
                                                                  | {e.street for e in result.estates if e.street})]
    for scope, street in scopes:
        t.add_row(result.scope_name if scope == "district" else street, *_rate_cells(result, scope, street))
    console.print(t)
    if result.districts:
        # a city: each district as its own coverage states it (changes against the district's previous period)
        t = Table(title="各区覆盖率（括号内为较上期变化，百分点）" if prev_state else "各区覆盖率", title_justify="left")
        for h in ("区", "两新组织党组织覆盖", "工作覆盖", "小区党组织", "空白点"):
            t.add_column(h, overflow="fold")
        for part in result.districts:
            org, work, _split, estate = _rate_cells(part.result, "district", "")
            t.add_row(part.district, org, work, estate, f"{district_places[part.district]} 处")
        console.print(t)
    for note in result.district_notes:
        console.print(f"  [yellow]注意[/]：{note}")
    for n in result.near_misses:
        console.print(f"  [yellow]注意[/]：{n['street']} 有 {n['members']} 名党员的工作单位写作“{n['employer']}”，"
                      f"清单中为“{n['org']}”，名称统一前未计入该组织。")
    if n_near > len(result.near_misses):
        console.print(f"  ……另有 {n_near - len(result.near_misses)} 条工作单位名称与清单不一致的提示未列出，"
                      "完整清单见 JSON（--format json）的 near_misses，或加 --all 全部列出。")


def _rate_cells(result: CoverageResult, scope: str, street: str) -> list[str]:
    """A coverage table's cells of one scope: covered/total and rate (change), the two kinds' rates, estates."""
    prev_state = result.previous
    total = result.rate(scope, street) or Rate(scope, street, "", "合计", 0, 0, 0)
    before = prev_state.rate(scope, street) if prev_state else None
    split = " / ".join(pct_text(r.org_coverage) if (r := result.rate(scope, street, k)) else "—"
                       for k in ("非公企业", "社会组织"))
    e = result.estate(street)
    pe = prev_state.estate(street) if prev_state else None

    def change(cur: Any, old: Any) -> str:
        return f"（{pp_text(cur, old)}）" if prev_state else ""

    return [f"{total.org_covered}/{total.total} {pct_text(total.org_coverage)}"
            f"{change(total.org_coverage, before.org_coverage if before else None)}",
            f"{total.work_covered}/{total.total} {pct_text(total.work_coverage)}"
            f"{change(total.work_coverage, before.work_coverage if before else None)}",
            split,
            f"{e.with_org}/{e.total} {pct_text(e.coverage)}{change(e.coverage, pe.coverage if pe else None)}"
            if e else "—"]
