"""Template contexts: the one coverage result of the command and the store's other figures turned into
the plain dicts, lists, strings and numbers that the documents print (names and meanings in vars.toml).
Every rate and change is printed by pbtool.present, as on the terminal and in the ledger. Charts are PNG
bytes (or a Chinese note when they cannot be drawn); render.py turns the bytes into images."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .. import present
from .. import store as st
from .figures import PeriodFigures, StreetFigures, new_organizations, period_figures
from .fmt import (
    DROP,
    MISSING,
    NOT_APPLICABLE,
    cn_number,
    date_text,
    parse_period,
    period_text,
)
from .model import Missing, ReportError
from .settings import HOW_TO_SET_ORG, ORG_PLACEHOLDER, ReportSettings

NO_STREET = "未注明街道"
STREETS_IN_TEXT = 5
DEADLINE_DAYS = 30


@dataclass
class Built:
    """A context and what building it found missing, left for a person to write, or worth a warning."""

    context: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    narrative: list[str] = field(default_factory=list)   # 【待填写：…】 paragraphs a person writes


# ------------------------------------------------------------------------------------ inputs


def open_store(db: Any, district: str | None = None) -> st.Store:
    """The store, kept to `district`, else to pbtool.toml's when the workspace names one (as coverage is)."""
    from ..config import ConfigError, load_config
    try:
        return st.Store.open(db, create=False, district=district or load_config().district)
    except (st.StoreError, ConfigError) as exc:
        raise ReportError(str(exc)) from None


def year_period(store: st.Store, year: int) -> str | None:
    """A year's latest stored period (Q4 when there is one)."""
    ps = [p for p in store.periods() if p.startswith(f"{year}Q")]
    return ps[-1] if ps else None


def load_coverage(db: Any, period: str, compare_with: str | None = None, *, district: str | None = None,
                  city: bool = False) -> Any:
    """The coverage result of a period (computed once per document run) of `district` (or
    pbtool.toml's), or of the whole store when neither names one or `city` is set; ReportError
    (Chinese) when it cannot be computed: no store, a malformed or unknown period, missing lists."""
    from ..coverage import (  # the coverage stage, read here and nowhere earlier
        CoverageError,
        compute_coverage,
    )
    from ..importer import ImportError_
    try:
        return compute_coverage(db, period, compare_with=compare_with, district=district, city=city)
    except (CoverageError, ImportError_, st.StoreError) as exc:
        raise ReportError(str(exc)) from None


_CJK = r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]"
_HALF_BRACKETS = re.compile(r"\(([^()]*)\)")


def cn(text: Any) -> Any:
    """Chinese text as an official document writes it: full-width brackets around or beside Chinese
    (青湖(杭州)数据 -> 青湖（杭州）数据); other values unchanged."""
    if not isinstance(text, str) or "(" not in text:
        return text

    def sub(m: re.Match[str]) -> str:
        inner, before, after = m.group(1), text[max(0, m.start() - 1):m.start()], text[m.end():m.end() + 1]
        if re.search(_CJK, inner + before + after):
            return f"（{inner}）"
        return m.group(0)
    return _HALF_BRACKETS.sub(sub, text)


def common(settings: ReportSettings, doc_date: dt.date | None, period: str, built: Built) -> dict[str, Any]:
    """Variables every document has: 发文机关, dates, 发文字号, 版记."""
    doc_date = doc_date or dt.date.today()
    year = parse_period(period)[0]
    org = settings.org_name
    if not org:
        org = ORG_PLACEHOLDER
        built.warnings.append(HOW_TO_SET_ORG)
    doc_number = ""
    if settings.doc_number_prefix:
        if settings.doc_number:
            doc_number = f"{settings.doc_number_prefix}〔{doc_date.year}〕{settings.doc_number}号"
        else:
            doc_number = f"{settings.doc_number_prefix}〔{doc_date.year}〕{MISSING}号"
            built.missing.append("发文字号的序号（用 --doc-number 指定）")
    return {"org_name": org, "doc_date": date_text(doc_date), "year": year, "period": period,
            "period_text": period_text(period), "doc_number": doc_number,
            "cc": settings.cc or "", "printer": settings.printer or "",
            "has_imprint": bool(settings.cc or settings.printer),
            "print_date": date_text(doc_date)}


# ------------------------------------------------------------------------------------ coverage views


