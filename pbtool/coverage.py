"""Stage 6: the declarative rule table (data/rules.toml) applied to a period's store -> findings and
coverage rates, compared with the previous stored period. `compute_coverage()` is the Python API
behind `pbtool coverage`; terminal, JSON, xlsx and docx renderers all read its CoverageResult."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

from . import store as st
from .config import Config, load_config
from .errors import PbtoolError
from .period import PeriodError, check_period
from .present import Rate as RateValue
from .present import pct_text, pp_number, pp_text, ratio

# 已建立: the list says only that there is a Party organization (是否建立党组织 = 是), not how it was formed
ORG_COVERED = ("单独组建", "联合组建", "挂靠", "已建立")
ORG_KINDS = ("非公企业", "社会组织")
UNIT_TITLES = {"community": "社区", "estate": "小区", "org": "两新组织", "branch": "党支部"}


class CoverageError(PbtoolError):
    """The period or its lists are missing; Chinese message (exit code 2)."""


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
    status: str = "新增"      # 新增 | 持续 | 变化 (the place had other problems last period)
    quarters_open: int = 1
    unit: str = ""            # community | estate | org | branch
    place: str = ""           # the place's key: street+community+name, or an org's credit code

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.place)


@dataclass
class Place:
    """One place (community, estate, organization, branch) with all its findings: what every output
    lists, one row per place with one combined action. `status` compares the place, not each rule:
    a place whose problem changed kind is 变化 (neither fixed nor new)."""

    key: str
    unit: str
    street: str
    community: str
    target: str
    findings: list[Finding]
    status: str = "新增"      # 新增 | 持续 | 变化 | 已整改 (closed places)
    change: str = ""          # 由应联合组建转为应单独组建 …
    quarters_open: int = 1

    @property
    def unit_title(self) -> str:
        return UNIT_TITLES.get(self.unit, self.unit)

    @property
    def rules(self) -> list[str]:
        return [f.rule for f in self.findings]

    @property
    def titles(self) -> str:
        return "；".join(f.title for f in self.findings)

    @property
    def action(self) -> str:
        return "".join(f.action for f in self.findings)

    @property
    def full_members(self) -> int:
        return self.findings[0].full_members

    @property
    def probationary(self) -> int:
        return self.findings[0].probationary

    @property
    def members(self) -> int:
        return self.findings[0].members

    @property
    def members_with_problems(self) -> int:
        return self.findings[0].members_with_problems

    @property
    def status_text(self) -> str:
        """新增 | 持续2个季度 | 由应联合组建转为应单独组建 | 已整改."""
        return status_text(self.status, self.change, self.quarters_open)

    def as_dict(self) -> dict[str, Any]:
        return place_dicts([self])[0]


def status_text(status: str, change: str, quarters_open: int) -> str:
    """A place's status as every output writes it."""
    if status == "持续":
        return f"持续{quarters_open}个季度" + (f"，{change}" if change else "")
    if status == "变化":
        return change
    return status


def place_dicts(places: list[Place]) -> list[dict[str, Any]]:
    """Each place as every output's record of it: Place's properties, inlined (this runs once per
    place, 50,000 at city scale; a quarter faster than a method call per place)."""
    out: list[dict[str, Any]] = []
    add = out.append
    titles_of = UNIT_TITLES.get
    for p in places:
        fs = p.findings
        f = fs[0]
        if len(fs) == 1:
            rules, titles, action = [f.rule], f.title, f.action
        else:
            rules, titles, action = p.rules, p.titles, p.action
        status, change, quarters = p.status, p.change, p.quarters_open
        text = status_text(status, change, quarters)
        unit = p.unit
        add({"key": p.key, "unit": unit, "unit_title": titles_of(unit, unit), "street": p.street,
             "community": p.community, "target": p.target, "rules": rules, "titles": titles,
             "full_members": f.full_members, "probationary": f.probationary, "members": f.members,
             "members_with_problems": f.members_with_problems, "status": status, "change": change,
             "status_text": text, "quarters_open": quarters, "action": action})
    return out


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
    def org_coverage(self) -> RateValue:
        return ratio(self.org_covered, self.total)

    @property
    def work_coverage(self) -> RateValue:
        return ratio(self.work_covered, self.total)

    def as_dict(self) -> dict[str, Any]:
        d = dict(vars(self))
        for name in ("org_coverage", "work_coverage"):
            rate = getattr(self, name)
            d[name] = None if rate is None else float(rate)
            d[f"{name}_text"] = pct_text(rate)
        return d


