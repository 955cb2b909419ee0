"""What differs between the two engines the store runs on (SQLite and PostgreSQL), kept out of
store.py: creating the engine, Chinese messages for connection failures, COPY bulk loads and the
advisory lock that serializes the imports of one period."""
from __future__ import annotations

import weakref
import zlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from itertools import islice
from typing import Any

from sqlalchemy import Table, create_engine, exc as sa_exc, text
from sqlalchemy.engine import Connection, Engine, make_url

COPY_CHUNK = 20_000
PG_EXTRA = 'pip install "pbtool[postgres]"'


# every engine made, until it is garbage: dispose_all() closes what is still open when the CLI ends
_ENGINES: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def make_engine(url: str) -> Engine:
    """An engine that never prints bound parameters (an ID number) in an error message."""
    try:
        engine = create_engine(url, hide_parameters=True)
        _ENGINES.add(engine)
        return engine
    except sa_exc.NoSuchModuleError as exc:
        raise ConnectError(f"不支持的数据库网址“{_safe(url)}”：只能用 SQLite 文件路径或 postgresql+psycopg://…") from exc
    except ModuleNotFoundError as exc:   # the dialect is known but its driver is not installed
        raise ConnectError(f"连接 PostgreSQL 需要 psycopg 驱动，但尚未安装。请运行：{PG_EXTRA}") from exc
    except sa_exc.ArgumentError as exc:
        raise ConnectError(f"数据库网址“{_safe(url)}”格式不对，应写成 postgresql+psycopg://用户名@主机/数据库名") from exc


def dispose_all() -> None:
    """Close the pooled connections of every engine still open. A SQLite store closed so folds its
    write-ahead log back into the file and deletes the -wal file: the .db a clerk copies holds
    everything."""
    for engine in list(_ENGINES):
        with suppress(Exception):   # ending anyway: a server gone away has nothing to close
            engine.dispose()


class ConnectError(Exception):
    """The store's server or driver cannot be used; the message is Chinese (store.py turns it into
    a StoreError)."""


def _safe(url: str) -> str:
    """The URL as it can be shown: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return url.split("@")[-1]


def connect_message(exc: BaseException, url: str) -> str | None:
    """A Chinese sentence for a server that cannot be reached, a wrong password or a missing database;
    None when the error is something else."""
    if not isinstance(exc, sa_exc.OperationalError):
        return None
    try:
        u = make_url(url)
    except sa_exc.ArgumentError:
        return None
    if u.get_backend_name() != "postgresql":
        return None
    detail = str(exc.orig if exc.orig is not None else exc)
    where = f"{u.host or 'localhost'}:{u.port or 5432}"
    if "password authentication failed" in detail or "no password supplied" in detail:
        return f"无法登录数据库服务器 {where}：用户“{u.username}”的密码错误。请核对 --db 或 PBTOOL_DB 中的用户名和密码。"
    if "does not exist" in detail and "database" in detail:
        return (f"数据库服务器 {where} 上没有名为“{u.database}”的数据库。"
                f"请先由管理员创建（例如 createdb {u.database}），或核对 --db 中的数据库名。")
    if "role" in detail and "does not exist" in detail:
        return f"数据库服务器 {where} 上没有用户“{u.username}”。请核对 --db 中的用户名。"
    if any(s in detail for s in ("Connection refused", "could not connect", "connection failed", "timeout expired",
                                 "could not translate host name", "Name or service not known", "No route to host")):
        return f"无法连接数据库服务器 {where}：服务器未启动、地址或端口有误，或被防火墙拦截。请确认服务器已运行后重试。"
    return f"数据库服务器 {where} 拒绝连接。请核对 --db 中的地址、用户名和数据库名。"


# ---------------------------------------------------------------- bulk loads


def copy_rows(conn: Connection, table: Table, columns: list[str], rows: Iterable[Sequence[Any]],
              progress: Callable[[int], None] | None = None) -> int:
    """PostgreSQL's COPY … FROM STDIN through psycopg 3 (cursor.copy), inside the connection's
    transaction: several times faster than INSERT for a large roster."""
    q = conn.dialect.identifier_preparer.quote
    sql = f"COPY {q(table.name)} ({', '.join(q(c) for c in columns)}) FROM STDIN"
    raw = conn.connection.driver_connection
    assert raw is not None
    n = 0
    it = iter(rows)
    with raw.cursor() as cur, cur.copy(sql) as copy:
        while chunk := list(islice(it, COPY_CHUNK)):
            for row in chunk:
                copy.write_row(row)
            n += len(chunk)
            if progress:
                progress(n)
    return n


def copy_out_csv(conn: Connection, query: Any) -> bytes:
    """The rows of a SELECT as PostgreSQL's CSV (COPY (…) TO STDOUT): NULL an unquoted empty field,
    an empty text "" (quoted), booleans t/f. Sent through psycopg 3, which binds the query's
    parameters on the client for COPY; read in blocks, not row by row."""
    compiled = query.compile(dialect=conn.dialect)
    raw = conn.connection.driver_connection
    assert raw is not None
    out = bytearray()
    with raw.cursor() as cur, cur.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)", compiled.params) as copy:
        for block in copy:
            out += block
    return bytes(out)


# ---------------------------------------------------------------- serializing imports


def period_lock_key(period: str) -> int:
    """A stable 63-bit key for pg_advisory_lock, one per period (and per district, given as part of
    the text), so imports of other periods run in parallel."""
    return zlib.crc32(f"pbtool-import:{period}".encode()) | (0x5042 << 32)


def lock_period(engine: Engine, period: str) -> Connection | None:
    """Take PostgreSQL's session advisory lock of the period on a connection of its own and return
    that connection (closing it releases the lock); None on SQLite, whose single writer already
    serializes imports."""
    if engine.dialect.name != "postgresql":
        return None
    conn = engine.connect()
    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": period_lock_key(period)})
    conn.commit()
    return conn


def refresh_statistics(conn: Connection, table: Table) -> None:
    """PostgreSQL: sample `table` again inside the transaction (its own new rows included) before a
    query that joins it with itself. After an import of a new period the planner otherwise believes the
    period has no rows and picks a nested loop: the repeated-person count of a 1,000,000-member period
    ran for more than 17 minutes instead of seconds. SQLite keeps no such statistics."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table.name}")

