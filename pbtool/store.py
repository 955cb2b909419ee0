"""Stage 5: the workspace store. SQLAlchemy Core tables (portable SQL: SQLite by default, PostgreSQL
by URL), a recorded schema version with migrations, and one transaction per import."""
from __future__ import annotations

import datetime as dt
import os
import queue
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice, pairwise, repeat
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import (Boolean, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text, and_,
                        delete, event, func, insert, inspect, literal, not_, or_, select, text, update)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from . import engines, errors
from .queries import StoreQueries

SCHEMA_VERSION = 6
DEFAULT_DB = "pbtool.db"
# Names --db must not take: the spreadsheets, documents and outputs pbtool reads and writes.
NOT_A_STORE_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt", ".docx", ".doc", ".pdf", ".json", ".htm", ".html"}
INSERT_CHUNK = 20_000
STAGE_MIN_ROWS = 10_000       # tables this large (a sheet, an aggregate) are written through the Arrow stage on SQLite
STAGE_SCHEMA = "pbtool_stage"
SCHEMA_LOCK_KEY = 0x7062746F6F6C   # PostgreSQL advisory lock held while the schema is upgraded
MAX_STAGES = 8
STAGE_PIECES = 4               # a sheet of STAGE_PIECE_MIN_ROWS rows or more is staged in this many pieces
STAGE_PIECE_MIN_ROWS = 40_000


def _stage_modules() -> tuple[Any, Any, Any] | None:
    """(adbc_driver_manager, adbc_driver_sqlite, pyarrow), or None when they are not installed."""
    try:
        import adbc_driver_manager
        import adbc_driver_sqlite

        from .arrow import pa
    except ImportError:
        return None
    return adbc_driver_manager, adbc_driver_sqlite, pa