class Rates:
    """Exact rates of a coverage result (and of its comparison period), by street ('' = district)."""

    def __init__(self, cov: Any):
        self.cov = cov
        self.prev = cov.previous

    @staticmethod
    def _value(state: Any, street: str, name: str) -> present.Rate:
        if state is None:
            return None
        scope = "district" if street == "" else "street"
        if name == "estate":
            e = state.estate(street)
            return e.coverage if e else None
        kind = {"nonpublic": "非公企业", "social": "社会组织"}.get(name.split("_")[0], "合计")
        r = state.rate(scope, street, kind)
        return getattr(r, f"{name.split('_')[-1]}_coverage") if r else None

    def value(self, street: str, name: str) -> present.Rate:
        """name: org | work | estate | nonpublic_org | nonpublic_work | social_org | social_work."""
        return self._value(self.cov, street, name)

    def before(self, street: str, name: str) -> present.Rate:
        return self._value(self.prev, street, name)

    def text(self, street: str, name: str) -> str:
        return present.pct_text(self.value(street, name))

    def change_table(self, street: str, name: str) -> str:
        return present.pp_text(self.value(street, name), self.before(street, name)) if self.prev else DROP

    def change_prose(self, street: str, name: str, against: str) -> str:
        """'比上年末上升5.7个百分点', '与上年末持平' (against: 比上年末 | 较上季度 | 较2026年第二季度末)."""
        if not self.prev:
            return ""
        text = present.pp_prose(self.value(street, name), self.before(street, name))
        if text == "持平":
            return f"与{against[1:]}持平"
        return against + text

    def total(self, street: str, kind: str = "合计") -> int:
        r = self.cov.rate("district" if street == "" else "street", street, kind)
        return r.total if r else 0

    def streets(self) -> set[str]:
        return ({r.street for r in self.cov.rates if r.scope == "street"}
                | {e.street for e in self.cov.estates if e.street})


def _street_label(s: str | None) -> str:
    return s or NO_STREET


def streets_of(cov: Any) -> list[str]:
    return sorted(Rates(cov).streets() | set(cov.summary.get("streets", []))
                  | {p.street for p in cov.places + cov.closed_places})


def place_item(no: int, p: Any) -> dict[str, Any]:
    """One row per place: its problems together and one combined action."""
    return {"no": no, "unit": p.unit_title, "titles": p.titles, "community": cn(p.community) or NOT_APPLICABLE,
            "target": cn(p.target), "full_members": p.full_members, "probationary": p.probationary,
            "members": p.members, "status": p.status, "status_text": p.status_text, "change": p.change,
            "quarters_open": p.quarters_open, "action": cn(p.action)}


def closed_item(no: int, p: Any) -> dict[str, Any]:
    return {"no": no, "titles": p.titles, "community": cn(p.community) or NOT_APPLICABLE, "target": cn(p.target)}


def places_text(places: list[Any]) -> str:
    """'社区应建未建党组织1处、两新组织应联合组建2处' (a place with two problems counts under each)."""
    order: dict[str, int] = {}
    counts: Counter = Counter()
    for p in places:
        for f in p.findings:
            order.setdefault(f.title, len(order))
            counts[f.title] += 1
    return "、".join(f"{t}{counts[t]}处" for t in sorted(counts, key=order.__getitem__))


def _streets_text(streets: list[str]) -> str:
    if len(streets) <= STREETS_IN_TEXT:
        return "、".join(streets)
    return "、".join(streets[:STREETS_IN_TEXT]) + f"等{len(streets)}个街道"


def some_streets_text(n_with: int, n_all: int, unit: str = "街道") -> str:
    """'3个街道均存在空白点' / '3个街道中有2个存在空白点' (never '3个街道中，3个街道…'); unit 区 for a city."""
    if n_with == n_all:
        return f"{n_all}个{unit}均存在空白点" if n_all > 1 else f"该{unit}存在空白点"
    return f"{n_all}个{unit}中有{n_with}个存在空白点"


# ------------------------------------------------------------------------------------ annual


def _compare_period(store: st.Store, year: int, period: str) -> tuple[str | None, str, str]:
    """What the annual summary compares with: the previous year's latest period, else the earliest
    stored quarter of this year; (period, how the text names it, note for the reader)."""
    prev_year = year_period(store, year - 1)
    if prev_year:
        return prev_year, "比上年末", ""
    same_year = [p for p in store.periods() if p.startswith(f"{year}Q") and p < period]
    if same_year:
        first = same_year[0]
        return first, f"较{period_text(first)}末", (f"数据库中没有{year - 1}年的数据，各项变化与本年最早导入的"
                                                    f"{period_text(first)}末比较。")
    return None, "", f"数据库中只有{period_text(period)}一期数据，没有可比较的期别，变化情况未列出。"