@dataclass
class EstateRate:
    street: str         # "" = whole district
    total: int
    with_org: int

    @property
    def coverage(self) -> RateValue:
        return ratio(self.with_org, self.total)

    def as_dict(self) -> dict[str, Any]:
        c = self.coverage
        return {"street": self.street, "total": self.total, "with_org": self.with_org,
                "coverage": None if c is None else float(c), "coverage_text": pct_text(c)}


def _lookup(obj: Any, attr: str, key: Any) -> dict[Any, Any]:
    """An index of obj.<attr> by key, rebuilt when the list is replaced (a street filter does)."""
    items = getattr(obj, attr)
    cached = obj.__dict__.get(f"_index_{attr}")
    if cached is None or cached[0] is not items or cached[1] != len(items):
        cached = obj.__dict__[f"_index_{attr}"] = (items, len(items), {key(x): x for x in items})
    return cached[2]


@dataclass
class PeriodState:
    """What one period's store says: findings and rates, before comparison. A state read back from
    the store keeps its findings as stored rows (`rows`, the fields of STORED_FIELDS) and makes Finding
    objects only when asked: an earlier period is mostly compared by rule and place, and at city
    scale 50,000 objects nobody lists cost a third of a second."""

    period: str
    _findings: list[Finding] | None
    rates: list[Rate]
    estates: list[EstateRate]
    summary: dict[str, Any]
    near_misses: list[dict[str, Any]]
    rows: list[list[Any]] | None = None
    make: Callable[..., Finding] | None = None
    _places: tuple[dict[str, list[Any]], Callable[[Any], str]] | None = field(default=None, repr=False)

    @property
    def findings(self) -> list[Finding]:
        if self._findings is None:
            assert self.rows is not None and self.make is not None
            make = self.make
            self._findings = [make(*row) for row in self.rows]
        return self._findings

    def figures_only(self) -> "PeriodState":
        """The rates, estates and summary without the findings and name notes (what a view of the
        comparison period shows)."""
        return PeriodState(self.period, [], self.rates, self.estates, self.summary, [])

    def by_place(self) -> tuple[dict[str, list[Any]], Callable[[Any], str]]:
        """Findings (or stored rows, when not made) by place key, places in order of their first
        finding, and how to read an item's rule code (made once: quarters_open and the comparison
        both ask)."""
        if self._places is None:
            if self._findings is None and self.rows is not None:
                self._places = _by_place(self.rows, _PLACE_AT), itemgetter(_RULE_AT)
            else:
                self._places = _by_place(self.findings), attrgetter("rule")
        return self._places

    def finding(self, item: Any) -> Finding:
        if isinstance(item, Finding):
            return item
        assert self.make is not None
        return self.make(*item)

    def rate(self, scope: str, street: str, kind: str = "合计") -> Rate | None:
        return _lookup(self, "rates", lambda r: (r.scope, r.street, r.kind)).get((scope, street, kind))

    def estate(self, street: str) -> EstateRate | None:
        return _lookup(self, "estates", lambda e: e.street).get(street)


@dataclass
class DistrictPart:
    """One district of a city-wide result: the district's own result (rates, places, comparison with
    its previous period), exactly what `pbtool coverage --district` gives for it. The city bulletin
    ranks districts by these, as the district bulletin ranks streets."""

    district: str
    result: "CoverageResult"

    def rate(self, kind: str = "合计") -> Rate | None:
        return self.result.rate("district", "", kind)

    @property
    def estate(self) -> EstateRate | None:
        return self.result.estate("")

    def previous_rate(self, kind: str = "合计") -> Rate | None:
        prev = self.result.previous
        return prev.rate("district", "", kind) if prev else None

    @property
    def previous_estate(self) -> EstateRate | None:
        prev = self.result.previous
        return prev.estate("") if prev else None

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {"district": self.district, "previous_period": r.previous_period, "counts": r.counts(),
                "rates": [x.as_dict() for x in r.rates if x.scope == "district"],
                "estates": [e.as_dict() for e in r.estates if not e.street],
                "rate_changes": [c for c in r.rate_changes if c["scope"] == "district"],
                "summary": {k: v for k, v in r.summary.items() if k not in ("by_street",)}}


