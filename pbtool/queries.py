"""The store's read queries and its per-period aggregates, as named methods (Store inherits them):
the importer, coverage and the reports ask these instead of writing SQL of their own.

Aggregates: the import transaction recomputes, for the period it wrote, the member counts that
coverage needs (by street/community/estate/place status and category, by employer key and credit
code, by branch), so coverage never reads member rows. A period's computed coverage state (findings,
rates) is stored too, keyed by the rules it was computed with, and dropped when the period changes."""
from __future__ import annotations

import datetime as dt
import orjson
from collections import Counter
from collections.abc import Callable
from itertools import compress, islice, repeat
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, func, insert, literal, not_, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from . import engines
from . import store as st

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


COUNT_SLICE = 1 << 15      # rows counted per Counter.update call (count_added)
# coverage_inputs' tables
INPUT_NAMES = ("orgs", "employers", "places", "branches", "near_misses", "estates", "communities")


# the aggregate tables' columns as coverage_inputs reads them (after period and district)
INPUT_AGGREGATES = {"employers": ("agg_employers", ("employer_key", "employer_uscc")),
                    "places": ("agg_places", ("street", "community", "estate", "place_status")),
                    "branches": ("agg_branches", ("street", "branch"))}


def _aggregate_table(name: str, district: str, fields: tuple[str, ...], columns: list[list[Any]]) -> Any:
    """One district's rows of an aggregate as update_aggregates wrote them for the whole period
    (`fields`: district, the keys, category; `columns`: theirs, then members and members with an
    error), as the table coverage_inputs reads from the store: the same columns, types and order."""
    from .arrow import pa, pc

    def arrow(values: Any, type_: Any) -> Any:
        return pc.cast(values, type_) if isinstance(values, pa.Array) else pa.array(values, type_)

    at = {f: i for i, f in enumerate(fields)}
    cols = {f: arrow(columns[at[f]], pa.string()) for f in (*INPUT_AGGREGATES[name][1], "category")}
    table = pa.table({**cols, "members": arrow(columns[-2], pa.int64()), "with_errors": arrow(columns[-1], pa.int64())})
    return table.filter(pc.fill_null(pc.equal(arrow(columns[at["district"]], pa.string()), district), False))


def _in_period(table: Any, period: str, district: str | None) -> Any:
    """The period's rows of a table, within `district` (None: every district's)."""
    cond = table.c.period == period
    return cond if district is None else and_(cond, table.c.district == district)


def _prefixed(district: str, street: Any) -> Any:
    """Streets named with their district (_street's city view, in Arrow): 青湖区 + 城关街道."""
    from .arrow import pc
    return pc.binary_join_element_wise(district, street, "")


def _errors(col: Any) -> Any:
    return func.sum(case((col, 1), else_=0))


