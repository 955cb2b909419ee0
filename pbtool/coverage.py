"""Stage 6: the declarative rule table (data/rules.toml) applied to a period's store -> findings and
coverage rates, compared with the previous stored period. `compute_coverage()` is the Python API
behind `pbtool coverage`; terminal, JSON, xlsx and docx renderers all read its CoverageResult."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import findings as fd
from . import store as st
from .config import Config, load_config
from .errors import PbtoolError
from .period import PeriodError, check_period
from .present import Rate as RateValue
from .present import pct_text, pp_number, pp_text, ratio

# 已建立: the list says only that there is a Party organization (是否建立党组织 = 是), not how it was formed
ORG_COVERED = ("单独组建", "联合组建", "挂靠", "已建立")
ORG_KINDS = ("非公企业", "社会组织")
UNIT_TITLES = fd.UNIT_TITLES


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
    """What one period's store says: findings (as columns, pbtool.findings) and rates, before
    comparison."""

    period: str
    found: fd.Findings
    rates: list[Rate]
    estates: list[EstateRate]
    summary: dict[str, Any]
    near: Any   # the name notes: a table of units.NEAR_MISS_SCHEMA

    @property
    def findings(self) -> list[Finding]:
        return _finding_objects(self.found)

    def figures_only(self) -> "PeriodState":
        """The rates, estates and summary without the findings and name notes (what a view of the
        comparison period shows)."""
        return PeriodState(self.period, fd.Findings(fd.empty_table(), self.found.text), self.rates, self.estates,
                           self.summary, self.near.slice(0, 0))

    def rate(self, scope: str, street: str, kind: str = "合计") -> Rate | None:
        return _lookup(self, "rates", lambda r: (r.scope, r.street, r.kind)).get((scope, street, kind))

    def estate(self, street: str) -> EstateRate | None:
        return _lookup(self, "estates", lambda e: e.street).get(street)


def _finding_objects(fs: fd.Findings, own_status: bool = True) -> list[Finding]:
    """Every finding of `fs` as a Finding (made once per Findings: places and lists share them)."""
    key = "objects" if own_status else "objects_closed"
    objs = fs._cache.get(key)
    if objs is None:
        c = {k: v.to_pylist() for k, v in fd.finding_columns(fs, np.arange(fs.n), own_status).items()}
        names: dict[str, str] = {}
        share = names.setdefault
        objs = fs._cache[key] = [
            Finding(rule, title, share(street, street), share(comm, comm), target, full, prob, members, errs,
                    action, status, q, unit, place)
            for rule, title, street, comm, target, full, prob, members, errs, action, status, q, unit, place
            in zip(*(c[n] for n in fd.FINDING_FIELDS))]
    return objs


def _place_objects(view: fd.PlaceView) -> list[Place]:
    fs = view.fs
    objs = _finding_objects(fs, own_status=not view.closed)
    c = {k: v.to_pylist() for k, v in view.columns().items()
         if k in ("key", "unit", "street", "community", "target", "status", "change", "quarters_open")}
    order, off = fs.order.tolist(), fs.offsets.tolist()
    return [Place(key, unit, street, comm, target, [objs[j] for j in order[off[i]:off[i + 1]]], status, change, q)
            for i, key, unit, street, comm, target, status, change, q in
            zip(view.sel.tolist(), c["key"], c["unit"], c["street"], c["community"], c["target"], c["status"],
                c["change"], c["quarters_open"])]


@dataclass
class Columns:
    """The findings and places of a CoverageResult as columns: the period's findings (`cur`; listed:
    `listed`, indices), its open places, and the closed places of the comparison period."""

    cur: fd.Findings
    listed: np.ndarray
    open: fd.PlaceView
    closed: fd.PlaceView
    near: Any   # the name notes (units.NEAR_MISS_SCHEMA)

    def closed_findings(self) -> np.ndarray:
        """The closed places' findings (indices into the comparison period's), grouped by place."""
        return self.closed.fs.findings_of(self.closed.sel)

    def for_street(self, street: str) -> "Columns":
        listed = self.listed[self.cur.finding_streets()[self.listed] == street] if len(self.listed) else self.listed
        near = self.near.filter(fd.pc.fill_null(fd.pc.equal(self.near.column("street"), street), False))
        return Columns(self.cur, listed, self.open.where(self.open.streets() == street),
                       self.closed.where(self.closed.streets() == street), near)


class _Lazy:
    """A CoverageResult list (findings, closed, places, closed_places, near_misses) made from its columns
    when first read. Set to a list, that list is what the outputs render (a view of some places, the
    terminal's)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, f"_{name}"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return None   # the dataclass field's default
        value = obj.__dict__.get(self.slot)
        if value is None:
            value = obj.__dict__[self.slot] = obj._made(self.name)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value
        if value is not None:
            obj.__dict__["_explicit"] = obj.__dict__.get("_explicit", frozenset()) | {self.name}


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
    estates and member summary), so no output computes a period a second time. The findings and
    places are kept as columns (`columns`); `findings`, `closed`, `places` and `closed_places` are
    made from them when first read, and the JSON record is written from the columns themselves."""

    period: str
    previous_period: str | None
    street: str | None
    rates: list[Rate]
    estates: list[EstateRate]
    rate_changes: list[dict[str, Any]]
    summary: dict[str, Any]
    previous: PeriodState | None = None
    compare_note: str = ""    # why the comparison period is not the one just before (Chinese), or ""
    # A city-wide result (no district chosen, the period holds two or more named districts): each
    # district's own result, in name order. Empty for one district's result.
    districts: list[DistrictPart] = field(default_factory=list)
    # districts of the period whose own coverage cannot be computed (lists missing): Chinese notes
    district_notes: list[str] = field(default_factory=list)
    columns: Columns | None = field(default=None, repr=False)
    findings: list[Finding] = _Lazy()           # type: ignore[assignment]
    closed: list[Finding] = _Lazy()             # type: ignore[assignment]
    places: list[Place] = _Lazy()               # type: ignore[assignment]
    closed_places: list[Place] = _Lazy()        # type: ignore[assignment]
    near_misses: list[dict[str, Any]] = _Lazy()   # type: ignore[assignment]

    def _made(self, name: str) -> list[Any]:
        c = self.columns
        if c is None:
            return []
        if name == "findings":
            objs = _finding_objects(c.cur)
            return [objs[i] for i in c.listed.tolist()]
        if name == "near_misses":
            return c.near.to_pylist()
        if name == "closed":
            objs = _finding_objects(c.closed.fs, own_status=False)
            return [objs[i] for i in c.closed_findings().tolist()]
        return _place_objects(c.open if name == "places" else c.closed)

    def _from_columns(self) -> bool:
        """Render from the columns: no list was set in their place."""
        return self.columns is not None and not self.__dict__.get("_explicit")

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
        if self._from_columns():
            assert self.columns is not None
            codes = self.columns.open.status_codes()
            return {"places": len(codes), "problems": len(self.columns.listed),
                    "new": int((codes == fd.NEW).sum()), "persisting": int((codes == fd.PERSISTING).sum()),
                    "changed": int((codes == fd.CHANGED).sum()), "closed": len(self.columns.closed)}
        return {"places": len(self.places), "problems": len(self.findings),
                "new": sum(1 for p in self.places if p.status == "新增"),
                "persisting": sum(1 for p in self.places if p.status == "持续"),
                "changed": sum(1 for p in self.places if p.status == "变化"),
                "closed": len(self.closed_places)}

    def _records(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """places, closed places, findings and closed findings as the JSON records them."""
        if self._from_columns():
            c = self.columns
            assert c is not None
            return (fd.place_records(c.open), fd.place_records(c.closed), fd.finding_records(c.cur, c.listed),
                    fd.finding_records(c.closed.fs, c.closed_findings(), fd.CLOSED_FIELDS, own_status=False))
        return (place_dicts(self.places), place_dicts(self.closed_places),
                [f.__dict__.copy() for f in self.findings],   # flat records: much faster than asdict()
                [{k: getattr(f, k) for k in fd.CLOSED_FIELDS} for f in self.closed])

    def as_dict(self) -> dict[str, Any]:
        return self._dict(*self._records())

    def json_data(self) -> dict[str, Any]:
        """as_dict() for JSON output (outputs.jsonout): the long lists of places, findings and name
        notes already JSON (findings.JsonArray, written from the columns: byte for byte what orjson
        writes for as_dict()'s lists)."""
        c = self.columns
        if not self._from_columns() or c is None:
            return self.as_dict()
        from .background import Background

        near = c.near
        c.cur.prepare()   # the texts both threads read, made once
        # two threads: Arrow's string kernels, most of this work, run without the GIL
        other = Background(lambda: (fd.finding_json(c.cur, c.listed), fd.place_json(c.closed),
                                    fd.finding_json(c.closed.fs, c.closed_findings(), fd.CLOSED_FIELDS, own_status=False),
                                    fd.json_array({n: near.column(n) for n in near.column_names}, tuple(near.column_names))),
                           name="pbtool-json")
        places = fd.place_json(c.open)
        findings, closed_places, closed, near_json = other.result()
        return self._dict(places, closed_places, findings, closed, near_json)

    def _dict(self, places: Any, closed_places: Any, findings: Any, closed: Any, near: Any = None) -> dict[str, Any]:
        prev = self.previous
        return {
            "period": self.period,
            "previous_period": self.previous_period,
            "compare_note": self.compare_note,
            "street": self.street,
            "counts": self.counts(),
            "places": places,
            "closed_places": closed_places,
            "findings": findings,
            "closed": closed,
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
            "near_misses": self.near_misses if near is None else near,
            "is_city": self.is_city,
            "districts": [d.as_dict() for d in self.districts],
            "district_notes": self.district_notes,
        }


# ------------------------------------------------------------------------------------ reading the store


def _period_state(store: st.Store, period: str, config: Config, near_check: bool = True) -> PeriodState:
    # The member counts come from the aggregates every import keeps for its period (store.py,
    # queries.py), never from member rows; the units and the rules are worked by columns (units.py),
    # and the findings stay columns (pbtool.findings).
    from . import units as un

    org_rules = [r for r in config.rules["rules"] if r["unit"] == "org"]
    uncovered_only = all(r.get("uncovered") in ("org", "work") for r in org_rules)
    inputs = store.coverage_inputs(period)
    found = un.apply_rules(un.period_units(inputs, ORG_COVERED, uncovered_only), config.rules["rules"],
                           config.thresholds)
    rates = _rates(un.org_rate_groups(inputs, ORG_COVERED))
    estates = _estate_rates(un.estate_counts(inputs))
    summary = _summary(un.street_totals(inputs), store.duplicate_person_counts(period))
    near = un.near_miss_counts(inputs) if near_check else un.NEAR_MISS_SCHEMA.empty_table()
    del inputs
    un.release_memory()
    return PeriodState(period, fd.Findings(found, rule_text(config)), rates, estates, summary, near)


STATE_VERSION = 6   # 6: name notes kept as Arrow IPC too; 5: findings kept as Arrow IPC; 4: 是否建立党组织 = 是 covers a community or estate. Bump when the rules' application changes: stored states are then recomputed


def rules_key(config: Config) -> str:
    """Which rules and thresholds a stored state was computed with."""
    text = json.dumps([STATE_VERSION, config.rules, config.thresholds], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def rule_text(config: Config) -> fd.RuleText:
    """What the rules give each finding (title, unit, action), made once per configuration."""
    cached = config.__dict__.get("_rule_text")
    if cached is None:
        cached = config.__dict__["_rule_text"] = fd.RuleText(config.rules["rules"], config.thresholds)
    return cached


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
        return PeriodState(period, fd.Findings(fd.from_text(stored["findings"]), rule_text(config)),
                           [Rate(**r) for r in stored["rates"]], [EstateRate(**e) for e in stored["estates"]],
                           stored["summary"], fd.from_text(stored["near"]))
    state = _period_state(store, period, config)
    if computed is not None:
        computed.append((period, key, state))
    else:
        _save_state(store, period, key, state)
    return state


def _save_state(store: st.Store, period: str, key: str, state: PeriodState) -> None:
    # the findings as compressed Arrow IPC of what the rules cannot give back (title, unit and action
    # come from the rules when read)
    store.save_coverage_state(period, key, {
        "findings": fd.to_text(state.found.table), "rates": state.rates, "estates": state.estates,
        "summary": state.summary, "near": fd.to_text(state.near)})


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


def _estate_rates(counts: list) -> list[EstateRate]:
    """Per street (and "" for the whole area) from (street, estates, estates with an organization)."""
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for street, n, with_org in counts:
        for s in ("", street):
            acc[s][0] += n
            acc[s][1] += with_org
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
        fd.count_quarters(cur.found, (state(p).found for p in reversed(earlier)))
        compare = compare_with if compare_with is not None else (earlier[-1] if earlier else None)
        if compare is not None and compare not in periods:
            raise CoverageError(f"数据库中没有 {compare} 的数据，无法与之比较。")
        prev = state(compare) if compare is not None and compare != period else None
    finally:
        store.close()
    closed = fd.compare(cur.found, prev.found if prev else None)
    found = cur.found
    columns = Columns(found, np.arange(found.n), fd.PlaceView(found, np.arange(found.m)),
                      fd.PlaceView(prev.found if prev else fd.Findings(fd.empty_table(), found.text), closed,
                                   closed=True), cur.near)
    result = CoverageResult(period, prev.period if prev else None, street, cur.rates, cur.estates,
                            _rate_changes(cur, prev), cur.summary, prev, columns=columns)
    if street:
        if street not in {r.street for r in result.rates} | set(result.summary["streets"]) | {e.street for e in result.estates}:
            raise CoverageError(f"{period} 没有“{street}”的数据。可选街道：{'、'.join(result.summary['streets'])}")
        result.columns = columns.for_street(street)
        result.rates = [r for r in result.rates if r.scope == "district" or r.street == street]
        result.estates = [e for e in result.estates if e.street in ("", street)]
        result.rate_changes = [r for r in result.rate_changes if r["scope"] == "district" or r["street"] == street]
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
    before this returns. (Storing them in a thread while the result is printed gained nothing, measured
    twice: when states were JSON, both held the GIL; as Arrow IPC, 1.66-1.74 s either way at city scale,
    with 15 MB more memory.)"""
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
