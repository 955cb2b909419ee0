"""Report benchmark (issue 4, item 7): a synthetic district of 300 streets with one community each
(2025Q4 and 2026Q4, rows written directly into pbtool's store tables), then timed:

    rectification notices for every street (300 .docx)   target: under 20 seconds
    the year-end summary (300-row tables, two charts)
    the quarterly bulletin (300 ranked streets, 300 sections)

Not a test: run by hand, prints a Markdown table of wall seconds.

    python benchmarks/report_bench.py                    # 300 streets, 60 members each
    python benchmarks/report_bench.py --streets 50 --members 40
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from pbtool import report
from pbtool import store as st
from pbtool.clean import org_key
from pbtool.report import context

ORG_NAME = "中共某某区委组织部"   # fictional; documents have no default signer
PERIODS = {"2025Q4": 2025, "2026Q4": 2026}
ORG_STATUS = [("单独组建", 3), ("联合组建", 4), ("挂靠", 1), ("未建立", 3)]


def _base(period: str, street: str, kind: str) -> dict[str, Any]:
    return {"import_id": 1, "period": period, "street": street, "file": f"{street}{kind}.xlsx", "sheet": kind,
            "row": None, "has_error": False, "extra": None}


def _street_rows(rng: random.Random, period: str, i: int, members: int, year: int) -> dict[str, list[dict]]:
    """One street: a community, four estates, twelve organizations, two resident units, `members` members."""
    street, community = f"第{i:03d}街道", f"第{i:03d}社区"
    estates = [f"{community}{k}号小区" for k in range(1, 5)]
    has_comm_org = i % 3 != 0
    out: dict[str, list[dict]] = {"community": [], "estate": [], "org": [], "unit": [], "roster": []}
    out["community"].append({**_base(period, street, "社区"), "name": community,
                             "party_org": f"{community}党委" if has_comm_org else None})
    for k, e in enumerate(estates):
        out["estate"].append({**_base(period, street, "小区"), "community": community, "name": e,
                              "party_org": f"{e}党支部" if k < 2 or (year == 2026 and k == 2) else None})
    orgs = []
    for k in range(12):
        status = rng.choices([s for s, _ in ORG_STATUS], [w for _, w in ORG_STATUS])[0]
        if year == 2026 and status == "未建立" and rng.random() < 0.4:
            status = "联合组建"
        name = f"{street}{k:02d}号{'科技有限公司' if k % 3 else '服务中心'}"
        orgs.append(name)
        out["org"].append({**_base(period, street, "两新组织"), "name": name, "name_key": org_key(name),
                           "org_type": "非公企业" if k % 3 else "社会组织", "community": community,
                           "org_status": status, "party_org": None,
                           "instructor": "联络员" if status == "未建立" and k % 2 else None})
    for k in range(2):
        out["unit"].append({**_base(period, street, "驻区单位"), "name": f"{street}驻区单位{k}", "unit_type": "机关",
                            "community": community, "agreement": k == 0, "projects": rng.randint(0, 4)})
    for m in range(members):
        employer = orgs[m % 12] if m % 4 == 0 else None
        out["roster"].append({
            **_base(period, street, "花名册"), "name": f"党员{i}-{m}", "id_number": f"{i:06d}{m:012d}",
            "category": "预备" if m % 15 == 0 else "正式",
            "branch": f"{community}第{m % 3 + 1}党支部" if m % 3 else f"{community}党委",
            "employer": employer, "employer_key": org_key(employer) if employer else None,
            "community": community, "estate": estates[m % 4], "place_status": "ok",
            "reported": "是" if m % 5 == 0 else "否"})
    return out


def build_store(db: str, streets: int, members: int, seed: int = 20261231) -> None:
    rng = random.Random(seed)
    store = st.Store.open(db)
    with store.transaction() as conn:
        for period, year in PERIODS.items():
            rows: dict[str, list[dict]] = {k: [] for k in st.KIND_TABLES}
            for i in range(1, streets + 1):
                for kind, rs in _street_rows(rng, period, i, members, year).items():
                    rows[kind] += rs
            for kind, rs in rows.items():
                store.add_import(conn, period=period, kind=kind, street="", file=f"{kind}.xlsx", sha256="0" * 64,
                                 sheet=kind, rows=len(rs))
                conn.execute(insert(st.KIND_TABLES[kind]), rs)
    store.close()


def timed(label: str, fn, results: list[tuple[str, float, str]]) -> Any:
    t0 = time.perf_counter()
    value = fn()
    results.append((label, time.perf_counter() - t0, ""))
    return value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streets", type=int, default=300)
    ap.add_argument("--members", type=int, default=60, help="members per street")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pbtool-report-bench-") as tmp:
        out = args.out or Path(tmp) / "out"
        db = str(Path(tmp) / "bench.db")
        results: list[tuple[str, float, str]] = []
        timed(f"build store ({args.streets} streets × {args.members} members, 2 periods)",
              lambda: build_store(db, args.streets, args.members), results)
        timed("coverage of 2026Q4 alone (compute_coverage, for reference)",
              lambda: context.load_coverage(db, "2026Q4"), results)
        day = dt.date(2027, 1, 10)
        notices = timed(f"{args.streets} rectification notices (render_notices)",
                        lambda: report.render_notices(db, "2026Q4", out / "notices", doc_date=day, org_name=ORG_NAME), results)
        results[-1] = (*results[-1][:2], (f"{len(notices.files)} files, "
                       f"{results[-1][1] / max(1, len(notices.files)) * 1000:.0f} ms each"))
        annual = timed("year-end summary 2026 (render_annual, with charts)",
                       lambda: report.render_annual(db, 2026, out, doc_date=day, org_name=ORG_NAME), results)
        results[-1] = (*results[-1][:2], "; ".join(annual.warnings) or "charts embedded")
        timed("quarterly bulletin 2026Q4 (render_quarterly)",
              lambda: report.render_quarterly(db, "2026Q4", out, doc_date=day, org_name=ORG_NAME), results)
        print("| step | seconds | note |")
        print("|---|---:|---|")
        for label, secs, note in results:
            print(f"| {label} | {secs:.2f} | {note} |")
        target = next(s for label, s, _ in results if "rectification notices" in label)
        print(f"\n300 notices target < 20 s: {'met' if target < 20 else 'NOT met'} ({target:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
