"""Import benchmark (issue 2, item 6): a 1,000,000-row, 15-column 党员花名册 .xlsx, read three ways,
each in its own fresh process so that peak RSS is per step:

  (a) python-calamine raw parse:  CalamineWorkbook.from_path(p).get_sheet_by_index(0).to_python()
  (b) pandas.read_excel(p, engine="openpyxl")
  (c) pbtool import FILE --period 2026Q3 --db FRESH.db --street 东湖街道 --format json > /dev/null

Targets: (c) ≤ 2× (a) in time, (b) ≥ 5× (c) in time, (c) ≤ 2× (a) in peak RSS.

    python benchmarks/import_bench.py                 # 1,000,000 rows (generates the file once, ~2 min)
    python benchmarks/import_bench.py --rows 100000 --skip-pandas
"""
from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections import Counter
from itertools import accumulate
from pathlib import Path

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
# header=1: the header is in Excel row 2 under the merged title (the parse work is the same either way)
PANDAS_CODE = """import sys, pandas as pd
df = pd.read_excel(sys.argv[1], engine="openpyxl", header=1)
print(len(df), len(df.columns))
"""


def warm_cache(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def store_counts(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        members = con.execute("select count(*) from members").fetchone()[0]
        distinct_ids = con.execute("select count(distinct id_number) from members").fetchone()[0]
        with_error = con.execute("select count(*) from members where has_error").fetchone()[0]
        problems = dict(con.execute("select code, count(*) from problems group by code").fetchall())
        imports = con.execute("select count(*), sum(rows) from imports").fetchone()
    finally:
        con.close()
    return {"members": members, "distinct_id_numbers": distinct_ids, "members_with_error": with_error,
            "problems_by_code": problems, "imports": imports[0], "imports_rows": imports[1]}


def run_step(name: str, cmd: list[str], repeat: int, before=None, stdout: Path | None = None,
             attempts: int = 3, max_wait: float = 600) -> dict:
    runs = []
    for i in range(repeat):
        m = C.measure_quiet(cmd, stdout=stdout, before=before, attempts=attempts, max_wait=max_wait)
        runs.append(m)
        print(f"  {name} run {i + 1}: {m['seconds']:.1f} s, peak RSS {m['peak_rss_mb']:.0f} MB, "
              f"exit {m['returncode']}, other processes' CPU meanwhile {m['other_cpu_s']} s", file=sys.stderr)
        if m["returncode"] not in (0, 1) or (name != "pbtool import" and m["returncode"] != 0):
            print(m["stderr_tail"], file=sys.stderr)
    times = [r["seconds"] for r in runs]
    return {"step": name, "command": C.fmt_cmd(cmd, str(stdout) if stdout else "/dev/null"),
            "seconds": C.median(times), "seconds_min": min(times),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "runs": runs}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="data rows in the roster (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=20260930, help="random seed (fixed by default)")
    ap.add_argument("--work", type=Path, default=C.DATA_DIR,
                    help="directory for the generated .xlsx and the fresh stores (default benchmarks/_data)")
    ap.add_argument("--json", type=Path, default=C.DATA_DIR / "import_bench.json", help="where to write the results")
    ap.add_argument("--skip-pandas", action="store_true", help="skip step (b), pandas+openpyxl (minutes on 1M rows)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per step; the table shows the median time")
    ap.add_argument("--attempts", type=int, default=3,
                    help="run a step again (up to this many times) when other processes used the CPU meanwhile")
    ap.add_argument("--max-wait", type=float, default=600,
                    help="before each step, wait up to this many seconds for the machine to be idle (0: don't)")
    ap.add_argument("--regenerate", action="store_true", help="write the roster again even if it exists")
    ap.add_argument("--generate-only", action="store_true", help="only write the roster file")
    args = ap.parse_args()

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
    steps = {}
    print("(a) python-calamine to_python …", file=sys.stderr)
    steps["a"] = run_step("calamine to_python", [py, "-c", CALAMINE_CODE, path], args.repeat,
                          attempts=args.attempts, max_wait=args.max_wait)
    db = work / f"import_bench_{args.rows}.db"

    def fresh_db() -> None:
        for p in (db, db.with_name(db.name + "-journal")):
            p.unlink(missing_ok=True)

    print("(c) pbtool import …", file=sys.stderr)
    steps["c"] = run_step("pbtool import", C.pbtool_cmd() + ["import", path, "--period", "2026Q3", "--db", db,
                                                             "--street", "东湖街道", "--format", "json"],
                          args.repeat, before=fresh_db, attempts=args.attempts, max_wait=args.max_wait)
    counts = store_counts(db)
    steps["c"]["store"] = counts
    if not args.skip_pandas:
        print("(b) pandas.read_excel(engine='openpyxl') …", file=sys.stderr)
        steps["b"] = run_step("pandas read_excel openpyxl", [py, "-c", PANDAS_CODE, path], args.repeat,
                              attempts=args.attempts, max_wait=args.max_wait)
    after_state = C.machine_state()
    C.warn_if_busy(after_state)

    a, c = steps["a"], steps["c"]
    ratios = [("(c)/(a) time", c["seconds"] / a["seconds"], "≤ 2", c["seconds"] / a["seconds"] <= 2)]
    if "b" in steps:
        b = steps["b"]
        ratios.append(("(b)/(c) time", b["seconds"] / c["seconds"], "≥ 5", b["seconds"] / c["seconds"] >= 5))
    ratios.append(("(c)/(a) peak RSS", c["peak_rss_mb"] / a["peak_rss_mb"], "≤ 2",
                   c["peak_rss_mb"] / a["peak_rss_mb"] <= 2))
    imported_all = counts["members"] == args.rows

    label = {"a": "(a) python-calamine to_python", "b": "(b) pandas.read_excel(openpyxl)",
             "c": "(c) pbtool import → fresh store"}
    table1 = C.md_table(["step", "seconds", "peak RSS (MB)", "exit", "other procs' CPU s"],
                        [(label[k], steps[k]["seconds"], steps[k]["peak_rss_mb"], steps[k]["runs"][-1]["returncode"],
                          max(r["other_cpu_s"] for r in steps[k]["runs"]))
                         for k in ("a", "b", "c") if k in steps])
    table2 = C.md_table(["ratio", "measured", "target", "result"],
                        [(n, round(v, 2), t, "PASS" if ok else "FAIL") for n, v, t, ok in ratios])
    print()
    print(f"Roster: {path.name}, {args.rows:,} rows × {len(HEADER)} columns, {meta['bytes'] / C.MB:.1f} MB; "
          f"store holds {counts['members']:,} members ({'all rows' if imported_all else 'NOT all rows'}), "
          f"{counts['distinct_id_numbers']:,} distinct IDs, problems: {counts['problems_by_code'] or 'none'}")
    print()
    print(table1)
    print()
    print(table2)
    print()
    print(f"load average before/after: {before_state['loadavg']} / {after_state['loadavg']}; "
          f"other busy processes: {len(before_state['busy_processes']) + len(after_state['busy_processes'])}")

    result = {
        "benchmark": "import", "file": str(path), "rows": args.rows, "columns": len(HEADER), "file_meta": meta,
        "steps": steps, "store_members": counts["members"], "imported_all_rows": imported_all,
        "ratios": [{"ratio": n, "value": round(v, 3), "target": t, "pass": ok} for n, v, t, ok in ratios],
        "machine_before": before_state, "machine_after": after_state, "environment": C.environment(),
        "markdown": table1 + "\n\n" + table2,
    }
    C.write_json(args.json, result)
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
