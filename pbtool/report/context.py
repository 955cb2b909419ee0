"""Template contexts: the coverage result and the store's figures turned into the plain dicts, lists,
strings and numbers that the documents print (names and meanings in vars.toml). Charts are PNG bytes
(or a Chinese note when they cannot be drawn); render.py turns the bytes into images."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .. import store as st
from ..config import load_config
from .figures import PeriodFigures, StreetFigures, new_organizations, period_figures
from .fmt import (
    MISSING,
    NOT_APPLICABLE,
    cn_number,
    date_text,
    parse_period,
    period_end,
    period_text,
    pp_change,
    pp_prose,
    pp_table,
    rate_text,
)
from .model import Missing, ReportError

NO_STREET = "未注明街道"
STREETS_IN_TEXT = 5


@dataclass
class Built:
    """A context and what building it found missing or worth a warning."""

    context: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------ inputs


def open_store(db: Any) -> st.Store:
    """The store, kept to pbtool.toml's district when the workspace names one (as coverage is)."""
    from ..config import ConfigError, load_config
    try:
        return st.Store.open(db, create=False, district=load_config().district)
    except (st.StoreError, ConfigError) as exc:
        raise ReportError(str(exc)) from None


def year_period(store: st.Store, year: int) -> str | None:
    """A year's latest stored period (Q4 when there is one)."""
    ps = [p for p in store.periods() if p.startswith(f"{year}Q")]
    return ps[-1] if ps else None


def load_coverage(db: Any, period: str) -> dict[str, Any]:
    """The coverage result of a period as the dict of issue 3 (its "period" normalized); ReportError
    (Chinese) when it cannot be computed: no store, a malformed or unknown period, missing lists."""
    from ..coverage import CoverageError, compute_coverage  # the coverage stage, read here and nowhere earlier
    from ..importer import ImportError_
    try:
        return compute_coverage(db, period).as_dict()
    except (CoverageError, ImportError_, st.StoreError) as exc:
        raise ReportError(str(exc)) from None


def _try_coverage(db: Any, period: str | None) -> tuple[dict[str, Any] | None, str | None]:
    if period is None:
        return None, None
    try:
        return load_coverage(db, period), None
    except ReportError as exc:
        return None, str(exc)


def common(org_name: str, doc_date: dt.date | None, period: str) -> dict[str, Any]:
    return {"org_name": org_name, "doc_date": date_text(doc_date or dt.date.today()),
            "year": parse_period(period)[0], "period": period, "period_text": period_text(period)}


# ------------------------------------------------------------------------------------ coverage views


class Rates:
    """Lookup of a coverage result's rates: (street, kind) -> rate row, street '' = district."""

    def __init__(self, cov: dict[str, Any] | None):
        self.cov = cov
        self.org: dict[tuple[str, str], dict[str, Any]] = {}
        self.estate: dict[str, dict[str, Any]] = {}
        for r in (cov or {}).get("rates", []):
            if r["scope"] == "district":
                self.org[("", r["kind"])] = r
            elif r["scope"] == "street":
                self.org[(r["street"] or "", r["kind"])] = r
        for e in (cov or {}).get("estates", []):
            self.estate[e["street"] or ""] = e

    def rate(self, street: str, kind: str, key: str) -> float | None:
        row = self.org.get((street, kind))
        return row[key] if row else None

    def total(self, street: str, kind: str = "合计") -> int:
        row = self.org.get((street, kind))
        return row["total"] if row else 0

    def estate_rate(self, street: str) -> float | None:
        row = self.estate.get(street)
        return row["coverage"] if row else None

    def value(self, street: str, name: str) -> float | None:
        """name: org | work | estate | nonpublic_org | nonpublic_work | social_org | social_work."""
        if name == "estate":
            return self.estate_rate(street)
        kind = {"nonpublic": "非公企业", "social": "社会组织"}.get(name.split("_")[0], "合计")
        return self.rate(street, kind, f"{name.split('_')[-1]}_coverage")

    def streets(self) -> set[str]:
        return {s for s, _ in self.org if s} | {s for s in self.estate if s}


