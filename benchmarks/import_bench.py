"""Import benchmark (issue 12, and issue 11 for PostgreSQL): a 1,000,000-row, 15-column 党员花名册 .xlsx,
read four ways, each in its own fresh process (wall time from start to exit, interpreter start-up and
imports included; peak RSS of that process):

  (a) python-calamine:  CalamineWorkbook.from_path(p).get_sheet_by_index(0).to_python()
  (b) fastexcel:        fastexcel.read_excel(p).load_sheet(0, header_row=1).to_arrow()
                        (the data area under the header row, as one Arrow RecordBatch)
  (c) pandas.read_excel(p, engine="openpyxl", header=1)                      (skipped with --skip-pandas)
  (d) pbtool import FILE --period 2026Q3 --street 东湖街道 --format json --db FRESH.db > /dev/null
      (the whole command into a fresh SQLite store; with --db URL also into that PostgreSQL database,
      emptied before each run by dropping pbtool's tables, reported next to SQLite)

--repeat runs per step (default 3), taken in turns (a, b, d, a, b, d, …: the machine's speed drifts over
minutes, and the ratios should not carry it): the table shows the median and the min–max of time and
peak RSS; the JSON keeps every run. Targets (issue 12): (d) ≤ 1.0 × (a) in time and in peak RSS, (d) ≤ 2 × (b)
in time, and a 50,000-row file imported in under 3 s (the verdict is printed when --rows ≤ 100,000).

    python benchmarks/import_bench.py                 # 1,000,000 rows (generates the file once, ~2 min)
    python benchmarks/import_bench.py --rows 50000 --skip-pandas
    python benchmarks/import_bench.py --db postgresql+psycopg://user@localhost:5432/pbtool_bench
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from itertools import accumulate
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

from pbtool.report.fmt import cn_number

GENERATOR_VERSION = 2
HEADER = ["序号", "姓名", "性别", "民族", "身份证号", "出生日期", "学历", "入党时间", "转正时间", "人员类别",
          "所在党支部", "工作单位", "居住小区", "所属社区", "联系电话"]
TITLE = "东湖街道党员花名册"
N_COMMUNITIES = 300
N_ESTATES = 20_000
N_COMPANIES = 110_000     # ~100,000 of them occur: the smallest employers are never drawn
BRANCH_SIZE = 35          # average members of a residential branch (≤ 50 for most)
# ------------------------------------------------------------------------------------ the roster file


def generate_roster(path: Path, rows: int, seed: int) -> dict:
    import xlsxwriter

    rng = random.Random(seed)
    t0 = time.perf_counter()
    communities = C.community_names(rng, N_COMMUNITIES)
    estates = C.estate_names(rng, N_ESTATES)
    estate_comm = [rng.randrange(N_COMMUNITIES) for _ in range(N_ESTATES)]
    estate_w = [rng.lognormvariate(0, 0.9) for _ in range(N_ESTATES)]
    companies = C.company_names(rng, N_COMPANIES)
    company_w = [rng.lognormvariate(0, 1.1) for _ in range(N_COMPANIES)]
    # residential branches per community, sized so that most have ≤ 50 members
    comm_w = [0.0] * N_COMMUNITIES
    for e, w in zip(estate_comm, estate_w):
        comm_w[e] += w
    total_w = sum(comm_w)
    comm_branches = [[f"{communities[c]}第{cn_number(k)}党支部"
                      for k in range(1, max(1, round(rows * 0.93 * comm_w[c] / total_w / BRANCH_SIZE)) + 1)]
                     for c in range(N_COMMUNITIES)]
    # the biggest employers have a branch of their own
    top = sorted(range(N_COMPANIES), key=lambda i: -company_w[i])[: max(1, rows // 400)]
    company_branch = {i: f"{companies[i]}党支部" for i in top}

    ids = C.IdMaker(rng)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("党员花名册")
    title_fmt = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    head_fmt = wb.add_format({"bold": True, "align": "center", "border": 1, "bg_color": "#D9E1F2"})
    for col, width in enumerate([7, 9, 5, 7, 21, 12, 11, 12, 12, 10, 30, 36, 14, 12, 13]):
        ws.set_column(col, col, width)
    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, len(HEADER) - 1, TITLE, title_fmt)
    ws.write_row(1, 0, HEADER, head_fmt)

    estate_cw = list(accumulate(estate_w))
    company_cw = list(accumulate(company_w))
    chunk = 10_000
    n_area = len(C.AREA_CODES)
    written = 0
    cats = Counter()
    while written < rows:
        k = min(chunk, rows - written)
        est_idx = rng.choices(range(N_ESTATES), cum_weights=estate_cw, k=k)
        emp_idx = rng.choices(range(N_COMPANIES), cum_weights=company_cw, k=k)
        eth = C.weighted(rng, C.ETHNICITIES, k)
        edu = C.weighted(rng, C.EDUCATION, k)
        for j in range(k):
            r = written + j + 2               # 0-based sheet row: title row 0, header row 1
            male = rng.random() < 0.7
            birth = C.random_birth(rng)
            idn = ids.make(rng.randrange(n_area), birth, male)
            probationary = rng.random() < 0.07
            join, full = C.party_dates(rng, birth, probationary)
            e = est_idx[j]
            c = estate_comm[e]
            u = rng.random()
            if u < 0.12:
                employer = rng.choice(C.RETIRED)
                emp = None
            else:
                emp = emp_idx[j]
                employer = companies[emp]
            if emp is not None and emp in company_branch and rng.random() < 0.35:
                branch = company_branch[emp]
            else:
                branch = rng.choice(comm_branches[c])
            cats["预备" if probationary else "正式"] += 1
            ws.write_number(r, 0, r - 1)
            ws.write_string(r, 1, C.person_name(rng))
            ws.write_string(r, 2, "男" if male else "女")
            ws.write_string(r, 3, eth[j])
            ws.write_string(r, 4, idn)
            ws.write_string(r, 5, birth.isoformat())
            ws.write_string(r, 6, edu[j])
            ws.write_string(r, 7, join)
            if full:
                ws.write_string(r, 8, full)
            ws.write_string(r, 9, "预备党员" if probationary else "正式党员")
            ws.write_string(r, 10, branch)
            ws.write_string(r, 11, employer)
            ws.write_string(r, 12, estates[e])
            ws.write_string(r, 13, communities[c])
            ws.write_string(r, 14, C.mobile(rng))
        written += k
        if written % 100_000 == 0 or written == rows:
            print(f"  生成 {written:,}/{rows:,} 行  {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    wb.close()
    n_branches = sum(len(b) for b in comm_branches) + len(company_branch)
    return {"rows": rows, "seed": seed, "generator": GENERATOR_VERSION, "bytes": path.stat().st_size,
            "seconds": round(time.perf_counter() - t0, 1), "categories": dict(cats),
            "distinct_planned": {"communities": N_COMMUNITIES, "estates": N_ESTATES, "companies": N_COMPANIES,
                                 "branches": n_branches}}


def ensure_roster(work: Path, rows: int, seed: int, force: bool) -> tuple[Path, dict]:
    path = work / f"roster_{rows}.xlsx"
    meta_path = path.with_suffix(".xlsx.json")
    if path.exists() and meta_path.exists() and not force:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("rows") == rows and meta.get("seed") == seed and meta.get("generator") == GENERATOR_VERSION \
                and meta.get("bytes") == path.stat().st_size:
            print(f"使用已有文件 {path}（{rows:,} 行）", file=sys.stderr)
            return path, meta
    print(f"生成 {path}（{rows:,} 行 × {len(HEADER)} 列，xlsxwriter constant_memory）…", file=sys.stderr)
    tmp = path.with_suffix(".tmp.xlsx")
    meta = generate_roster(tmp, rows, seed)
    tmp.replace(path)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return path, meta


# ------------------------------------------------------------------------------------ the steps

CALAMINE_CODE = """import sys, python_calamine as pc
rows = pc.CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0).to_python()
print(len(rows), sum(len(r) for r in rows))
"""
# header_row=1: the header is the sheet's second row (0-based 1), under the merged title; load_sheet reads
# the data area under it (dtypes from its first 1,000 rows) and to_arrow() returns one pyarrow RecordBatch
FASTEXCEL_CODE = """import sys, fastexcel
batch = fastexcel.read_excel(sys.argv[1]).load_sheet(0, header_row=1).to_arrow()
print(batch.num_rows, batch.num_columns)
"""
# header=1: the header is in Excel row 2 under the merged title (the parse work is the same either way)
PANDAS_CODE = """import sys, pandas as pd
df = pd.read_excel(sys.argv[1], engine="openpyxl", header=1)
print(len(df), len(df.columns))
"""
PG_PREFIX = "postgresql+psycopg://"
TIME_TARGET = 1.0          # issue 12: (d) ≤ 1.0 × (a) in time and in peak RSS
ARROW_TARGET = 2.0         # (d) within 2 × (b) in time
SMALL_ROWS = 100_000       # the whole-command target is printed for files up to this size
SMALL_SECONDS = 3.0        # a 50,000-row file (a district) imported in under 3 s, start-up included


class BenchError(Exception):
    """A refusal or failure reported as one message (exit status 2), never a traceback."""


def warm_cache(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


def store_counts(url: str) -> dict:
    """What the store holds after the last run: every row of the roster must be there."""
    from sqlalchemy import create_engine, text
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.pool import NullPool
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as con:
            def one(sql: str):
                return con.execute(text(sql)).one()
            members, distinct_ids = one("select count(*), count(distinct id_number) from members")
            with_error = one("select count(*) from members where has_error")[0]
            problems = {code: n for code, n in con.execute(text("select code, count(*) from problems group by code"))}
            imports = one('select count(*), sum("rows") from imports')
    except sa_exc.SQLAlchemyError as exc:
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"[:300], "members": None}
    finally:
        engine.dispose()
    return {"members": members, "distinct_id_numbers": distinct_ids, "members_with_error": with_error,
            "problems_by_code": problems, "imports": imports[0], "imports_rows": imports[1]}


# ------------------------------------------------------------------------------------ PostgreSQL

def pg_prepare(url: str, drop: bool) -> dict:
    """Check that the database's default schema holds nothing but pbtool's tables (or nothing at all) and,
    with drop=True, drop those tables, so that the import starts from an empty database. Refuses
    (BenchError, nothing changed) when any other table or view is there. Returns the server's facts."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.pool import NullPool

    from pbtool.store import metadata

    where = hide_password(url)
    try:
        engine = create_engine(url, poolclass=NullPool)
    except (ImportError, sa_exc.SQLAlchemyError) as exc:
        raise BenchError(f"无法使用 {where}：{type(exc).__name__}: {exc}。PostgreSQL 需要 psycopg 3："
                         "pip install \"pbtool[postgres]\"") from None
    try:
        with engine.begin() as conn:
            insp = inspect(conn)
            tables = set(insp.get_table_names())
            views = set(insp.get_view_names()) | set(insp.get_materialized_view_names())
            foreign = sorted((tables - set(metadata.tables)) | views)
            if foreign:
                shown = "、".join(foreign[:10]) + (f" 等 {len(foreign)} 个" if len(foreign) > 10 else "")
                raise BenchError(f"数据库 {where} 的模式 {insp.default_schema_name} 中有不属于 pbtool 的表或视图："
                                 f"{shown}。基准测试只会清空空库或只有 pbtool 表的库，未做任何改动。"
                                 "请为基准测试新建一个空数据库（例如 createdb pbtool_bench）再用 --db 指定它。")
            if drop:
                quote = conn.dialect.identifier_preparer.quote
                for name in sorted(tables):
                    conn.execute(text(f"DROP TABLE IF EXISTS {quote(name)} CASCADE"))
            backend = conn.execute(text("select pg_backend_pid()")).scalar_one()
            info = {"url": where, "server_version": conn.execute(text("show server_version")).scalar_one(),
                    "schema": insp.default_schema_name, "tables_dropped": sorted(tables) if drop else [],
                    "postmaster_pid": local_postmaster(url, backend)}
    except sa_exc.SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise BenchError(f"无法连接或清空 PostgreSQL 数据库 {where}：{type(exc).__name__}: "
                         f"{first[0] if first else ''}。请确认服务器已启动、网址、用户名和密码正确。") from None
    finally:
        engine.dispose()
    return info