def _member_rows(streets: list[str], cov: Any, figs: PeriodFigures,
                 miss: Missing) -> tuple[list[dict], dict, dict]:
    by = cov.summary.get("by_street", {})
    rows = []
    for s in streets:
        d = by.get(s, {})
        f = figs.streets.get(s, StreetFigures())
        dual = miss.value(f.dual_report, f"{_street_label(s)}：{figs.period}花名册没有“是否到社区报到”列，双报到人数无法统计") \
            if figs.has["dual_report"] else 0
        rows.append({"street": _street_label(s), "members": d.get("members", 0), "full": d.get("full", 0),
                     "probationary": d.get("probationary", 0), "unknown_category": d.get("unknown_category", 0),
                     "duplicates": d.get("duplicates", 0), "dual_report": dual})
    keys = ("members", "full", "probationary", "unknown_category", "duplicates", "dual_report")
    total: dict[str, Any] = {"street": "合计"}
    for k in keys:
        vals = [r[k] for r in rows]
        total[k] = MISSING if MISSING in vals else sum(vals)
    has = {"unknown": total["unknown_category"] > 0, "dual": figs.has["dual_report"]}
    for r in rows + [total]:
        if not has["unknown"]:
            r["unknown_category"] = DROP
        if not has["dual"]:
            r["dual_report"] = DROP
    return rows, total, has


def _org_rows(streets: list[str], figs: PeriodFigures, miss: Missing) -> tuple[list[dict], dict]:
    rows = []
    for s in streets:
        f = figs.streets.get(s, StreetFigures())
        name = _street_label(s)
        rows.append({"street": name, "party_orgs": f.party_orgs_total, "committees": f.party_orgs["committees"],
                     "general_branches": f.party_orgs["general_branches"], "branches": f.party_orgs["branches"],
                     "joint_branches": f.party_orgs["joint_branches"],
                     "community_orgs": miss.value(f.community_orgs, f"{name}：{figs.period}未导入社区清单，社区党组织数无法统计"),
                     "estate_orgs": miss.value(f.estate_orgs, f"{name}：{figs.period}未导入小区清单，小区党组织数无法统计")})
    total: dict[str, Any] = {"street": "合计"}
    for key in rows[0] if rows else []:
        if key != "street":
            vals = [r[key] for r in rows]
            total[key] = MISSING if MISSING in vals else sum(vals)
    return rows, total


def _coverage_row(name: str, street: str, rates: Rates) -> dict[str, Any]:
    est = rates.cov.estate(street)
    return {"street": name, "twonew_total": rates.total(street),
            "org_coverage": rates.text(street, "org"), "org_coverage_pp": rates.change_table(street, "org"),
            "work_coverage": rates.text(street, "work"), "work_coverage_pp": rates.change_table(street, "work"),
            "estates_total": est.total if est else 0, "estate_coverage": rates.text(street, "estate"),
            "estate_coverage_pp": rates.change_table(street, "estate")}


def _problems(places: list[Any]) -> tuple[list[dict], list[dict]]:
    by_rule: dict[str, list[str]] = defaultdict(list)
    by_street: dict[str, list[Any]] = defaultdict(list)
    for p in places:
        by_street[_street_label(p.street)].append(p)
        for f in p.findings:
            by_rule[f.title].append(_street_label(p.street))
    rules = [{"no": i, "title": title, "count": len(streets),
              "streets_text": _streets_text(list(dict.fromkeys(sorted(streets))))}
             for i, (title, streets) in enumerate(by_rule.items(), 1)]
    streets = [{"no": i, "street": s, "count": len(ps), "problems": sum(len(p.findings) for p in ps),
                "text": places_text(ps)} for i, (s, ps) in enumerate(sorted(by_street.items()), 1)]
    return rules, streets


def _charts(ctx: dict[str, Any], cov_rows: list[tuple], members: list[tuple], built: Built) -> None:
    from . import (
        charts,  # matplotlib loads only when a document has charts: the CLI starts faster
    )
    font = charts.find_cjk_font(charts.FONT_CANDIDATES)
    specs = (("chart_coverage", charts.coverage_rows(cov_rows), charts.coverage_png, "两新组织党组织覆盖率"),
             ("chart_members", charts.members_rows(members), charts.members_png, "党员人数"))
    for key, (sel, title), draw, what in specs:
        ctx[f"{key}_title"] = title
        if not sel:
            ctx[key] = f"（没有各街道{what}数据，未生成图表）"
        elif font is None:
            ctx[key] = charts.NO_FONT_TEXT
            built.warnings.append(charts.NO_FONT_WARNING)
        elif not charts.has_glyphs(font, "".join(r[0] for r in sel)):
            ctx[key] = f"【图表未生成：字体“{font.name}”缺少部分汉字】"
            built.warnings.append(f"字体“{font.name}”缺少街道名称中的部分汉字，“{title}”图未生成；请安装 fonts-noto-cjk 或“思源黑体”。")
        else:
            ctx[key] = draw(sel, font)