class Changes:
    """Rates of the current period and a comparison period, printed as percentage-point changes."""

    def __init__(self, cur: Rates, prev: Rates | None, missing: Missing, why: str):
        self.cur, self.prev, self.missing, self.why = cur, prev, missing, why

    def _pp(self, street: str, name: str) -> float | None:
        return pp_change(self.cur.value(street, name), self.prev.value(street, name)) if self.prev else None

    def prose(self, street: str, name: str) -> str:
        if self.prev is None:
            return self.missing.value(None, self.why)
        return pp_prose(self._pp(street, name))

    def table(self, street: str, name: str) -> str:
        if self.prev is None:
            return self.missing.value(None, self.why)
        return pp_table(self._pp(street, name))


def _street_label(s: str | None) -> str:
    return s or NO_STREET


def _rule_order() -> dict[str, int]:
    return {r["code"]: i for i, r in enumerate(load_config().rules["rules"])}


def finding_item(no: int, f: dict[str, Any]) -> dict[str, Any]:
    return {"no": no, "rule": f["rule"], "title": f["title"], "community": f.get("community") or NOT_APPLICABLE,
            "target": f["target"], "full_members": f["full_members"], "probationary": f["probationary"],
            "members": f["members"], "status": f["status"], "quarters_open": f["quarters_open"],
            "action": f["action"]}


def closed_item(no: int, f: dict[str, Any]) -> dict[str, Any]:
    return {"no": no, "rule": f["rule"], "title": f["title"], "community": f.get("community") or NOT_APPLICABLE,
            "target": f["target"]}


def rules_text(findings: list[dict[str, Any]], order: dict[str, int]) -> str:
    """'社区应建未建党组织1个、两新组织应单独组建2个'."""
    counts = Counter((f["rule"], f["title"]) for f in findings)
    return "、".join(f"{title}{n}个" for (rule, title), n in sorted(counts.items(), key=lambda kv: order.get(kv[0][0], 99)))


def _streets_text(streets: list[str]) -> str:
    if len(streets) <= STREETS_IN_TEXT:
        return "、".join(streets)
    return "、".join(streets[:STREETS_IN_TEXT]) + f"等{len(streets)}个街道"


# ------------------------------------------------------------------------------------ annual


def _sum_or_missing(values: list[Any]) -> Any:
    return MISSING if any(v == MISSING for v in values) else sum(values)


def _street_row(name: str, f: StreetFigures, figs: PeriodFigures, miss: Missing) -> dict[str, Any]:
    roster = f.members > 0
    no_roster = f"{name}：{figs.period}未导入党员花名册，党员数和党组织数无法统计"
    def from_roster(v: Any) -> Any:
        return v if roster else miss.value(None, no_roster)
    dual = f.dual_report if roster else None
    if not roster:
        dual_why = no_roster
    elif not figs.has["dual_report"]:
        dual_why = f"{figs.period}各街道花名册都没有“是否到社区报到”列，双报到人数无法统计"
    else:
        dual_why = f"{name}：{figs.period}花名册没有“是否到社区报到”列，双报到人数无法统计"
    return {
        "street": name, "members": from_roster(f.members), "full": from_roster(f.full),
        "probationary": from_roster(f.probationary), "dual_report": miss.value(dual, dual_why),
        "party_orgs": from_roster(f.party_orgs_total), "committees": from_roster(f.party_orgs["committees"]),
        "general_branches": from_roster(f.party_orgs["general_branches"]),
        "branches": from_roster(f.party_orgs["branches"]), "joint_branches": from_roster(f.party_orgs["joint_branches"]),
        "community_orgs": miss.value(f.community_orgs, f"{name}：{figs.period}未导入社区清单，社区党组织数无法统计"),
        "estate_orgs": miss.value(f.estate_orgs, f"{name}：{figs.period}未导入小区清单，小区党组织数无法统计"),
    }


def _street_table(streets: list[str], figs: PeriodFigures, miss: Missing) -> tuple[list[dict], dict]:
    rows = [_street_row(_street_label(s), figs.streets.get(s, StreetFigures()), figs, miss) for s in streets]
    total = {"street": "合计"}
    for key in rows[0] if rows else []:
        if key != "street":
            total[key] = _sum_or_missing([r[key] for r in rows])
    return rows, total


def _coverage_row(name: str, street: str, rates: Rates, changes: Changes) -> dict[str, Any]:
    est = rates.estate.get(street)
    return {"street": name, "twonew_total": rates.total(street),
            "org_coverage": rate_text(rates.value(street, "org")), "org_coverage_pp": changes.table(street, "org"),
            "work_coverage": rate_text(rates.value(street, "work")), "work_coverage_pp": changes.table(street, "work"),
            "estates_total": est["total"] if est else 0,
            "estate_coverage": rate_text(rates.value(street, "estate")),
            "estate_coverage_pp": changes.table(street, "estate")}