def local_postmaster(url: str, backend_pid: int) -> int | None:
    """The pid of the server's postmaster when the server runs on this machine (the parent of our backend),
    so that its CPU time can be counted as the step's; None for a remote server."""
    from sqlalchemy.engine import make_url
    host = make_url(url).host or ""
    if host not in ("", "localhost", "127.0.0.1", "::1") and not host.startswith("/"):
        return None
    try:
        backend = psutil.Process(backend_pid)
        parent = backend.parent()
        if parent and backend.name().startswith("postgres") and parent.name().startswith("postgres"):
            return parent.pid
    except psutil.Error:
        pass
    return None


def server_cpu_counter(postmaster: int) -> Callable[[], float]:
    """CPU seconds used so far by the server: the postmaster, its live children (backends, background
    workers) and the children it has reaped (a backend ends when pbtool disconnects)."""
    def cpu() -> float:
        try:
            root = psutil.Process(postmaster)
            t = root.cpu_times()
            total = t.user + t.system + t.children_user + t.children_system
            children = root.children()
        except psutil.Error:
            return 0.0
        for child in children:
            with suppress(psutil.Error):
                ct = child.cpu_times()
                total += ct.user + ct.system
        return total
    return cpu


# ------------------------------------------------------------------------------------ measuring

def run_step(name: str, cmd: list, repeat: int, **kw: Any) -> dict:
    """One step, `repeat` runs in a row (see run_steps for several steps taken in turns)."""
    return run_steps([(name, name, cmd, kw)], repeat)[name]