@dataclass
class CoverageResult:
    """The one result every output renders. `previous` is the comparison period's state (its rates,
    estates and member summary), so no output computes a period a second time."""

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
    places: list[Place] = field(default_factory=list)
    closed_places: list[Place] = field(default_factory=list)
    previous: PeriodState | None = None
    compare_note: str = ""    # why the comparison period is not the one just before (Chinese), or ""
    # A city-wide result (no district chosen, the period holds two or more named districts): each
    # district's own result, in name order. Empty for one district's result.
    districts: list[DistrictPart] = field(default_factory=list)
    # districts of the period whose own coverage cannot be computed (lists missing): Chinese notes
    district_notes: list[str] = field(default_factory=list)

    @property
    def is_city(self) -> bool:
        return bool(self.districts)

    @property
    def scope_name(self) -> str:
        """How the outputs name the whole area: 全市 for a city-wide result, else 全区."""
        return "全市" if self.is_city else "全区"

    def rate(self, scope: str, street: str, kind: str = "合计") -> Rate | None:
        return _lookup(self, "rates", lambda r: (r.scope, r.street, r.kind)).get((scope, street, kind))

    def estate(self, street: str) -> EstateRate | None:
        return _lookup(self, "estates", lambda e: e.street).get(street)

    def counts(self) -> dict[str, int]:
        """Places and problems, open and closed, as every output states them."""
        return {"places": len(self.places), "problems": len(self.findings),
                "new": sum(1 for p in self.places if p.status == "新增"),
                "persisting": sum(1 for p in self.places if p.status == "持续"),
                "changed": sum(1 for p in self.places if p.status == "变化"),
                "closed": len(self.closed_places)}

    def as_dict(self) -> dict[str, Any]:
        prev = self.previous
        return {
            "period": self.period,
            "previous_period": self.previous_period,
            "compare_note": self.compare_note,
            "street": self.street,
            "counts": self.counts(),
            "places": place_dicts(self.places),
            "closed_places": place_dicts(self.closed_places),
            "findings": [f.__dict__.copy() for f in self.findings],   # flat records: much faster than asdict()
            "closed": [{"rule": f.rule, "title": f.title, "street": f.street, "community": f.community,
                        "target": f.target} for f in self.closed],
            "rates": [r.as_dict() for r in self.rates],
            "estates": [e.as_dict() for e in self.estates],
            "rate_changes": self.rate_changes,
            "summary": self.summary,
            "previous": None if prev is None else {
                "period": prev.period,
                "rates": [r.as_dict() for r in prev.rates
                          if r.scope == "district" or (r.scope == "street" and self.street in (None, r.street))],
                "estates": [e.as_dict() for e in prev.estates if self.street in (None, e.street) or not e.street],
                "summary": prev.summary},
            "near_misses": self.near_misses,
            "is_city": self.is_city,
            "districts": [d.as_dict() for d in self.districts],
            "district_notes": self.district_notes,
        }


# ------------------------------------------------------------------------------------ reading the store