def _remove_stage_file(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with suppress(OSError):
            Path(f"{path}{suffix}").unlink()


def remove_stale_stages(database: str | None) -> None:
    """Scratch databases left beside the store by an import that was killed (kill -9, power loss):
    they hold member rows, so the next command that opens the store deletes them. One whose process
    is still alive is another import's, and is left alone."""
    if not database or database == ":memory:":
        return
    folder = Path(database).resolve().parent
    for path in folder.glob(".pbtool-stage-*-*.db"):
        try:
            pid = int(path.name.split("-")[2])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            _remove_stage_file(path)


def _alive(pid: int) -> bool:
    if os.name == "nt":   # os.kill would end the process there; a file still open cannot be deleted anyway
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _new_stage_path(database: str | None) -> Path:
    """Where a scratch database goes: beside the store (same disk, same owner); in the temporary folder
    for an in-memory store."""
    import tempfile
    import uuid

    folder = Path(database).resolve().parent if database and database != ":memory:" else Path(tempfile.gettempdir())
    return folder / f".pbtool-stage-{os.getpid()}-{uuid.uuid4().hex[:8]}.db"


def _create_stage_file(path: Path) -> None:
    """The scratch database, empty and readable by its owner only."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))

metadata = MetaData()


def _provenance(name: str) -> list[Any]:
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("import_id", Integer, nullable=False),
        Column("period", String(8), nullable=False),
        Column("street", Text, nullable=False, default=""),
        Column("file", Text, nullable=False),
        Column("sheet", Text, nullable=False),
        Column("row", Integer),
        Column("has_error", Boolean, nullable=False, default=False),
        Column("extra", Text),   # JSON of columns that map to no field, so nothing the file held is lost
        Index(f"ix_{name}_period_street", "period", "street"),
    ]


meta_table = Table("meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text))

imports = Table(
    "imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(8), nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("street", Text, nullable=False, default=""),
    Column("file", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("sheet", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("problems", Integer, nullable=False, default=0),
    Column("imported_at", DateTime, nullable=False),
    Column("replaced_rows", Integer, nullable=False, default=0),
    Column("run_id", Integer, nullable=False, default=0),   # one `pbtool import` = one run (what undo reverts)
)

members = Table(
    "members", metadata, *_provenance("members"),
    Column("name", Text), Column("gender", Text), Column("ethnicity", Text),
    Column("id_number", Text), Column("birth_date", Text),
    Column("education", Text), Column("join_date", Text), Column("full_date", Text),
    Column("category", Text), Column("status", Text), Column("branch", Text),
    Column("employer", Text), Column("employer_key", Text),
    Column("employer_uscc", Text), Column("occupation", Text),
    Column("community", Text), Column("estate", Text), Column("address", Text),
    Column("phone", Text), Column("is_mobile", Text), Column("outflow", Text),
    Column("is_lost", Text), Column("reported", Text),
    Column("person_type", Text),  # 人员身份 (教职工/离退休/本科生 …), schema version 3
    # residence as resolved against the period's lists: ok | unknown | ambiguous | none
    Column("place_status", Text, nullable=False, default="none"),
    Column("place_source", Text),  # column | address | sheet
)

communities = Table(
    "communities", metadata, *_provenance("communities"),
    Column("name", Text), Column("party_org", Text), Column("org_type", Text),
    Column("org_built", Boolean),   # a 是否建立党组织 column (是/否): an organization, name not given (schema 5)
)

estates = Table(
    "estates", metadata, *_provenance("estates"),
    Column("community", Text), Column("name", Text),
    Column("party_org", Text), Column("households", Integer),
    Column("org_built", Boolean),   # as communities.org_built (schema 5)
)

orgs = Table(
    "orgs", metadata, *_provenance("orgs"),
    Column("name", Text), Column("name_key", Text, index=True), Column("uscc", Text),
    Column("org_type", Text), Column("industry", Text), Column("community", Text),
    Column("employees", Integer), Column("org_status", Text), Column("party_org", Text),
    Column("instructor", Text),
    Column("instructor_assigned", Boolean),   # a 是/否 column: an instructor assigned, name not given (schema 4)
)

units = Table(
    "units", metadata, *_provenance("units"),
    Column("name", Text), Column("unit_type", Text), Column("community", Text),
    Column("agreement", Boolean), Column("projects", Integer),
)

problems = Table(
    "problems", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, nullable=False),
    Column("period", String(8), nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("street", Text, nullable=False, default=""),
    Column("code", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("file", Text, nullable=False),
    Column("sheet", Text, nullable=False),
    Column("row", Integer),
    Column("column", Text, nullable=False, default=""),
    Column("value", Text, nullable=False, default=""),
    Column("message", Text, nullable=False),
    Column("expected", Text, nullable=False, default=""),
)

# Several districts in one store (a city's): every import and its rows belong to one district, ""
# in a store of a single district. Appended last, where the migration of an older store adds it too.
DISTRICT_TABLES = [imports, problems, members, communities, estates, orgs, units]
for _t in DISTRICT_TABLES:
    _t.append_column(Column("district", Text, nullable=False, default="", server_default=""))


def _aggregate(name: str, *keys: str) -> Table:
    """Per-period member counts by `keys` and category, kept by every import (queries.py)."""
    return Table(name, metadata,
                 Column("period", String(8), nullable=False, index=True),
                 *(Column(k, Text) for k in keys),
                 Column("category", Text),
                 Column("members", Integer, nullable=False),
                 Column("with_errors", Integer, nullable=False))


agg_places = _aggregate("agg_places", "district", "street", "community", "estate", "place_status")
agg_employers = _aggregate("agg_employers", "district", "employer_key", "employer_uscc")
agg_branches = _aggregate("agg_branches", "district", "street", "branch")
# Repeated persons (the same ID twice in a period): every occurrence after the first, by street and
# category, counted once within each district and once over the whole store (a city).
agg_dup_district = _aggregate("agg_dup_district", "district", "street")
agg_dup_city = _aggregate("agg_dup_city", "district", "street")

# A period's computed coverage (findings, rates) as JSON, per set of rules (a hash of rules and thresholds).
coverage_states = Table(
    "coverage_states", metadata,
    Column("period", String(8), primary_key=True),
    Column("rules_key", Text, primary_key=True),   # rules and thresholds hash, and the district
    Column("computed_at", DateTime, nullable=False),
    Column("state", Text, nullable=False),
)

# What a period's coverage is computed from (queries.coverage_inputs: member aggregates, the lists, the
# name notes), per district, as Arrow IPC: one row per input table. Kept by every import and undo for
# its period and district, valid while `stamp` is that district's imports of the period (the SQL read
# is used otherwise), so coverage reads a city's inputs in milliseconds instead of half a second.
coverage_inputs = Table(
    "coverage_inputs", metadata,
    Column("period", String(8), primary_key=True),
    Column("district", Text, primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("stamp", Text, nullable=False),
    Column("computed_at", DateTime, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

KIND_TABLES: dict[str, Table] = {
    "roster": members, "community": communities, "estate": estates, "org": orgs, "unit": units,
}


def _archive(table: Table) -> Table:
    """Where a re-import moves the rows it replaces: the same columns (ids kept, so an undo puts back the
    very same rows) plus the run that replaced them. Live tables hold live rows only, so no reader needs
    a filter; `pbtool undo` moves the rows back. A live id can be reused once its row moved here, so the
    key is (id, superseded_by)."""
    cols = [Column(c.name, c.type, primary_key=c.primary_key, autoincrement=False) for c in table.columns]
    return Table(f"{table.name}_replaced", metadata, *cols,
                 Column("superseded_by", Integer, primary_key=True, autoincrement=False, index=True))


ARCHIVES: dict[str, Table] = {kind: _archive(t) for kind, t in KIND_TABLES.items()}
ARCHIVES["problems"] = _archive(problems)

def _add_column(table: str, column: str, sql_type: Any, default: str) -> Callable[[Connection], None]:
    """A migration step: ALTER TABLE … ADD COLUMN, in the SQL SQLite and PostgreSQL share."""
    def step(conn: Connection) -> None:
        existing = {c["name"] for c in inspect(conn).get_columns(table)}
        if column not in existing:
            type_sql = sql_type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {type_sql} NOT NULL DEFAULT '{default}'"))
    return step


def _add_nullable_column(table: str, column: str, sql_type: Any) -> Callable[[Connection], None]:
    """A migration step: ALTER TABLE … ADD COLUMN without a default (NULL for the rows already there)."""
    def step(conn: Connection) -> None:
        existing = {c["name"] for c in inspect(conn).get_columns(table)}
        if column not in existing:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type.compile(dialect=conn.dialect)}"))
    return step


def _estates_blank_community(conn: Connection) -> None:
    """Estates stored with a NULL community (a list without a community column) never met their residents,
    whose community is '': store '' as every new import does (RES_NO_ORG)."""
    conn.execute(text("UPDATE estates SET community = '' WHERE community IS NULL"))
def _widen_text_columns(conn: Connection) -> None:
    """A migration step: the length limits of schema 2 (varchar(32) for 学历, varchar(18) for an ID…)
    become unlimited text, as a cell holds up to 32,767 characters. SQLite never enforced them."""
    if conn.dialect.name != "postgresql":
        return
    insp = inspect(conn)
    for table in metadata.sorted_tables:
        existing = {c["name"]: c["type"] for c in insp.get_columns(table.name)}
        for col in table.c:
            old = existing.get(col.name)
            if isinstance(col.type, Text) and isinstance(old, String) and not isinstance(old, Text):
                q = conn.dialect.identifier_preparer.quote
                conn.execute(text(f"ALTER TABLE {q(table.name)} ALTER COLUMN {q(col.name)} TYPE TEXT"))


# Schema migrations: the steps that bring a store of version N-1 to version N, run in order inside the
# transaction that opens the store. Version 1 was the first schema.
def _number_runs(conn: Connection) -> None:
    """Imports made before runs existed: each its own run."""
    conn.execute(update(imports).where(imports.c.run_id == 0).values(run_id=imports.c.id))


MIGRATIONS: dict[int, list[Callable[[Connection], None]]] = {
    2: [_add_column("problems", "expected", Text(), "")],   # what a value should be (NAME_NEAR_MISS: the listed name)
    # Version 3 (one release): column length limits lifted (PostgreSQL); reversible imports (runs, and
    # *_replaced tables created by create_all for the rows a run replaced); 人员身份 kept with the member;
    # estates listed without a community get '' like the members that live there; districts; aggregates.
    3: [_widen_text_columns, _add_column("imports", "run_id", Integer(), "0"), _number_runs,
        _add_nullable_column("members", "person_type", Text()), _estates_blank_community,
        *(_add_column(t.name, "district", Text(), "") for t in DISTRICT_TABLES),
        lambda conn: Store.refresh_all_aggregates(conn)],
    # Version 4: organizations listed with a 是否选派党建工作指导员 column (是/否) instead of a name.
    4: [_add_nullable_column("orgs", "instructor_assigned", Boolean()),
        _add_nullable_column("orgs_replaced", "instructor_assigned", Boolean())],
    # Version 5: community and estate lists with a 是否建立党组织 column (是/否) instead of a name.
    5: [_add_nullable_column(t, "org_built", Boolean())
        for t in ("communities", "communities_replaced", "estates", "estates_replaced")],
    # Version 6: coverage_inputs (created by create_all; filled by the next import or undo of each
    # period and district, read from the tables until then).
    6: [],
}


class StoreError(errors.StoreError):
    """A store that cannot be opened or used; the message is Chinese."""


def db_url(db: str | os.PathLike | None) -> str:
    """--db value (a path or a SQLAlchemy URL) -> URL; PBTOOL_DB, then ./pbtool.db by default."""
    db = db or os.environ.get("PBTOOL_DB") or DEFAULT_DB
    db = str(db)
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


LOCK_WAIT_SECONDS = float(os.environ.get("PBTOOL_LOCK_WAIT", "600"))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None          # SQLAlchemy's "begin" event emits BEGIN [IMMEDIATE] itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA page_size=8192")      # only takes effect in a new file: a fifth faster bulk inserts than 4096
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")  # readers wait out a checkpoint instead of failing
    with suppress(sqlite3.DatabaseError):      # WAL: readers see a consistent snapshot while an import writes
        cur.execute("PRAGMA journal_mode=WAL")  # (a read-only or foreign file keeps its mode; opening says why)
    cur.execute("PRAGMA synchronous=NORMAL")  # WAL still makes each import atomic
    cur.execute("PRAGMA cache_size=-262144")   # 256 MB of page cache: index inserts of a large import stay in memory
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def _sqlite_reader_cache(dbapi_conn: Any, _record: Any) -> None:
    """32 MB of page cache instead of the import's 256 MB: coverage at city scale reads each page once,
    and the pages it kept were 60 MB of its peak memory."""
    dbapi_conn.execute("PRAGMA cache_size=-32768")


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock first (BEGIN IMMEDIATE): what it checks against cannot change under it.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("pbtool_write") else "BEGIN")


def store_exists(db: str | os.PathLike | None) -> bool:
    """Whether the store named by --db is already there (a server database is taken to exist)."""
    url = db_url(db)
    return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists()


def _is_locked(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "locked" in text or "busy" in text


def db_error_message(exc: BaseException, where: str) -> str:
    """A database driver's error in Chinese (SQLite's and PostgreSQL's usual ones)."""
    orig = getattr(exc, "orig", exc)
    text = str(orig).lower()
    if isinstance(orig, OSError):
        return errors.os_error_message(orig, where)
    if isinstance(exc, sa_exc.OperationalError) and (message := engines.connect_message(exc, where)):
        return message.rstrip("。")
    if "locked" in text or "busy" in text:
        return f"数据库“{where}”正被另一个 pbtool 命令（例如另一个导入）占用，等待超时。请等它结束后重试"
    if "readonly" in text or "read-only" in text or "read only" in text:
        return f"数据库“{where}”是只读的，无法写入。请检查文件权限，或用 --db 指定可写的数据库"
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return f"“{where}”不是 pbtool 数据库（或已损坏）。请用 --db 指定正确的数据库文件"
    if "unable to open" in text:
        return f"无法打开数据库“{where}”：文件夹不存在或没有权限。请检查路径"
    if "disk is full" in text or "disk i/o" in text:
        return f"磁盘空间不足或读写出错，数据库“{where}”未能写入。请清理磁盘后重试"
    if "connection" in text or "could not connect" in text or "password" in text:
        return f"连接数据库服务器失败（{where}）。请确认服务器已启动、网址和用户名密码正确"
    return f"数据库“{where}”出错（{type(orig).__name__}）"


class Store(StoreQueries):
    """A workspace store. Open it with `Store.open(db)`; it creates or migrates the schema."""

    def __init__(self, engine: Engine, where: str = "", district: str | None = None):
        self.engine = engine
        self.where = where or engine.url.render_as_string(hide_password=True)
        self.district = district   # None: the whole store (a city); else reads and replacements keep to it
        self._locks: list[tuple[Connection, int]] = []
        self._stages: list[Path] = []        # scratch databases of staged inserts (insert_columns)

    @classmethod
    def open(cls, db: str | os.PathLike | None = None, create: bool = True, district: str | None = None) -> "Store":
        """Open a store, upgrading one of an older schema version in place (every command: a clerk who
        installs a new pbtool may run coverage first), with an errors.Notice warning that says so. A
        read-only command passes create=False: then a missing store is refused, never created."""
        url = db_url(db)
        where = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else engines._safe(url)
        if url.startswith("sqlite:///"):
            path = Path(where)
            if path.is_dir():
                raise StoreError(f"--db “{where}”是一个文件夹，不是数据库文件。请给出文件路径，例如 {path / DEFAULT_DB}。")
            if path.suffix.lower() in NOT_A_STORE_SUFFIXES:   # a slip: --db 花名册.xlsx must not become a database
                raise StoreError(f"--db “{where}”是{path.suffix}文件的名字，不是数据库。数据库文件请用 .db 结尾，"
                                 f"例如 {path.with_suffix('.db')}。", saved=False)
            if not path.exists():
                if not create:
                    raise StoreError(f"数据库“{where}”不存在，请先用 pbtool import 导入数据，或用 --db 指定数据库文件。")
                if not path.parent.is_dir():
                    raise StoreError(f"数据库“{where}”所在的文件夹不存在，请先建立文件夹或换一个路径。", saved=False)
                try:   # created readable by its owner only: it holds ID numbers and phones
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise StoreError(errors.os_error_message(exc, where), saved=False) from None
            remove_stale_stages(where)
        try:
            engine = engines.make_engine(url)
        except engines.ConnectError as exc:
            raise StoreError(str(exc), saved=False) from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            if not create:   # a reading command: a page cache the size of a district, not of an import
                event.listen(engine, "connect", _sqlite_reader_cache)
        store = cls(engine, where, district)
        try:
            store._ensure_schema(create)
        except StoreError:
            engine.dispose()
            raise
        except (sa_exc.DBAPIError, OSError) as exc:
            engine.dispose()
            message = engines.connect_message(exc, url)
            raise StoreError(message or db_error_message(exc, where)) from None
        return store

    def close(self) -> None:
        for conn, key in self._locks:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.close()
        self._locks.clear()
        self.engine.dispose()

    def lock_period(self, period: str) -> None:
        """Serialize the imports of one period until the store is closed (PostgreSQL: a session advisory
        lock, so a second import waits and then sees the first one's members as stored, and
        cross-street duplicates are still found; SQLite: nothing to do, it has a single writer)."""
        conn = engines.lock_period(self.engine, period)
        if conn is not None:
            self._locks.append((conn, engines.period_lock_key(period)))

    def _ensure_schema(self, create: bool = True) -> None:
        """Check the store's schema version; create a new store (create=True only) and upgrade an older
        one in place, whatever the command (one transaction: the whole upgrade or none of it). A store of
        a newer pbtool, or not a pbtool store, is refused."""
        with self.engine.connect() as conn:   # the usual case: a current store, nothing to write
            names = set(inspect(conn).get_table_names())
            if names and "meta" not in names:   # another program's database: never add tables to it
                raise StoreError(f"“{self.where}”是一个数据库，但不是 pbtool 的（没有结构版本），未做任何改动。"
                                 "请用 --db 指定 pbtool 数据库文件或新文件名。", saved=False)
            version = self._version(conn) if "meta" in names else None
            if version is None and not create:   # a read-only command never creates a store
                raise StoreError(f"“{self.where}”不是 pbtool 数据库（没有结构版本）。请用 --db 指定正确的数据库文件。")
            if version is not None and version > SCHEMA_VERSION:
                raise self._newer(version)
            if version == SCHEMA_VERSION and (not create or all(t in names for t in metadata.tables)):
                return
        try:
            upgraded_from = self._create_or_migrate()
        except (sa_exc.DBAPIError, OSError) as exc:
            if version is None:
                raise
            raise StoreError(self._upgrade_failed(version, exc), saved=False) from None
        if upgraded_from is not None:
            warnings.warn(errors.Notice(f"数据库“{self.where}”是旧版本 pbtool 的，已将其结构从版本 {upgraded_from} "
                                        f"升级到版本 {SCHEMA_VERSION}，原有数据不变。"), stacklevel=3)

    def _create_or_migrate(self) -> int | None:
        """Create the missing tables and run the migrations from the recorded version, in one write
        transaction; returns the version upgraded from (None: nothing to upgrade). The version is read
        again under the write lock: of two commands opening an old store at once, one upgrades it."""
        with self.engine.connect().execution_options(pbtool_write=True) as conn, conn.begin():
            if conn.dialect.name == "postgresql":   # DDL of two upgraders would clash: one at a time
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
            has_meta = inspect(conn).has_table("meta")
            version = self._version(conn) if has_meta else None
            if version is not None and version > SCHEMA_VERSION:
                raise self._newer(version)
            metadata.create_all(conn)
            if version is None:
                conn.execute(delete(meta_table).where(meta_table.c.key == "schema_version"))
                conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
                return None
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for step in MIGRATIONS.get(v, []):
                    step(conn)
            if version < SCHEMA_VERSION:
                conn.execute(update(meta_table).where(meta_table.c.key == "schema_version")
                             .values(value=str(SCHEMA_VERSION)))
                return version
            return None

    @staticmethod
    def _newer(version: int) -> StoreError:
        return StoreError(f"数据库由更新版本的 pbtool 创建（结构版本 {version}，本程序支持 {SCHEMA_VERSION}），请升级 pbtool。")

    def _upgrade_failed(self, version: int, exc: BaseException) -> str:
        """Why an older store could not be upgraded, in Chinese: the transaction was rolled back."""
        orig = getattr(exc, "orig", exc)
        text_ = str(orig).lower()
        head = (f"数据库“{self.where}”是旧版本 pbtool 的（结构版本 {version}），需先升级到版本 {SCHEMA_VERSION} 才能使用，")
        if (getattr(orig, "sqlstate", None) in ("42501", "25006") or isinstance(orig, PermissionError)
                or any(w in text_ for w in ("readonly", "read-only", "read only", "permission denied", "must be owner"))):
            return (head + "但它不能写入（文件只读，或数据库账号没有修改表结构的权限），升级未进行，数据库未做任何改动。"
                    "请让有写权限的用户运行一次本命令或 pbtool import 完成升级，或复制一份可写的数据库用 --db 指定。")
        return head + f"但升级未能完成（{db_error_message(exc, self.where)}），数据库未做任何改动。"

    def _version(self, conn: Connection) -> int | None:
        row = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
        if row is None:
            return None
        try:
            return int(row[0])
        except (TypeError, ValueError):
            raise StoreError(f"数据库“{self.where}”的结构版本“{row[0]}”不是数字，文件可能被改动过。"
                             "请用备份恢复，或用 --db 指定另一个数据库。") from None

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar_one())

    @contextmanager
    def transaction(self, on_wait: Callable[[], None] | None = None) -> Iterator[Connection]:
        """One write transaction: everything inside lands together or not at all. On SQLite it takes the
        write lock first (BEGIN IMMEDIATE), so what is read inside is what the write is checked against;
        while another import holds the lock, `on_wait` is called once and the command waits its turn."""
        try:
            conn = self._begin_write(on_wait)
        except (sa_exc.DBAPIError, OSError) as exc:
            raise StoreError(db_error_message(exc, self.where), saved=False) from None
        try:
            with conn:
                trans = conn.get_transaction() or conn.begin()
                try:
                    try:
                        yield conn
                    except BaseException:
                        trans.rollback()
                        raise
                    trans.commit()
                finally:   # the scratch databases hold member rows: never left behind
                    self._drop_stage(conn)
        except sa_exc.DBAPIError as exc:
            raise StoreError(db_error_message(exc, self.where), saved=False) from None

    def _begin_write(self, on_wait: Callable[[], None] | None) -> Connection:
        if self.engine.dialect.name != "sqlite":
            conn = self.engine.connect()
            conn.begin()
            return conn
        waits = [(0.2, True), (LOCK_WAIT_SECONDS, False)]
        for seconds, first in waits:
            conn = self.engine.connect().execution_options(pbtool_write=True)
            raw: Any = conn.connection.dbapi_connection
            raw.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
            try:
                conn.begin()
                return conn
            except sa_exc.OperationalError as exc:
                conn.close()
                if not (first and _is_locked(exc)):
                    raise
                if on_wait:
                    on_wait()
        raise AssertionError("unreachable")

    # ---------------------------------------------------------------- writing (inside a transaction)

    def replaced_where(self, table: Table, period: str, streets: set[str], files: set[str]) -> Any:
        """The rows a re-import replaces: the same period and kind from the same street (keyed by period,
        street and kind, never by a bare file name), within the store's district (another district's rows
        are never touched). Rows that name no street are replaced only by the same file again, as nothing
        else identifies them."""
        named = sorted(s for s in streets if s)
        cond: Any = table.c.street.in_(named)
        if files:
            cond = or_(cond, and_(table.c.street == "", table.c.file.in_(sorted(files))))
        return and_(self._here(table, period), cond)

    def replaced_counts(self, conn: Connection, period: str, kind: str, streets: set[str], files: set[str]) -> dict[str, int]:
        table = KIND_TABLES[kind]
        q = (select(table.c.street, func.count()).where(self.replaced_where(table, period, streets, files))
             .group_by(table.c.street))
        return {street: n for street, n in conn.execute(q)}

    def replace_rows(self, conn: Connection, period: str, kind: str, streets: set[str], files: set[str],
                     run_id: int = 0) -> dict[str, int]:
        """Move a street's earlier rows of one kind for the period, and their problems, into the
        *_replaced tables, marked with the run that replaced them: nothing is deleted, undo puts them back."""
        counts = self.replaced_counts(conn, period, kind, streets, files)
        if not counts:
            return counts
        table = KIND_TABLES[kind]
        self._move(conn, table, ARCHIVES[kind], self.replaced_where(table, period, streets, files), run_id)
        self._move(conn, problems, ARCHIVES["problems"],
                   and_(problems.c.kind == kind, self.replaced_where(problems, period, streets, files)), run_id)
        return counts

    @staticmethod
    def _move(conn: Connection, table: Table, archive: Table, where: Any, run_id: int) -> None:
        cols = list(table.c.keys())
        conn.execute(insert(archive).from_select(
            cols + ["superseded_by"], select(*table.c, literal(run_id, Integer)).where(where)))
        conn.execute(delete(table).where(where))

    @staticmethod
    def next_run_id(conn: Connection) -> int:
        """The number of the import run under way (taken under the write lock)."""
        return (conn.execute(select(func.max(imports.c.run_id))).scalar() or 0) + 1

    @staticmethod
    def add_import(conn: Connection, **values: Any) -> int:
        values.setdefault("imported_at", dt.datetime.now())
        return conn.execute(insert(imports).values(**values)).inserted_primary_key[0]  # type: ignore[index]

    @staticmethod
    def insert_rows(conn: Connection, table: Table, columns: list[str], rows: Iterable[Sequence[Any]],
                    progress: Callable[[int], None] | None = None) -> int:
        """Bulk insert of value tuples in chunks. The statement is compiled once by SQLAlchemy for the
        connection's dialect and run with the driver's executemany: no per-row dict or compile, and
        still no hand-written SQL (positional for SQLite's qmark, named for psycopg's pyformat).
        On PostgreSQL the rows go through COPY instead (engines.copy_rows)."""
        if conn.dialect.name == "postgresql":
            return engines.copy_rows(conn, table, columns, rows, progress)
        compiled = insert(table).compile(dialect=conn.dialect, column_keys=columns)
        sql = str(compiled)
        shape: Callable[[Sequence[Any]], Any] | None = None
        if compiled.positional:
            order = [columns.index(k) for k in compiled.positiontup or ()]
            if order != list(range(len(columns))):
                shape = lambda r: tuple(r[i] for i in order)  # noqa: E731
        else:
            shape = lambda r: dict(zip(columns, r))  # noqa: E731
        n = 0
        it = iter(rows)
        while True:
            chunk = list(islice(it, INSERT_CHUNK)) if shape is None else [shape(r) for r in islice(it, INSERT_CHUNK)]
            if not chunk:
                break
            conn.exec_driver_sql(sql, chunk)
            n += len(chunk)
            if progress:
                progress(n)
        return n

    def ready_for_bulk_rows(self, rows: int) -> None:
        """Import now what a bulk insert of `rows` rows will need. The importer calls this before a
        thread of its own counts the rows: that thread holds the GIL in long stretches, and a first
        import of the ADBC driver under it took 1.6 s instead of 0.05 s at a million rows, measured."""
        if self.engine.dialect.name == "sqlite" and rows >= STAGE_MIN_ROWS:
            _stage_modules()

    def insert_columns(self, conn: Connection, table: Table, consts: dict[str, Any], columns: list[str],
                       series: list[Sequence[Any]], progress: Callable[[int], None] | None = None) -> int:
        """Bulk insert of column lists (plus values the same on every row). On SQLite a large sheet is
        staged: the columns become an Arrow table that the ADBC SQLite driver writes, from C, into a
        scratch database attached to the import's connection, and one INSERT … SELECT moves the rows into
        the store inside the import's transaction. Python's sqlite3 would bind every value one by one
        (about twice the time). Anything the stage cannot take goes through executemany as before."""
        n = len(series[0]) if series else 0
        if not n:   # a sheet whose rows were all blank: nothing to insert (compiling for no row fails)
            return 0
        staged = 0
        if conn.dialect.name == "sqlite" and n >= STAGE_MIN_ROWS:
            staged = self._insert_staged(conn, table, consts, columns, series)
            if progress and staged:
                progress(staged)
            if staged == n:
                return n
            series, n = [s[staged:] for s in series], n - staged   # what the stage did not take
        names = [*consts, *columns]
        series = [s.to_pylist() if hasattr(s, "to_pylist") else s for s in series]   # Arrow arrays: bound one by one
        report = (lambda done: progress(staged + done)) if progress else None
        return staged + self.insert_rows(conn, table, names, zip(*(repeat(v, n) for v in consts.values()), *series),
                                         report)

    def _insert_staged(self, conn: Connection, table: Table, consts: dict[str, Any], columns: list[str],
                       series: list[Sequence[Any]]) -> int:
        """The rows through scratch databases; returns how many went in (0: none, the caller binds them
        one by one; fewer than all: a later piece could not be staged, the caller binds the rest). A large
        sheet is staged in pieces: a thread writes piece k+1 with ADBC while the import's connection moves
        piece k in with INSERT … SELECT (both without the GIL, on two cores)."""
        free = MAX_STAGES - len(self._stages)
        if free <= 0:   # SQLite attaches at most 10 databases: the rest one by one
            return 0
        modules = _stage_modules()
        if modules is None:
            return 0
        adbc, adbc_driver_sqlite, pa = modules
        try:
            arrow = pa.table({f"c{i}": s if isinstance(s, (pa.Array, pa.ChunkedArray)) else pa.array(s)
                              for i, s in enumerate(series)})
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):   # a column mixing types: bind them one by one
            return 0
        n = arrow.num_rows
        # at most half the free scratch databases: later sheets and the aggregates get theirs too
        pieces = min(STAGE_PIECES, max(1, free // 2)) if n >= STAGE_PIECE_MIN_ROWS else 1
        bounds = [n * k // pieces for k in range(pieces + 1)]
        parts = [arrow.slice(a, b - a) for a, b in pairwise(bounds)]
        del arrow
        # Registered before they exist: an interrupt (Ctrl-C, SIGTERM) right after a file was made must
        # not leave it behind unregistered. One scratch file per piece, written by a connection of its
        # own before the import's connection attaches it (once read inside the transaction, a file is not
        # written again).
        try:
            paths = [_new_stage_path(self.engine.url.database) for _ in parts]
        except OSError:
            return 0
        first = len(self._stages)
        self._stages.extend(paths)
        ready: queue.Queue[Path | None] = queue.Queue()
        stop = threading.Event()
        running: list[Any] = []    # the statement being executed, for cancel() on an interrupt
        failed: list[BaseException] = []

        def write_pieces() -> None:
            for path, part in zip(paths, parts):
                if stop.is_set():
                    break
                try:
                    _create_stage_file(path)
                    # ADBC's low-level API (autocommit): its DB-API module imports polars and pandas (0.2 s)
                    with adbc_driver_sqlite.connect(str(path)) as db, adbc.AdbcConnection(db) as stage_conn:
                        # a scratch file, deleted after the import whatever happens: no rollback journal, no
                        # fsync (a third of the write)
                        for pragma in ("PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF"):
                            with adbc.AdbcStatement(stage_conn) as stmt:
                                stmt.set_sql_query(pragma)
                                stmt.execute_query()
                        with adbc.AdbcStatement(stage_conn) as stmt:
                            stmt.set_options(**{adbc.StatementOptions.INGEST_TARGET_TABLE.value: "rows",
                                                adbc.StatementOptions.INGEST_MODE.value: adbc.INGEST_OPTION_MODE_CREATE})
                            stmt.bind_stream(part)
                            running[:] = [stmt]
                            stmt.execute_update()
                            running.clear()
                except BaseException as exc:  # noqa: BLE001 - handed to the import's thread below
                    # a full disk or any ADBC error: the rest is bound one by one; an interrupt is raised there
                    running.clear()
                    _remove_stage_file(path)
                    failed.append(exc)
                    ready.put(None)
                    return
                ready.put(path)
            ready.put(None)

        writer = threading.Thread(target=write_pieces, name="pbtool-stage", daemon=True)
        done = 0
        try:   # started inside: an interrupt at any moment after it must wait for the writer (below)
            writer.start()
            for k, part in enumerate(parts):
                while True:   # waited for in short slices: Ctrl-C is seen at once
                    try:
                        path = ready.get(timeout=0.2)
                        break
                    except queue.Empty:
                        continue
                if path is None:
                    if failed and not isinstance(failed[0], Exception):   # Ctrl-C, SIGTERM: stop the import
                        raise failed[0]
                    break
                schema = f"{STAGE_SCHEMA}{first + k + 1}"
                conn.exec_driver_sql(f"ATTACH DATABASE ? AS {schema}", (str(path),))
                staged = Table("rows", MetaData(), *(Column(f"c{i}") for i in range(len(columns))), schema=schema)
                rows = select(*(literal(v).label(c) for c, v in consts.items()), *staged.c)
                conn.execute(insert(table).from_select([*consts, *columns], rows))
                done += part.num_rows
        finally:   # the writer is done before the transaction ends and its files are deleted
            stop.set()
            for stmt in list(running):
                with suppress(Exception):
                    stmt.cancel()
            if writer.ident is not None:
                writer.join()
        return done

    def _drop_stage(self, conn: Connection) -> None:
        """After the transaction: the scratch databases detached and deleted (they held the rows only)."""
        stages, self._stages = self._stages, []
        for k, path in enumerate(stages, 1):
            with suppress(Exception):   # the raw connection: no BEGIN around DETACH
                conn.connection.dbapi_connection.execute(f"DETACH DATABASE {STAGE_SCHEMA}{k}")  # type: ignore[union-attr]
            _remove_stage_file(path)

    # ---------------------------------------------------------------- reading

    def periods(self) -> list[str]:
        with self.engine.connect() as conn:
            q = select(imports.c.period).distinct()
            if self.district is not None:
                q = q.where(imports.c.district == self.district)
            return sorted(r[0] for r in conn.execute(q))

    def rows(self, kind: str, period: str, columns: list[str] | None = None,
             where: Any = None) -> list[dict[str, Any]]:
        table = KIND_TABLES[kind] if kind in KIND_TABLES else problems
        cols = [table.c[c] for c in columns] if columns else [table]
        q = select(*cols).where(self._here(table, period))
        if where is not None:
            q = q.where(where)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def imported_kinds(self, period: str) -> set[str]:
        """The kinds of list the period has had imported (an empty list still counts as given)."""
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(imports.c.kind).where(self._here(imports, period)).distinct())}

    def count(self, kind: str, period: str) -> int:
        table = KIND_TABLES[kind] if kind in KIND_TABLES else problems
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(self._here(table, period))).scalar_one()

    def problems(self, period: str) -> list[dict[str, Any]]:
        return self.rows("problems", period)

    def member_ids(self, conn: Connection, period: str, streets: set[str], files: set[str]) -> dict[str, tuple[str, str, int, str]]:
        """ID -> (file, sheet, row, street) of the period's stored members, leaving out the rows that the
        import under way replaces."""
        q = select(members.c.id_number, members.c.file, members.c.sheet, members.c.row, members.c.street).where(
            and_(members.c.period == period, members.c.id_number.is_not(None),
                 not_(self.replaced_where(members, period, streets, files))))
        out: dict[str, tuple[str, str, int, str]] = {}
        for idn, file, sheet, row, street in conn.execute(q):
            out.setdefault(idn, (file, sheet, row, street))
        return out

    # ---------------------------------------------------------------- history and undo

    def history(self, period: str | None = None) -> list[dict[str, Any]]:
        """Every import run, newest first: its sheets (file, sha256, street, kind, counts) and the runs
        whose rows it replaced."""
        with self.engine.connect() as conn:
            q = select(imports).order_by(imports.c.run_id.desc(), imports.c.id)
            if period:
                q = q.where(imports.c.period == period)
            rows = [dict(r._mapping) for r in conn.execute(q)]
            run_of = {r["id"]: r["run_id"] for r in conn.execute(select(imports.c.id, imports.c.run_id)).mappings()}
            replaced: dict[int, set[int]] = {}
            for archive in ARCHIVES.values():
                for by, imp in conn.execute(select(archive.c.superseded_by, archive.c.import_id).distinct()):
                    replaced.setdefault(by, set()).add(run_of.get(imp, 0))
            # every street a sheet's rows name (a file with a 街道 column holds several), live or replaced since
            streets: dict[int, dict[str, int]] = {}
            ids = [r["id"] for r in rows]
            for kind, table in KIND_TABLES.items():
                for t in (table, ARCHIVES[kind]):
                    q = (select(t.c.import_id, t.c.street, func.count()).where(t.c.import_id.in_(ids))
                         .group_by(t.c.import_id, t.c.street))
                    for imp, street, n in conn.execute(q):
                        per = streets.setdefault(imp, {})
                        per[street or ""] = per.get(street or "", 0) + n
        runs: dict[int, dict[str, Any]] = {}
        for r in rows:
            run = runs.setdefault(r["run_id"], {"run": r["run_id"], "period": r["period"], "imported_at": r["imported_at"],
                                                "sheets": [], "replaced_runs": sorted(replaced.get(r["run_id"], ()))})
            sheet = {k: r[k] for k in ("file", "sha256", "sheet", "kind", "street", "rows", "problems", "replaced_rows")}
            sheet["streets"] = dict(sorted(streets.get(r["id"], {}).items()))
            run["sheets"].append(sheet)
        return list(runs.values())

    def undo(self, run: int | None = None) -> dict[str, Any]:
        """Revert one import run exactly: its rows and problems go, the rows it replaced come back."""
        with self.transaction() as conn:
            if run is None:
                run = conn.execute(select(func.max(imports.c.run_id))).scalar()
                if not run:
                    raise StoreError("数据库中没有可撤销的导入。", saved=False)
            ids = [r[0] for r in conn.execute(select(imports.c.id).where(imports.c.run_id == run))]
            if not ids:
                raise StoreError(f"没有编号为 {run} 的导入（可用 pbtool history 查看导入记录）。", saved=False)
            later: set[int] = set()
            for archive in ARCHIVES.values():
                later.update(r[0] for r in conn.execute(
                    select(archive.c.superseded_by).where(archive.c.import_id.in_(ids)).distinct()))
            if later:
                raise StoreError(f"导入 {run} 的数据已被之后的导入 {'、'.join(map(str, sorted(later)))} 替换，"
                                 f"请先撤销导入 {'、'.join(map(str, sorted(later, reverse=True)))}。", saved=False)
            period, district = conn.execute(select(imports.c.period, imports.c.district)
                                            .where(imports.c.id == ids[0])).one()
            removed: dict[str, int] = {}
            restored: dict[str, int] = {}
            for kind, table in [*KIND_TABLES.items(), ("problems", problems)]:
                archive = ARCHIVES[kind]
                n = conn.execute(delete(table).where(table.c.import_id.in_(ids))).rowcount
                back = archive.c.superseded_by == run
                cols = list(table.c.keys())
                m = conn.execute(select(func.count()).select_from(archive).where(back)).scalar_one()
                if m:
                    conn.execute(insert(table).from_select(cols, select(*(archive.c[c] for c in cols)).where(back)))
                    conn.execute(delete(archive).where(back))
                if n:
                    removed[kind] = n
                if m:
                    restored[kind] = m
            conn.execute(delete(imports).where(imports.c.run_id == run))
            self.refresh_aggregates(conn, period)   # the period's counts and stored coverage follow its rows
            self.keep_coverage_inputs(period, district or "", conn)
        return {"run": run, "period": period, "removed": removed, "restored": restored}

    # ---------------------------------------------------------------- consistent reads

    @contextmanager
    def change_watch(self) -> Iterator[Callable[[], bool]]:
        """For a reader that reads over several queries and connections (coverage, reports): yields
        `changed()`, true once another connection has committed since the watch began (SQLite's
        PRAGMA data_version on a connection held open). Elsewhere `changed()` is always false."""
        if self.engine.dialect.name != "sqlite":
            yield lambda: False
            return
        with self.engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            start = raw.execute("PRAGMA data_version").fetchone()[0]
            yield lambda: raw.execute("PRAGMA data_version").fetchone()[0] != start


SNAPSHOT_ATTEMPTS = 5


def read_consistently(db: str | os.PathLike | None, compute: Callable[[], Any], fail: Callable[[str], Exception]) -> Any:
    """Run `compute` (many reads over several connections) until no import committed while it ran, so
    a result never mixes the store before and after an import; `fail(message)` after a few tries."""
    watcher = Store.open(db, create=False)
    try:
        for _ in range(SNAPSHOT_ATTEMPTS):
            with watcher.change_watch() as changed:
                result = compute()
                if not changed():
                    return result
    finally:
        watcher.close()
    raise fail("数据库在读取期间一直有新的导入写入，未能得到一致的结果。请等导入完成后重试。")
