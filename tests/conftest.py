from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from builders import (ESTATE_HEADER, member, write_lists)

ROOT = Path(__file__).resolve().parents[1]


# The store tests run on both engines. PBTOOL_TEST_PG_URL names a PostgreSQL server whose user may
# create databases (.ci/run starts a throw-away cluster and sets it); each test gets a database of its own.
PG_URL_ENV = "PBTOOL_TEST_PG_URL"
ENGINES = ["sqlite", "postgresql"]


def _pg_admin():
    from sqlalchemy import create_engine
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(f"PostgreSQL half skipped: {PG_URL_ENV} is not set (.ci/run starts a server and sets it)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip('PostgreSQL half skipped: psycopg is not installed (pip install "pbtool[postgres]")')
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_admin():
    """An engine on the test server with AUTOCOMMIT, for CREATE/DROP DATABASE; skips without a server."""
    engine = _pg_admin()
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL half skipped: server in {PG_URL_ENV} unreachable ({exc.orig})")
    yield engine
    engine.dispose()


@contextmanager
def store_url(engine: str, tmp_dir: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty store of the engine: a file path for SQLite, a new database for PostgreSQL
    (dropped afterwards)."""
    if engine == "sqlite":
        yield str(tmp_dir / "store.db")
        return
    from sqlalchemy import text
    admin = request.getfixturevalue("pg_admin")
    name = f"pbtool_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=ENGINES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store on each engine: the SQLite half always, the PostgreSQL half with a server."""
    with store_url(request.param, tmp_path, request) as url:
        yield url


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    """A store file, for the tests about SQLite files themselves (left behind or not, old versions)."""
    return str(tmp_path / "store.db")


@pytest.fixture
def lists(tmp_path: Path) -> Path:
    """A small district: 朝阳社区 and 幸福里小区 exist in two streets (names repeat across streets)."""
    comms = [
        {"所在街道": "东湖街道", "社区名称": "朝阳社区", "社区党组织名称": ""},
        {"所在街道": "东湖街道", "社区名称": "青松社区", "社区党组织名称": "青松社区党委"},
        {"所在街道": "西山街道", "社区名称": "朝阳社区", "社区党组织名称": "朝阳社区党委"},
        {"所在街道": "南桥街道", "社区名称": "枫林社区", "社区党组织名称": "枫林社区党委"},
    ]
    ests = [
        {"所在街道": "东湖街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": ""},
        {"所在街道": "东湖街道", "所属社区": "青松社区", "小区名称": "青松苑", "小区党组织名称": "青松苑党支部"},
        {"所在街道": "西山街道", "所属社区": "朝阳社区", "小区名称": "幸福里小区", "小区党组织名称": ""},
        {"所在街道": "南桥街道", "所属社区": "枫林社区", "小区名称": "枫林小区", "小区党组织名称": ""},
        {"所在街道": "南桥街道", "所属社区": "枫林社区", "小区名称": "翠苑", "小区党组织名称": ""},
        {"所在街道": "南桥街道", "所属社区": "枫林社区", "小区名称": "翠苑一区", "小区党组织名称": ""},
        {"所在街道": "南桥街道", "所属社区": "枫林社区", "小区名称": "锦绣家园", "小区党组织名称": ""},
    ]
    orgs = [
        {"单位名称": "青湖智联科技有限公司", "组织类型": "非公有制企业", "所在街道": "东湖街道", "所在社区": "朝阳社区",
         "党组织建立情况": "未建立"},
        {"单位名称": "青湖(杭州)数据服务有限公司", "组织类型": "民办非企业单位", "所在街道": "东湖街道",
         "所在社区": "朝阳社区", "党组织建立情况": "联合组建", "党组织名称": "朝阳社区联合党支部"},
    ]
    return write_lists(tmp_path / "资源清单.xlsx", comms, ests, orgs)


__all__ = ["ROOT", "member", "ESTATE_HEADER"]