def _missing_coverage_row(name: str, why: str, miss: Missing) -> dict[str, Any]:
    keys = ("twonew_total", "org_coverage", "org_coverage_pp", "work_coverage", "work_coverage_pp",
            "estates_total", "estate_coverage", "estate_coverage_pp")
    return {"street": name, **{k: miss.value(None, why) for k in keys}}


def _problems(findings: list[dict[str, Any]], order: dict[str, int]) -> tuple[list[dict], list[dict]]:
    by_rule: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_street: dict[str, list[dict]] = defaultdict(list)
    for f in findings:
        by_rule[(f["rule"], f["title"])].append(_street_label(f["street"]))
        by_street[_street_label(f["street"])].append(f)
    rules = []
    for i, ((rule, title), streets) in enumerate(sorted(by_rule.items(), key=lambda kv: order.get(kv[0][0], 99)), 1):
        distinct = list(dict.fromkeys(sorted(streets)))
        rules.append({"no": i, "rule": rule, "title": title, "count": len(streets), "streets_text": _streets_text(distinct)})
    streets = [{"no": i, "street": s, "count": len(fs), "text": rules_text(fs, order)}
               for i, (s, fs) in enumerate(sorted(by_street.items()), 1)]
    return rules, streets


def _charts(ctx: dict[str, Any], rows: list[tuple], members: list[tuple], built: Built, miss: Missing) -> None:
    from . import charts  # matplotlib loads only when a document has charts: the CLI starts faster
    font = charts.find_cjk_font(charts.FONT_CANDIDATES)
    specs = (("chart_coverage", charts.coverage_rows(rows), charts.coverage_png, "两新组织覆盖率"),
             ("chart_members", charts.members_rows(members), charts.members_png, "党员人数"))
    for key, (sel, title), draw, what in specs:
        ctx[f"{key}_title"] = title
        if not sel:
            ctx[key] = miss.value(None, f"没有各街道{what}数据，{what}图未生成")
        elif font is None:
            ctx[key] = charts.NO_FONT_TEXT
            built.warnings.append(charts.NO_FONT_WARNING)
        elif not charts.has_glyphs(font, "".join(r[0] for r in sel) + title):
            ctx[key] = f"【图表未生成：字体“{font.name}”缺少部分汉字】"
            built.warnings.append(f"字体“{font.name}”缺少街道名称中的部分汉字，“{title}”图未生成；请安装 fonts-noto-cjk 或“思源黑体”。")
        else:
            ctx[key] = draw(sel, title, font)


def build_annual(db: Any, year: int, *, org_name: str, doc_date: dt.date | None, with_charts: bool = True) -> Built:
    store = open_store(db)
    try:
        period = year_period(store, year)
        if period is None:
            have = "、".join(store.periods()) or "无"
            raise ReportError(f"数据库中没有 {year} 年的数据（已有期别：{have}）。请先用 pbtool import 导入该年的花名册和资源清单。")
        if not period.endswith("Q4"):
            notes = [f"{year} 年尚无第四季度数据，年度总结按 {period}（{period_text(period)}末）统计。"]
        else:
            notes = []
        prev_period = year_period(store, year - 1)
        figs = period_figures(store, period)
        new_orgs = new_organizations(store, period, prev_period) if prev_period else None
    finally:
        store.close()
    cov, cov_error = _try_coverage(db, period)
    prev_cov, prev_error = _try_coverage(db, prev_period)
    built = _annual_context(year, period, prev_period, figs, new_orgs, cov, cov_error, prev_cov, prev_error,
                            org_name=org_name, doc_date=doc_date, with_charts=with_charts)
    built.warnings[:0] = notes
    return built