def _period_state(store: st.Store, period: str, config: Config, near_check: bool = True) -> PeriodState:
    # The member counts come from the aggregates every import keeps for its period (store.py,
    # queries.py), never from member rows; the units and the rules are worked by columns (units.py),
    # so only the findings become Python objects.
    from . import units as un

    org_rules = [r for r in config.rules["rules"] if r["unit"] == "org"]
    uncovered_only = all(r.get("uncovered") in ("org", "work") for r in org_rules)
    inputs = store.coverage_inputs(period)
    findings = un.apply_rules(un.period_units(inputs, ORG_COVERED, uncovered_only), config.rules["rules"],
                              config.thresholds, finding_maker(config))
    rates = _rates(un.org_rate_groups(inputs, ORG_COVERED))
    ests = inputs["estates"]
    estates = _estate_rates(zip(*(ests.column(c).to_pylist() for c in ("street", "name")), un.place_has_org(ests).to_pylist()))
    summary = _summary(un.street_totals(inputs), store.duplicate_person_counts(period))
    near = [{"street": s, "employer": emp, "org": org, "members": n}
            for s, emp, org, n in un.near_miss_counts(inputs)] if near_check else []
    del inputs
    un.release_memory()
    return PeriodState(period, findings, rates, estates, summary, near)


STATE_VERSION = 4   # 4: 是否建立党组织 = 是 covers a community or estate; 3: findings stored as rows without what the rules give. Bump when the rules' application changes: stored states are then recomputed