def _practice_texts(ctx: dict[str, Any], cov: Any, rates: Rates, figs: PeriodFigures, new_orgs: list | None,
                    since: str) -> tuple[str, str]:
    """Sentences of 主要做法和成效 the data supports: (organizational coverage, regional Party building)."""
    parts = []
    if new_orgs:
        names = "、".join(cn(o["name"]) for o in new_orgs[:STREETS_IN_TEXT])
        more = f"等{len(new_orgs)}个" if len(new_orgs) > STREETS_IN_TEXT else ""
        parts.append(f"{since}，{names}{more}两新组织建立了党组织")
    if rates.prev is not None:
        a, b = rates.before("", "org"), rates.value("", "org")
        if a is not None and b is not None and b != a:
            verb = "提高" if b > a else "降低"
            parts.append(f"两新组织党组织覆盖率由{present.pct_text(a)}{verb}到{present.pct_text(b)}"
                         f"（{present.pp_prose(b, a)}）")
        a, b = rates.before("", "estate"), rates.value("", "estate")
        if a is not None and b is not None and b != a:
            verb = "提高" if b > a else "降低"
            parts.append(f"小区党组织覆盖率由{present.pct_text(a)}{verb}到{present.pct_text(b)}")
        if cov.closed_places:
            parts.append(f"整改销号空白点{len(cov.closed_places)}处")
    org_text = "；".join(parts) + "。" if parts else ""
    regional = []
    if ctx["agreements_count"] != MISSING and ctx["agreements_count"]:
        regional.append(f"驻区单位签订共建协议{ctx['agreements_count']}家")
    if ctx["projects_count"] != MISSING and ctx["projects_count"]:
        regional.append(f"实施共建项目{ctx['projects_count']}个")
    if figs.has["dual_report"] and ctx["dual_report_count"] != MISSING:
        regional.append(f"在职党员到社区报到{ctx['dual_report_count']}名")
    return org_text, ("，".join(regional) + "。" if regional else "")


