"""A period's units (communities, estates, two-new organizations, branches) with their member counts,
and the rule table (data/rules.toml) applied to them, by columns: pyarrow group-bys, look-ups and
masks over the tables the store gives (`Store.coverage_inputs`), so that at city scale (100,000
organizations, 20,000 estates, 40,000 branches) no Python object is made per unit, only per finding.

The semantics are those of the row-by-row version this replaces (coverage.py before issue 11's
speed-up): a unit's counts are looked up by its exact key (a NULL key part matches only NULL, never
''); an organization is counted by its credit code when members name it, else by its name key unless
two listed organizations share that key; findings are ordered by street, rule, community, target and
then the order of the lists."""
from __future__ import annotations

from typing import Any

import numpy as np

from .arrow import int_array, pa, pc, whole

NULL = "\x00"   # stands for NULL in composite keys (control characters never reach the store)
SEP = "\x1f"
COUNT_COLS = ("full", "probationary", "members", "with_errors")


def _truthy(col: Any) -> Any:
    """Python's bool() of a text column: not NULL and not ''."""
    return pc.fill_null(pc.not_equal(col, ""), False)


def _key(*cols: Any) -> Any:
    return pc.binary_join_element_wise(*(pc.fill_null(c, NULL) for c in cols), SEP)


def _with_counts(table: Any) -> Any:
    """Aggregate rows (…, category, members, with_errors) -> full / probationary columns added."""
    n = table.column("members")
    zero = pa.scalar(0, pa.int64())
    full = pc.if_else(pc.fill_null(pc.equal(table.column("category"), "正式"), False), n, zero)
    prob = pc.if_else(pc.fill_null(pc.equal(table.column("category"), "预备"), False), n, zero)
    return table.append_column("full", full).append_column("probationary", prob)


def group_sums(table: Any, keys: list[str], sums: tuple[str, ...] = ()) -> Any:
    """Rows grouped by `keys` (a NULL is its own group), the groups in the order of their first row:
    the key columns, the sum of each column of `sums` (named as it) and the number of rows (`rows`).
    By numpy on the keys' dictionary codes: pyarrow's group_by runs Acero, whose first call in a
    process took 0.1 s, a twentieth of a city's coverage run."""
    n = table.num_rows
    code = np.zeros(n, np.int64)
    size = 1
    for k in keys:
        enc = pc.dictionary_encode(whole(table.column(k)), null_encoding="encode")
        m = max(len(enc.dictionary), 1)
        if size * m >= 1 << 62:   # the combined code would overflow: number the groups so far densely
            code = np.unique(code, return_inverse=True)[1].astype(np.int64).reshape(-1)
            size = int(code.max()) + 1 if n else 1
        code = code * m + enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        size *= m
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")                # groups by their first row
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = rank[inverse.reshape(-1)]
    g = len(order)
    out = {k: whole(table.column(k)).take(int_array(first[order])) for k in keys}
    for c in sums:
        weights = pc.fill_null(whole(table.column(c)), 0).to_numpy(zero_copy_only=False)
        out[c] = int_array(np.bincount(group, weights=weights, minlength=g).astype(np.int64))
    out["rows"] = int_array(np.bincount(group, minlength=g).astype(np.int64))
    return pa.table(out)


def _summed(table: Any, keys: list[str]) -> Any:
    """Group by `keys` (a NULL is its own group) and sum the four counts."""
    return group_sums(table, keys, COUNT_COLS).drop_columns(["rows"])


def _lookup(keys: Any, table: Any, table_keys: Any) -> dict[str, Any]:
    """The counts of `table` at the row whose key equals each of `keys` (0 where none)."""
    idx = pc.index_in(keys, value_set=table_keys)
    return {c: pc.fill_null(pc.take(table.column(c), idx), 0) for c in COUNT_COLS} | {"_found": pc.is_valid(idx)}


def _units(street: Any, community: Any, target: Any, counts: dict[str, Any], has_org: Any, has_work: Any,
           place: Any) -> Any:
    return pa.table({"street": street, "community": community, "target": target,
                     **{c: counts[c] for c in COUNT_COLS}, "has_org": has_org, "has_work": has_work, "place": place})


def org_coverage(orgs: Any, covered: tuple[str, ...]) -> tuple[Any, Any]:
    """Per organization: organizational coverage (its status is one of `covered`) and work coverage
    (that, or an instructor named or assigned)."""
    is_covered = pc.fill_null(pc.is_in(orgs.column("org_status"), value_set=pa.array(covered, pa.string())), False)
    work = pc.or_(pc.or_(is_covered, _truthy(orgs.column("instructor"))),
                  pc.fill_null(orgs.column("instructor_assigned"), False))
    return is_covered, work


def place_has_org(places: Any) -> Any:
    """Per community or estate: a Party organization named, or one said to exist (是否建立党组织 = 是)."""
    return pc.or_(_truthy(places.column("party_org")), pc.fill_null(places.column("org_built"), False))


