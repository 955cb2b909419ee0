"""What only a server store does: connection failures in Chinese, migrations of a PostgreSQL store,
imports of one period serialized by an advisory lock. The server tests need PBTOOL_TEST_PG_URL
(.ci/run sets it) and are skipped with that reason otherwise."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from builders import ROSTER_HEADER, member, write_xlsx
from conftest import store_url
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from pbtool.cli import app
from pbtool.importer import import_files
from pbtool.store import SCHEMA_VERSION, Store, StoreError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pg(request, tmp_path):
    with store_url("postgresql", tmp_path, request) as url:
        yield url


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_is_a_chinese_message_and_exit_2():
    pytest.importorskip("psycopg", reason='psycopg not installed (pip install "pbtool[postgres]")')
    url = f"postgresql+psycopg://clerk:secret@127.0.0.1:{_free_port()}/pbtool"
    with pytest.raises(StoreError, match="无法连接数据库服务器 127.0.0.1"):
        Store.open(url)
    res = CliRunner().invoke(app, ["coverage", "-p", "2026Q3", "--db", url])
    assert res.exit_code == 2 and "无法连接数据库服务器" in res.output
    assert "Traceback" not in res.output and "secret" not in res.output


def test_missing_driver_says_which_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)   # as on a machine without psycopg
    with pytest.raises(StoreError, match=r'pip install "pbtool\[postgres\]"'):
        Store.open("postgresql+psycopg://clerk@127.0.0.1/pbtool")


def test_wrong_password_and_missing_database(pg_admin, pg):
    u = pg_admin.url
    if not u.password:
        pytest.skip("the test server's URL has no password: a wrong one cannot be told apart")
    wrong = u.set(password=u.password + "x").render_as_string(hide_password=False)
    with pytest.raises(StoreError, match=f"用户“{u.username}”的密码错误") as exc:
        Store.open(wrong)
    assert u.password not in str(exc.value)
    missing = u.set(database="pbtool_no_such_db").render_as_string(hide_password=False)
    with pytest.raises(StoreError, match="没有名为“pbtool_no_such_db”的数据库"):
        Store.open(missing)
    store = Store.open(pg)
    assert store.engine.hide_parameters   # a failing statement never prints an ID number
    store.close()


def test_schema_2_store_on_postgresql_is_widened(tmp_path, pg):
    """A store made by schema 2 had varchar(32) for 学历: the migration makes it text, data kept."""
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1)])})
    import_files([f], "2026Q3", pg)
    engine = create_engine(pg)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE members ALTER COLUMN education TYPE varchar(32)"))
        conn.execute(text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))
    store = Store.open(pg)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    with engine.connect() as conn:
        kind = conn.execute(text("SELECT data_type FROM information_schema.columns "
                                 "WHERE table_name = 'members' AND column_name = 'education'")).scalar_one()
        assert kind == "text"
        assert conn.execute(text("SELECT count(*) FROM members")).scalar_one() == 1
    engine.dispose()


def test_import_waits_for_the_period_lock(tmp_path, pg):
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1)])})
    Store.open(pg).close()
    holder = Store.open(pg)
    holder.lock_period("2026Q3")
    done: list[object] = []
    t = threading.Thread(target=lambda: done.append(import_files([f], "2026Q3", pg)))
    t.start()
    time.sleep(1.5)
    assert t.is_alive() and not done          # waiting for the other import of 2026Q3
    other = import_files([f], "2026Q2", pg)   # another period is not held up
    assert other.imported == {"roster": 1}
    holder.close()                            # the other import ends: this one goes ahead
    t.join(30)
    assert not t.is_alive() and done[0].imported == {"roster": 1}


def test_parallel_imports_of_two_streets_still_find_cross_street_duplicates(tmp_path, pg):
    """Two processes import two streets' rosters of the same period at once; 200 people are in both.
    The lock makes one wait for the other, so the second sees the first's members: all 200 reported."""
    both = [member(i) for i in range(1, 201)]
    east = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, both + [member(i) for i in range(201, 301)])})
    west = write_xlsx(tmp_path / "西山街道花名册.xlsx", {"花名册": (ROSTER_HEADER, both + [member(i) for i in range(301, 401)])})
    Store.open(pg).close()
    script = textwrap.dedent("""
        import sys
        from pbtool.importer import import_files
        r = import_files([sys.argv[1]], "2026Q3", sys.argv[2])
        print(sum(p.code == "DUPLICATE_PERSON" for p in r.problems))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(f), pg], stdout=subprocess.PIPE, text=True, env=env)
             for f in (east, west)]
    found = sorted(int(p.communicate(timeout=120)[0]) for p in procs)
    assert [p.returncode for p in procs] == [0, 0]
    assert found == [0, 200]


def test_import_with_flagged_rows_refreshes_the_members_statistics(tmp_path, pg):
    """Counting repeated persons joins the members with themselves; with statistics from before the
    import the planner believes the new period empty and picks a nested loop (17 minutes at a million
    members). An import with flagged rows samples the members table again inside its transaction."""
    engine = create_engine(pg)

    def analyzed() -> int:
        with engine.connect() as conn:
            n = conn.execute(text("SELECT coalesce(sum(analyze_count), 0) FROM pg_stat_user_tables "
                                  "WHERE relname = 'members'")).scalar()
            return int(n or 0)

    clean = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1), member(2)])})
    import_files([clean], "2026Q3", pg)   # nothing flagged: no repeated-person search, no sampling
    time.sleep(1.5)
    before = analyzed()
    twice = write_xlsx(tmp_path / "西山街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1), member(3)])})
    result = import_files([twice], "2026Q3", pg)
    assert sum(p.code == "DUPLICATE_PERSON" for p in result.problems) == 1
    deadline = time.time() + 10   # the statistics views are updated shortly after the commit
    while analyzed() <= before and time.time() < deadline:
        time.sleep(0.2)
    assert analyzed() > before
    engine.dispose()