def build_annual(db: Any, year: int, *, settings: ReportSettings, doc_date: dt.date | None,
                 with_charts: bool = True, district: str | None = None) -> Built:
    store = open_store(db, district)
    try:
        period = year_period(store, year)
        if period is None:
            have = "、".join(store.periods()) or "无"
            raise ReportError(f"数据库中没有 {year} 年的数据（已有期别：{have}）。请先用 pbtool import 导入该年的花名册和资源清单。")
        compare, compare_text, compare_note = _compare_period(store, year, period)
        store.qualify_streets = store.city_view(period)   # streets named as the city's coverage names them
        figs = period_figures(store, period)
        new_orgs = new_organizations(store, period, compare) if compare else None
    finally:
        store.close()
    built = Built({})
    if not period.endswith("Q4"):
        built.warnings.append(f"{year} 年尚无第四季度数据，年度总结按 {period}（{period_text(period)}末）统计。")
    if compare_note:
        built.warnings.append(compare_note)
    cov = load_coverage(db, period, compare_with=compare, district=district)
    miss = Missing()
    ctx = common(settings, doc_date, period, built)
    ctx["year"] = year
    ctx["previous_year"] = year - 1
    ctx["has_comparison"] = cov.previous is not None
    ctx["compare_period"] = compare or ""
    ctx["compare_text"] = compare_text
    ctx["compare_note"] = compare_note
    rates = Rates(cov)

    streets = sorted(set(figs.streets) | set(streets_of(cov)))
    ctx["org_rows"], ctx["org_total"] = _org_rows(streets, figs, miss)
    ctx["street_rows"], ctx["street_total"], has = _member_rows(streets, cov, figs, miss)
    s = cov.summary
    ctx["streets_count"] = len(streets)
    ctx["communities_count"] = miss.value(figs.total("communities"), f"{period}未导入社区清单")
    ctx["estates_count"] = miss.value(figs.total("estates"), f"{period}未导入小区清单")
    ctx["members_total"], ctx["members_full"], ctx["members_probationary"] = s["members"], s["full"], s["probationary"]
    ctx["members_unknown"], ctx["members_duplicates"] = s["unknown_category"], s["duplicates"]
    notes = []
    if s["unknown_category"]:
        notes.append(f"人员类别为空或无效（类别不详）{s['unknown_category']}名")
    dup_streets = [f"{_street_label(st_)}{d['duplicates']}人次" for st_, d in s.get("by_street", {}).items()
                   if d["duplicates"]]
    if s["duplicates"]:
        notes.append(f"同一党员在两处名单中重复{s['duplicates']}人次（{'、'.join(dup_streets)}），已按1人计")
    ctx["members_note"] = "；".join(notes)
    ctx["has_dual_report"] = has["dual"]
    ctx["dual_report_count"] = ctx["street_total"]["dual_report"] if has["dual"] else DROP
    ot = ctx["org_total"]
    ctx["party_orgs_total"], ctx["party_committees"] = ot.get("party_orgs", 0), ot.get("committees", 0)
    ctx["party_general_branches"], ctx["party_branches"] = ot.get("general_branches", 0), ot.get("branches", 0)
    ctx["party_joint_branches"] = ot.get("joint_branches", 0)
    ctx["party_orgs_other"] = sum(figs.streets.get(x, StreetFigures()).party_orgs["other"] for x in streets)
    ctx["community_orgs"], ctx["estate_orgs"] = ot.get("community_orgs", MISSING), ot.get("estate_orgs", MISSING)
    ctx["agreements_count"] = miss.value(figs.total("agreements"), f"{period}未导入驻区单位清单（或清单没有“是否签订共建协议”列），共建协议数无法统计")
    ctx["projects_count"] = miss.value(figs.total("projects"), f"{period}未导入驻区单位清单（或清单没有“共建项目数”列），共建项目数无法统计")
    if new_orgs is None:
        ctx["new_orgs_count"], ctx["new_orgs"] = 0, []
    else:
        ctx["new_orgs_count"] = len(new_orgs)
        ctx["new_orgs"] = [{**o, "name": cn(o["name"])} for o in new_orgs]

    district = cov.rate("district", "")
    ctx["twonew_total"] = district.total if district else 0
    ctx["twonew_org_covered"] = district.org_covered if district else 0
    ctx["twonew_work_covered"] = district.work_covered if district else 0
    ctx["nonpublic_total"] = rates.total("", "非公企业")
    ctx["social_total"] = rates.total("", "社会组织")
    for name in ("org", "work", "nonpublic_org", "nonpublic_work", "social_org", "social_work", "estate"):
        ctx[f"{name}_coverage"] = rates.text("", name)
    for name in ("org", "work", "nonpublic_org", "social_org", "estate"):
        ctx[f"{name}_coverage_change"] = rates.change_prose("", name, compare_text)
    ctx["problems_by_rule"], ctx["problems_by_street"] = _problems(cov.places)
    counts = cov.counts()
    ctx["places_total"], ctx["findings_total"] = counts["places"], counts["problems"]
    ctx["closed_total"] = counts["closed"]
    ctx["findings_streets_count"] = len(ctx["problems_by_street"])
    ctx["findings_streets_text"] = some_streets_text(len(ctx["problems_by_street"]), len(streets))
    ctx["coverage_rows"] = [_coverage_row(_street_label(x), x, rates) for x in streets]
    ctx["scope_name"] = cov.scope_name   # 全区, or 全市 for a city's store read as a whole
    ctx["coverage_total"] = _coverage_row(cov.scope_name, "", rates)
    since = "本年" if compare_text == "比上年末" else f"{period_text(compare)}末以来" if compare else "本年"
    ctx["since_text"] = since
    ctx["practice_org_text"], ctx["practice_regional_text"] = _practice_texts(ctx, cov, rates, figs, new_orgs, since)
    quality = []
    if s["unknown_category"] or s["duplicates"] or s["members_with_errors"]:
        quality.append(f"各街道报送的花名册中，{s['members_with_errors']}条记录有需更正的错误"
                       + (f"，{s['unknown_category']}名党员类别不详" if s["unknown_category"] else "")
                       + (f"，{s['duplicates']}人次重复填报" if s["duplicates"] else "")
                       + "，数据质量有待提高")
    if cov.near_misses:
        quality.append(f"{len(cov.near_misses)}个工作单位名称与两新组织清单不一致，相关党员未能计入所在组织")
    ctx["data_quality_text"] = "；".join(quality) + "。" if quality else ""
    ctx["next_steps_text"] = (f"对尚未整改的{counts['places']}处空白点逐一建立整改台账，明确责任单位、责任人和整改时限，"
                              "按季度跟踪销号。" if counts["places"] else "")

    if with_charts:
        cov_rows = [(_street_label(x), rates.value(x, "org"), rates.value(x, "work")) for x in streets]
        mem_rows = [(r["street"], r["full"], r["probationary"], r["unknown_category"] if has["unknown"] else 0)
                    for r in ctx["street_rows"]]
        _charts(ctx, cov_rows, mem_rows, built)
    else:
        for key, title in (("chart_coverage", "各街道两新组织党组织覆盖率"), ("chart_members", "各街道党员人数")):
            ctx[key], ctx[f"{key}_title"] = "（图片）", title
    built.context = ctx
    built.missing = built.missing + miss.items
    return built


