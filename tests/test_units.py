"""Coverage by columns (pbtool.units, Store.coverage_inputs): the Arrow tables the store hands over are
the rows a plain query gives (NULL apart from '', numbers, booleans, values holding control characters,
quotes and backslashes that the one-JSON-array-per-column read must escape), and the units keep the row-by-row semantics: a NULL key part matches
only NULL, an organization is counted by its credit code before its name, a name key two listed
organizations share counts for neither."""
from __future__ import annotations

import pyarrow as pa
import pytest
from builders import ROSTER_HEADER, member, write_lists, write_xlsx
from sqlalchemy import select, update

from pbtool import store as st
from pbtool import units as un
from pbtool.config import load_config
from pbtool import findings as fd
from pbtool.coverage import ORG_COVERED, PeriodState, compute_coverage, rule_text
from pbtool.importer import import_files


def _org(name: str, status: str = "未建立", **extra: str) -> dict[str, str]:
    return {"单位名称": name, "组织类型": "非公有制企业", "所在街道": "东湖街道", "所在社区": "朝阳社区",
            "党组织建立情况": status, **extra}


@pytest.fixture
def district(tmp_path, db):
    comms = [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": ""}]
    ests = [{"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": ""}]
    orgs = [_org("甲科技有限公司"), _org("乙物流有限公司", 党建工作指导员="张三"), _org("丙商贸有限公司", "单独组建")]
    rows = ([member(i, employer="甲科技有限公司", community="朝阳社区", estate="幸福里小区") for i in range(1, 5)]
            + [member(i, employer="乙物流有限公司", community="朝阳社区", estate="幸福里小区") for i in range(5, 7)])
    import_files([write_lists(tmp_path / "清单.xlsx", comms, ests, orgs),
                  write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)})], "2026Q3", db)
    return db


def _row_path(store: st.Store, q, names, types):
    """The same query through the plain row-by-row path."""
    schema = pa.schema([(n, types.get(n, pa.string())) for n in names])
    rows = store._all(q)
    return pa.table([pa.array([r[i] for r in rows], type=f.type) for i, f in enumerate(schema)], schema=schema)


def test_arrow_tables_equal_the_rows_a_plain_query_gives(district):
    s = st.Store.open(district, create=False)
    try:
        o = st.orgs
        # a control character (a store of old, before they were stripped), a quote, a backslash, a line
        # break and a comma (CSV on PostgreSQL)
        odd = '李\x1f四"\\\t\n五,六'
        with s.engine.begin() as conn:
            conn.execute(update(o).where(o.c.name == "丙商贸有限公司").values(instructor=odd, instructor_assigned=False))
            conn.execute(update(o).where(o.c.name == "乙物流有限公司").values(community="", instructor_assigned=True,
                                                                           employees=12))
        names = ["street", "community", "name", "uscc", "instructor", "instructor_assigned", "employees"]
        types = {"instructor_assigned": pa.bool_(), "employees": pa.int64()}
        q = select(*(o.c[n] for n in names)).where(o.c.period == "2026Q3").order_by(o.c.name)
        got = s._arrow(q, names, types)
        assert got.equals(_row_path(s, q, names, types))
        assert got.column("instructor").to_pylist() == [odd, "张三", None]
        assert got.column("community").to_pylist() == ["朝阳社区", "", "朝阳社区"]  # '' is not NULL
        assert got.column("instructor_assigned").to_pylist() == [False, True, None]
        assert got.column("employees").to_pylist() == [None, 12, None]
        if s.engine.dialect.name == "sqlite":   # the JSON read itself, not the row-by-row fallback
            assert s._arrow_json(q, got.schema).equals(got)
        else:                                   # PostgreSQL's COPY as CSV, likewise
            assert s._arrow_csv(q, got.schema).equals(got)
        empty = select(*(o.c[n] for n in names)).where(o.c.period == "1999Q1")
        assert s._arrow(empty, names, types).equals(_row_path(s, empty, names, types))
        inputs = s.coverage_inputs("2026Q3")
        assert sum(inputs["places"].column("members").to_pylist()) == 6
        assert set(inputs["employers"].column("employer_key").to_pylist()) == {"甲科技有限公司", "乙物流有限公司"}
    finally:
        s.close()