def run_steps(specs: list[tuple[str, str, list, dict]], repeat: int) -> dict:
    """(key, name, command, options) steps measured in turns, round after round (a, b, d, a, b, d, …):
    the machine's speed drifts over minutes (34 to 38 s for the same run of (a) within an hour here), and
    a ratio of medians taken ten minutes apart would carry that drift. Options: ok_codes, display,
    before, server_cpu, attempts, max_wait."""
    runs: dict[str, list[dict]] = {key: [] for key, *_ in specs}
    for i in range(repeat):
        for key, name, cmd, kw in specs:
            extra = {"server_cpu": kw["server_cpu"]} if kw.get("server_cpu") else {}
            m = C.measure_quiet(cmd, before=kw.get("before"), attempts=kw.get("attempts", 3),
                                max_wait=kw.get("max_wait", 600), **extra)
            runs[key].append(m)
            srv = f", server CPU {m['server_cpu_s']} s" if "server_cpu_s" in m else ""
            print(f"  {name} run {i + 1}: {m['seconds']:.2f} s, peak RSS {m['peak_rss_mb']:.0f} MB, "
                  f"exit {m['returncode']}{srv}, other processes' CPU meanwhile {m['other_cpu_s']} s", file=sys.stderr)
            if m["returncode"] not in kw.get("ok_codes", (0,)):
                print(m["stderr_tail"], file=sys.stderr)
    out = {}
    for key, name, cmd, kw in specs:
        rs = runs[key]
        times = [r["seconds"] for r in rs]
        rss = [r["peak_rss_mb"] for r in rs]
        step = {"step": name, "command": kw.get("display") or C.fmt_cmd(cmd, "/dev/null"),
                "seconds": C.median(times), "seconds_min": min(times), "seconds_max": max(times),
                "peak_rss_mb": C.median(rss), "peak_rss_mb_min": min(rss), "peak_rss_mb_max": max(rss),
                "returncodes": [r["returncode"] for r in rs],
                "ok": all(r["returncode"] in kw.get("ok_codes", (0,)) for r in rs), "runs": rs}
        if kw.get("server_cpu"):
            step["server_cpu_s"] = C.median([r["server_cpu_s"] for r in rs])
        out[key] = step
    return out


