"""Coverage inputs kept by every import and undo (store table coverage_inputs, Arrow IPC per district
and period): what coverage computes from them is exactly what it computes from the tables, after
imports of two districts, a re-import that replaces rows and an undo; a copy that no longer describes
its district's imports is never used."""
from __future__ import annotations

from pathlib import Path

import pytest
from builders import ROSTER_HEADER, member, write_xlsx
from test_city import _dongjiang, _qinghu

from pbtool import queries
from pbtool.coverage import compute_coverage
from pbtool.importer import import_files
from pbtool.store import Store, coverage_inputs


def _fresh(db: str, period: str, **kw) -> dict:
    """The coverage computed again (no stored state), as its JSON record."""
    s = Store.open(db, create=False)
    s.forget_coverage_states()
    s.close()
    return compute_coverage(db, period, **kw).as_dict()


def _from_tables(db: str, period: str, monkeypatch, **kw) -> dict:
    """The same, with no kept inputs: every input read from the tables."""
    with monkeypatch.context() as m:
        m.setattr(queries.StoreQueries, "_kept_inputs", lambda self, period, districts: {})
        return _fresh(db, period, **kw)


def _kept_only(db: str, period: str, monkeypatch, **kw) -> dict:
    """The same, failing if any input had to be read from the tables."""
    def no_reads(self, period, district):
        raise AssertionError(f"read from the tables: {period} {district!r}")
    with monkeypatch.context() as m:
        m.setattr(queries.StoreQueries, "_read_inputs", no_reads)
        return _fresh(db, period, **kw)


def _kept(db: str, period: str) -> dict[str, set[str]]:
    s = Store.open(db, create=False)
    try:
        c = coverage_inputs
        with s.engine.connect() as conn:
            rows = conn.execute(c.select().where(c.c.period == period)).mappings().all()
        out: dict[str, set[str]] = {}
        for r in rows:
            assert r["stamp"] == s._inputs_stamp(period, r["district"])   # each copy describes its district now
            out.setdefault(r["district"], set()).add(r["name"])
        return out
    finally:
        s.close()


def _tables_as_read(db: str, period: str) -> None:
    """Each district's kept tables are the tables read from the store: the same columns and types,
    and the same rows (compared in one order: a server returns rows in no set order)."""
    s = Store.open(db, create=False)
    try:
        districts = s.districts_of_period(period)
        kept = s._kept_inputs(period, districts)
        assert set(kept) == set(districts)
        for d in districts:
            read = s._read_inputs(period, d)
            assert set(kept[d]) == set(read) == set(queries.INPUT_NAMES)
            for name, t in read.items():
                k = kept[d][name]
                assert k.schema == t.schema, (d, name)
                order = [(c, "ascending") for c in t.column_names]
                assert k.sort_by(order).equals(t.sort_by(order)), (d, name)
    finally:
        s.close()


def _same_both_ways(db: str, period: str, monkeypatch) -> None:
    _tables_as_read(db, period)
    for kw in ({}, {"district": "青湖区"}, {"district": "东江区"}):
        kept = _kept_only(db, period, monkeypatch, **kw)
        assert kept == _from_tables(db, period, monkeypatch, **kw), kw
    city = _kept_only(db, period, monkeypatch)
    assert city["is_city"] and {p["street"] for p in city["places"]} >= {"青湖区东湖街道"}


def test_kept_inputs_give_what_the_tables_give_after_import_reimport_and_undo(tmp_path: Path, db: str, monkeypatch):
    names = set(queries.INPUT_NAMES)
    for period in ("2026Q2", "2026Q3"):
        for district, files in (("青湖区", _qinghu), ("东江区", _dongjiang)):
            d = tmp_path / period / district
            d.mkdir(parents=True)
            import_files(files(d, period), period, db, district=district)
    assert _kept(db, "2026Q3") == {"青湖区": names, "东江区": names}
    _same_both_ways(db, "2026Q3", monkeypatch)
    before = _fresh(db, "2026Q3", district="青湖区")

    # 东湖街道's roster again, with three more residents of 幸福里小区 and one fewer employee: it
    # replaces the first one's rows
    rows = [member(i, community="朝阳社区", estate="幸福里小区") for i in (1, 2, 3, 5, 6, 7)]
    again = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)}, title="东湖街道党员花名册")
    res = import_files([again], "2026Q3", db, district="青湖区")
    assert res.replaced
    assert _kept(db, "2026Q3") == {"青湖区": names, "东江区": names}
    _same_both_ways(db, "2026Q3", monkeypatch)
    after = _fresh(db, "2026Q3", district="青湖区")
    assert after["places"] != before["places"] and after["summary"]["members"] == 6

    s = Store.open(db, create=False)
    s.undo()
    s.close()
    _same_both_ways(db, "2026Q3", monkeypatch)
    assert _fresh(db, "2026Q3", district="青湖区") == before


def test_a_roster_alone_keeps_empty_lists_and_its_counts(tmp_path: Path, db: str):
    """A district that imported only its roster: the lists it never imported are kept empty (not read),
    with the columns and types the store's read gives; the counts are the roster's. Its lists imported
    later replace them."""
    d = tmp_path / "q"
    d.mkdir()
    lists, roster = _qinghu(d, "2026Q3")
    import_files([roster], "2026Q3", db, district="青湖区")
    _tables_as_read(db, "2026Q3")
    s = Store.open(db, create=False)
    kept = s._kept_inputs("2026Q3", ["青湖区"])["青湖区"]
    s.close()
    assert kept["orgs"].num_rows == kept["estates"].num_rows == kept["communities"].num_rows == 0
    assert sum(kept["places"].column("members").to_pylist()) == 4
    import_files([lists], "2026Q3", db, district="青湖区")
    _tables_as_read(db, "2026Q3")


def test_a_kept_copy_that_no_longer_describes_its_district_is_not_used(tmp_path: Path, db: str, monkeypatch):
    d = tmp_path / "q"
    d.mkdir()
    import_files(_qinghu(d, "2026Q3"), "2026Q3", db, district="青湖区")
    want = _fresh(db, "2026Q3")
    s = Store.open(db, create=False)
    with s.engine.begin() as conn:       # as if an older pbtool had imported since
        conn.execute(coverage_inputs.update().values(stamp="1.6:1:0:then"))
    s.close()
    with pytest.raises(AssertionError, match="read from the tables"):
        _kept_only(db, "2026Q3", monkeypatch)
    assert _fresh(db, "2026Q3") == want