def period_units(inputs: dict[str, Any], covered: tuple[str, ...], uncovered_only: bool) -> dict[str, Any]:
    """The units of each kind as tables (street, community, target, full, probationary, members,
    with_errors, has_org, has_work, place), in list order; with `uncovered_only`, organizations with a
    Party organization are left out (no rule of the table is about them)."""
    places = _with_counts(inputs["places"])
    ok = places.filter(pc.fill_null(pc.equal(places.column("place_status"), "ok"), False))
    est = _summed(ok.filter(_truthy(ok.column("estate"))), ["street", "community", "estate"])
    est_keys = _key(est.column("street"), est.column("community"), est.column("estate"))
    comm = _summed(ok, ["street", "community"])
    comm_keys = _key(comm.column("street"), comm.column("community"))
    units: dict[str, Any] = {}

    c = inputs["communities"]
    c = c.filter(_truthy(c.column("name")))
    has = place_has_org(c)
    units["community"] = _units(c.column("street"), c.column("name"), c.column("name"),
                                _lookup(_key(c.column("street"), c.column("name")), comm, comm_keys), has, has,
                                pc.binary_join_element_wise("community", c.column("street"), c.column("name"), "|"))

    e = inputs["estates"]
    e = e.filter(_truthy(e.column("name")))
    has = place_has_org(e)
    community = pc.fill_null(e.column("community"), "")
    counts = _lookup(_key(e.column("street"), e.column("community"), e.column("name")), est, est_keys)
    blank = pc.invert(_truthy(community))
    if pc.any(blank).as_py():
        # An estate listed without its community: its residents keep the community their rows name, so
        # besides the rows stored with a blank community (as before) it counts, by street and estate
        # name, those with a community that no same-named estate of the list is in.
        named = e.filter(pc.invert(blank))
        listed = _key(named.column("street"), named.column("community"), named.column("name"))
        loose_rows = est.filter(pc.and_(_truthy(est.column("community")),
                                        pc.invert(pc.is_in(est_keys, value_set=listed))))
        by_name = _summed(loose_rows, ["street", "estate"])
        loose = _lookup(_key(e.column("street"), e.column("name")), by_name,
                        _key(by_name.column("street"), by_name.column("estate")))
        counts = {c: pc.if_else(blank, pc.add(counts[c], loose[c]), counts[c]) if c in COUNT_COLS else counts[c]
                  for c in counts}
    units["estate"] = _units(e.column("street"), community, e.column("name"), counts,
                             has, has, pc.binary_join_element_wise("estate", e.column("street"), community,
                                                                   e.column("name"), "|"))

    orgs = inputs["orgs"]
    named = pc.fill_null(pc.is_valid(orgs.column("name_key")), False)
    key_counts = pc.value_counts(orgs.column("name_key").filter(named))
    shared = key_counts.field("values").filter(pc.greater(key_counts.field("counts"), 1))
    is_covered, work = org_coverage(orgs, covered)
    keep = pc.or_(_truthy(orgs.column("name")), _truthy(orgs.column("uscc")))
    if uncovered_only:
        keep = pc.and_(keep, pc.invert(is_covered))
    o = orgs.filter(keep)
    is_covered, has_work = is_covered.filter(keep), work.filter(keep)
    emp = _with_counts(inputs["employers"])
    by_uscc = _summed(emp.filter(_truthy(emp.column("employer_uscc"))), ["employer_uscc"])
    by_key = _summed(emp.filter(_truthy(emp.column("employer_key"))), ["employer_key"])
    uscc, name_key = o.column("uscc"), o.column("name_key")
    u = _lookup(uscc, by_uscc, by_uscc.column("employer_uscc"))
    k = _lookup(name_key, by_key, by_key.column("employer_key"))
    use_uscc = pc.and_(_truthy(uscc), u["_found"])
    use_key = pc.and_(pc.invert(use_uscc),
                      pc.and_(_truthy(name_key), pc.invert(pc.fill_null(pc.is_in(name_key, value_set=shared), False))))
    zero = pa.scalar(0, pa.int64())
    counts = {col: pc.if_else(use_uscc, u[col], pc.if_else(use_key, k[col], zero)) for col in COUNT_COLS}
    has_uscc = _truthy(uscc)
    name = o.column("name")
    target = pc.if_else(_truthy(name), name,
                        pc.binary_join_element_wise("单位名称未填（统一社会信用代码", pc.fill_null(uscc, ""), "）", ""))
    # an organization's place is keyed by its credit code when it has one, so that a renamed (or blank)
    # name keeps the place; a blank name is shown as 单位名称未填（统一社会信用代码…）
    by_name = pc.if_else(_truthy(name_key), name_key, name)
    place = pc.if_else(has_uscc, pc.binary_join_element_wise("org", uscc, "|"),
                       pc.binary_join_element_wise("org", o.column("street"), by_name, "|"))
    units["org"] = _units(o.column("street"), pc.fill_null(o.column("community"), ""), target, counts,
                          is_covered, has_work, place)

    b = _with_counts(inputs["branches"])
    b = _summed(b.filter(_truthy(b.column("branch"))), ["street", "branch"])
    true = pa.array([True] * b.num_rows, pa.bool_())
    units["branch"] = _units(b.column("street"), pa.array([""] * b.num_rows, pa.string()), b.column("branch"),
                             {col: b.column(col) for col in COUNT_COLS}, true, true,
                             pc.binary_join_element_wise("branch", b.column("street"), b.column("branch"), "|"))
    return units