def spread(lo: float, hi: float) -> str:
    return f"{lo:,.2f}–{hi:,.2f}"


def verdicts(steps: dict, rows: int, complete: dict) -> list[tuple[str, float, str, str]]:
    """(ratio, measured, target, result) lines: issue 12's targets for (d) on SQLite; (d) on PostgreSQL
    is reported next to it without a target of its own."""
    out: list[tuple[str, float, str, str]] = []

    def result(ok: bool | None, *keys: str) -> str:
        for k in keys:
            if not steps[k]["ok"]:
                return f"FAIL ({k} exited {steps[k]['returncodes']})"
            if k in complete and not complete[k]:
                return f"FAIL ({k} did not store every row)"
        return "reported" if ok is None else "PASS" if ok else "FAIL"

    a, b, d = steps["a"], steps["b"], steps["d"]
    v = d["seconds"] / a["seconds"]
    out.append(("(d)/(a) time", round(v, 2), f"≤ {TIME_TARGET}", result(v <= TIME_TARGET, "a", "d")))
    v = d["peak_rss_mb"] / a["peak_rss_mb"]
    out.append(("(d)/(a) peak RSS", round(v, 2), f"≤ {TIME_TARGET}", result(v <= TIME_TARGET, "a", "d")))
    v = d["seconds"] / b["seconds"]
    out.append(("(d)/(b) time", round(v, 2), f"≤ {ARROW_TARGET}", result(v <= ARROW_TARGET, "b", "d")))
    if rows <= SMALL_ROWS:
        target = f"< {SMALL_SECONDS:g} s" + ("" if rows == 50_000 else " (stated for 50,000 rows)")
        out.append(("(d) whole command, seconds", d["seconds"], target, result(d["seconds"] < SMALL_SECONDS, "d")))
    if "d_pg" in steps:
        p = steps["d_pg"]
        for name, v in (("(d PostgreSQL)/(d SQLite) time", p["seconds"] / d["seconds"]),
                        ("(d PostgreSQL)/(a) time", p["seconds"] / a["seconds"]),
                        ("(d PostgreSQL)/(a) peak RSS of the pbtool process", p["peak_rss_mb"] / a["peak_rss_mb"])):
            out.append((name, round(v, 2), "none", result(None, "d", "d_pg")))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="data rows in the roster (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=20260930, help="random seed (fixed by default)")
    ap.add_argument("--work", type=Path, default=C.DATA_DIR,
                    help="directory for the generated .xlsx and the fresh stores (default benchmarks/_data)")
    ap.add_argument("--json", type=Path, default=C.DATA_DIR / "import_bench.json", help="where to write the results")
    ap.add_argument("--skip-pandas", action="store_true", help="skip step (c), pandas+openpyxl (minutes on 1M rows)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per step (default 3); the table shows the median and the min–max of each")
    ap.add_argument("--db", metavar="URL",
                    help="also import into this PostgreSQL database (postgresql+psycopg://user@host:port/db), "
                         "emptied first by dropping pbtool's tables; refused if it holds any other table")
    ap.add_argument("--attempts", type=int, default=3,
                    help="run a step again (up to this many times) when other processes used the CPU meanwhile")
    ap.add_argument("--max-wait", type=float, default=600,
                    help="before each step, wait up to this many seconds for the machine to be idle (0: don't)")
    ap.add_argument("--regenerate", action="store_true", help="write the roster again even if it exists")
    ap.add_argument("--generate-only", action="store_true", help="only write the roster file")
    args = ap.parse_args()
    C.compile_pbtool()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    try:
        return run(args)
    except BenchError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    pg_info = None
    if args.db and not args.generate_only:
        if not args.db.startswith(PG_PREFIX):
            raise BenchError(f"--db 只接受 PostgreSQL 网址（{PG_PREFIX}用户@主机:端口/数据库），"
                             f"收到“{args.db.split('://')[0]}://…”。SQLite 上的 (d) 每次都导入一个新建的库，无需 --db。")
        pg_info = pg_prepare(args.db, drop=False)     # refuse before any work, nothing changed yet
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    C.DATA_DIR.mkdir(parents=True, exist_ok=True)
    path, meta = ensure_roster(work, args.rows, args.seed, args.regenerate)
    if args.generate_only:
        return 0
    warm_cache(path)

    before_state = C.machine_state()
    C.warn_if_busy(before_state)
    py = sys.executable
    common = {"attempts": args.attempts, "max_wait": args.max_wait}
    db = work / f"import_bench_{args.rows}.db"

    def fresh_db() -> None:
        for p in (db, db.with_name(db.name + "-journal"), db.with_name(db.name + "-wal"),
                  db.with_name(db.name + "-shm")):
            p.unlink(missing_ok=True)

    pbtool_args = ["import", path, "--period", "2026Q3", "--street", "东湖街道", "--format", "json"]
    # taken in turns, round after round; exit 1 of (d): the import succeeded and found problems (none
    # expected in the generated roster)
    specs = [("a", "calamine to_python", [py, "-c", CALAMINE_CODE, path], common),
             ("b", "fastexcel to_arrow", [py, "-c", FASTEXCEL_CODE, path], common)]
    if not args.skip_pandas:
        specs.append(("c", "pandas read_excel openpyxl", [py, "-c", PANDAS_CODE, path], common))
    specs.append(("d", "pbtool import (SQLite)", C.pbtool_cmd() + pbtool_args + ["--db", db],
                  {**common, "ok_codes": (0, 1), "before": fresh_db}))
    print("(a) python-calamine to_python, (b) fastexcel load_sheet(header_row=1).to_arrow()"
          + ("" if args.skip_pandas else ", (c) pandas.read_excel(engine='openpyxl')")
          + ", (d) pbtool import → fresh SQLite store, in turns …", file=sys.stderr)
    steps = run_steps(specs, args.repeat)
    steps["d"]["store"] = store_counts(f"sqlite:///{db}")
    if args.db:
        print(f"(d) pbtool import → PostgreSQL {hide_password(args.db)} …", file=sys.stderr)
        postmaster = pg_info["postmaster_pid"]
        cmd = C.pbtool_cmd() + pbtool_args + ["--db", args.db]
        steps["d_pg"] = run_step("pbtool import (PostgreSQL)", cmd, args.repeat, ok_codes=(0, 1),
                                 display=C.fmt_cmd(cmd[:-1] + [hide_password(args.db)], "/dev/null"),
                                 before=lambda: pg_prepare(args.db, drop=True),
                                 server_cpu=server_cpu_counter(postmaster) if postmaster else None, **common)
        steps["d_pg"]["store"] = store_counts(args.db)
        pg_info = {**pg_info, "server_cpu_counted": bool(postmaster)}
    after_state = C.machine_state()
    C.warn_if_busy(after_state)

    complete = {k: steps[k]["store"].get("members") == args.rows for k in ("d", "d_pg") if k in steps}
    ratios = verdicts(steps, args.rows, complete)

    label = {"a": "(a) python-calamine to_python", "b": "(b) fastexcel → Arrow",
             "c": "(c) pandas.read_excel(openpyxl)", "d": "(d) pbtool import → fresh SQLite store",
             "d_pg": "(d) pbtool import → PostgreSQL"}
    header = ["step", "median s", "min–max s", "median peak RSS (MB)", "min–max RSS (MB)", "exit",
              "other procs' CPU s (max)"]
    if "d_pg" in steps:
        header.append("server CPU s (median)")
    rows = []
    for k in ("a", "b", "c", "d", "d_pg"):
        if k not in steps:
            continue
        s = steps[k]
        row = [label[k], s["seconds"], spread(s["seconds_min"], s["seconds_max"]), s["peak_rss_mb"],
               spread(s["peak_rss_mb_min"], s["peak_rss_mb_max"]),
               "/".join(str(c) for c in sorted(set(s["returncodes"]))),
               max(r["other_cpu_s"] for r in s["runs"])]
        if "d_pg" in steps:
            row.append(s.get("server_cpu_s", ""))
        rows.append(row)
    table1 = C.md_table(header, rows)
    table2 = C.md_table(["ratio (medians)", "measured", "target", "result"], ratios)
    print()
    print(f"Roster: {path.name}, {args.rows:,} rows × {len(HEADER)} columns, {meta['bytes'] / C.MB:.1f} MB; "
          f"{args.repeat} run(s) per step")
    for k in complete:
        c = steps[k]["store"]
        if c.get("error"):
            print(f"{label[k]}: the store could not be read: {c['error']}")
        else:
            print(f"{label[k]}: store holds {c['members']:,} members "
                  f"({'all rows' if complete[k] else 'NOT all rows'}), {c['distinct_id_numbers']:,} distinct IDs, "
                  f"problems: {c['problems_by_code'] or 'none'}")
    if pg_info:
        print(f"PostgreSQL {pg_info['server_version']} at {pg_info['url']}"
              + ("" if pg_info.get("server_cpu_counted") else " (remote or not found: its CPU is not counted)"))
    print()
    print(table1)
    print()
    print(table2)
    print()
    print(f"load average before/after: {before_state['loadavg']} / {after_state['loadavg']}; "
          f"other busy processes: {len(before_state['busy_processes']) + len(after_state['busy_processes'])}")

    result = {
        "benchmark": "import", "file": str(path), "rows": args.rows, "columns": len(HEADER), "file_meta": meta,
        "repeat": args.repeat, "steps": steps, "imported_all_rows": complete, "postgresql": pg_info,
        "ratios": [{"ratio": n, "value": v, "target": t, "result": r} for n, v, t, r in ratios],
        "machine_before": before_state, "machine_after": after_state, "environment": C.environment(),
        "markdown": table1 + "\n\n" + table2,
    }
    C.write_json(args.json, result)
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
