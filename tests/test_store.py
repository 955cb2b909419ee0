"""The store: schema version recorded, an old store migrated in place, not broken."""
from __future__ import annotations

import sqlite3

import pytest
from builders import write_lists, ROSTER_HEADER, member, write_xlsx

from pbtool.importer import import_files
from pbtool.store import SCHEMA_VERSION, Store, db_url


def test_version_1_store_is_migrated_and_keeps_its_data(tmp_path, sqlite_db):
    db = sqlite_db
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1, category="党员")])})
    import_files([f], "2026Q3", db)
    con = sqlite3.connect(db)   # make it look like a store written by schema version 1
    con.execute("ALTER TABLE problems DROP COLUMN expected")
    con.execute("ALTER TABLE members DROP COLUMN person_type")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    store = Store.open(db)
    assert store.schema_version() == SCHEMA_VERSION == 6
    con = sqlite3.connect(db)
    assert con.execute("SELECT code, expected FROM problems").fetchall() == [("BAD_VALUE", "")]
    assert con.execute("SELECT count(*) FROM members").fetchone() == (1,)
    con.close()


def test_version_2_store_gains_person_type_and_blank_estate_communities(tmp_path, sqlite_db):
    db = sqlite_db
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1)])})
    import_files([f], "2026Q3", db)
    con = sqlite3.connect(db)   # a store written by schema version 2: no person_type, estates with NULL community
    con.execute("ALTER TABLE members DROP COLUMN person_type")
    con.execute("INSERT INTO estates (import_id, period, street, file, sheet, has_error, name, community) "
                "VALUES (1, '2026Q3', '东湖街道', 'x.xlsx', '小区', 0, '幸福里小区', NULL)")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    assert Store.open(db).schema_version() == SCHEMA_VERSION
    con = sqlite3.connect(db)
    assert con.execute("SELECT person_type FROM members").fetchall() == [(None,)]
    assert con.execute("SELECT community FROM estates").fetchall() == [("",)]
    con.close()


def test_version_3_store_gains_instructor_assigned_and_keeps_its_orgs(tmp_path, sqlite_db):
    db = sqlite_db
    lists = write_lists(tmp_path / "清单.xlsx", [], [], [
        {"所在街道": "东湖街道", "单位名称": "青湖甲公司", "组织类型": "非公企业", "党组织建立情况": "未建立"}])
    import_files([lists], "2026Q3", db)
    con = sqlite3.connect(db)   # a store written by schema version 3: no instructor_assigned
    con.execute("ALTER TABLE orgs DROP COLUMN instructor_assigned")
    con.execute("ALTER TABLE orgs_replaced DROP COLUMN instructor_assigned")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    assert Store.open(db).schema_version() == SCHEMA_VERSION
    con = sqlite3.connect(db)
    assert con.execute("SELECT name, instructor_assigned FROM orgs").fetchall() == [("青湖甲公司", None)]
    assert "instructor_assigned" in {r[1] for r in con.execute("PRAGMA table_info(orgs_replaced)")}
    con.close()


