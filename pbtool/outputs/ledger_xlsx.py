"""The rectification ledger (整改台账): a summary sheet of rates, one sheet per street with its findings
and empty columns for the street to fill. Plain features only (frozen header, filters, widths), so
Excel, WPS and LibreOffice all read it; every text cell is written as a string, never a formula."""
from __future__ import annotations

from pathlib import Path

from ..coverage import CoverageResult
from . import atomic
from .xlsxutil import fit_columns, safe_sheet_name, write_cell

FINDING_HEADER = ["序号", "问题类型", "规则代码", "社区", "对象", "正式党员", "预备党员", "党员合计",
                  "其中有问题记录", "状态", "持续季度数", "整改建议", "责任人", "整改措施", "整改时限"]
RATE_HEADER = ["范围", "街道", "社区", "组织类型", "组织总数", "组织覆盖数", "组织覆盖率", "工作覆盖数", "工作覆盖率"]


def write_ledger(result: CoverageResult, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = atomic.Workbook(out, {"strings_to_formulas": False, "strings_to_urls": False})  # temp file + rename
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True,
                          "align": "center", "valign": "vcenter"})
    title = wb.add_format({"bold": True, "font_size": 14})
    pct = wb.add_format({"num_format": "0.0%"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    fill = wb.add_format({"bg_color": "#FFF2CC", "border": 1})
    taken: set[str] = set()

    ws = wb.add_worksheet(safe_sheet_name("汇总", taken))
    ws.write_string(0, 0, f"{result.period} 党组织覆盖情况汇总" + (f"（对比 {result.previous_period}）" if result.previous_period else ""), title)
    rows = [RATE_HEADER]
    for c, h in enumerate(RATE_HEADER):
        write_cell(ws, 2, c, h, head)
    scope_names = {"district": "全区", "street": "街道", "community": "社区"}
    r = 3
    for rate in result.rates:
        values = [scope_names[rate.scope], rate.street, rate.community, rate.kind, rate.total, rate.org_covered,
                  rate.org_coverage, rate.work_covered, rate.work_coverage]
        for c, v in enumerate(values):
            write_cell(ws, r, c, v, pct if c in (6, 8) and v is not None else None)
        rows.append(values)
        r += 1
    last_rate_row = r - 1
    ws.freeze_panes(3, 0)
    ws.autofilter(2, 0, max(last_rate_row, 3), len(RATE_HEADER) - 1)
    r += 1
    ws.write_string(r, 0, "小区党组织覆盖率", title)
    r += 1
    for c, h in enumerate(["街道", "小区总数", "已建党组织", "覆盖率"]):
        write_cell(ws, r, c, h, head)
    for e in result.estates:
        r += 1
        for c, v in enumerate([e.street or "全区", e.total, e.with_org, e.coverage]):
            write_cell(ws, r, c, v, pct if c == 3 and v is not None else None)
    r += 2
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.street] = counts.get(f.street, 0) + 1
    ws.write_string(r, 0, "空白点数量", title)
    r += 1
    for c, h in enumerate(["街道", "空白点", "其中新增"]):
        write_cell(ws, r, c, h, head)
    for street, n in counts.items():
        r += 1
        new = sum(1 for f in result.findings if f.street == street and f.status == "新增")
        for c, v in enumerate([street, n, new]):
            write_cell(ws, r, c, v)
    fit_columns(ws, rows)

    streets = sorted({f.street for f in result.findings} | {x.street for x in result.rates if x.street})
    for street in streets:
        items = [f for f in result.findings if f.street == street]
        ws = wb.add_worksheet(safe_sheet_name(street or "未注明街道", taken))
        rows = [FINDING_HEADER]
        for c, h in enumerate(FINDING_HEADER):
            write_cell(ws, 0, c, h, head)
        for i, f in enumerate(items, start=1):
            values = [i, f.title, f.rule, f.community, f.target, f.full_members, f.probationary, f.members,
                      f.members_with_problems, f.status, f.quarters_open, f.action, None, None, None]
            for c, v in enumerate(values):
                write_cell(ws, i, c, v, fill if c >= 12 else (wrap if c == 11 else None))
            rows.append(values)
        closed = [f for f in result.closed if f.street == street]
        if closed:
            r = len(items) + 2
            ws.write_string(r, 0, f"较 {result.previous_period} 已消除的空白点", title)
            for j, f in enumerate(closed, start=1):
                for c, v in enumerate([j, f.title, f.rule, f.community, f.target]):
                    write_cell(ws, r + j, c, v)
        fit_columns(ws, rows)
        ws.set_column(11, 11, 50)
        ws.set_column(12, 14, 14)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(items), 1), len(FINDING_HEADER) - 1)
    wb.close()
    return out
