"""Stage 6: the declarative rule table (data/rules.toml) applied to a period's store -> findings and
coverage rates, compared with the previous stored period. `compute_coverage()` is the Python API
behind `pbtool coverage`; terminal, JSON, xlsx and docx renderers all read its CoverageResult."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from . import store as st
from .config import Config, load_config
from .errors import PbtoolError
from .period import PeriodError, check_period

ORG_COVERED = ("单独组建", "联合组建", "挂靠")
ORG_KINDS = ("非公企业", "社会组织")
UNIT_TITLES = {"community": "社区", "estate": "小区", "org": "两新组织", "branch": "党支部"}


class CoverageError(PbtoolError):
    """The period or its lists are missing; Chinese message (exit code 2)."""


@dataclass
class Counts:
    full: int = 0
    probationary: int = 0
    members: int = 0
    with_errors: int = 0

    def add(self, category: str | None, n: int, errors: int) -> None:
        self.members += n
        self.with_errors += errors
        if category == "正式":
            self.full += n
        elif category == "预备":
            self.probationary += n


@dataclass
class Finding:
    rule: str
    title: str
    street: str
    community: str
    target: str
    full_members: int
    probationary: int
    members: int
    members_with_problems: int
    action: str
    status: str = "新增"
    quarters_open: int = 1

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.rule, self.street, self.community, self.target)


@dataclass
class Rate:
    scope: str          # district | street | community
    street: str
    community: str
    kind: str           # 非公企业 | 社会组织 | 合计
    total: int
    org_covered: int
    work_covered: int

    @property
    def org_coverage(self) -> float | None:
        return self.org_covered / self.total if self.total else None

    @property
    def work_coverage(self) -> float | None:
        return self.work_covered / self.total if self.total else None

    def as_dict(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["org_coverage"], d["work_coverage"] = self.org_coverage, self.work_coverage
        return d


@dataclass
class EstateRate:
    street: str         # "" = whole district
    total: int
    with_org: int

    @property
    def coverage(self) -> float | None:
        return self.with_org / self.total if self.total else None

    def as_dict(self) -> dict[str, Any]:
        return {"street": self.street, "total": self.total, "with_org": self.with_org, "coverage": self.coverage}


@dataclass
class PeriodState:
    """What one period's store says: findings and rates, before comparison."""

    period: str
    findings: list[Finding]
    rates: list[Rate]
    estates: list[EstateRate]
    summary: dict[str, Any]
    near_misses: list[dict[str, Any]]


@dataclass
class CoverageResult:
    period: str
    previous_period: str | None
    street: str | None
    findings: list[Finding]
    closed: list[Finding]
    rates: list[Rate]
    estates: list[EstateRate]
    rate_changes: list[dict[str, Any]]
    summary: dict[str, Any]
    near_misses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "previous_period": self.previous_period,
            "street": self.street,
            "findings": [dict(vars(f)) for f in self.findings],   # flat records: vars() is much faster than asdict()
            "closed": [{"rule": f.rule, "title": f.title, "street": f.street, "community": f.community,
                        "target": f.target} for f in self.closed],
            "rates": [r.as_dict() for r in self.rates],
            "estates": [e.as_dict() for e in self.estates],
            "rate_changes": self.rate_changes,
            "summary": self.summary,
            "near_misses": self.near_misses,
        }


# ------------------------------------------------------------------------------------ reading the store


