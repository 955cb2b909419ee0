"""Stress: four imports of N rows each (default 300,000), started together on one SQLite store, every
street sharing D IDs (default 10,000) with the next street. Checks that all four land with exact
counts, that every cross-street duplicate is reported exactly once (by whichever import came second),
and that a coverage-style reader running meanwhile sees a consistent snapshot (member count is always
a sum of whole imports). Reports counts, duplicates found, waits and times.

    python benchmarks/stress.py [--rows 300000] [--dups 10000] [--out benchmarks/_data/stress]

Not a test: run by hand; the machine it runs on may be shared (the figures say so)."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA_DIR, REPO, environment, id_check_char, machine_state, md_table

STREETS = ["东湖街道", "西山街道", "南桥街道", "北苑街道"]
HEADER = ["序号", "姓名", "性别", "身份证号", "出生日期", "入党时间", "人员类别", "所在党支部"]


def person_id(k: int) -> str:
    """The k-th synthetic ID: a birth date and a sequence number derived from k (unique for k < 3.6M)."""
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=k // 500)
    seq = (k % 500) * 2 + 1
    first17 = f"330106{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def write_street(path: Path, street: int, rows: int, dups: int) -> None:
    """Street s holds people s*rows … s*rows+rows-1, except that its first `dups` rows are the last
    `dups` people of the next street (so each pair of neighbours shares `dups` IDs)."""
    nxt = (street + 1) % len(STREETS)
    ks = list(range(street * rows, (street + 1) * rows))
    ks[:dups] = range(nxt * rows + rows - dups, nxt * rows + rows)
    rng = random.Random(street)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i, k in enumerate(ks, 1):
            idn = person_id(k)
            birth = f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}"
            w.writerow([i, f"党员{k}", "男", idn, birth, "2010-07-01", rng.choice(["正式党员", "预备党员"]),
                        f"第{rng.randrange(1, 30)}党支部"])


def reader(db: str, stop: threading.Event, seen: list[int]) -> None:
    """Reads the member count in one snapshot, again and again, while the imports run."""
    while not stop.is_set():
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
            n = con.execute("select count(*) from members").fetchone()[0]
            con.close()
            seen.append(n)
        except sqlite3.Error:
            pass
        time.sleep(0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--dups", type=int, default=10_000)
    ap.add_argument("--out", type=Path, default=DATA_DIR / "stress")
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    db = out / "stress.db"
    for p in (db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))):
        p.unlink(missing_ok=True)
    files = []
    t = time.perf_counter()
    for s, name in enumerate(STREETS):
        f = out / f"{name}花名册.csv"
        write_street(f, s, args.rows, args.dups)
        files.append(f)
    print(f"generated {len(files)} × {args.rows:,} rows in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    state = machine_state()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # the store exists before the race, as on a clerk's machine after the first quarter
    subprocess.run([sys.executable, "-c", f"from pbtool.store import Store; Store.open({str(db)!r}).close()"],
                   env=env, check=True)
    stop, seen = threading.Event(), []
    th = threading.Thread(target=reader, args=(str(db), stop, seen), daemon=True)
    th.start()
    start = time.perf_counter()
    procs = []
    for f in files:
        cmd = [sys.executable, "-m", "pbtool", "import", str(f), "--period", "2026Q3", "--db", str(db),
               "--format", "json"]
        procs.append((f, time.perf_counter(), subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                                               stderr=subprocess.PIPE, text=True)))
    results = []
    for f, _t0, p in procs:
        so, se = p.communicate()
        elapsed = time.perf_counter() - start
        data = json.loads(so) if so.strip().startswith("{") else {}
        dups = sum(1 for q in data.get("problems", []) if q["code"] == "DUPLICATE_PERSON")
        results.append({"file": f.name, "rc": p.returncode, "rows": data.get("imported", {}).get("roster", 0),
                        "duplicates": dups, "waited": "正在等待" in se, "finished_after_s": round(elapsed, 1),
                        "stderr": se.strip()[-300:] if p.returncode not in (0, 1) else ""})
    wall = time.perf_counter() - start
    stop.set()
    th.join()
    con = sqlite3.connect(db)
    stored = con.execute("select count(*) from members").fetchone()[0]
    stored_dups = con.execute("select count(*) from problems where code = 'DUPLICATE_PERSON'").fetchone()[0]
    distinct = con.execute("select count(distinct id_number) from members").fetchone()[0]
    con.close()
    n, d = args.rows, args.dups
    whole = {k * n for k in range(len(STREETS) + 1)}
    ok = (stored == len(STREETS) * n and stored_dups == len(STREETS) * d and distinct == len(STREETS) * (n - d)
          and all(r["rc"] in (0, 1) for r in results) and set(seen) <= whole)
    summary = {"rows_per_import": n, "shared_ids_per_pair": d, "wall_s": round(wall, 1), "stored_members": stored,
               "distinct_ids": distinct, "duplicates_stored": stored_dups, "expected_duplicates": len(STREETS) * d,
               "reader_counts_seen": sorted(set(seen)), "snapshot_consistent": set(seen) <= whole, "ok": ok,
               "imports": results, "machine_before": state, "environment": environment()}
    (out / "stress.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    print(md_table(["文件", "退出码", "导入行数", "报告重复", "曾等待", "完成于（秒）"],
                   [[r["file"], r["rc"], r["rows"], r["duplicates"], "是" if r["waited"] else "否", r["finished_after_s"]]
                    for r in results]))
    print(f"\n总耗时 {wall:.1f} s；库中党员 {stored:,}（应为 {len(STREETS) * n:,}），不同身份证号 {distinct:,}，"
          f"重复人员问题 {stored_dups:,}（应为 {len(STREETS) * d:,}）；读者看到的党员数 {sorted(set(seen))}；"
          f"{'全部符合' if ok else '有不符'}。机器负载 {state['loadavg']}（共用机器）。")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