def rules_key(config: Config) -> str:
    """Which rules and thresholds a stored state was computed with."""
    text = json.dumps([STATE_VERSION, config.rules, config.thresholds], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _state(store: st.Store, period: str, config: Config,
           computed: list[tuple[str, str, PeriodState]] | None = None) -> PeriodState:
    """The period's findings and rates: stored when first computed (an import of the period drops
    them), so the previous periods, 新增/持续 and quarters_open are look-ups. A state computed here is
    appended to `computed` and stored by the caller once the whole read proved consistent (storing it
    now would itself count as a change and make the consistent read start again)."""
    scope = ("*" if store.district is None else store.district) + ("+" if store.qualify_streets else "")
    key = f"{rules_key(config)}|{scope}|{store.period_stamp(period)}"
    stored = store.stored_coverage_state(period, key)
    if stored is not None:
        return PeriodState(period, None, [Rate(**r) for r in stored["rates"]],
                           [EstateRate(**e) for e in stored["estates"]], stored["summary"], stored["near_misses"],
                           rows=stored["findings"], make=finding_maker(config))
    state = _period_state(store, period, config)
    if computed is not None:
        computed.append((period, key, state))
    else:
        _save_state(store, period, key, state)
    return state


def _save_state(store: st.Store, period: str, key: str, state: PeriodState) -> None:
    # findings as rows of what the rules cannot give back (finding_maker adds title, unit and action):
    # at 50,000 findings a third of the text, time and memory of one object per finding
    store.save_coverage_state(period, key, {
        "findings": state.rows if state._findings is None else list(map(_stored_row, state.findings)),
        "rates": state.rates, "estates": state.estates,
        "summary": state.summary, "near_misses": state.near_misses})


# a stored finding: these fields, in this order (finding_maker's arguments); the rest the rules give back
STORED_FIELDS = ("rule", "street", "community", "target", "full_members", "probationary", "members",
                 "members_with_problems", "place")
_stored_row = attrgetter(*STORED_FIELDS)
_RULE_AT, _PLACE_AT = STORED_FIELDS.index("rule"), STORED_FIELDS.index("place")


def finding_maker(config: Config) -> Callable[..., Finding]:
    """make(rule code, street, community, target, full, probationary, members, members with problems,
    place) -> Finding, with the rule's title, unit and action text (the action formatted once per rule
    and counts; streets and communities shared): how computed and stored findings are both made."""
    rules = {r["code"]: r for r in config.rules["rules"]}
    th = config.thresholds
    actions: dict[tuple[str, int, int, int], str] = {}
    names: dict[str, str] = {}

    def make(code: str, street: str, community: str, target: str, full: int, prob: int, members: int,
             errs: int, place: str) -> Finding:
        rule = rules[code]
        action = actions.get((code, full, members, prob))
        if action is None:
            action = actions[(code, full, members, prob)] = rule["action"].format(
                full=full, members=members, probationary=prob, **th)
        return Finding(code, rule["title"], names.setdefault(street, street), names.setdefault(community, community),
                       target, full, prob, members, errs, action, "新增", 1, rule["unit"], place)
    return make


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
    for street, name, has_org in ests:
        if not name:
            continue
        for s in ("", street):
            acc[s][0] += 1
            acc[s][1] += has_org
    return [EstateRate(s, *v) for s, v in sorted(acc.items())]


def _summary(totals: list, duplicates: list | None = None) -> dict[str, Any]:
    """Members by street and category. Official figures count a person once: rows the import flagged
    as a repeated person are taken out of the street where they repeat, and said so (duplicates);
    rows of unknown category are their own figure (unknown_category), never silently in a total."""
    def blank() -> dict[str, int]:
        return {"members": 0, "full": 0, "probationary": 0, "unknown_category": 0, "duplicates": 0,
                "member_rows": 0, "members_with_errors": 0}

    by_street: dict[str, dict[str, int]] = defaultdict(blank)
    for street, cat, n, errs in totals:
        d = by_street[street or ""]
        d["member_rows"] += n
        d["members_with_errors"] += errs or 0
        d[{"正式": "full", "预备": "probationary"}.get(cat, "unknown_category")] += n
    for street, cat, n in duplicates or []:
        d = by_street[street or ""]
        d["duplicates"] += n
        d[{"正式": "full", "预备": "probationary"}.get(cat, "unknown_category")] -= n
    out: dict[str, Any] = blank()
    for d in by_street.values():
        d["members"] = d["full"] + d["probationary"] + d["unknown_category"]
        for k, v in d.items():
            out[k] += v
    out["streets"] = sorted(by_street)
    out["by_street"] = {s: by_street[s] for s in sorted(by_street)}
    return out


# ------------------------------------------------------------------------------------ comparison


def _rate_changes(cur: PeriodState, prev: PeriodState | None) -> list[dict[str, Any]]:
    """Changes in percentage points from the exact rates, rounded once (present.percent_1); the
    text beside each number is what every output prints."""
    prev_rates = {(r.scope, r.street, r.kind): r for r in prev.rates} if prev else {}
    prev_est = {e.street: e for e in prev.estates} if prev else {}
    cur_est = {e.street: e for e in cur.estates}
    out = []
    for r in cur.rates:
        if r.scope == "community":
            continue
        p = prev_rates.get((r.scope, r.street, r.kind))
        ce, pe = cur_est.get(r.street), prev_est.get(r.street)
        pairs = {"org_coverage_pp": (r.org_coverage, p.org_coverage if p else None),
                 "work_coverage_pp": (r.work_coverage, p.work_coverage if p else None),
                 "estate_coverage_pp": (ce.coverage if ce else None, pe.coverage if pe else None)
                 if r.kind == "合计" else (None, None)}
        row: dict[str, Any] = {"scope": r.scope, "street": r.street, "kind": r.kind}
        for name, (a, b) in pairs.items():
            row[name] = pp_number(a, b)
            row[f"{name}_text"] = pp_text(a, b)
        out.append(row)
    return out


def _short(f: Finding) -> str:
    """A rule's title without its unit: 两新组织应单独组建 -> 应单独组建."""
    unit = UNIT_TITLES.get(f.unit, "")
    return f.title[len(unit):] if unit and f.title.startswith(unit) and len(f.title) > len(unit) else f.title


def _by_place(findings: list[Any], key_index: int | None = None) -> dict[str, list[Any]]:
    """Findings by place key, places in order of their first finding (stored rows: the key at
    `key_index`)."""
    out: dict[str, list[Any]] = {}
    for f in findings:
        k = f.place if key_index is None else f[key_index]
        fs = out.get(k)
        if fs is None:
            out[k] = [f]
        else:
            fs.append(f)
    return out


def _place(key: str, fs: list[Finding], status: str = "新增") -> Place:
    f = fs[0]
    return Place(key, f.unit, f.street, f.community, f.target, fs, status=status)


def _group(findings: list[Finding]) -> list[Place]:
    return [_place(key, fs) for key, fs in _by_place(findings).items()]


def _quarters_open(places: list[Place], earlier: Iterable[PeriodState]) -> None:
    """quarters_open of each place and finding: 1 + the number of earlier stored periods in a row
    (newest first) in which the place (the finding: its rule at that place) was open too. Worked
    place by place against each period's findings by place: most places have one finding."""
    pending = places
    for p in places:
        p.quarters_open = 1
        for f in p.findings:
            f.quarters_open = 1
    n = 1
    for state in earlier:
        if not pending:
            break
        before, rule_of = state.by_place()
        n += 1
        still = []
        for p in pending:
            old = before.get(p.key)
            if old is None:
                continue
            p.quarters_open = n
            fs = p.findings
            if len(fs) == 1 and len(old) == 1:
                f = fs[0]
                if f.quarters_open == n - 1 and rule_of(old[0]) == f.rule:
                    f.quarters_open = n
            else:
                rules = {rule_of(o) for o in old}
                for f in fs:
                    if f.quarters_open == n - 1 and f.rule in rules:
                        f.quarters_open = n
            still.append(p)
        pending = still


def _compare(cur: list[Place], prev: PeriodState | None) -> list[Place]:
    """Status of each current place against the comparison period's findings; returns the closed
    places (Place objects are made only for those: at city scale nearly every place persists; the
    earlier period's findings are made only for places that changed or closed)."""
    before, rule_of = prev.by_place() if prev is not None else ({}, attrgetter("rule"))
    for p in cur:
        old = before.get(p.key)
        fs = p.findings
        if old is None:
            p.status = "新增"
            for f in fs:
                f.status = "新增"
            continue
        if (rule_of(old[0]) == fs[0].rule) if len(fs) == 1 == len(old) else \
                [rule_of(f) for f in old] == [f.rule for f in fs]:   # the common case: the same problems
            p.status, p.change = "持续", ""
            for f in fs:
                f.status = "持续"
            continue
        assert prev is not None
        old_rules = {rule_of(f): f for f in old}
        cur_rules = {f.rule for f in p.findings}
        gone = [prev.finding(f) for f in old if rule_of(f) not in cur_rules]
        added = [f for f in p.findings if f.rule not in old_rules]
        if added and gone:
            p.status, p.change = "变化", f"由{'、'.join(map(_short, gone))}转为{'、'.join(map(_short, added))}"
        elif added:
            p.status, p.change = "变化", f"新发现{'、'.join(map(_short, added))}"
        else:
            p.status = "持续"
            p.change = f"{'、'.join(map(_short, gone))}已整改" if gone else ""
        for f in p.findings:
            f.status = "持续" if f.rule in old_rules else "变化"
    keys = {p.key for p in cur}
    closed = []
    for key, items in before.items():
        if key not in keys:
            assert prev is not None
            closed.append(_place(key, [prev.finding(f) for f in items], status="已整改"))
    return closed


def previous_period(store: st.Store, period: str) -> str | None:
    earlier = [p for p in store.periods() if p < period]
    return earlier[-1] if earlier else None


def _compute_once(db: str | None, period: str, street: str | None = None, config: Config | None = None,
                  compare_with: str | None = None, district: str | None = None, city: bool = False,
                  computed: list[tuple[str, str, PeriodState]] | None = None) -> CoverageResult:
    """Findings, places and rates of `period`, compared with `compare_with` (default: the stored
    period just before it), of `district` (or pbtool.toml's), or of the whole store (a city) when
    neither names one or `city` is set. quarters_open always counts the stored periods just before.
    A city-wide result of a period with two or more named districts carries each district's own
    result (CoverageResult.districts)."""
    try:
        period = check_period(period)
    except PeriodError as exc:
        raise CoverageError(str(exc)) from None
    config = config or load_config()
    chosen = None if city else (district or config.district or "").strip() or None
    store = st.Store.open(db, create=False, district=chosen)
    try:
        districts = store.districts_of_period(period) if chosen is None and not street else []
        periods = store.periods()
        if not periods and chosen is not None:
            known = [d for d in store.districts_of_store() if d]
            if known and chosen not in known:
                raise CoverageError(f"数据库中没有“{chosen}”的数据。已有的区：{'、'.join(known)}。")
        if period not in periods:
            have = "、".join(periods) or "无"
            raise CoverageError(f"数据库中没有 {period} 的数据（已有期别：{have}）。请先用 pbtool import 导入该期花名册和资源清单。")
        kinds = store.imported_kinds(period)
        missing = [t for k, t in (("community", "社区清单"), ("estate", "小区清单"), ("org", "两新组织清单"))
                   if k not in kinds]
        if missing:
            raise CoverageError(f"{period} 缺少{'、'.join(missing)}，无法排查空白点。请导入区域化党建资源清单后重试。")
        # a city: streets named with their district in every period compared, so that no two
        # districts' streets of the same name are added up (each district's own result is in `districts`)
        is_city = store.qualify_streets = store.is_city(districts)
        cur = _state(store, period, config, computed)
        earlier = [p for p in periods if p < period]
        states: dict[str, PeriodState] = {}

        def state(p: str) -> PeriodState:
            if p not in states:
                states[p] = _state(store, p, config, computed)
            return states[p]

        # quarters open: how many stored periods in a row (ending now) each place and finding has been open
        places = _group(cur.findings)
        _quarters_open(places, (state(p) for p in reversed(earlier)))
        compare = compare_with if compare_with is not None else (earlier[-1] if earlier else None)
        if compare is not None and compare not in periods:
            raise CoverageError(f"数据库中没有 {compare} 的数据，无法与之比较。")
        prev = state(compare) if compare is not None and compare != period else None
    finally:
        store.close()
    closed_places = _compare(places, prev)
    closed = [f for p in closed_places for f in p.findings]
    result = CoverageResult(period, prev.period if prev else None, street, cur.findings, closed, cur.rates,
                            cur.estates, _rate_changes(cur, prev), cur.summary, cur.near_misses, places,
                            closed_places, prev)
    if street:
        if street not in {r.street for r in result.rates} | set(result.summary["streets"]) | {e.street for e in result.estates}:
            raise CoverageError(f"{period} 没有“{street}”的数据。可选街道：{'、'.join(result.summary['streets'])}")
        result.findings = [f for f in result.findings if f.street == street]
        result.closed = [f for f in result.closed if f.street == street]
        result.places = [p for p in result.places if p.street == street]
        result.closed_places = [p for p in result.closed_places if p.street == street]
        result.rates = [r for r in result.rates if r.scope == "district" or r.street == street]
        result.estates = [e for e in result.estates if e.street in ("", street)]
        result.rate_changes = [r for r in result.rate_changes if r["scope"] == "district" or r["street"] == street]
        result.near_misses = [n for n in result.near_misses if n["street"] == street]
    if is_city:
        # each district as `pbtool coverage --district` states it (its own stored state and comparison)
        for d in districts:
            try:
                result.districts.append(DistrictPart(d, _compute_once(db, period, None, config, compare_with, d,
                                                                      computed=computed)))
            except CoverageError as exc:
                result.district_notes.append(f"{d}：{exc}")
    return result


# A consistent snapshot: the figures above come from several queries on several connections. When an
# import commits meanwhile (WAL lets it), the whole computation is repeated (store.read_consistently).
def compute_coverage(db: str | None, period: str, street: str | None = None, config: Config | None = None,
                     compare_with: str | None = None, district: str | None = None,
                     city: bool = False) -> CoverageResult:
    """`city`: the whole store even when pbtool.toml names a district. The states computed are stored
    before this returns. (Storing them in a thread while the result is printed gained nothing: both
    hold the GIL for nearly all their time, and the peak memory grew by 50 MB at city scale.)"""
    computed: list[tuple[str, str, PeriodState]] = []

    def once() -> CoverageResult:
        computed.clear()
        return _compute_once(db, period, street, config, compare_with, district, city, computed)

    result = st.read_consistently(db, once, CoverageError)
    if computed:   # kept for the next run (and the next quarter's comparison) once the read was consistent
        _save_states(db, computed)
    return result


def _save_states(db: str | None, computed: list[tuple[str, str, PeriodState]]) -> None:
    """Best effort: a store that cannot be written computes the state again next time."""
    try:
        store = st.Store.open(db, create=False)   # each state's key names its own district
    except st.StoreError:
        return
    try:
        for p, key, state in computed:
            _save_state(store, p, key, state)
    finally:
        store.close()