def _inputs(orgs: list[dict], employers: list[tuple]) -> dict[str, pa.Table]:
    def table(rows: list[tuple], names: list[str], types: dict | None = None) -> pa.Table:
        types = types or {}
        return pa.table({n: pa.array([r[i] for r in rows], types.get(n, pa.string())) for i, n in enumerate(names)})
    counts = {"members": pa.int64(), "with_errors": pa.int64()}
    org_cols = ["street", "community", "name", "name_key", "uscc", "org_type", "org_status", "instructor",
                "instructor_assigned"]
    return {
        "places": table([("东湖街道", None, "幸福里小区", "ok", "正式", 3, 0),
                         ("东湖街道", "", "幸福里小区", "ok", "正式", 5, 0)],
                        ["street", "community", "estate", "place_status", "category", "members", "with_errors"], counts),
        "employers": table(employers, ["employer_key", "employer_uscc", "category", "members", "with_errors"], counts),
        "branches": table([], ["street", "branch", "category", "members", "with_errors"], counts),
        "communities": table([], ["street", "name", "party_org", "org_built"], {"org_built": pa.bool_()}),
        "estates": table([("东湖街道", None, "幸福里小区", None, None), ("东湖街道", "", "幸福里小区", None, None)],
                         ["street", "community", "name", "party_org", "org_built"], {"org_built": pa.bool_()}),
        "orgs": table([tuple(o.get(c) for c in org_cols) for o in orgs], org_cols, {"instructor_assigned": pa.bool_()}),
    }


def test_units_match_keys_exactly_and_count_organizations_by_code_before_name():
    code = "91330106MA0000001X"
    orgs = [{"street": "东湖街道", "name": "甲公司", "name_key": "甲", "uscc": code},      # by code: 4
            {"street": "东湖街道", "name": "乙公司", "name_key": "乙"},                   # by name: 2
            {"street": "东湖街道", "name": "丙公司", "name_key": "丙"},                   # key shared: 0
            {"street": "西山街道", "name": "丙公司分部", "name_key": "丙", "org_status": "单独组建"},
            {"street": "东湖街道", "name": "", "uscc": "91330106MA0000002X", "instructor_assigned": True}]
    employers = [("甲", code, "正式", 3, 0), ("别名", code, "预备", 1, 1), ("甲", None, "正式", 7, 0),
                 ("乙", None, "正式", 2, 0), ("丙", None, "正式", 9, 0)]
    units = un.period_units(_inputs(orgs, employers), ORG_COVERED, uncovered_only=True)
    est = units["estate"]
    # NULL community matches the NULL-community counts only, '' only ''
    assert list(zip(est.column("community").to_pylist(), est.column("full").to_pylist())) == [("", 3), ("", 5)]
    o = units["org"]
    assert o.column("target").to_pylist() == ["甲公司", "乙公司", "丙公司", "单位名称未填（统一社会信用代码91330106MA0000002X）"]
    assert o.column("members").to_pylist() == [4, 2, 0, 0]
    assert (o.column("full").to_pylist(), o.column("probationary").to_pylist()) == ([3, 2, 0, 0], [1, 0, 0, 0])
    assert o.column("with_errors").to_pylist() == [1, 0, 0, 0]
    assert o.column("has_work").to_pylist() == [False, False, False, True]
    assert o.column("place").to_pylist() == [f"org|{code}", "org|东湖街道|乙", "org|东湖街道|丙", "org|91330106MA0000002X"]
    config = load_config()
    table = un.apply_rules(units, config.rules["rules"], config.thresholds)
    assert table.schema == fd.SCHEMA
    found = PeriodState("2026Q3", fd.Findings(table, rule_text(config)), [], [], {}, []).findings
    assert [(f.rule, f.target) for f in found] == [
        ("RES_NO_ORG", "幸福里小区"), ("RES_NO_ORG", "幸福里小区"), ("ORG_SOLO", "甲公司"), ("ORG_JOINT", "乙公司"),
        ("ORG_NO_WORK", "丙公司"), ("ORG_NO_WORK", "乙公司"), ("ORG_NO_WORK", "甲公司")]   # code point order
    assert [f.full_members for f in found[:2]] == [3, 5]   # equal keys keep the lists' order
    assert found[2].action == "该组织有正式党员3名，应单独建立党组织，请街道党工委督促组建。"


def test_coverage_of_the_district_by_columns(district):
    result = compute_coverage(district, "2026Q3")
    by_target = {(f.rule, f.target): f.full_members for f in result.findings}
    assert by_target == {("COMMUNITY_NO_ORG", "朝阳社区"): 6, ("RES_NO_ORG", "幸福里小区"): 6,
                         ("ORG_SOLO", "甲科技有限公司"): 4, ("ORG_NO_WORK", "甲科技有限公司"): 4,
                         ("ORG_JOINT", "乙物流有限公司"): 2}


