"""Figures the documents quote that the coverage result does not carry, asked of the store's named
queries (queries.py): members, Party organizations by type, 双报到, 共建协议/项目, new
organizations. A figure the store cannot give is None, never a guess."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .. import store as st
from ..clean import org_key
from ..coverage import ORG_COVERED

REPORTED_YES = ("是", "已报到", "已双报到")
# Suffix -> Party organization type, longest suffix first (联合党支部 before 党支部).
ORG_SUFFIXES = (("联合党支部", "joint_branches"), ("党总支", "general_branches"), ("党支部", "branches"),
                ("党委", "committees"))
ORG_TYPE_KEYS = ("committees", "general_branches", "branches", "joint_branches", "other")


@dataclass
class StreetFigures:
    """One street's figures for the year-end summary; None = the store does not have it."""

    members: int = 0
    full: int = 0
    probationary: int = 0
    dual_report: int | None = None
    party_orgs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORG_TYPE_KEYS, 0))
    community_orgs: int | None = None
    estate_orgs: int | None = None
    communities: int | None = None
    estates: int | None = None
    agreements: int | None = None
    projects: int | None = None

    @property
    def party_orgs_total(self) -> int:
        return sum(self.party_orgs.values())


@dataclass
class PeriodFigures:
    period: str
    streets: dict[str, StreetFigures]
    has: dict[str, bool]   # which lists/columns the store holds for the period

    def total(self, attr: str) -> int | None:
        """District total of a street figure; None when no street has it."""
        values = [getattr(s, attr) for s in self.streets.values()]
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    def party_orgs_total(self, key: str | None = None) -> int:
        if key is None:
            return sum(s.party_orgs_total for s in self.streets.values())
        return sum(s.party_orgs[key] for s in self.streets.values())


def classify_org(name: str) -> str:
    """A Party organization's type from its name's suffix (临时党支部 is a 党支部)."""
    for suffix, key in ORG_SUFFIXES:
        if name.endswith(suffix):
            return key
    return "other"


def _street(s: str | None) -> str:
    return s or ""


def _members(store: st.Store, period: str, out: dict[str, StreetFigures]) -> None:
    for street, cat, n in store.member_counts_by_street(period):
        n = int(n or 0)
        f = out.setdefault(_street(street), StreetFigures())
        f.members += n
        if cat == "正式":
            f.full += n
        elif cat == "预备":
            f.probationary += n


def _dual_report(store: st.Store, period: str, out: dict[str, StreetFigures]) -> bool:
    """双报到 counts per street; False when no roster of the period has the column at all."""
    any_column = False
    for street, n_yes, n_known in store.dual_report_counts(period, REPORTED_YES):
        if n_known:
            any_column = True
            out.setdefault(_street(street), StreetFigures()).dual_report = int(n_yes or 0)
    return any_column


def _party_orgs(store: st.Store, period: str, out: dict[str, StreetFigures]) -> None:
    """Distinct Party organization names per street: members' branches, community and estate
    organizations from the lists, counted once each even when a list and the roster both name it."""
    names: dict[str, dict[str, str]] = defaultdict(dict)   # street -> key -> name
    for street, name in store.party_org_names(period):
        if name and name.strip():
            names[_street(street)].setdefault(org_key(name), name.strip())
    for street, by_key in names.items():
        f = out.setdefault(street, StreetFigures())
        for name in by_key.values():
            f.party_orgs[classify_org(name)] += 1


def _places(store: st.Store, period: str, out: dict[str, StreetFigures]) -> tuple[bool, bool]:
    by_community, by_estate = store.place_counts(period)
    has_c = has_e = False
    for street, n, n_org in by_community:
        has_c = True
        f = out.setdefault(_street(street), StreetFigures())
        f.communities, f.community_orgs = n, int(n_org or 0)
    for street, n, n_org in by_estate:
        has_e = True
        f = out.setdefault(_street(street), StreetFigures())
        f.estates, f.estate_orgs = n, int(n_org or 0)
    return has_c, has_e


def _units(store: st.Store, period: str, out: dict[str, StreetFigures]) -> tuple[bool, bool]:
    """共建协议 (units with a signed agreement) and 共建项目 (sum) per street."""
    has_agreement = has_projects = False
    for street, _n, n_signed, n_known, projects, n_projects in store.unit_counts(period):
        f = out.setdefault(_street(street), StreetFigures())
        if n_known:
            has_agreement = True
            f.agreements = int(n_signed or 0)
        if n_projects:
            has_projects = True
            f.projects = int(projects or 0)
    return has_agreement, has_projects


def period_figures(store: st.Store, period: str) -> PeriodFigures:
    out: dict[str, StreetFigures] = {}
    _members(store, period, out)
    has_dual = _dual_report(store, period, out)
    _party_orgs(store, period, out)
    has_c, has_e = _places(store, period, out)
    has_agreement, has_projects = _units(store, period, out)
    has = {"roster": any(f.members for f in out.values()), "dual_report": has_dual, "communities": has_c,
           "estates": has_e, "agreements": has_agreement, "projects": has_projects,
           "orgs": store.count("org", period) > 0}
    return PeriodFigures(period, dict(sorted(out.items())), has)


def _covered_orgs(store: st.Store, period: str) -> dict[str, dict[str, Any]]:
    return {r["name_key"]: r for r in store.org_statuses(period) if r["name_key"]}


def new_organizations(store: st.Store, period: str, previous: str) -> list[dict[str, Any]]:
    """Two-new organizations covered in `period` that were uncovered or absent in `previous`
    (compared by normalized name), i.e. Party organizations set up in between."""
    cur = _covered_orgs(store, period)
    prev = _covered_orgs(store, previous)
    out = []
    for key, row in cur.items():
        if row["org_status"] not in ORG_COVERED:
            continue
        before = prev.get(key)
        if before is None or before["org_status"] not in ORG_COVERED:
            out.append({"street": _street(row["street"]), "name": row["name"], "org_type": row["org_type"] or "",
                        "org_status": row["org_status"]})
    out.sort(key=lambda r: (r["street"], r["name"]))
    return out