def _annual_context(year: int, period: str, prev_period: str | None, figs: PeriodFigures,
                    new_orgs: list[dict] | None, cov: dict | None, cov_error: str | None,
                    prev_cov: dict | None, prev_error: str | None, *, org_name: str,
                    doc_date: dt.date | None, with_charts: bool) -> Built:
    miss = Missing()
    built = Built({})
    ctx = common(org_name, doc_date, period)
    ctx["year"] = year
    ctx["previous_year"] = year - 1
    no_prev = f"数据库中没有 {year - 1} 年的数据，比上年变化和本年新建党组织数无法计算"
    ctx["previous_period"] = miss.value(prev_period, no_prev)
    rates = Rates(cov)
    if prev_period is None:
        why_change = no_prev
    else:
        why_change = f"{prev_period} 的覆盖率无法计算（{prev_error}），比上年变化无法计算"
    changes = Changes(rates, Rates(prev_cov) if prev_cov else None, miss, why_change)
    cov_why = f"{period} 的覆盖率和空白点无法计算：{cov_error}"

    streets = sorted(set(figs.streets) | rates.streets() | set((cov or {}).get("summary", {}).get("streets", [])))
    street_rows, street_total = _street_table(streets, figs, miss)
    ctx["street_rows"], ctx["street_total"] = street_rows, street_total
    ctx["streets_count"] = len(streets)
    ctx["communities_count"] = miss.value(figs.total("communities"), f"{period}未导入社区清单")
    ctx["estates_count"] = miss.value(figs.total("estates"), f"{period}未导入小区清单")
    ctx["members_total"] = street_total.get("members", MISSING)
    ctx["members_full"] = street_total.get("full", MISSING)
    ctx["members_probationary"] = street_total.get("probationary", MISSING)
    ctx["dual_report_count"] = street_total.get("dual_report", MISSING)
    ctx["party_orgs_total"] = street_total.get("party_orgs", MISSING)
    ctx["party_committees"] = street_total.get("committees", MISSING)
    ctx["party_general_branches"] = street_total.get("general_branches", MISSING)
    ctx["party_branches"] = street_total.get("branches", MISSING)
    ctx["party_joint_branches"] = street_total.get("joint_branches", MISSING)
    ctx["party_orgs_other"] = (_sum_or_missing([figs.streets.get(s, StreetFigures()).party_orgs["other"] for s in streets])
                               if ctx["party_orgs_total"] != MISSING else MISSING)
    ctx["community_orgs"] = street_total.get("community_orgs", MISSING)
    ctx["estate_orgs"] = street_total.get("estate_orgs", MISSING)
    ctx["agreements_count"] = miss.value(figs.total("agreements"), f"{period}未导入驻区单位清单（或清单没有“是否签订共建协议”列），共建协议数无法统计")
    ctx["projects_count"] = miss.value(figs.total("projects"), f"{period}未导入驻区单位清单（或清单没有“共建项目数”列），共建项目数无法统计")
    if new_orgs is None or not figs.has["orgs"]:
        ctx["new_orgs_count"] = miss.value(None, no_prev if new_orgs is None else f"{period}未导入两新组织清单，本年新建党组织数无法统计")
        ctx["new_orgs"] = []
    else:
        ctx["new_orgs_count"], ctx["new_orgs"] = len(new_orgs), new_orgs

    if cov is None:
        for key in ("twonew_total", "twonew_org_covered", "twonew_work_covered", "nonpublic_total", "social_total",
                    "org_coverage", "work_coverage", "nonpublic_org_coverage", "nonpublic_work_coverage",
                    "social_org_coverage", "social_work_coverage", "estate_coverage", "org_coverage_change",
                    "work_coverage_change", "nonpublic_org_coverage_change", "social_org_coverage_change",
                    "estate_coverage_change", "findings_total", "findings_streets_count"):
            ctx[key] = miss.value(None, cov_why)
        ctx["problems_by_rule"], ctx["problems_by_street"] = [], []
        ctx["coverage_rows"] = [_missing_coverage_row(_street_label(s), cov_why, miss) for s in streets]
        ctx["coverage_total"] = _missing_coverage_row("全区", cov_why, miss)
    else:
        district = rates.org.get(("", "合计"), {"total": 0, "org_covered": 0, "work_covered": 0})
        ctx["twonew_total"] = district["total"]
        ctx["twonew_org_covered"] = district["org_covered"]
        ctx["twonew_work_covered"] = district["work_covered"]
        ctx["nonpublic_total"] = rates.total("", "非公企业")
        ctx["social_total"] = rates.total("", "社会组织")
        for name in ("org", "work", "nonpublic_org", "nonpublic_work", "social_org", "social_work", "estate"):
            ctx[f"{name}_coverage"] = rate_text(rates.value("", name))
        for name in ("org", "work", "nonpublic_org", "social_org", "estate"):
            ctx[f"{name}_coverage_change"] = changes.prose("", name)
        order = _rule_order()
        ctx["problems_by_rule"], ctx["problems_by_street"] = _problems(cov["findings"], order)
        ctx["findings_total"] = len(cov["findings"])
        ctx["findings_streets_count"] = len(ctx["problems_by_street"])
        ctx["coverage_rows"] = [_coverage_row(_street_label(s), s, rates, changes) for s in streets]
        ctx["coverage_total"] = _coverage_row("全区", "", rates, changes)

    if with_charts:
        cov_rows = [(_street_label(s), rates.value(s, "org"), rates.value(s, "work")) for s in streets]
        mem_rows = [(_street_label(s), figs.streets[s].full, figs.streets[s].probationary)
                    for s in streets if s in figs.streets]
        _charts(ctx, cov_rows, mem_rows, built, miss)
    else:
        for key, title in (("chart_coverage", "各街道两新组织覆盖率"), ("chart_members", "各街道党员人数")):
            ctx[key], ctx[f"{key}_title"] = "（图片）", title
    built.context = ctx
    built.missing = miss.items
    return built


