"""A store of an older schema, opened by a command that only reads (coverage, history): upgraded in place,
with one Chinese line on stderr, its data intact; a store that cannot be written is left exactly as it was,
with one Chinese line. Run as real processes, on SQLite and (with PBTOOL_TEST_PG_URL) on PostgreSQL."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from builders import ROSTER_HEADER, member, write_lists, write_xlsx
from conftest import ROOT
from sqlalchemy import create_engine, inspect, text

from pbtool.importer import import_files
from pbtool.store import SCHEMA_VERSION, db_url

COMMANDS = {"coverage": ["coverage", "--period", "2026Q3"], "history": ["history"]}


def pbtool(*args: str, cwd: Path, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([*(prefix or []), sys.executable, "-m", "pbtool", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def make_v3_store(folder: Path, db: str) -> None:
    """A store as pbtool of schema version 3 left it: orgs without instructor_assigned (added by 4),
    communities and estates without org_built (added by 5)."""
    lists = write_lists(folder / "资源清单.xlsx",
                        [{"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": ""}],
                        [{"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": ""}],
                        [{"所在街道": "东湖街道", "单位名称": "青湖甲公司", "组织类型": "非公企业", "党组织建立情况": "未建立"}])
    roster = write_xlsx(folder / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [
        member(i, estate="幸福里小区", employer="青湖甲公司") for i in range(1, 6)])})
    import_files([lists, roster], "2026Q3", db)
    engine = create_engine(db_url(db))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE orgs DROP COLUMN instructor_assigned"))
        conn.execute(text("ALTER TABLE orgs_replaced DROP COLUMN instructor_assigned"))
        for table in ("communities", "communities_replaced", "estates", "estates_replaced"):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN org_built"))
        conn.execute(text("DELETE FROM coverage_states"))
        conn.execute(text("UPDATE meta SET value = '3' WHERE key = 'schema_version'"))
    engine.dispose()


def content(db: str) -> dict[str, list[tuple]]:
    """Every table's rows (the columns it had as version 3), but the coverage states a command may save
    and the recorded version."""
    engine = create_engine(db_url(db))
    try:
        with engine.connect() as conn:
            out = {}
            for table in sorted(inspect(conn).get_table_names()):
                if table in ("coverage_states", "meta"):   # meta: the version, checked on its own
                    continue
                cols = [c["name"] for c in inspect(conn).get_columns(table)
                        if c["name"] not in ("instructor_assigned", "org_built")]
                q = ", ".join(f'"{c}"' for c in cols)
                out[table] = sorted((tuple(map(str, r)) for r in conn.execute(text(f"SELECT {q} FROM {table}"))))
            return out
    finally:
        engine.dispose()


def version(db: str) -> int:
    engine = create_engine(db_url(db))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar_one())
    finally:
        engine.dispose()


def upgrade_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "升级" in ln]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_read_only_command_upgrades_an_older_store(tmp_path, db, command):
    make_v3_store(tmp_path, db)
    before = content(db)
    res = pbtool(*COMMANDS[command], "--db", db, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    lines = upgrade_lines(res.stderr)
    assert len(lines) == 1 and "从版本 3 升级到版本 6" in lines[0] and lines[0].startswith("提示："), res.stderr
    assert version(db) == SCHEMA_VERSION == 6
    assert content(db) == before            # every row as it was
    engine = create_engine(db_url(db))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, instructor_assigned FROM orgs")).all() == [("青湖甲公司", None)]
        assert conn.execute(text("SELECT name, org_built FROM communities")).all() == [("朝阳社区", None)]
        assert conn.execute(text("SELECT name, org_built FROM estates_replaced")).all() == []
    engine.dispose()
    if command == "coverage":               # the upgraded store is read: 5 正式 members, one organization
        assert "党员 5 名（正式 5，预备 0）" in res.stdout
        assert "青湖甲公司" in res.stdout
    else:
        assert "东湖街道花名册.xlsx" in res.stdout and "资源清单.xlsx" in res.stdout
    again = pbtool(*COMMANDS[command], "--db", db, cwd=tmp_path)   # a current store: not a word about it
    assert again.returncode == 0 and not upgrade_lines(again.stderr)


def test_two_commands_opening_an_old_store_together_upgrade_it_once(tmp_path, sqlite_db):
    db = sqlite_db
    make_v3_store(tmp_path, db)
    before = content(db)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "pbtool", *COMMANDS[c], "--db", db], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in ("coverage", "history")]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]   # type: ignore[union-attr]
    for p in procs:
        p.stdout.close()   # type: ignore[union-attr]
        p.stderr.close()   # type: ignore[union-attr]
    assert [rc for rc, _ in results] == [0, 0], results
    assert sum(len(upgrade_lines(err)) for _, err in results) == 1, results
    assert version(db) == SCHEMA_VERSION and content(db) == before


def _read_only_prefix() -> list[str]:
    """How to run a process that cannot write a file of mode 444: as root, without CAP_DAC_OVERRIDE."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv: a read-only file would still be written")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-dac_override,-dac_read_search",
            "--"]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_read_only_old_store_is_left_byte_identical_with_one_chinese_line(tmp_path, command):
    original = tmp_path / "store.db"
    make_v3_store(tmp_path, str(original))
    copy = tmp_path / "只读副本.db"
    shutil.copyfile(original, copy)
    os.chmod(copy, 0o444)
    before = copy.read_bytes()
    res = pbtool(*COMMANDS[command], "--db", str(copy), cwd=tmp_path, prefix=_read_only_prefix())
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("错误：") and "结构版本 3" in lines[0] and "不能写入" in lines[0]
    assert "未做任何改动" in lines[0] and "有写权限" in lines[0]
    assert copy.read_bytes() == before
    con = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    con.close()


def test_store_of_a_newer_pbtool_is_still_refused_by_a_read_only_command(tmp_path, sqlite_db):
    db = sqlite_db
    make_v3_store(tmp_path, db)
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    before = Path(db).read_bytes()
    res = pbtool("coverage", "--period", "2026Q3", "--db", db, cwd=tmp_path)
    assert res.returncode == 2 and "结构版本 9" in res.stderr and "请升级 pbtool" in res.stderr
    assert "Traceback" not in res.stderr
    assert Path(db).read_bytes() == before


def test_old_postgresql_store_for_a_read_only_role_is_left_as_it_was(tmp_path, pg_admin, request):
    """A PostgreSQL account that may only read: one Chinese line, the store still at version 3."""
    from conftest import store_url
    with store_url("postgresql", tmp_path, request) as url:
        make_v3_store(tmp_path, url)
        before = content(url)
        role = f"pbtool_ro_{uuid.uuid4().hex[:8]}"
        owner = create_engine(url, isolation_level="AUTOCOMMIT")
        with owner.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'ro-secret'"))
            conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
            conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
        try:
            from sqlalchemy.engine import make_url
            ro_url = make_url(url).set(username=role, password="ro-secret").render_as_string(hide_password=False)
            res = pbtool("coverage", "--period", "2026Q3", "--db", ro_url, cwd=tmp_path)
            assert res.returncode == 2, (res.stdout, res.stderr)
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
            assert "结构版本 3" in lines[0] and "不能写入" in lines[0] and "未做任何改动" in lines[0]
            assert "ro-secret" not in res.stderr
            assert version(url) == 3 and content(url) == before
        finally:
            with owner.connect() as conn:
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE {role}"))
            owner.dispose()