def _bound(value: Any, thresholds: dict[str, int]) -> int:
    return thresholds[value] if isinstance(value, str) else int(value)


def apply_rules(units: dict[str, Any], rules: list[dict[str, Any]], thresholds: dict[str, int]) -> Any:
    """The findings as a table of pbtool.findings.STORED's columns (rule code, street, community,
    target, full members, probationary, members, members with problems, place), ordered by street,
    rule, community, target and list order. Each rule is a mask over its unit's table."""
    from .findings import SCHEMA, empty_table

    parts = []
    for order, rule in enumerate(rules):
        t = units[rule["unit"]]
        mask = pa.array([True] * t.num_rows, pa.bool_())
        if rule.get("uncovered") == "org":
            mask = pc.and_(mask, pc.invert(t.column("has_org")))
        if rule.get("uncovered") == "work":
            mask = pc.and_(mask, pc.invert(t.column("has_work")))
        for name, col, op in (("full_at_least", "full", pc.greater_equal), ("full_below", "full", pc.less),
                              ("members_at_least", "members", pc.greater_equal),
                              ("members_above", "members", pc.greater)):
            if name in rule:
                mask = pc.and_(mask, op(t.column(col), _bound(rule[name], thresholds)))
        hit = t.filter(mask)
        parts.append(hit.append_column("order", pa.array([order] * hit.num_rows, pa.int32()))
                     .append_column("seq", pa.array(range(hit.num_rows), pa.int64())))
    if not parts:
        return empty_table()
    found = pa.concat_tables(parts)
    found = found.take(pc.sort_indices(found, [("street", "ascending"), ("order", "ascending"),
                                               ("community", "ascending"), ("target", "ascending"),
                                               ("seq", "ascending")]))
    codes = pa.array([rule["code"] for rule in rules], pa.string())
    cols = [codes.take(found.column("order"))] + [
        pc.cast(found.column(name), f.type) for name, f in
        zip(("street", "community", "target", "full", "probationary", "members", "with_errors", "place"),
                               list(SCHEMA)[1:])]
    return pa.Table.from_arrays(cols, schema=SCHEMA)


def estate_counts(inputs: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(street, listed estates with a name, of them with a Party organization) per street."""
    e = inputs["estates"]
    e = e.filter(_truthy(e.column("name")))
    t = pa.table({"street": e.column("street"), "with_org": pc.cast(place_has_org(e), pa.int64())})
    g = group_sums(t, ["street"], ("with_org",))
    return list(zip(*(g.column(c).to_pylist() for c in ("street", "rows", "with_org"))))


def street_totals(inputs: dict[str, Any]) -> list[tuple[str, str | None, int, int]]:
    """(street, category, members, members with errors) of every member row of the period."""
    g = group_sums(inputs["places"], ["street", "category"], ("members", "with_errors"))
    return list(zip(*(g.column(c).to_pylist() for c in ("street", "category", "members", "with_errors"))))


def org_rate_groups(inputs: dict[str, Any], covered: tuple[str, ...]) -> list[tuple]:
    """(street, community, org type, organizationally covered, work covered, organizations) of the
    listed organizations (named, or known by credit code when the name was left blank)."""
    o = inputs["orgs"]
    o = o.filter(pc.or_(_truthy(o.column("name")), _truthy(o.column("uscc"))))
    is_covered, work = org_coverage(o, covered)
    t = pa.table({"street": o.column("street"), "community": o.column("community"), "org_type": o.column("org_type"),
                  "covered": pc.cast(is_covered, pa.int64()), "work": pc.cast(work, pa.int64())})
    g = group_sums(t, ["street", "community", "org_type", "covered", "work"])
    return list(zip(*(g.column(c).to_pylist() for c in ("street", "community", "org_type", "covered", "work", "rows"))))


NEAR_MISS_SCHEMA = pa.schema([("street", pa.string()), ("employer", pa.string()), ("org", pa.string()),
                              ("members", pa.int64())])


def near_miss_counts(inputs: dict[str, Any]) -> Any:
    """The NAME_NEAR_MISS problems by street and spelling, as a table (street, employer as written,
    listed name, members), in that order."""
    g = group_sums(inputs["near_misses"], ["street", "value", "expected"])
    g = g.take(pc.sort_indices(g, [("street", "ascending"), ("value", "ascending"), ("expected", "ascending")]))
    return pa.Table.from_arrays([pc.cast(g.column(c), f.type) for c, f in
                                 zip(("street", "value", "expected", "rows"), NEAR_MISS_SCHEMA)], schema=NEAR_MISS_SCHEMA)


def release_memory() -> None:
    """Give the Arrow tables' freed memory back to the system: mimalloc keeps it otherwise, and at city
    scale that was 150 MB of coverage's peak."""
    pa.default_memory_pool().release_unused()