def _period_state(store: st.Store, period: str, config: Config, near_check: bool = True) -> PeriodState:
    # The member counts come from the aggregates every import keeps for its period (store.py,
    # queries.py), summed over categories in SQL: one row per place, employer or branch, never a
    # member row. When every organization rule is about organizations without a Party organization
    # (as shipped), only those organizations and the employers that may be them are read.
    org_rules = [r for r in config.rules["rules"] if r["unit"] == "org"]
    uncovered_only = ORG_COVERED if all(r.get("uncovered") in ("org", "work") for r in org_rules) else None
    by_place = store.member_counts_by_place(period)
    by_employer = store.member_counts_by_employer(period, uncovered_only)
    by_branch = store.member_counts_by_branch(period)
    comms = store.communities_of(period)
    ests = store.estates_of(period)
    orgs = store.orgs_of(period, uncovered_only)
    shared_keys = store.duplicate_org_name_keys(period)

    est_counts: dict[tuple, Counts] = {}
    comm_counts: dict[tuple, Counts] = defaultdict(Counts)
    totals: list[tuple] = []
    for street, community, estate, status, full, prob, n, errs in by_place:
        errs = errs or 0
        totals += [(street, "正式", full, errs), (street, "预备", prob, 0), (street, None, n - full - prob, 0)]
        if status != "ok":
            continue
        if estate:
            est_counts[(street, community, estate)] = Counts(full, prob, n, errs)
        c = comm_counts[(street, community)]
        c.full, c.probationary, c.members, c.with_errors = (c.full + full, c.probationary + prob, c.members + n,
                                                            c.with_errors + errs)
    emp_counts: dict[str, Counts] = defaultdict(Counts)
    uscc_counts: dict[str, Counts] = defaultdict(Counts)
    for key, uscc, full, prob, n, errs in by_employer:
        for target in ((emp_counts[key],) if key else ()) + ((uscc_counts[uscc],) if uscc else ()):
            target.full += full
            target.probationary += prob
            target.members += n
            target.with_errors += errs or 0
    branch_counts = {(street, branch): Counts(full, prob, n, errs or 0)
                     for street, branch, full, prob, n, errs in by_branch if branch}

    # units: (street, community, target, counts, has_org, has_work)
    units: dict[str, list[tuple[str, str, str, Counts, bool, bool]]] = {"community": [], "estate": [], "org": [], "branch": []}
    for street, name, party_org in comms:
        if name:
            has = bool(party_org)
            units["community"].append((street, name, name, comm_counts.get((street, name), Counts()), has, has))
    for street, community, name, party_org in ests:
        if name:
            has = bool(party_org)
            units["estate"].append((street, community or "", name,
                                    est_counts.get((street, community, name), Counts()), has, has))
    for row in orgs:
        if not row.name:
            continue
        counts = Counts()
        if row.uscc and row.uscc in uscc_counts:
            counts = uscc_counts[row.uscc]
        elif row.name_key and row.name_key not in shared_keys:
            counts = emp_counts.get(row.name_key, Counts())
        covered = row.org_status in ORG_COVERED
        units["org"].append((row.street, row.community or "", row.name, counts, covered, covered or bool(row.instructor)))
    for (street, branch), counts in branch_counts.items():
        units["branch"].append((street, "", branch, counts, True, True))

    findings = _apply_rules(units, config)
    rates = _rates(store.org_rate_counts(period, ORG_COVERED))
    estates = _estate_rates(ests)
    summary = _summary(totals)
    return PeriodState(period, findings, rates, estates, summary, _near_misses(store, period) if near_check else [])


STATE_VERSION = 1   # bump when the rules' application changes: stored states are then recomputed