# ------------------------------------------------------------------------------------ quarterly


def _quarter_changes(period: str, cov: dict, db: Any, miss: Missing, built: Built) -> tuple[Rates, Changes]:
    rates = Rates(cov)
    prev = cov.get("previous_period")
    prev_cov, prev_error = _try_coverage(db, prev)
    if prev is None:
        why = f"数据库中没有 {period} 之前的数据，较上季度变化无法计算"
    else:
        why = f"{prev} 的覆盖率无法计算（{prev_error}），较上季度变化无法计算"
        y, q = parse_period(period)
        expected = f"{y - 1}Q4" if q == 1 else f"{y}Q{q - 1}"
        if prev != expected:
            built.warnings.append(f"上一期为 {prev}（{expected} 未导入），“较上季度”的变化按 {prev} 计算。")
    return rates, Changes(rates, Rates(prev_cov) if prev_cov else None, miss, why)


def _ranking(streets: list[str], rates: Rates, changes: Changes, open_counts: Counter) -> list[dict[str, Any]]:
    def key(s: str) -> tuple:
        vals = [rates.value(s, n) for n in ("org", "work", "estate")]
        return tuple((v is None, -(v or 0)) for v in vals)
    ordered = sorted(streets, key=lambda s: (key(s), s))
    out, rank, last = [], 0, None
    for i, s in enumerate(ordered, 1):
        k = tuple(rate_text(rates.value(s, n)) for n in ("org", "work", "estate"))
        if k != last:
            rank, last = i, k
        row = _coverage_row(_street_label(s), s, rates, changes)
        del row["estates_total"]
        out.append({"rank": rank, **row, "findings": open_counts.get(s, 0)})
    return out


def _street_sections(streets: list[str], cov: dict, order: dict[str, int]) -> list[dict[str, Any]]:
    findings: dict[str, list] = defaultdict(list)
    closed: dict[str, list] = defaultdict(list)
    for f in cov["findings"]:
        findings[f["street"] or ""].append(f)
    for f in cov["closed"]:
        closed[f["street"] or ""].append(f)
    out = []
    for i, s in enumerate(streets, 1):
        fs, cs = findings.get(s, []), closed.get(s, [])
        new = sum(1 for f in fs if f["status"] == "新增")
        if fs:
            summary = f"共有空白点{len(fs)}个，其中新增{new}个、持续未整改{len(fs) - new}个"
        else:
            summary = "本期未发现空白点"
        summary += f"；上期以来已整改{len(cs)}个。" if cs else "。"
        out.append({"no_cn": cn_number(i), "street": _street_label(s), "findings_count": len(fs), "new_count": new,
                    "persisting_count": len(fs) - new, "closed_count": len(cs), "summary_text": summary,
                    "findings": [finding_item(j, f) for j, f in enumerate(fs, 1)],
                    "closed": [closed_item(j, f) for j, f in enumerate(cs, 1)]})
    return out


