"""How long `pbtool template roster|lists` takes for a whole district, and its peak memory.

Builds a synthetic district store with coverage_bench's generator (default 50,000 members in 10 streets,
300 communities, 3,000 estates, 5,000 two-new organizations: the top of a district's range, domain.md §1),
then runs each command as a fresh process and reports wall time and peak RSS (median of --runs).
Not a test: run by hand, e.g.  PYTHONPATH=. python benchmarks/template_bench.py --runs 3"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C
import coverage_bench as CB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=50_000)
    ap.add_argument("--streets", type=int, default=10)
    ap.add_argument("--communities", type=int, default=300)
    ap.add_argument("--estates", type=int, default=3_000)
    ap.add_argument("--orgs", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=20260930)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=C.DATA_DIR)
    args = ap.parse_args()
    C.compile_pbtool()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / f"template_bench_{args.members}.db"
    if not db.exists():
        args.with_previous, args.previous_members = False, None
        CB.build_store(db, args)
    env = {**os.environ, "PYTHONPATH": str(C.REPO)}
    rows = []
    for what in ("roster", "lists"):
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as out:
                r = C.measure([*C.pbtool_cmd(), "template", what, "--period", "2026Q4", "--db", str(db),
                               "--out", out], env=env)
                if r["returncode"] != 0:
                    print(r["stderr_tail"], file=sys.stderr)
                    return 1
                r["bytes"] = sum(p.stat().st_size for p in Path(out).iterdir())
                runs.append(r)
        rows.append([f"pbtool template {what}", C.median([r["seconds"] for r in runs]),
                     C.median([r["peak_rss_mb"] for r in runs]), f"{runs[0]['bytes'] / 1e6:.1f}",
                     max(r["other_cpu_s"] for r in runs)])
    print(f"{args.members} members, {args.streets} streets, {args.communities} communities, {args.estates} estates, "
          f"{args.orgs} organizations; median of {args.runs} runs")
    print(C.md_table(["command", "seconds", "peak RSS MB", "files MB", "other CPU s (max)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