def rules_key(config: Config) -> str:
    """Which rules and thresholds a stored state was computed with."""
    text = json.dumps([STATE_VERSION, config.rules, config.thresholds], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _state(store: st.Store, period: str, config: Config) -> PeriodState:
    """The period's findings and rates: stored when first computed (an import of the period drops
    them), so the previous periods, 新增/持续 and quarters_open are look-ups."""
    key = f"{rules_key(config)}|{'*' if store.district is None else store.district}|{store.period_stamp(period)}"
    stored = store.stored_coverage_state(period, key)
    if stored is not None:
        return PeriodState(period, [Finding(**f) for f in stored["findings"]], [Rate(**r) for r in stored["rates"]],
                           [EstateRate(**e) for e in stored["estates"]], stored["summary"], stored["near_misses"])
    state = _period_state(store, period, config)
    store.save_coverage_state(period, key, {
        "findings": [dict(vars(f)) for f in state.findings], "rates": [dict(vars(r)) for r in state.rates],
        "estates": [dict(vars(e)) for e in state.estates], "summary": state.summary,
        "near_misses": state.near_misses})
    return state


def _near_misses(store: st.Store, period: str) -> list[dict[str, Any]]:
    """Employer spellings that almost match a listed organization, as the import recorded them
    (NAME_NEAR_MISS): those members are not counted for the organization until the names agree."""
    return [{"street": s, "employer": emp, "org": org, "members": n}
            for s, emp, org, n in store.near_miss_counts(period)]


def _bound(value: Any, thresholds: dict[str, int]) -> int:
    return thresholds[value] if isinstance(value, str) else int(value)


def _apply_rules(units: dict[str, list], config: Config) -> list[Finding]:
    th = config.thresholds
    findings: list[Finding] = []
    for rule in config.rules["rules"]:
        for street, community, target, cnt, has_org, has_work in units[rule["unit"]]:
            if rule.get("uncovered") == "org" and has_org:
                continue
            if rule.get("uncovered") == "work" and has_work:
                continue
            if "full_at_least" in rule and cnt.full < _bound(rule["full_at_least"], th):
                continue
            if "full_below" in rule and cnt.full >= _bound(rule["full_below"], th):
                continue
            if "members_at_least" in rule and cnt.members < _bound(rule["members_at_least"], th):
                continue
            if "members_above" in rule and cnt.members <= _bound(rule["members_above"], th):
                continue
            action = rule["action"].format(full=cnt.full, members=cnt.members, probationary=cnt.probationary, **th)
            findings.append(Finding(rule["code"], rule["title"], street, community, target, cnt.full,
                                    cnt.probationary, cnt.members, cnt.with_errors, action))
    order = {r["code"]: i for i, r in enumerate(config.rules["rules"])}
    findings.sort(key=lambda f: (f.street, order[f.rule], f.community, f.target))
    return findings


def _rates(groups: list) -> list[Rate]:
    """Rates from (street, community, org type, covered, work covered, organizations) groups."""
    acc: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for street, community, org_type, covered, work, n in groups:
        kinds = ["合计"] + ([org_type] if org_type in ORG_KINDS else [])
        scopes = [("district", "", ""), ("street", street, ""), ("community", street, community or "")]
        for scope in scopes:
            for kind in kinds:
                a = acc[(*scope, kind)]
                a[0] += n
                a[1] += n * covered
                a[2] += n * work
    scope_order = {"district": 0, "street": 1, "community": 2}
    kind_order = {"非公企业": 0, "社会组织": 1, "合计": 2}
    return [Rate(s, street, comm, kind, *v) for (s, street, comm, kind), v in
            sorted(acc.items(), key=lambda kv: (scope_order[kv[0][0]], kv[0][1], kv[0][2], kind_order[kv[0][3]]))]


def _estate_rates(ests: list) -> list[EstateRate]:
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for street, _community, name, party_org in ests:
        if not name:
            continue
        for s in ("", street):
            acc[s][0] += 1
            acc[s][1] += bool(party_org)
    return [EstateRate(s, *v) for s, v in sorted(acc.items())]


def _summary(totals: list) -> dict[str, Any]:
    out = {"members": 0, "full": 0, "probationary": 0, "members_with_errors": 0, "streets": []}
    streets = set()
    for street, cat, n, errs in totals:
        streets.add(street)
        out["members"] += n
        out["members_with_errors"] += errs or 0
        if cat == "正式":
            out["full"] += n
        elif cat == "预备":
            out["probationary"] += n
    out["streets"] = sorted(streets)
    return out


# ------------------------------------------------------------------------------------ comparison


def _rate_changes(cur: PeriodState, prev: PeriodState | None) -> list[dict[str, Any]]:
    def pp(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round((a - b) * 100, 2)

    prev_rates = {(r.scope, r.street, r.kind): r for r in prev.rates} if prev else {}
    prev_est = {e.street: e for e in prev.estates} if prev else {}
    cur_est = {e.street: e for e in cur.estates}
    out = []
    for r in cur.rates:
        if r.scope == "community":
            continue
        p = prev_rates.get((r.scope, r.street, r.kind))
        ce, pe = cur_est.get(r.street), prev_est.get(r.street)
        out.append({
            "scope": r.scope, "street": r.street, "kind": r.kind,
            "org_coverage_pp": pp(r.org_coverage, p.org_coverage if p else None),
            "work_coverage_pp": pp(r.work_coverage, p.work_coverage if p else None),
            "estate_coverage_pp": pp(ce.coverage if ce else None, pe.coverage if pe else None) if r.kind == "合计" else None,
        })
    return out


def previous_period(store: st.Store, period: str) -> str | None:
    earlier = [p for p in store.periods() if p < period]
    return earlier[-1] if earlier else None


def _compute_once(db: str | None, period: str, street: str | None = None,
                  config: Config | None = None, district: str | None = None) -> CoverageResult:
    """The period's coverage: of `district` (or pbtool.toml's), or of the whole store (a city) when
    neither names one."""
    try:
        period = check_period(period)
    except PeriodError as exc:
        raise CoverageError(str(exc)) from None
    config = config or load_config()
    store = st.Store.open(db, create=False, district=(district or config.district or "").strip() or None)
    try:
        periods = store.periods()
        if period not in periods:
            have = "、".join(periods) or "无"
            raise CoverageError(f"数据库中没有 {period} 的数据（已有期别：{have}）。请先用 pbtool import 导入该期花名册和资源清单。")
        kinds = store.imported_kinds(period)
        missing = [t for k, t in (("community", "社区清单"), ("estate", "小区清单"), ("org", "两新组织清单"))
                   if k not in kinds]
        if missing:
            raise CoverageError(f"{period} 缺少{'、'.join(missing)}，无法排查空白点。请导入区域化党建资源清单后重试。")
        cur = _state(store, period, config)
        earlier = [p for p in periods if p < period]
        prev = _state(store, earlier[-1], config) if earlier else None
        open_keys = {f.key for f in cur.findings}
        streak = {k: 1 for k in open_keys}
        for p in reversed(earlier):
            state = prev if prev is not None and prev.period == p else _state(store, p, config)
            keys = {f.key for f in state.findings} & open_keys
            if not keys:
                break
            for k in keys:
                streak[k] += 1
            open_keys = keys
        for f in cur.findings:
            f.quarters_open = streak[f.key]
            f.status = "持续" if f.quarters_open > 1 else "新增"
        cur_keys = {f.key for f in cur.findings}
        closed = [f for f in prev.findings if f.key not in cur_keys] if prev else []
        result = CoverageResult(period, prev.period if prev else None, street, cur.findings, closed, cur.rates,
                                cur.estates, _rate_changes(cur, prev), cur.summary, cur.near_misses)
    finally:
        store.close()
    if street:
        if street not in {r.street for r in result.rates} | set(result.summary["streets"]) | {e.street for e in result.estates}:
            raise CoverageError(f"{period} 没有“{street}”的数据。可选街道：{'、'.join(result.summary['streets'])}")
        result.findings = [f for f in result.findings if f.street == street]
        result.closed = [f for f in result.closed if f.street == street]
        result.rates = [r for r in result.rates if r.scope == "district" or r.street == street]
        result.estates = [e for e in result.estates if e.street in ("", street)]
        result.rate_changes = [r for r in result.rate_changes if r["scope"] == "district" or r["street"] == street]
        result.near_misses = [n for n in result.near_misses if n["street"] == street]
    return result


# A consistent snapshot: the figures above come from several queries on several connections. When an
# import commits meanwhile (WAL lets it), the whole computation is repeated (store.read_consistently).
def compute_coverage(db: str | None, period: str, street: str | None = None,
                     config: Config | None = None, district: str | None = None) -> CoverageResult:
    return st.read_consistently(db, lambda: _compute_once(db, period, street, config, district), CoverageError)
