"""The store: schema version recorded, an old store migrated in place, not broken."""
from __future__ import annotations

import sqlite3

from builders import ROSTER_HEADER, member, write_xlsx

from pbtool.importer import import_files
from pbtool.store import SCHEMA_VERSION, Store, db_url


def test_version_1_store_is_migrated_and_keeps_its_data(tmp_path, sqlite_db):
    db = sqlite_db
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1, category="党员")])})
    import_files([f], "2026Q3", db)
    con = sqlite3.connect(db)   # make it look like a store written by schema version 1
    con.execute("ALTER TABLE problems DROP COLUMN expected")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    store = Store.open(db)
    assert store.schema_version() == SCHEMA_VERSION == 3
    con = sqlite3.connect(db)
    assert con.execute("SELECT code, expected FROM problems").fetchall() == [("BAD_VALUE", "")]
    assert con.execute("SELECT count(*) FROM members").fetchone() == (1,)
    con.close()


def test_store_from_a_newer_pbtool_is_refused(tmp_path, sqlite_db):
    db = sqlite_db
    Store.open(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    import pytest
    from pbtool.store import StoreError
    with pytest.raises(StoreError, match="升级"):
        Store.open(db)


def test_db_option_takes_a_path_or_a_url(monkeypatch, tmp_path):
    assert db_url("postgresql+psycopg://u@h/pb") == "postgresql+psycopg://u@h/pb"
    assert db_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("PBTOOL_DB", str(tmp_path / "env.db"))
    assert db_url(None).endswith("env.db")