def test_version_4_store_gains_org_built_and_keeps_its_places(tmp_path, sqlite_db):
    """Schema 5 adds org_built (是否建立党组织, 是/否) to communities and estates and their *_replaced
    tables; the rows already there get NULL (nothing said), and coverage reads the upgraded store."""
    db = sqlite_db
    lists = write_lists(tmp_path / "清单.xlsx",
                        [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": "朝阳社区党委"}],
                        [{"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": ""}],
                        [{"所在街道": "东湖街道", "单位名称": "青湖甲公司", "组织类型": "非公企业", "党组织建立情况": "未建立"}])
    import_files([lists], "2026Q3", db)
    con = sqlite3.connect(db)   # a store written by schema version 4: no org_built
    for table in ("communities", "communities_replaced", "estates", "estates_replaced"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN org_built")
    con.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    assert Store.open(db).schema_version() == SCHEMA_VERSION
    con = sqlite3.connect(db)
    assert con.execute("SELECT name, party_org, org_built FROM communities").fetchall() == [("朝阳社区", "朝阳社区党委", None)]
    assert con.execute("SELECT name, party_org, org_built FROM estates").fetchall() == [("幸福里小区", None, None)]
    for table in ("communities_replaced", "estates_replaced"):
        assert "org_built" in {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
    con.close()


def test_store_from_a_newer_pbtool_is_refused(tmp_path, sqlite_db):
    db = sqlite_db
    Store.open(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    from pbtool.store import StoreError
    with pytest.raises(StoreError, match="升级"):
        Store.open(db)


def test_db_option_takes_a_path_or_a_url(monkeypatch, tmp_path):
    assert db_url("postgresql+psycopg://u@h/pb") == "postgresql+psycopg://u@h/pb"
    assert db_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("PBTOOL_DB", str(tmp_path / "env.db"))
    assert db_url(None).endswith("env.db")


# ------------------------------------------------------------------------------------ one store interface


def _samples_into(db: str) -> None:
    import json
    from pathlib import Path
    samples = Path(__file__).resolve().parents[1] / "samples"
    expected = json.loads((samples / "expected.json").read_text(encoding="utf-8"))
    for period, spec in expected["periods"].items():
        import_files([samples / f for f in spec["files"]], period, db)


def _sql(db: str, *statements: str) -> list:
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url(db))
    out = []
    with engine.begin() as conn:
        for s in statements:
            res = conn.execute(text(s))
            out.append(res.fetchall() if res.returns_rows else None)
    engine.dispose()
    return out


def test_coverage_reads_aggregates_not_member_rows(db):
    """With every member row deleted behind pbtool's back (aggregates and lists kept), coverage gives
    exactly the same result: it never reads member rows."""
    from pbtool.coverage import compute_coverage
    _samples_into(db)
    before = compute_coverage(db, "2026Q3").as_dict()
    assert before["findings"] and before["previous_period"] == "2026Q2"
    _sql(db, "DELETE FROM members", "DELETE FROM coverage_states")
    assert compute_coverage(db, "2026Q3").as_dict() == before


def test_computed_periods_are_stored_and_dropped_when_the_period_changes(tmp_path, db):
    from pbtool.config import load_config
    from pbtool.coverage import compute_coverage, rules_key
    _samples_into(db)
    first = compute_coverage(db, "2026Q3").as_dict()
    key = rules_key(load_config()) + "|*|"   # the whole store, then the period's import stamp
    rows = _sql(db, "SELECT period, rules_key FROM coverage_states ORDER BY period")[0]
    assert [p for p, _ in rows] == ["2026Q2", "2026Q3"] and all(k.startswith(key) for _, k in rows)
    key = rows[1][1]
    # stored states are what later runs read: a planted change to a stored state shows
    store = Store.open(db)
    state = store.stored_coverage_state("2026Q3", key)
    state["summary"]["members"] = -1
    assert store.save_coverage_state("2026Q3", key, state)
    store.close()
    assert compute_coverage(db, "2026Q3").as_dict()["summary"]["members"] == -1
    # a re-import of 2026Q3 drops its state (and only its own)
    f = write_xlsx(tmp_path / "补充街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1)])})
    import_files([f], "2026Q3", db, street="补充街道")
    assert _sql(db, "SELECT period FROM coverage_states")[0] == [("2026Q2",)]
    again = compute_coverage(db, "2026Q3").as_dict()
    assert again["summary"]["members"] == first["summary"]["members"] + 1


def test_version_2_sqlite_store_gets_aggregates_on_migration(tmp_path, sqlite_db):
    import sqlite3
    from pbtool.coverage import compute_coverage
    db = sqlite_db
    _samples_into(db)
    want = compute_coverage(db, "2026Q3").as_dict()
    con = sqlite3.connect(db)   # a store written by schema 2: no aggregates, no stored states
    for t in ("agg_places", "agg_employers", "agg_branches", "coverage_states"):
        con.execute(f"DROP TABLE {t}")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    Store.open(db).close()   # what the next command does first
    assert compute_coverage(db, "2026Q3").as_dict() == want
    assert _sql(db, "SELECT count(DISTINCT period) FROM agg_places")[0] == [(2,)]


def test_no_sql_outside_the_store():
    """importer, coverage and the reports' figures ask the store by name; none of them builds SQL."""
    from pathlib import Path
    pkg = Path(__file__).resolve().parents[1] / "pbtool"
    for rel in ("importer.py", "coverage.py", "report/figures.py"):
        src = (pkg / rel).read_text(encoding="utf-8")
        for word in ("sqlalchemy", "select(", "insert(", "delete(", "text(\"", ".execute("):
            assert word not in src, f"{rel} holds {word}"


def test_period_arithmetic():
    from pbtool.period import PeriodError, check_period, parse_period, period_end, previous_of, shift
    assert check_period(" 2026q3") == "2026Q3" and parse_period("2026Q3") == (2026, 3)
    assert shift("2026Q1", -1) == "2025Q4" and shift("2025Q4", 1) == "2026Q1" and shift("2026Q3", -8) == "2024Q3"
    assert str(period_end("2026Q1")) == "2026-03-31"
    assert previous_of("2026Q3", ["2025Q4", "2026Q3", "2026Q1"]) == "2026Q1"
    assert previous_of("2025Q4", ["2025Q4", "2026Q1"]) is None
    with pytest.raises(PeriodError, match="2026Q3"):
        check_period("2026-3")


# ------------------------------------------------------------------------------------ districts


def test_two_districts_share_a_store_and_never_touch_each_others_rows(tmp_path, db, lists):
    """Two districts with the same street and estate names in one store: each import keeps to its
    district, a re-import replaces only its own district's rows, coverage runs per district or for the
    whole city."""
    from pbtool.coverage import compute_coverage
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    rows = [member(i, community="朝阳社区", estate="幸福里小区") for i in range(1, 5)]
    roster_a = write_xlsx(a / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)})
    roster_b = write_xlsx(b / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows[:2])})
    import_files([lists, roster_a], "2026Q3", db, district="青湖区")
    r = import_files([lists, roster_b], "2026Q3", db, district="东江区")
    assert r.replaced == {}                       # the same street and file names in another district
    assert sum(p.code == "DUPLICATE_PERSON" for p in r.problems) == 2   # people in both districts are found
    assert _sql(db, "SELECT district, count(*) FROM members GROUP BY district ORDER BY district")[0] == [
        ("东江区", 2), ("青湖区", 4)]
    # a re-import of 青湖区's 东湖街道 replaces its 4 rows, never 东江区's 2
    again = import_files([write_xlsx(a / "东湖街道花名册2.xlsx", {"花名册": (ROSTER_HEADER, rows[:3])})],
                         "2026Q3", db, district="青湖区")
    assert again.replaced == {("roster", "东湖街道"): 4}
    assert _sql(db, "SELECT district, count(*) FROM members GROUP BY district ORDER BY district")[0] == [
        ("东江区", 2), ("青湖区", 3)]
    east = compute_coverage(db, "2026Q3", district="东江区")
    qinghu = compute_coverage(db, "2026Q3", district="青湖区")
    city = compute_coverage(db, "2026Q3")
    # the two people listed in both districts are one person each for the city (重复 2 人次，已按 1 人计)
    assert (east.summary["members"], qinghu.summary["members"], city.summary["members"]) == (2, 3, 3)
    assert (east.summary["duplicates"], qinghu.summary["duplicates"], city.summary["duplicates"]) == (0, 0, 2)
    # the city keeps each district's 东湖街道/幸福里小区 apart (named with the district): 3 full members in
    # 青湖区's (a blind spot), 2 in 东江区's (below the threshold), never one estate of 5
    estate = {(f.street, f.target): f.full_members for f in city.findings if f.rule == "RES_NO_ORG"}
    assert estate == {("青湖区东湖街道", "幸福里小区"): 3}
    assert (city.summary["by_street"]["青湖区东湖街道"]["member_rows"],
            city.summary["by_street"]["东江区东湖街道"]["member_rows"]) == (3, 2)
    assert not [f for f in qinghu.findings if f.rule == "RES_NO_ORG" and f.street == "东湖街道"
                and f.full_members != 3]