# ------------------------------------------------------------------------------------ quarterly


def _ranking(units: list[tuple[str, str, Rates, str, int]]) -> list[dict[str, Any]]:
    """Units ranked by organizational, then work, then estate coverage (exact rates; a unit without a
    rate last), ties by name. units: (sort name, label, rates, street of the rates ('' = the rates'
    whole area, as for a district of a city), open places)."""
    def key(u: tuple[str, str, Rates, str, int]) -> tuple:
        vals = [u[2].value(u[3], n) for n in ("org", "work", "estate")]
        return tuple((v is None, -(v or 0)) for v in vals), u[0]
    out, rank, last = [], 0, None
    for i, (_name, label, rates, street, places) in enumerate(sorted(units, key=key), 1):
        k = tuple(rates.text(street, n) for n in ("org", "work", "estate"))
        if k != last:
            rank, last = i, k
        row = _coverage_row(label, street, rates)
        del row["estates_total"]
        out.append({"rank": rank, "name": label, **row, "places": places})
    return out


def _names_text(names: list[str]) -> str:
    return "、".join(names[:STREETS_IN_TEXT]) + (f"等{len(names)}个" if len(names) > STREETS_IN_TEXT else "")


def ranking_text(units: list[tuple[str, present.Rate]], unit: str) -> str:
    """The sentence naming the best and the worst units by organizational coverage (as printed, so
    units shown with the same rate are named together): '两新组织党组织覆盖率最高的是青湖区（75.0%），
    最低的是东江区（50.0%）。'; '' with fewer than two units with a rate."""
    rated = [(label, present.pct_text(r), r) for label, r in units if r is not None]
    if len(rated) < 2:
        return ""
    hi, lo = max(r for *_x, r in rated), min(r for *_x, r in rated)
    hi_text, lo_text = present.pct_text(hi), present.pct_text(lo)
    if hi_text == lo_text:
        return f"各{unit}两新组织党组织覆盖率均为{hi_text}。"
    top = [label for label, text, _r in rated if text == hi_text]
    bottom = [label for label, text, _r in rated if text == lo_text]
    return f"两新组织党组织覆盖率最高的是{_names_text(top)}（{hi_text}），最低的是{_names_text(bottom)}（{lo_text}）。"


def _street_sections(streets: list[str], cov: Any) -> list[dict[str, Any]]:
    places: dict[str, list] = defaultdict(list)
    closed: dict[str, list] = defaultdict(list)
    for p in cov.places:
        places[p.street].append(p)
    for p in cov.closed_places:
        closed[p.street].append(p)
    out = []
    for i, s in enumerate(streets, 1):
        ps, cs = places.get(s, []), closed.get(s, [])
        out.append({"no_cn": cn_number(i), "name": _street_label(s), "street": _street_label(s),
                    **_section_counts(ps, cs), "places": [place_item(j, p) for j, p in enumerate(ps, 1)],
                    "closed": [closed_item(j, p) for j, p in enumerate(cs, 1)], "street_rows": []})
    return out


def _section_counts(ps: list[Any], cs: list[Any]) -> dict[str, Any]:
    """Counts of a unit's open places `ps` and closed places `cs`, and the sentence stating them."""
    n = Counter(p.status for p in ps)
    problems = sum(len(p.findings) for p in ps)
    if ps:
        parts = [f"新增{n['新增']}处"] + ([f"持续未整改{n['持续']}处"] if n["持续"] else []) + (
            [f"问题类型变化{n['变化']}处"] if n["变化"] else [])
        summary = f"共有空白点{len(ps)}处（问题{problems}个），其中{'、'.join(parts)}"
    else:
        summary = "本期未发现空白点"
    summary += f"；上期以来已整改销号{len(cs)}处。" if cs else "。"
    return {"places_count": len(ps), "problems_count": problems, "new_count": n["新增"],
            "persisting_count": n["持续"], "changed_count": n["变化"], "closed_count": len(cs),
            "summary_text": summary}


