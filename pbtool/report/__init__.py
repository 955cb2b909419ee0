"""Stage 8 (outputs, docx): the year-end summary, the quarterly bulletin and per-street rectification
notices as Word documents rendered from editable .docx templates in a Jinja sandbox.

    render_annual(db, 2026, "out")            -> 2026年度城市基层党建工作总结.docx
    render_quarterly(db, "2026Q3", "out")     -> 2026Q3季度通报.docx (city=True: districts ranked)
    render_notices(db, "2026Q3", "out")       -> {street}整改通知书（2026Q3）.docx, one per street with blind spots
    template_vars("notice", db, "2026Q3")     -> every variable a template may use, with its value
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from . import context as ctx
from .model import ReportError, ReportResult, VarInfo
from .pdf import to_pdf
from .render import Renderer, safe_filename, unique_name
from .settings import ReportSettings, load_settings
from .variables import check_kind, describe, vars_markdown

__all__ = ["ReportError", "ReportResult", "ReportSettings", "VarInfo", "load_settings", "render_annual",
           "render_notices", "render_quarterly", "template_vars", "vars_markdown"]


def _out_dir(out_dir: str | Path) -> Path:
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"无法创建输出文件夹“{path}”：{exc}") from None
    return path


def _finish(result: ReportResult, out: Path, pdf: bool) -> ReportResult:
    if pdf and result.files:
        made, warnings = to_pdf(result.files, out)
        result.pdf_files = made
        for w in warnings:
            result.add_warning(w)
    return result


def _add(result: ReportResult, built: ctx.Built, renderer: Renderer) -> None:
    result.add_missing(built.missing)
    result.add_narrative(renderer.narrative)
    if renderer.dropped_in_text:
        result.add_missing(["模板在表格以外用到了数据库无法提供的数字（如花名册没有“是否到社区报到”列时的双报到人数）"])
    for w in built.warnings:
        result.add_warning(w)


def _settings(settings: ReportSettings | None, options: dict[str, Any]) -> ReportSettings:
    """pbtool.toml [report] unless settings are given, with every given option on top."""
    return (settings if settings is not None else load_settings()).merged(**options)


def _render_one(renderer: Renderer, built: ctx.Built, out_dir: str | Path, name: str, pdf: bool) -> ReportResult:
    """One document from one context: check the template's names, render, collect what was missing."""
    renderer.check_names(built.context)
    out = _out_dir(out_dir)
    result = ReportResult()
    result.files.append(renderer.render(built.context, out / name))
    _add(result, built, renderer)
    return _finish(result, out, pdf)


def render_annual(db: Any, year: int, out_dir: str | Path, *, org_name: str | None = None,
                  template: str | Path | None = None, pdf: bool = False, doc_date: dt.date | None = None,
                  settings: ReportSettings | None = None, district: str | None = None,
                  **options: Any) -> ReportResult:
    """The year-end summary of `year`, from the year's latest stored period compared with the
    previous year's latest (or, without one, with the earliest stored quarter of the year)."""
    renderer = Renderer("annual", template)
    s = _settings(settings, {"org_name": org_name, **options})
    built = ctx.build_annual(db, int(year), settings=s, doc_date=doc_date, district=district)
    return _render_one(renderer, built, out_dir, f"{int(year)}年度城市基层党建工作总结.docx", pdf)


def render_quarterly(db: Any, period: str, out_dir: str | Path, *, org_name: str | None = None,
                     template: str | Path | None = None, pdf: bool = False, doc_date: dt.date | None = None,
                     settings: ReportSettings | None = None, district: str | None = None, city: bool = False,
                     **options: Any) -> ReportResult:
    """The quarterly bulletin of `period`: streets ranked by coverage, their blind spots, rate changes.
    Of `district` (or pbtool.toml's); read for the whole store (no district named, or `city`) a period
    with two or more districts gives the city bulletin: districts ranked, each district's blind spots
    counted by street."""
    renderer = Renderer("quarterly", template)
    s = _settings(settings, {"org_name": org_name, **options})
    built = ctx.build_quarterly(db, period, settings=s, doc_date=doc_date, district=district, city=city)
    return _render_one(renderer, built, out_dir, f"{built.context['period']}季度通报.docx", pdf)


def render_notices(db: Any, period: str, out_dir: str | Path, *, street: str | None = None,
                   deadline: dt.date | None = None, org_name: str | None = None,
                   template: str | Path | None = None, pdf: bool = False, doc_date: dt.date | None = None,
                   settings: ReportSettings | None = None, district: str | None = None,
                   **options: Any) -> ReportResult:
    """One rectification notice per street with open blind spots (or for `street` only); the deadline
    defaults to 30 days after the document's date and must come after it. Streets without blind spots
    get no notice (warning)."""
    renderer = Renderer("notice", template)
    s = _settings(settings, {"org_name": org_name, **options})
    builts, notes = ctx.build_notices(db, period, street=street, deadline=deadline, settings=s, doc_date=doc_date,
                                      district=district)
    out = _out_dir(out_dir)
    result = ReportResult()
    for note in notes:
        result.add_warning(note)
    taken: set[str] = set()   # streets whose names clean to the same file name each keep their notice
    for i, built in enumerate(builts):
        if i == 0:
            renderer.check_names(built.context)
        c = built.context
        name = unique_name(safe_filename(f"{c['street']}整改通知书（{c['period']}）"), ".docx", taken)
        result.files.append(renderer.render(c, out / name))
        _add(result, built, renderer)
    return _finish(result, out, pdf)


def template_vars(kind: str, db: Any = None, period_or_year: str | int | None = None) -> list[VarInfo]:
    """Every variable and loop field a template of `kind` (annual | quarterly | notice) may use, with
    its type and Chinese meaning; with db and a period (a year for annual) also its value. For a list
    the value is '共N项'; for a list's field, its value in the first item."""
    check_kind(kind)
    if db is None or period_or_year is None:
        return describe(kind, None)
    today = dt.date.today()
    s = load_settings()
    if kind == "annual":
        try:
            year = int(str(period_or_year)[:4])
        except ValueError:
            raise ReportError(f"年度“{period_or_year}”应为四位数字，例如 2026。") from None
        context = ctx.build_annual(db, year, settings=s, doc_date=today, with_charts=False).context
    elif kind == "quarterly":
        context = ctx.build_quarterly(db, str(period_or_year), settings=s, doc_date=today).context
    else:
        builts, _ = ctx.build_notices(db, str(period_or_year), street=None, deadline=None, settings=s, doc_date=today)
        # A period without blind spots has no notice: the street-independent variables still have values.
        context = builts[0].context if builts else ctx.notice_base(str(period_or_year).upper(), None, s, today,
                                                                    ctx.Built({}))
    return describe(kind, context)
