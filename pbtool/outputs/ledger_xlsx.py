"""The rectification ledger (整改台账): a summary sheet of rates, one sheet per street with its places
(one row each, all problems together) and empty columns for the street to fill. Plain features only
(frozen header, filters, widths), so Excel, WPS and LibreOffice all read it; every text cell is written as a string, never a formula."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..coverage import CoverageResult
from ..present import member_line, pct_number, pp_text
from . import atomic
from .headers import COUNT_HEADER, DISTRICT_HEADER, PLACE_HEADER, RATE_HEADER
from .xlsxutil import fit_columns, safe_sheet_name, write_cell


def _pct(rate) -> float | None:
    """The rate as the number every output prints (rounded once), shown by Excel as 0.0%."""
    p = pct_number(rate)
    return None if p is None else p / 100


def write_ledger(result: CoverageResult, out: Path) -> Path:
    """Summary sheet (rates with their change, estates, places per street), then one sheet per street
    with one row per place: all its problems, one combined action, and columns the street fills."""
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
    prev = result.previous

    ws = wb.add_worksheet(safe_sheet_name("汇总", taken))
    ws.write_string(0, 0, f"{result.period} 党组织覆盖情况汇总" + (f"（对比 {result.previous_period}）" if result.previous_period else ""), title)
    ws.write_string(1, 0, member_line(result.summary))
    rows: list[list[Any]] = [list(RATE_HEADER)]
    for c, h in enumerate(RATE_HEADER):
        write_cell(ws, 2, c, h, head)
    scope_names = {"district": result.scope_name, "street": "街道", "community": "社区"}
    r = 3
    for rate in result.rates:
        before = prev.rate(rate.scope, rate.street, rate.kind) if prev and rate.scope != "community" else None
        org_pp = pp_text(rate.org_coverage, before.org_coverage) if before else "—"
        work_pp = pp_text(rate.work_coverage, before.work_coverage) if before else "—"
        values = [scope_names[rate.scope], rate.street, rate.community, rate.kind, rate.total, rate.org_covered,
                  _pct(rate.org_coverage), org_pp, rate.work_covered, _pct(rate.work_coverage), work_pp]
        for c, v in enumerate(values):
            write_cell(ws, r, c, v, pct if c in (6, 9) and v is not None else None)
        rows.append(values)
        r += 1
    last_rate_row = r - 1
    ws.freeze_panes(3, 0)
    ws.autofilter(2, 0, max(last_rate_row, 3), len(RATE_HEADER) - 1)
    r += 1
    ws.write_string(r, 0, "小区党组织覆盖率", title)
    r += 1
    for c, h in enumerate(["街道", "小区总数", "已建党组织", "覆盖率", "较上期"]):
        write_cell(ws, r, c, h, head)
    for e in result.estates:
        r += 1
        pe = prev.estate(e.street) if prev else None
        change = pp_text(e.coverage, pe.coverage) if pe else "—"
        for c, v in enumerate([e.street or result.scope_name, e.total, e.with_org, _pct(e.coverage), change]):
            write_cell(ws, r, c, v, pct if c == 3 and v is not None else None)
    r += 2
    ws.write_string(r, 0, "空白点数量", title)
    r += 1
    for c, h in enumerate(COUNT_HEADER):
        write_cell(ws, r, c, h, head)
    streets = sorted({p.street for p in result.places} | {p.street for p in result.closed_places})
    for street in streets:
        r += 1
        mine = [p for p in result.places if p.street == street]
        values = [street or "未注明街道", len(mine), sum(len(p.findings) for p in mine),
                  sum(p.status == "新增" for p in mine), sum(p.status == "持续" for p in mine),
                  sum(p.status == "变化" for p in mine), sum(p.street == street for p in result.closed_places)]
        for c, v in enumerate(values):
            write_cell(ws, r, c, v)
    if streets:
        r += 1
        c_all = result.counts()
        for c, v in enumerate(["合计", c_all["places"], c_all["problems"], c_all["new"], c_all["persisting"],
                               c_all["changed"], c_all["closed"]]):
            write_cell(ws, r, c, v)
    if result.districts:
        # a city: each district as its own coverage states it, changes against the district's previous period
        r += 2
        ws.write_string(r, 0, "各区覆盖率", title)
        r += 1
        for c, h in enumerate(DISTRICT_HEADER):
            write_cell(ws, r, c, h, head)
        for part in result.districts:
            r += 1
            cur, before = part.rate(), part.previous_rate()
            e, pe = part.estate, part.previous_estate
            counts = part.result.counts()
            values = [part.district, cur.total if cur else 0, _pct(cur.org_coverage) if cur else None,
                      pp_text(cur.org_coverage, before.org_coverage) if cur and before else "—",
                      _pct(cur.work_coverage) if cur else None,
                      pp_text(cur.work_coverage, before.work_coverage) if cur and before else "—",
                      e.total if e else 0, _pct(e.coverage) if e else None,
                      pp_text(e.coverage, pe.coverage) if e and pe else "—", counts["places"], counts["closed"]]
            for c, v in enumerate(values):
                write_cell(ws, r, c, v, pct if c in (2, 4, 7) and v is not None else None)
        for note in result.district_notes:
            r += 1
            ws.write_string(r, 0, f"注意：{note}")
    fit_columns(ws, rows)

    streets = sorted({p.street for p in result.places} | {x.street for x in result.rates if x.street})
    for street in streets:
        items = [p for p in result.places if p.street == street]
        ws = wb.add_worksheet(safe_sheet_name(street or "未注明街道", taken))
        rows = [list(PLACE_HEADER)]
        for c, h in enumerate(PLACE_HEADER):
            write_cell(ws, 0, c, h, head)
        for i, p in enumerate(items, start=1):
            values = [i, p.unit_title, p.target, p.community, p.titles, "；".join(p.rules), p.full_members,
                      p.probationary, p.members, p.members_with_problems, p.status_text, p.quarters_open, p.action,
                      None, None, None]
            for c, v in enumerate(values):
                write_cell(ws, i, c, v, fill if c >= 13 else (wrap if c in (4, 12) else None))
            rows.append(values)
        closed = [p for p in result.closed_places if p.street == street]
        if closed:
            r = len(items) + 2
            ws.write_string(r, 0, f"较 {result.previous_period} 已整改的空白点", title)
            for j, p in enumerate(closed, start=1):
                for c, v in enumerate([j, p.unit_title, p.target, p.community, p.titles, "；".join(p.rules)]):
                    write_cell(ws, r + j, c, v)
        fit_columns(ws, rows)
        ws.set_column(4, 4, 30)
        ws.set_column(12, 12, 50)
        ws.set_column(13, 15, 14)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(items), 1), len(PLACE_HEADER) - 1)
    wb.close()
    return out