def _district_sections(cov: Any) -> list[dict[str, Any]]:
    """A city bulletin's section per district: its figures as the district's own result states them,
    and one row per street with open or closed blind spots (the places themselves are listed in the
    district's bulletin and the streets' notices)."""
    out = []
    for i, part in enumerate(cov.districts, 1):
        r = part.result
        rows: list[dict[str, Any]] = []
        for s in _street_sections(streets_of(r), r):
            if s["places_count"] or s["closed_count"]:
                rows.append({"no": len(rows) + 1, "street": s["street"],
                             **{k: s[k] for k in ("places_count", "problems_count", "new_count",
                                                  "persisting_count", "changed_count", "closed_count")}})
        out.append({"no_cn": cn_number(i), "name": part.district, "street": part.district,
                    **_section_counts(r.places, r.closed_places), "places": [], "closed": [], "street_rows": rows})
    return out


CITY_ADDRESSEE = "各区（县、市）委组织部"
DISTRICT_ADDRESSEE = "各街道党工委"


def build_quarterly(db: Any, period: str, *, settings: ReportSettings, doc_date: dt.date | None,
                    district: str | None = None, city: bool = False) -> Built:
    """The bulletin of one district (streets ranked), or of the city when the store is read whole and
    the period holds two or more districts (districts ranked, each by its own coverage result)."""
    cov = load_coverage(db, period, district=district, city=city)
    period = cov.period
    built = Built({})
    rates = Rates(cov)
    prev = cov.previous_period
    if prev is not None:
        y, q = parse_period(period)
        expected = f"{y - 1}Q4" if q == 1 else f"{y}Q{q - 1}"
        if prev != expected:
            built.warnings.append(f"上一期为 {prev}（{expected} 未导入），“较上季度”的变化按 {prev} 计算。")
    else:
        built.warnings.append(f"数据库中没有 {period} 之前的数据，较上季度变化未列出。")
    for note in cov.district_notes:
        built.warnings.append(f"未参加排名：{note}")
    if city and not cov.is_city:
        built.warnings.append(f"数据库中 {period} 只有一个区的数据，通报按街道排名。")
    ctx = common(settings, doc_date, period, built)
    ctx["has_comparison"] = prev is not None
    ctx["previous_period"] = prev or ""
    ctx["previous_period_text"] = period_text(prev) if prev else ""
    c = cov.counts()
    if cov.is_city:   # the totals are the districts' sums, as each district's bulletin states them
        c = dict(sum((Counter(part.result.counts()) for part in cov.districts), Counter()))
        c = {k: c.get(k, 0) for k in cov.counts()}
        unit = "区"
        units = [(part.district, part.district, Rates(part.result), "", len(part.result.places))
                 for part in cov.districts]
        open_units = [part.district for part in cov.districts if part.result.places]
        sections = _district_sections(cov)
    else:
        unit = "街道"
        streets = streets_of(cov)
        open_counts = Counter(p.street for p in cov.places)
        units = [(s, _street_label(s), rates, s, open_counts.get(s, 0)) for s in streets]
        open_units = list(open_counts)
        sections = _street_sections(streets, cov)
    ranking = _ranking(units)
    if cov.is_city and prev is not None:
        # a district compared with another period than the city's, or with none, is said so; its changes
        # without a previous period read "—" (the column stays: the other districts have changes)
        for part in cov.districts:
            p_prev = part.result.previous_period
            if p_prev is None:
                built.warnings.append(f"{part.district}没有 {period} 之前的数据，表1中该区的增减为“—”。")
            elif p_prev != prev:
                built.warnings.append(f"{part.district}的上一期为 {p_prev}（{prev} 未导入），表1中该区的增减按 {p_prev} 计算。")
        for row in ranking:
            for k, v in row.items():
                if v == DROP:
                    row[k] = NOT_APPLICABLE
    ctx.update({
        "is_city": cov.is_city, "scope_name": cov.scope_name, "unit_name": unit,
        "addressee": CITY_ADDRESSEE if cov.is_city else DISTRICT_ADDRESSEE,
        "streets_count": len(units), "streets_with_findings": len(open_units),
        "findings_streets_text": some_streets_text(len(open_units), len(units), unit),
        "places_total": c["places"], "findings_total": c["problems"], "new_total": c["new"],
        "persisting_total": c["persisting"], "changed_total": c["changed"], "closed_total": c["closed"],
        "twonew_total": rates.total(""),
        "org_coverage": rates.text("", "org"), "work_coverage": rates.text("", "work"),
        "estate_coverage": rates.text("", "estate"),
        "org_coverage_change": rates.change_prose("", "org", "较上季度"),
        "work_coverage_change": rates.change_prose("", "work", "较上季度"),
        "estate_coverage_change": rates.change_prose("", "estate", "较上季度"),
        "ranking": ranking,
        "ranking_text": ranking_text([(label, r.value(street, "org")) for _n, label, r, street, _p in units], unit),
        "streets": sections,
    })
    built.context = ctx
    return built