def test_json_in_pieces_is_byte_for_byte_the_whole_dump(district):
    import orjson

    from pbtool.outputs import jsonout
    data = compute_coverage(district, "2026Q3").as_dict()
    data["many"] = [{"i": i, "名": f"第{i}个"} for i in range(jsonout.CHUNK * 2 + 7)]   # three pieces
    data[3] = "a key that is not text"
    pieces = list(jsonout.json_chunks(data))
    assert len(pieces) > 10 and b"".join(pieces) == orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    assert orjson.loads(b"".join(pieces))["many"][-1] == {"i": jsonout.CHUNK * 2 + 6, "名": f"第{jsonout.CHUNK * 2 + 6}个"}
    assert b"".join(jsonout.json_chunks(data, indent=True)) == orjson.dumps(
        data, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_INDENT_2)


def test_terminal_lists_twenty_places_per_street_and_says_how_many_more(tmp_path, db):
    """A street with 25 blind spots: the terminal lists 20 with the whole count and a line for the 5
    others (where the full list is); --all lists every one; a name holding rich markup prints as written."""
    from typer.testing import CliRunner

    from pbtool.cli import app
    names = [f"第{i:02d}科技有限公司" for i in range(1, 25)] + ["[red]方括号有限公司"]
    orgs = [_org(n) for n in names]
    rows = [member(100 + 3 * i + k, employer=n, community="朝阳社区", branch=f"第{i}党支部")
            for i, n in enumerate(names) for k in range(3)]
    comms = [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": "朝阳社区党委"}]
    ests = [{"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": "幸福里党支部"}]
    import_files([write_lists(tmp_path / "清单.xlsx", comms, ests, orgs),
                  write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)})], "2026Q3", db)
    runner = CliRunner()
    res = runner.invoke(app, ["coverage", "--period", "2026Q3", "--db", db], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "东湖街道：空白点 25 处（问题 50 个）" in res.output
    assert sum(n in res.output for n in names) == 20 and "……另有 5 处未列出" in res.output
    assert "[red]方括号有限公司" in res.output   # listed first ('[' sorts first), markup printed as written
    res = runner.invoke(app, ["coverage", "--period", "2026Q3", "--db", db, "--all"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert all(n in res.output for n in names) and "另有" not in res.output


def test_group_sums_gives_what_pyarrows_group_by_gives():
    """units.group_sums (numpy on dictionary codes, no Acero) against pyarrow's own group_by: the same
    groups with the same sums and row counts, NULL its own group, groups in the order of their first
    row; also for no rows and for keys whose combined code would overflow."""
    import random

    import pyarrow as pa

    rng = random.Random(7)
    n = 3000
    t = pa.table({"a": [rng.choice(["甲", "乙", None, ""]) for _ in range(n)],
                  "b": [rng.choice([None, *(f"k{i}" for i in range(40))]) for _ in range(n)],
                  "c": pa.array([rng.choice([0, 1]) for _ in range(n)], pa.int64()),
                  "x": pa.array([rng.randint(0, 9) for _ in range(n)], pa.int64()),
                  "y": pa.array([rng.choice([None, 1, 2]) for _ in range(n)], pa.int64())})
    got = un.group_sums(t, ["a", "b", "c"], ("x", "y"))
    want = t.group_by(["a", "b", "c"], use_threads=False).aggregate([("x", "sum"), ("y", "sum"), ("x", "count")])
    as_dict = {(r["a"], r["b"], r["c"]): (r["x_sum"], r["y_sum"] or 0, r["x_count"]) for r in want.to_pylist()}
    assert {(r["a"], r["b"], r["c"]): (r["x"], r["y"], r["rows"]) for r in got.to_pylist()} == as_dict
    firsts = []
    for r in t.select(["a", "b", "c"]).to_pylist():
        if tuple(r.values()) not in firsts:
            firsts.append(tuple(r.values()))
    assert [(r["a"], r["b"], r["c"]) for r in got.to_pylist()] == firsts
    assert un.group_sums(t.slice(0, 0), ["a", "b"], ("x",)).num_rows == 0
    wide = pa.table({f"k{i}": [f"v{j % 997}{i}" for j in range(2000)] for i in range(8)})   # 997**8 > 2**62
    assert un.group_sums(wide, list(wide.column_names)).num_rows == 997