class StoreQueries:
    """Mixed into Store: every query the other modules need, by name."""

    engine: Engine

    district: str | None
    # A city view (no district chosen, the period holds two or more named districts): every street the
    # reads below give is named with its district. Set by coverage and the reports (city_view()).
    qualify_streets: bool = False
    replaced_where: Callable[..., Any]   # Store's: the rows a re-import replaces

    def _here(self, table: Any, period: str) -> Any:
        """The period's rows, within the store's district when it has one (None: the whole city)."""
        return _in_period(table, period, self.district)

    def _all(self, q: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(q).all())

    # ------------------------------------------------------------ aggregates (written by imports)

    AGGREGATES: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("agg_places", ("district", "street", "community", "estate", "place_status")),
        ("agg_employers", ("district", "employer_key", "employer_uscc")),
        ("agg_branches", ("district", "street", "branch")))

    @classmethod
    def refresh_aggregates(cls, conn: Connection, period: str) -> None:
        """Recompute the period's member aggregates from its member rows, inside the caller's
        transaction, and drop its stored coverage states (they described the period as it was).
        Used where rows come back or go without an import (undo, the migration)."""
        m = st.members
        here = m.c.period == period
        count, errs = func.count(), _errors(m.c.has_error)
        for name, keys in cls.AGGREGATES:
            table = st.metadata.tables[name]
            conn.execute(delete(table).where(table.c.period == period))
            cols = [m.c[k] for k in keys]
            q = select(m.c.period, *cols, m.c.category, count, errs).where(here).group_by(m.c.period, *cols, m.c.category)
            conn.execute(insert(table).from_select(["period", *keys, "category", "members", "with_errors"], q))
        cls._refresh_repeats(conn, period)

    @classmethod
    def count_added(cls, added: list[tuple[dict[str, list[Any]], int]]) -> dict[str, tuple[Counter, Counter]]:
        """Per aggregate table, the rows an import inserts counted by key (members, and members with an
        error), from the columns in memory (collections.Counter, at C speed). `added` holds, per sheet,
        the stored member columns (name -> one value per row; a column left out is NULL, place_status
        'none', has_error false) and the number of rows. Touches no database: the importer runs it
        while the member rows are written."""
        defaults = {"place_status": "none", "has_error": False}
        out: dict[str, tuple[Counter, Counter]] = {}
        flagged_rows = [list(compress(range(rows), columns.get("has_error") or ())) for columns, rows in added]
        for name, keys in cls.AGGREGATES:
            fields = (*keys, "category")
            members: Counter[tuple] = Counter()
            errors: Counter[tuple] = Counter()
            for (columns, rows), flagged in zip(added, flagged_rows):
                # each row's key; the defaults are repeat()s
                row_keys = zip(*(columns[k] if columns.get(k) is not None else repeat(defaults.get(k), rows)
                                 for k in fields))
                # Counter.update holds the GIL for the whole of what it is given: in slices, so that the
                # thread writing the rows meanwhile (and its signal handlers) get their turns
                for _ in range(0, rows, COUNT_SLICE):
                    members.update(islice(row_keys, COUNT_SLICE))
                # the rows with an error only: their keys are made for them alone (a second pass over
                # every row's key took as long as the first, and the writes waited for the GIL meanwhile)
                row_keys = zip(*(map(columns[k].__getitem__, flagged) if columns.get(k) is not None
                                 else repeat(defaults.get(k), len(flagged)) for k in fields))
                for _ in range(0, len(flagged), COUNT_SLICE):
                    errors.update(islice(row_keys, COUNT_SLICE))
            out[name] = (members, errors)
        return out

    def update_aggregates(self, conn: Connection, period: str, run_id: int,
                          added: list[tuple[dict[str, list[Any]], int]],
                          counted: dict[str, tuple[Counter, Counter]] | None = None
                          ) -> dict[str, tuple[tuple[str, ...], list[list[Any]]]]:
        """What an import does instead of a full refresh (three grouped scans of every member row of the
        period: about 20 s at a million): the period's aggregates so far, less the rows this run moved
        aside, plus the rows it inserted (count_added(added), or `counted` when the caller has it).
        Returns what it wrote, per table: the key fields, and the columns (the fields', then members and
        members with an error; keep_coverage_inputs takes the district's rows from there)."""
        from .arrow import pa

        archive = st.ARCHIVES["roster"]
        if counted is None:
            counted = self.count_added(added)
        flagged = 0     # member rows of the period with an error after this import
        written = {}
        for name, keys in self.AGGREGATES:
            table = st.metadata.tables[name]
            fields = (*keys, "category")
            members: Counter[tuple] = Counter()
            errors: Counter[tuple] = Counter()
            for *key, n, e in conn.execute(select(*(table.c[k] for k in fields), table.c.members, table.c.with_errors)
                                           .where(table.c.period == period)):
                members[tuple(key)] += n
                errors[tuple(key)] += e or 0
            gone = [archive.c[k] for k in fields]
            q = (select(*gone, func.count(), _errors(archive.c.has_error))
                 .where(and_(archive.c.superseded_by == run_id, archive.c.period == period)).group_by(*gone))
            for *key, n, e in conn.execute(q):
                members[tuple(key)] -= n
                errors[tuple(key)] -= e or 0
            # the same keys in the same order as counting the new rows here: new keys follow in the
            # order of their first row
            members.update(counted[name][0])
            errors.update(counted[name][1])
            conn.execute(delete(table).where(table.c.period == period))
            kept = [(key, n, errors.get(key, 0)) for key, n in members.items() if n]
            flagged = max(flagged, sum(e for _, _, e in kept))
            # as Arrow arrays: what the staged insert takes, and what keep_coverage_inputs keeps
            by_field = (*zip(*(key for key, _, _ in kept)), [n for _, n, _ in kept], [e for _, _, e in kept]) \
                if kept else ([] for _ in (*fields, 1, 2))
            columns: list[Any] = list(by_field)
            try:
                columns = [pa.array(c) for c in columns]
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):   # bound one by one, as lists
                columns = [list(c) for c in columns]
            written[name] = (fields, columns)
            self.insert_columns(conn, table, {"period": period}, [*fields, "members", "with_errors"],  # type: ignore[attr-defined]
                                columns)
        # a repeated person is always a flagged row: with none in the period there is nothing to look for
        self._refresh_repeats(conn, period, skip_search=not flagged)
        return written

    @staticmethod
    def _refresh_repeats(conn: Connection, period: str, skip_search: bool = False) -> None:
        """Repeated persons, and the period's stored coverage states dropped."""
        m = st.members
        here = m.c.period == period
        if skip_search:
            for table in (st.agg_dup_city, st.agg_dup_district):
                conn.execute(delete(table).where(table.c.period == period))
            conn.execute(delete(st.coverage_states).where(st.coverage_states.c.period == period))
            return
        # Repeated persons: only IDs on rows the import flagged can repeat (each repeat is flagged), so the
        # window runs over those IDs' rows alone; the first occurrence (by district, street, file, row) counts.
        engines.refresh_statistics(conn, m)
        cand = select(m.c.id_number).where(and_(here, m.c.has_error.is_(True), m.c.id_number.is_not(None)))
        order = (m.c.district, m.c.street, m.c.file, m.c.sheet, m.c.row, m.c.id)
        for table, parts in ((st.agg_dup_city, [m.c.id_number]), (st.agg_dup_district, [m.c.district, m.c.id_number])):
            conn.execute(delete(table).where(table.c.period == period))
            k = func.row_number().over(partition_by=parts, order_by=order).label("k")
            sub = select(m.c.district, m.c.street, m.c.category, k).where(
                and_(here, m.c.id_number.in_(cand.scalar_subquery()))).subquery()
            q = (select(literal(period), sub.c.district, sub.c.street, sub.c.category, func.count(), literal(0))
                 .where(sub.c.k > 1).group_by(sub.c.district, sub.c.street, sub.c.category))
            conn.execute(insert(table).from_select(
                ["period", "district", "street", "category", "members", "with_errors"], q))
        conn.execute(delete(st.coverage_states).where(st.coverage_states.c.period == period))

    @classmethod
    def refresh_all_aggregates(cls, conn: Connection) -> None:
        """Every period's aggregates (the migration that introduced them)."""
        for (period,) in conn.execute(select(st.members.c.period).distinct()):
            cls.refresh_aggregates(conn, period)

    def duplicate_person_counts(self, period: str) -> list[tuple[str, str | None, int]]:
        """(street, category, rows) of repeated persons: every occurrence of an ID after its first in the
        period (within the district, or the whole store for a city), from the import's aggregates.
        Summaries count such a person once."""
        a = st.agg_dup_city if self.district is None else st.agg_dup_district
        street = self._street(a)
        q = (select(street, a.c.category, func.sum(a.c.members)).where(self._here(a, period))
             .group_by(street, a.c.category))
        return [(street, category, int(n)) for street, category, n in self._all(q)]

    def member_counts_by_street(self, period: str) -> list[tuple]:
        """(street, category, members) of the period."""
        a = st.agg_places
        street = self._street(a)
        return [tuple(r) for r in self._all(
            select(street, a.c.category, func.sum(a.c.members)).where(self._here(a, period))
            .group_by(street, a.c.category))]

    # ------------------------------------------------------------ coverage inputs, by columns

    def _arrow(self, q: Any, names: list[str], types: dict[str, Any] | None = None, conn: Connection | None = None) -> Any:
        """The rows of `q` as a pyarrow Table with these column names; text columns unless `types`
        says otherwise. On SQLite each column comes as one JSON array (json_group_array), which pyarrow
        parses in C++ without the GIL: a city's reads took 1.06 s as group_concat strings split by
        pyarrow, 0.48 s so (SQLite builds a JSON array about twice as fast, and two such reads run in
        parallel, which group_concat's did not). (Not through the ADBC driver: it carries its own copy
        of SQLite, and two copies in one process on one database file break each other's locks.) On
        PostgreSQL the rows come as CSV through COPY (_arrow_csv). Elsewhere, and on a SQLite without its
        JSON functions, rows come one by one."""
        from .arrow import pa

        types = types or {}
        schema = pa.schema([(n, types.get(n, pa.string())) for n in names])
        dialect = self.engine.dialect.name
        table = self._arrow_json(q, schema, conn) if dialect == "sqlite" else \
            self._arrow_csv(q, schema, conn) if dialect == "postgresql" else None
        if table is None:
            rows = list(conn.execute(q).all()) if conn is not None else self._all(q)
            table = pa.table([pa.array([r[i] for r in rows], type=f.type) for i, f in enumerate(schema)],
                             schema=schema)
        return table

    def _arrow_json(self, q: Any, schema: Any, conn: Connection | None = None) -> Any:
        from .arrow import pa

        sub = q.subquery()
        try:
            if conn is None:
                with self.engine.connect() as own:
                    row = self._json_arrays(own, sub)
            else:   # inside the caller's transaction (a failed statement leaves a SQLite transaction as it was)
                row = self._json_arrays(conn, sub)
        except OperationalError:   # a SQLite built without its JSON functions
            return None
        import io

        import pyarrow.json as pj

        cols = []
        for data, f in zip(row, schema):
            # the array as the one field of one JSON object, parsed by pyarrow (C++, without the GIL)
            doc = b'{"v":' + data + b"}"
            want = pa.int64() if pa.types.is_boolean(f.type) else f.type   # SQLite keeps booleans as 0/1
            try:
                got = pj.read_json(io.BytesIO(doc), read_options=pj.ReadOptions(block_size=len(doc) + 1, use_threads=False),
                                   parse_options=pj.ParseOptions(explicit_schema=pa.schema([("v", pa.list_(want))])))
            except (pa.ArrowInvalid, pa.ArrowTypeError):   # a value of another type than the column's: row by row
                return None
            col = got.column("v").combine_chunks().flatten()
            cols.append(col.cast(f.type) if want != f.type else col)
        return pa.Table.from_arrays(cols, schema=schema)

    @staticmethod
    def _json_arrays(conn: Connection, sub: Any) -> Any:
        """Each column of `sub` as one JSON array (json_group_array), as the bytes SQLite made."""
        raw = conn.connection.dbapi_connection
        factory = raw.text_factory   # type: ignore[union-attr]
        raw.text_factory = bytes     # type: ignore[union-attr]  # the JSON text as stored: no Python str of it
        try:
            return conn.execute(select(*(func.json_group_array(c) for c in sub.c))).one()
        finally:
            raw.text_factory = factory   # type: ignore[union-attr]

    def _arrow_csv(self, q: Any, schema: Any, conn: Connection | None = None) -> Any:
        """PostgreSQL: the rows as CSV through COPY, parsed by pyarrow (C++, without the GIL). At city
        scale row-by-row fetching was most of a PostgreSQL coverage run's reading time."""
        import io

        import pyarrow.csv as pcsv

        from .arrow import pa

        if conn is not None:
            data = engines.copy_out_csv(conn, q)
        else:
            with self.engine.connect() as own:
                data = engines.copy_out_csv(own, q)
        if not data:
            return pa.Table.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
        return pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(column_names=schema.names, use_threads=False, block_size=len(data) + 1),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(column_types=schema, null_values=[""], strings_can_be_null=True,
                                                quoted_strings_can_be_null=False, true_values=["t"],
                                                false_values=["f"]))

    def _street(self, table: Any) -> Any:
        """The street column; in a city view (qualify_streets) prefixed by its district, so that two
        districts' streets of the same name stay apart: 青湖区城关街道, 东江区城关街道."""
        if not self.qualify_streets:
            return table.c.street
        named = and_(table.c.district.is_not(None), table.c.district != "")
        return case((named, table.c.district + table.c.street), else_=table.c.street).label("street")

    INPUTS_VERSION = 1   # of what coverage_inputs reads: bump when its columns or their meaning change

    def coverage_inputs(self, period: str) -> dict[str, Any]:
        """What a period's coverage is computed from, as Arrow tables (pbtool.units): member counts by
        place, employer and branch and category (the aggregates), the community, estate and
        organization lists, and the name notes. Per district of the period (within the store's
        district): the copy the district's last import or undo kept (keep_coverage_inputs), while it is
        still the district's data, else read from the tables. In a city view the streets are named with
        their district (_street)."""
        from .arrow import pa

        districts = self.districts_of_period(period)
        kept = self._kept_inputs(period, districts)
        parts: dict[str, list[Any]] = {}
        for d in districts:
            tables = kept.get(d) or self._read_inputs(period, d)
            for name, t in tables.items():
                if self.qualify_streets and d and "street" in t.column_names:
                    t = t.set_column(t.schema.get_field_index("street"), "street",
                                     _prefixed(d, t.column("street")))
                parts.setdefault(name, []).append(t)
        if not districts:
            parts = {k: [v] for k, v in self._read_inputs(period, "").items()}
        return {k: v[0] if len(v) == 1 else pa.concat_tables(v) for k, v in parts.items()}

    def _imports_stamp(self, period: str, district: str | None, conn: Connection | None = None) -> str:
        """What the period's imports (of `district`; None: every district's) are now: their number,
        last id and time. Every import and undo changes it."""
        i = st.imports
        q = (select(func.count(), func.max(i.c.id), func.max(i.c.imported_at))
             .where(_in_period(i, period, district)))
        n, last, when = (conn.execute(q).one() if conn is not None else self._all(q)[0])
        return f"{n}:{last}:{when}"

    def _inputs_stamp(self, period: str, district: str, conn: Connection | None = None) -> str:
        """A kept copy of the district's inputs is valid while this is unchanged: its imports of the
        period, and the versions of the copy's format and of the schema."""
        return f"{self.INPUTS_VERSION}.{st.SCHEMA_VERSION}:{self._imports_stamp(period, district, conn)}"

    def _kept_inputs(self, period: str, districts: list[str]) -> dict[str, dict[str, Any]]:
        if not districts:
            return {}
        import pyarrow as pa

        c = st.coverage_inputs
        stamps = {d: self._inputs_stamp(period, d) for d in districts}
        out: dict[str, dict[str, Any]] = {}
        bad: set[str] = set()
        q = select(c.c.district, c.c.name, c.c.stamp, c.c.data).where(and_(c.c.period == period, c.c.district.in_(districts)))
        for d, name, stamp, data in self._all(q):
            if stamp != stamps.get(d):
                bad.add(d)
                continue
            with pa.ipc.open_stream(data) as r:
                out.setdefault(d, {})[name] = r.read_all()
        return {d: t for d, t in out.items() if d not in bad and set(t) == set(INPUT_NAMES)}

    def keep_coverage_inputs(self, period: str, district: str, conn: Connection | None = None,
                             aggregates: dict[str, Any] | None = None) -> bool:
        """Keep the district's coverage inputs of the period (Arrow IPC) for coverage to read.

        Inside a write transaction (`conn`: an import's or an undo's, before it commits) they are read
        on that connection, and the aggregates the import just wrote are taken from memory
        (`aggregates`: update_aggregates' result) instead of read back. Without `conn` they are read
        from the tables under the stamp read before and checked after: an import that committed
        meanwhile leaves nothing kept. Best effort outside a transaction: False when nothing was kept
        (coverage then reads the tables)."""
        import pyarrow as pa

        def kept_rows(stamp: str, tables: dict[str, Any]) -> list[dict[str, Any]]:
            now = dt.datetime.now()
            rows = []
            for name, t in tables.items():
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, t.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as w:
                    w.write_table(t)
                rows.append({"period": period, "district": district, "name": name, "stamp": stamp,
                             "computed_at": now, "data": sink.getvalue().to_pybytes()})
            return rows

        c = st.coverage_inputs
        here = and_(c.c.period == period, c.c.district == district)
        if conn is not None:
            mem = {name: (aggregates or {})[table] for name, (table, _) in INPUT_AGGREGATES.items()
                   if table in (aggregates or {})}
            tables = self._read_inputs(period, district, conn, skip=set(mem))
            try:
                tables.update({name: _aggregate_table(name, district, *mem[name]) for name in mem})
                rows = kept_rows(self._inputs_stamp(period, district, conn), {name: tables[name] for name in INPUT_NAMES})
            except (pa.ArrowException, TypeError, ValueError):   # values Arrow cannot hold: coverage reads the tables
                conn.execute(delete(c).where(here))
                return False
            conn.execute(delete(c).where(here))
            conn.execute(insert(c), rows)
            return True
        try:
            stamp = self._inputs_stamp(period, district)
            tables = self._read_inputs(period, district)
            if self._inputs_stamp(period, district) != stamp:
                return False
            rows = kept_rows(stamp, tables)
            with self.engine.begin() as own:
                own.execute(delete(c).where(here))
                own.execute(insert(c), rows)
        except (SQLAlchemyError, pa.ArrowException, OSError):
            return False
        return True

    def _read_inputs(self, period: str, district: str | None, conn: Connection | None = None,
                     skip: set[str] | None = None) -> dict[str, Any]:
        """The inputs of the period's rows of `district` (None: every district's) from the tables, with
        their streets as stored. The seven reads run on two connections at once (SQLite, PostgreSQL's
        COPY and pyarrow work without the GIL): a city's reads take about half the time. The reads are
        then not one snapshot; coverage's read_consistently() repeats the whole computation when an
        import committed meanwhile."""
        from .arrow import pa

        def here(table: Any) -> Any:
            return _in_period(table, period, district)

        counts = {"members": pa.int64(), "with_errors": pa.int64()}
        jobs: dict[str, tuple[Any, list[str], dict[str, Any] | None]] = {}
        c, e, o = st.communities, st.estates, st.orgs
        org_cols = ["street", "community", "name", "name_key", "uscc", "org_type", "org_status", "instructor",
                    "instructor_assigned"]
        # the longest reads first, so that the two connections finish together
        jobs["orgs"] = (select(*(o.c[k] for k in org_cols)).where(here(o)), org_cols, {"instructor_assigned": pa.bool_()})
        for name, keys in (("employers", ["employer_key", "employer_uscc"]),
                           ("places", ["street", "community", "estate", "place_status"]), ("branches", ["street", "branch"])):
            a = st.metadata.tables[f"agg_{name}"]
            cols = [*keys, "category", "members", "with_errors"]
            jobs[name] = (select(*(a.c[k] for k in cols)).where(here(a)), cols, counts)
        p = st.problems
        jobs["near_misses"] = (select(p.c.street, p.c.value, p.c.expected)
                               .where(and_(here(p), p.c.code == "NAME_NEAR_MISS")), ["street", "value", "expected"], None)
        built = {"org_built": pa.bool_()}
        jobs["estates"] = (select(e.c.street, e.c.community, e.c.name, e.c.party_org, e.c.org_built).where(here(e)),
                           ["street", "community", "name", "party_org", "org_built"], built)
        jobs["communities"] = (select(c.c.street, c.c.name, c.c.party_org, c.c.org_built).where(here(c)),
                               ["street", "name", "party_org", "org_built"], built)
        for name in skip or ():
            del jobs[name]
        if conn is not None:   # inside the caller's transaction: on its connection, one after another
            # a kind the district never imported this period has no rows: not read (an import's time)
            i = st.imports
            kinds = {k for (k,) in conn.execute(select(i.c.kind).where(here(i)).distinct())}
            none = {name for name, kind in (("orgs", "org"), ("estates", "estate"), ("communities", "community"),
                                            ("near_misses", "roster")) if kind not in kinds}
            return {k: pa.schema([(n, (job[2] or {}).get(n, pa.string())) for n in job[1]]).empty_table()
                    if k in none else self._arrow(*job, conn=conn) for k, job in jobs.items()}
        if self.engine.dialect.name not in ("sqlite", "postgresql"):
            return {k: self._arrow(*job) for k, job in jobs.items()}
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2) as pool:
            done = {k: pool.submit(self._arrow, *job) for k, job in jobs.items()}
            return {k: f.result() for k, f in done.items()}

    # ------------------------------------------------------------ computed coverage states

    def period_stamp(self, period: str) -> str:
        """What the period's imports are now (their number, last id and time). A computed state is stored
        under the stamp read before computing it, so a state computed while another import committed is
        never found again (an import drops the period's states, but the slower reader may store after it)."""
        return self._imports_stamp(period, None)

    def stored_coverage_state(self, period: str, rules_key: str) -> dict[str, Any] | None:
        c = st.coverage_states
        rows = self._all(select(c.c.state).where(and_(c.c.period == period, c.c.rules_key == rules_key)))
        return orjson.loads(rows[0][0]) if rows else None

    def save_coverage_state(self, period: str, rules_key: str, state: dict[str, Any]) -> bool:
        """Keep a computed state; False when the store cannot be written (a read-only file: the state
        is then computed again next time)."""
        c = st.coverage_states
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(c).where(and_(c.c.period == period, c.c.rules_key == rules_key)))
                conn.execute(insert(c).values(period=period, rules_key=rules_key, computed_at=dt.datetime.now(),
                                              state=orjson.dumps(state).decode()))
        except SQLAlchemyError:
            return False
        return True

    def forget_coverage_states(self, period: str | None = None) -> None:
        """Drop the stored states (of one period, or all): the next coverage computes them again from
        the aggregates."""
        c = st.coverage_states
        with self.engine.begin() as conn:
            conn.execute(delete(c) if period is None else delete(c).where(c.c.period == period))

    # ------------------------------------------------------------ lists

    # ------------------------------------------------------------ the importer's look-ups

    def place_lists_kept(self, conn: Connection, period: str, replace: dict[str, tuple[set[str], set[str]]]
                         ) -> dict[str, list[dict[str, Any]]]:
        """The period's stored community, estate and organization names (street, name, and community
        for estates) that the import under way does not replace."""
        out = {}
        for kind in ("community", "estate", "org"):
            t = st.KIND_TABLES[kind]
            cols = [t.c.street, t.c.name] + ([t.c.community] if kind == "estate" else [])
            q = select(*cols).where(self._here(t, period))
            if kind in replace:
                q = q.where(not_(self.replaced_where(t, period, *replace[kind])))
            out[kind] = [dict(r._mapping) for r in conn.execute(q)]
        return out

    # ------------------------------------------------------------ the reports' figures

    def dual_report_counts(self, period: str, yes_values: tuple[str, ...]) -> list[tuple[str, int, int]]:
        """(street, members who reported to their community, members with the column filled)."""
        m = st.members
        yes = func.sum(case((m.c.reported.in_(yes_values), 1), else_=0))
        street = self._street(m)
        return [tuple(r) for r in self._all(
            select(street, yes, func.count(m.c.reported)).where(self._here(m, period)).group_by(street))]

    def party_org_names(self, period: str) -> list[tuple[str, str]]:
        """(street, name) of every Party organization the period names: members' branches and the
        community and estate organizations of the lists (each distinct within its source)."""
        b, c, e = st.agg_branches, st.communities, st.estates
        out: list[tuple[str, str]] = []
        for q in (select(self._street(b), b.c.branch).where(and_(self._here(b, period), b.c.branch.is_not(None))).distinct(),
                  select(self._street(c), c.c.party_org).where(and_(self._here(c, period), c.c.party_org.is_not(None))).distinct(),
                  select(self._street(e), e.c.party_org).where(and_(self._here(e, period), e.c.party_org.is_not(None))).distinct()):
            out.extend(tuple(r) for r in self._all(q))
        return out

    def place_counts(self, period: str) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
        """Per street: (street, communities, with a Party organization) and the same for estates. A place
        has one when its list names it or says 是 under 是否建立党组织 (org_built)."""
        def with_org(t: Any) -> Any:
            named = and_(t.c.party_org.is_not(None), t.c.party_org != "")
            return func.sum(case((or_(named, t.c.org_built.is_(True)), 1), else_=0))
        c, e = st.communities, st.estates
        sc, se = self._street(c), self._street(e)
        qc = select(sc, func.count(), with_org(c)).where(self._here(c, period)).group_by(sc)
        qe = select(se, func.count(), with_org(e)).where(self._here(e, period)).group_by(se)
        return [tuple(r) for r in self._all(qc)], [tuple(r) for r in self._all(qe)]

    def unit_counts(self, period: str) -> list[tuple]:
        """Per street: (street, units, signed agreements, agreements known, projects, projects known)."""
        u = st.units
        signed = func.sum(case((u.c.agreement.is_(True), 1), else_=0))
        street = self._street(u)
        return [tuple(r) for r in self._all(
            select(street, func.count(), signed, func.count(u.c.agreement), func.sum(u.c.projects),
                   func.count(u.c.projects)).where(self._here(u, period)).group_by(street))]

    def org_statuses(self, period: str) -> list[dict[str, Any]]:
        """Name key, name, street, type and Party organization status of the period's organizations."""
        o = st.orgs
        return [dict(r._mapping) for r in self._all(
            select(o.c.name_key, o.c.name, self._street(o), o.c.org_type, o.c.org_status).where(self._here(o, period)))]

    # ------------------------------------------------------------ the city's districts

    def districts_of_period(self, period: str) -> list[str]:
        """The districts whose imports the period holds, within the store's district when it has one
        ('' for imports made without a district), in name order."""
        i = st.imports
        q = select(i.c.district).where(i.c.period == period).distinct()
        if self.district is not None:
            q = q.where(i.c.district == self.district)
        return sorted(r[0] or "" for r in self._all(q))

    def city_view(self, period: str) -> bool:
        """True when the store is read for the whole city (no district) and the period holds two or
        more named districts: then streets are named with their district (qualify_streets)."""
        return self.district is None and self.is_city(self.districts_of_period(period))

    @staticmethod
    def is_city(districts: list[str]) -> bool:
        """A period's districts make a city: two or more, each named (imports without a district are
        not a district of their own)."""
        return len(districts) >= 2 and "" not in districts

    def districts_of_store(self) -> list[str]:
        """Every district the store holds imports of, whatever the store's district ('' for imports
        made without one), in name order: what a message about an unknown district lists."""
        i = st.imports
        return sorted(r[0] or "" for r in self._all(select(i.c.district).distinct()))