def test_district_from_workspace_config(tmp_path, db, monkeypatch):
    (tmp_path / "pbtool.toml").write_text('district = "青湖区"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1)])})
    import_files([f], "2026Q3", db)
    assert _sql(db, "SELECT DISTINCT district FROM members", "SELECT DISTINCT district FROM imports") == [
        [("青湖区",)], [("青湖区",)]]


def test_aggregates_kept_by_imports_equal_a_full_recount(tmp_path, db):
    """After first imports, a replacing re-import and an appended supplement, the aggregates coverage
    reads equal a recount from the live member rows (replaced rows, kept for undo, are not counted)."""
    from pathlib import Path as P
    _samples_into(db)
    samples = P(__file__).resolve().parents[1] / "samples" / "2026Q3"
    east = next(samples.glob("东湖街道*.xlsx"))
    import_files([east], "2026Q3", db, mode="replace")                 # the street's rows moved aside
    extra = write_xlsx(tmp_path / "东湖街道补充名单.xlsx", {"花名册": (ROSTER_HEADER, [member(i) for i in range(900, 905)])})
    import_files([extra], "2026Q3", db, mode="append")

    def tables() -> list:
        return _sql(db, *(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5, 6, 7"
                          for t in ("agg_places", "agg_employers", "agg_branches")))

    kept = tables()
    store = Store.open(db)
    with store.transaction() as conn:
        store.refresh_aggregates(conn, "2026Q3")
    store.close()
    assert tables() == kept and len(kept[0]) > 10