# ------------------------------------------------------------------------------------ notices


def default_deadline(doc_date: dt.date) -> dt.date:
    """30 days after the date of the document."""
    return doc_date + dt.timedelta(days=DEADLINE_DAYS)


def check_deadline(deadline: dt.date | None, doc_date: dt.date) -> dt.date:
    due = deadline or default_deadline(doc_date)
    if due <= doc_date:
        raise ReportError(f"整改时限{date_text(due)}不能早于或等于成文日期{date_text(doc_date)}。"
                          f"请用 --deadline 给出成文日期之后的日期（不写则为成文日期后{DEADLINE_DAYS}天）。")
    return due


def notice_base(period: str, deadline: dt.date | None, settings: ReportSettings, doc_date: dt.date | None,
                built: Built) -> dict[str, Any]:
    """The part of a notice's context that does not depend on the street."""
    doc_date = doc_date or dt.date.today()
    base = common(settings, doc_date, period, built)
    base["deadline"] = date_text(check_deadline(deadline, doc_date))
    base["contact"] = settings.contact or MISSING
    base["phone"] = settings.phone or MISSING
    if not settings.contact or not settings.phone:
        built.missing.append("联系人和联系电话（pbtool.toml [report] 联系人、电话，或 --contact、--phone）")
    return base


def build_notices(db: Any, period: str, *, street: str | None, deadline: dt.date | None,
                  settings: ReportSettings, doc_date: dt.date | None,
                  district: str | None = None) -> tuple[list[Built], list[str]]:
    """One context per street with open blind spots (or only `street`); plus notes on streets left out."""
    doc_date = doc_date or dt.date.today()
    check_deadline(deadline, doc_date)
    cov = load_coverage(db, period, district=district)
    period = cov.period
    rates = Rates(cov)
    by_street: dict[str, list] = defaultdict(list)
    closed = Counter(p.street for p in cov.closed_places)
    for p in cov.places:
        by_street[p.street].append(p)
    known = streets_of(cov)
    notes: list[str] = []
    if street is not None:
        if street not in known:
            raise ReportError(f"{period} 没有“{street}”的数据。可选街道：{'、'.join(_street_label(s) for s in known) or '无'}")
        targets = [street]
    else:
        targets = known
    out = []
    clean = [_street_label(s) for s in targets if not by_street.get(s)]
    if clean:
        notes.append(f"{'、'.join(clean[:STREETS_IN_TEXT * 2])}{'等' if len(clean) > STREETS_IN_TEXT * 2 else ''}"
                     f"{len(clean)}个街道本期没有空白点，未生成整改通知书。")
    for s in targets:
        ps = by_street.get(s, [])
        if not ps:
            continue
        built = Built({})
        ctx = notice_base(period, deadline, settings, doc_date, built)
        n = Counter(p.status for p in ps)
        parts = [f"本期新增{n['新增']}处"] + ([f"持续未整改{n['持续']}处"] if n["持续"] else []) + (
            [f"问题类型变化{n['变化']}处"] if n["变化"] else [])
        ctx.update({
            "street": _street_label(s), "addressee": f"{_street_label(s)}党工委", "places_count": len(ps),
            "scope_name": cov.scope_name,
            "findings_count": sum(len(p.findings) for p in ps), "new_count": n["新增"],
            "persisting_count": n["持续"], "changed_count": n["变化"], "status_text": "、".join(parts),
            "closed_count": closed.get(s, 0), "rules_text": places_text(ps),
            "org_coverage": rates.text(s, "org"), "work_coverage": rates.text(s, "work"),
            "estate_coverage": rates.text(s, "estate"),
            "places": [place_item(i, p) for i, p in enumerate(ps, 1)],
        })
        built.context = ctx
        out.append(built)
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