def build_quarterly(db: Any, period: str, *, org_name: str, doc_date: dt.date | None) -> Built:
    cov = load_coverage(db, period)
    period = cov["period"]
    miss, built = Missing(), Built({})
    rates, changes = _quarter_changes(period, cov, db, miss, built)
    ctx = common(org_name, doc_date, period)
    prev = cov.get("previous_period")
    ctx["previous_period"] = miss.value(prev, f"数据库中没有 {period} 之前的数据，较上季度变化无法计算")
    ctx["previous_period_text"] = period_text(prev) if prev else MISSING
    streets = sorted(rates.streets() | set(cov["summary"].get("streets", []))
                     | {f["street"] or "" for f in cov["findings"] + cov["closed"]})
    open_counts = Counter(f["street"] or "" for f in cov["findings"])
    new_total = sum(1 for f in cov["findings"] if f["status"] == "新增")
    ctx.update({
        "streets_count": len(streets), "streets_with_findings": len(open_counts),
        "findings_total": len(cov["findings"]), "new_total": new_total,
        "persisting_total": len(cov["findings"]) - new_total, "closed_total": len(cov["closed"]),
        "twonew_total": rates.total(""),
        "org_coverage": rate_text(rates.value("", "org")), "work_coverage": rate_text(rates.value("", "work")),
        "estate_coverage": rate_text(rates.value("", "estate")),
        "org_coverage_change": changes.prose("", "org"), "work_coverage_change": changes.prose("", "work"),
        "estate_coverage_change": changes.prose("", "estate"),
        "ranking": _ranking(streets, rates, changes, open_counts),
        "streets": _street_sections(streets, cov, _rule_order()),
    })
    built.context = ctx
    built.missing = miss.items
    return built


# ------------------------------------------------------------------------------------ notices


def default_deadline(period: str) -> dt.date:
    """30 days after the period's end: 2026Q3 -> 2026-10-30."""
    return period_end(period) + dt.timedelta(days=30)


def notice_base(period: str, deadline: dt.date | None, org_name: str, doc_date: dt.date | None) -> dict[str, Any]:
    """The part of a notice's context that does not depend on the street."""
    base = common(org_name, doc_date, period)
    base["deadline"] = date_text(deadline or default_deadline(period))
    return base


def build_notices(db: Any, period: str, *, street: str | None, deadline: dt.date | None, org_name: str,
                  doc_date: dt.date | None) -> tuple[list[Built], list[str]]:
    """One context per street with open blind spots (or only `street`); plus notes on streets left out."""
    cov = load_coverage(db, period)
    period = cov["period"]
    rates = Rates(cov)
    by_street: dict[str, list] = defaultdict(list)
    closed = Counter(f["street"] or "" for f in cov["closed"])
    for f in cov["findings"]:
        by_street[f["street"] or ""].append(f)
    known = sorted(rates.streets() | set(cov["summary"].get("streets", [])) | set(by_street))
    notes: list[str] = []
    if street is not None:
        if street not in known:
            raise ReportError(f"{period} 没有“{street}”的数据。可选街道：{'、'.join(_street_label(s) for s in known) or '无'}")
        targets = [street]
    else:
        targets = known
    base = notice_base(period, deadline, org_name, doc_date)
    order = _rule_order()
    out = []
    clean = [_street_label(s) for s in targets if not by_street.get(s)]
    if clean:
        notes.append(f"{'、'.join(clean[:STREETS_IN_TEXT * 2])}{'等' if len(clean) > STREETS_IN_TEXT * 2 else ''}"
                     f"{len(clean)}个街道本期没有空白点，未生成整改通知书。")
    for s in targets:
        fs = by_street.get(s, [])
        if not fs:
            continue
        new = sum(1 for f in fs if f["status"] == "新增")
        ctx = dict(base)
        ctx.update({
            "street": _street_label(s), "addressee": f"{_street_label(s)}党工委", "findings_count": len(fs),
            "new_count": new, "persisting_count": len(fs) - new, "closed_count": closed.get(s, 0),
            "rules_text": rules_text(fs, order), "org_coverage": rate_text(rates.value(s, "org")),
            "work_coverage": rate_text(rates.value(s, "work")), "estate_coverage": rate_text(rates.value(s, "estate")),
            "findings": [finding_item(i, f) for i, f in enumerate(fs, 1)],
        })
        out.append(Built(ctx))
    return out, notes


# A consistent snapshot for every document: built again when an import commits meanwhile.
def _consistent(build: Any) -> Any:
    def built(db: Any, *args: Any, **kwargs: Any) -> Any:
        open_store(db).close()   # a missing or foreign store: the usual Chinese ReportError
        return st.read_consistently(db, lambda: build(db, *args, **kwargs), ReportError)
    built.__doc__, built.__name__ = build.__doc__, build.__name__
    return built


build_annual = _consistent(build_annual)
build_quarterly = _consistent(build_quarterly)
build_notices = _consistent(build_notices)
