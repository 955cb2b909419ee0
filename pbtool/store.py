"""Stage 5: the workspace store. SQLAlchemy Core tables (portable SQL: SQLite by default, PostgreSQL
by URL), a recorded schema version with migrations, and one transaction per import."""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, Text, and_,
                        delete, event, func, insert, inspect, not_, or_, select, text, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from . import engines
from .queries import StoreQueries

SCHEMA_VERSION = 3
DEFAULT_DB = "pbtool.db"
INSERT_CHUNK = 20_000

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
    # residence as resolved against the period's lists: ok | unknown | ambiguous | none
    Column("place_status", Text, nullable=False, default="none"),
    Column("place_source", Text),  # column | address | sheet
)

communities = Table(
    "communities", metadata, *_provenance("communities"),
    Column("name", Text), Column("party_org", Text), Column("org_type", Text),
)

estates = Table(
    "estates", metadata, *_provenance("estates"),
    Column("community", Text), Column("name", Text),
    Column("party_org", Text), Column("households", Integer),
)

orgs = Table(
    "orgs", metadata, *_provenance("orgs"),
    Column("name", Text), Column("name_key", Text, index=True), Column("uscc", Text),
    Column("org_type", Text), Column("industry", Text), Column("community", Text),
    Column("employees", Integer), Column("org_status", Text), Column("party_org", Text),
    Column("instructor", Text),
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

# A period's computed coverage (findings, rates) as JSON, per set of rules (a hash of rules and thresholds).
coverage_states = Table(
    "coverage_states", metadata,
    Column("period", String(8), primary_key=True),
    Column("rules_key", Text, primary_key=True),   # rules and thresholds hash, and the district
    Column("computed_at", DateTime, nullable=False),
    Column("state", Text, nullable=False),
)

KIND_TABLES: dict[str, Table] = {
    "roster": members, "community": communities, "estate": estates, "org": orgs, "unit": units,
}

def _add_column(table: str, column: str, sql_type: Any, default: str) -> Callable[[Connection], None]:
    """A migration step: ALTER TABLE … ADD COLUMN, in the SQL SQLite and PostgreSQL share."""
    def step(conn: Connection) -> None:
        existing = {c["name"] for c in inspect(conn).get_columns(table)}
        if column not in existing:
            type_sql = sql_type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {type_sql} NOT NULL DEFAULT '{default}'"))
    return step


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
MIGRATIONS: dict[int, list[Callable[[Connection], None]]] = {
    2: [_add_column("problems", "expected", Text(), "")],   # what a value should be (NAME_NEAR_MISS: the listed name)
    3: [_widen_text_columns, *(_add_column(t.name, "district", Text(), "") for t in DISTRICT_TABLES),
        lambda conn: Store.refresh_all_aggregates(conn)],
}


class StoreError(Exception):
    """A store that cannot be opened or used; the message is Chinese."""


def db_url(db: str | os.PathLike | None) -> str:
    """--db value (a path or a SQLAlchemy URL) -> URL; PBTOOL_DB, then ./pbtool.db by default."""
    db = db or os.environ.get("PBTOOL_DB") or DEFAULT_DB
    db = str(db)
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA page_size=8192")      # only takes effect in a new file: a fifth faster bulk inserts than 4096
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")  # the rollback journal still makes each import atomic
    cur.execute("PRAGMA cache_size=-262144")   # 256 MB of page cache: index inserts of a large import stay in memory
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def store_exists(db: str | os.PathLike | None) -> bool:
    """Whether the store named by --db is already there (a server database is taken to exist)."""
    url = db_url(db)
    return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists()


class Store(StoreQueries):
    """A workspace store. Open it with `Store.open(db)`; it creates or migrates the schema."""

    def __init__(self, engine: Engine, district: str | None = None):
        self.engine = engine
        self.district = district   # None: the whole store (a city); else reads and replacements keep to it
        self._locks: list[tuple[Connection, int]] = []

    @classmethod
    def open(cls, db: str | os.PathLike | None = None, create: bool = True, district: str | None = None) -> "Store":
        url = db_url(db)
        if url.startswith("sqlite:///") and not create and not Path(url.removeprefix("sqlite:///")).exists():
            raise StoreError(f"数据库“{url.removeprefix('sqlite:///')}”不存在，请先用 pbtool import 导入数据，或用 --db 指定数据库文件。")
        try:
            engine = engines.make_engine(url)
        except engines.ConnectError as exc:
            raise StoreError(str(exc)) from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine, district)
        try:
            store._ensure_schema()
        except OperationalError as exc:
            message = engines.connect_message(exc, url)
            engine.dispose()
            if message is None:
                raise
            raise StoreError(message) from None
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

    def _ensure_schema(self) -> None:
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            row = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
            if row is None:
                conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            version = int(row[0])
            if version > SCHEMA_VERSION:
                raise StoreError(f"数据库由更新版本的 pbtool 创建（结构版本 {version}，本程序支持 {SCHEMA_VERSION}），请升级 pbtool。")
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for step in MIGRATIONS.get(v, []):
                    step(conn)
            if version < SCHEMA_VERSION:
                conn.execute(update(meta_table).where(meta_table.c.key == "schema_version")
                             .values(value=str(SCHEMA_VERSION)))

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar_one())

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: everything inside lands together or not at all."""
        with self.engine.begin() as conn:
            yield conn

    # ---------------------------------------------------------------- writing (inside a transaction)

    def replaced_where(self, table: Table, period: str, streets: set[str], files: set[str]) -> Any:
        """The rows a re-import replaces: the same period and kind, from the same street or the same file,
        within the store's district (another district's rows are never touched)."""
        return and_(self._here(table, period),
                    or_(table.c.street.in_(sorted(streets)), table.c.file.in_(sorted(files))))

    def replaced_counts(self, conn: Connection, period: str, kind: str, streets: set[str], files: set[str]) -> dict[str, int]:
        table = KIND_TABLES[kind]
        q = (select(table.c.street, func.count()).where(self.replaced_where(table, period, streets, files))
             .group_by(table.c.street))
        return {street: n for street, n in conn.execute(q)}

    def replace_rows(self, conn: Connection, period: str, kind: str, streets: set[str], files: set[str]) -> dict[str, int]:
        """Delete a street's (or a file's) earlier rows of one kind for the period, and their problems."""
        counts = self.replaced_counts(conn, period, kind, streets, files)
        table = KIND_TABLES[kind]
        conn.execute(delete(table).where(self.replaced_where(table, period, streets, files)))
        conn.execute(delete(problems).where(and_(problems.c.kind == kind,
                                                 self.replaced_where(problems, period, streets, files))))
        return counts

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
