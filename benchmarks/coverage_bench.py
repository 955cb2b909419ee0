"""Coverage benchmark (issue 3, item 8): a store with 1,000,000 members, 20,000 estates, 100,000
two-new organizations (and ~300 communities over ~10 streets) for 2026Q3, written directly into
pbtool's tables through SQLAlchemy Core, then

    pbtool coverage --period 2026Q3 --db DB --format json > /dev/null

timed end to end in a fresh process (3 runs: min / median wall seconds, peak RSS).
Target: under 2 seconds and under 500 MB peak RSS on the 2-core machine (issue 11), with a previous
period. Coverage reads the per-period aggregates and the Arrow copy of its inputs that the import
keeps (both written here as the import writes them). The previous period's coverage is computed once before the timed runs, as last quarter's run
left it stored; before each timed run (outside the timing) 2026Q3's stored state is dropped, so that the
run computes it from the aggregates (--cold-previous drops the previous period's too; --warm keeps both,
and then both are look-ups).

    python benchmarks/coverage_bench.py --with-previous --db postgresql+psycopg://user:pw@host/db   # PostgreSQL

    python benchmarks/coverage_bench.py                       # builds the store once (~1–2 min), then times
    python benchmarks/coverage_bench.py --with-previous       # adds a smaller 2026Q2 (status 新增/持续, closed)
    python benchmarks/coverage_bench.py --members 100000 --estates 2000 --orgs 10000
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

from pbtool.report.fmt import cn_number

GENERATOR_VERSION = 5   # 5: coverage inputs kept after each period, as the import keeps them; 4: the per-period aggregates written as the import writes them
PERIOD, PREVIOUS = "2026Q3", "2026Q2"
CHUNK = 20_000
BRANCH_SIZE = 38                     # average residential branch; most stay ≤ 50, a tail goes above
ORG_STATUS = [("单独组建", 8), ("联合组建", 42), ("挂靠", 10), ("未建立", 28), (None, 12)]
COVERED = ("单独组建", "联合组建", "挂靠")
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
def uscc(i: int, kind: str) -> str:
    from pbtool.clean import uscc_check_char
    code, n = "", i
    for _ in range(7):
        n, r = divmod(n, 31)
        code = USCC_CHARSET[r] + code
    first17 = ("91" if kind == "非公企业" else "52") + "330106" + "MA" + code
    return first17 + uscc_check_char(first17)


def near_miss(rng: random.Random, name: str) -> str:
    """A spelling of a listed organization that normalization cannot settle (a clerk's variant)."""
    u = rng.random()
    if "有限公司" in name and "有限责任公司" not in name and u < 0.4:
        return name.replace("有限公司", "有限责任公司", 1)
    if name.startswith("杭州") and u < 0.7:
        return name[2:]
    i = rng.randrange(2, max(3, len(name) - 4))
    return name[:i] + name[i + 1:]


def bracket_variant(rng: random.Random, name: str) -> str:
    """A spelling that org_key() does settle: full-/half-width brackets, stray spaces."""
    if "（" in name:
        return name.replace("（", "(").replace("）", ")")
    i = rng.randrange(1, len(name))
    return name[:i] + " " + name[i:]


# ------------------------------------------------------------------------------------ the district


class District:
    """The period's lists: streets, communities, estates, two-new organizations (and their weights)."""

    def __init__(self, rng: random.Random, n_streets: int, n_comms: int, n_estates: int, n_orgs: int):
        self.streets = (C.STREETS * (n_streets // len(C.STREETS) + 1))[:n_streets]
        if n_streets > len(C.STREETS):
            self.streets = [s if i < len(C.STREETS) else s.replace("街道", f"{i}街道")
                            for i, s in enumerate(self.streets)]
        # community names repeat across streets (never within one)
        pool = C.community_names(rng, max(40, int(n_comms * 0.8)))
        per_street = [n_comms // n_streets + (1 if i < n_comms % n_streets else 0) for i in range(n_streets)]
        self.comms: list[tuple[str, str, str | None]] = []     # (street, name, party_org)
        for s, k in zip(self.streets, per_street):
            for name in rng.sample(pool, k):
                self.comms.append((s, name, None if rng.random() < 0.05 else f"{name}党委"))
        # estates: unique within their community, names repeat across communities and streets
        epool = C.estate_names(rng, max(100, int(n_estates * 0.85)))
        self.estates: list[tuple[str, str, str, str | None]] = []   # (street, community, name, party_org)
        self.estate_comm: list[int] = []
        self.comm_estates: list[list[int]] = [[] for _ in self.comms]
        owner = [i % len(self.comms) if i < len(self.comms) else rng.randrange(len(self.comms))
                 for i in range(n_estates)]
        counts = Counter(owner)
        for c, (s, cname, _) in enumerate(self.comms):
            for name in rng.sample(epool, counts[c]):
                self.comm_estates[c].append(len(self.estates))
                self.estate_comm.append(c)
                self.estates.append((s, cname, name, f"{name}党支部" if rng.random() < 0.72 else None))
        self.estate_w = [rng.lognormvariate(0, 1.0) for _ in self.estates]
        self.estate_cw = list(accumulate(self.estate_w))
        comm_w = [0.0] * len(self.comms)
        for e, w in enumerate(self.estate_w):
            comm_w[self.estate_comm[e]] += w
        self.comm_share = [w / self.estate_cw[-1] for w in comm_w]
        self.street_comms: dict[str, list[int]] = {}
        for i, (s, _, _) in enumerate(self.comms):
            self.street_comms.setdefault(s, []).append(i)
        # two-new organizations: 88% enterprises, 12% social organizations; unique names
        n_social = n_orgs * 12 // 100
        names = C.company_names(rng, n_orgs - n_social + 5_000)
        self.outside = names[n_orgs - n_social:]           # companies registered in other districts
        social = C.unique_words(rng, n_social, C.social_org_name)
        self.orgs: list[dict] = []
        taken = set(names[: n_orgs - n_social])
        social = [s for s in social if s not in taken]
        all_names = [(n, "非公企业") for n in names[: n_orgs - n_social]] + [(n, "社会组织") for n in social]
        rng.shuffle(all_names)
        for i, (name, kind) in enumerate(all_names):
            c = rng.randrange(len(self.comms))
            street, cname, _ = self.comms[c]
            status = C.weighted(rng, ORG_STATUS, 1)[0]
            instructor = None
            if rng.random() < (0.3 if status in COVERED else 0.55):
                instructor = C.person_name(rng)
            self.orgs.append({"name": name, "org_type": kind, "street": street, "community": cname,
                              "org_status": status, "instructor": instructor, "uscc": uscc(i, kind),
                              "employees": int(rng.lognormvariate(3, 1.2)) + 1,
                              "party_org": f"{name}党支部" if status == "单独组建" else
                              ("联合党支部" if status == "联合组建" else None)})
        self.org_w = [rng.lognormvariate(0, 1.3) for _ in self.orgs]
        self.org_cw = list(accumulate(self.org_w))
        self.units = [f"杭州市{d}{u}" for d in ("西湖区", "拱墅区", "上城区", "滨江区") for u in C.UNLISTED_UNITS] + \
                     [f"{s}{u}" for s in self.streets for u in ("社区卫生服务中心", "中心小学", "幼儿园", "办事处")]

    def previous(self, rng: random.Random) -> District:
        """The same district a quarter earlier: a few estates and organizations not yet covered."""
        prev = object.__new__(District)
        prev.__dict__.update(self.__dict__)
        prev.estates = [(s, c, n, p if (p is None or rng.random() < 0.92) else None) for s, c, n, p in self.estates]
        prev.orgs = []
        for o in self.orgs:
            o = dict(o)
            if o["org_status"] in COVERED and rng.random() < 0.06:
                o["org_status"], o["party_org"] = "未建立", None
            elif o["org_status"] not in COVERED and rng.random() < 0.03:
                o["org_status"] = "联合组建"
            if o["instructor"] and rng.random() < 0.05:
                o["instructor"] = None
            prev.orgs.append(o)
        return prev


# ------------------------------------------------------------------------------------ writing


def prov(import_id: int, period: str, street: str, row: int, has_error: bool = False) -> dict:
    return {"import_id": import_id, "period": period, "street": street, "file": "bench", "sheet": "bench",
            "row": row, "has_error": has_error, "extra": None}


def insert_chunks(conn, table, rows) -> int:
    from sqlalchemy import insert
    n, chunk = 0, []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= CHUNK:
            conn.execute(insert(table), chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        conn.execute(insert(table), chunk)
        n += len(chunk)
    return n


def member_rows(d: District, rng: random.Random, n: int, period: str, import_id: int, stats: Counter,
                listed: set[str], unmatched: list[tuple[int, str, str, str]]):
    """The period's members; (row, employer, key, street) of those whose employer key matches no
    listed organization go to `unmatched` (the import checks those for near misses)."""
    from pbtool.clean import org_key

    ids = C.IdMaker(rng)
    n_area = len(C.AREA_CODES)
    # residential branches per community, sized from the expected residents
    branches = [[f"{cname}第{cn_number(k)}党支部"
                 for k in range(1, max(1, round(n * share / BRANCH_SIZE)) + 1)]
                for (_, cname, _), share in zip(d.comms, d.comm_share)]
    key_cache: dict[str, str] = {}
    n_est = len(d.estates)
    done = 0
    while done < n:
        k = min(CHUNK, n - done)
        est = rng.choices(range(n_est), cum_weights=d.estate_cw, k=k)
        emp = rng.choices(range(len(d.orgs)), cum_weights=d.org_cw, k=k)
        for j in range(k):
            e = est[j]
            street, community, estate, _ = d.estates[e]
            c = d.estate_comm[e]
            u = rng.random()
            if u < 0.93:
                place = "ok"
            elif u < 0.95:
                place, estate = "ok", None                       # community known, estate not given
            elif u < 0.99:
                place, estate = "unknown", estate + "东区"       # names a place missing from the lists
            else:
                place, community, estate = "none", None, None
            male = rng.random() < 0.7
            birth = C.random_birth(rng)
            has_error = rng.random() < 0.01                     # e.g. an ID destroyed by a number cell
            idn = None if has_error else ids.make(rng.randrange(n_area), birth, male)
            probationary = rng.random() < 0.07
            v = rng.random()
            employer = None
            if v < 0.50:
                o = d.orgs[emp[j]]
                employer = o["name"]
                w = rng.random()
                if w < 0.03:
                    employer = bracket_variant(rng, employer)
                elif w < 0.035:
                    employer = near_miss(rng, employer)
                    stats["near_miss_rows"] += 1
                if o["org_status"] == "单独组建" and rng.random() < 0.5:
                    branch = f"{o['name']}党支部"
                else:
                    branch = rng.choice(branches[c])
            else:
                if v < 0.55:
                    employer = rng.choice(d.units)
                elif v < 0.60:
                    employer = rng.choice(d.outside)
                elif v < 0.72:
                    employer = rng.choice(C.RETIRED)
                branch = rng.choice(branches[c])
            key = None
            if employer:
                key = key_cache.get(employer)
                if key is None:
                    key = key_cache[employer] = org_key(employer)
            stats["正式" if not probationary else "预备"] += 1
            if key and key not in listed:
                unmatched.append((done + j + 3, employer, key, street))
            row = prov(import_id, period, street, done + j + 3, has_error)
            row.update(name=C.person_name(rng), gender="男" if male else "女", id_number=idn,
                       birth_date=birth.isoformat(), category="预备" if probationary else "正式",
                       status="正常", branch=branch, employer=employer, employer_key=key,
                       community=community, estate=estate, place_status=place,
                       place_source="column" if place == "ok" else None, phone=C.mobile(rng))
            yield row
        done += k
        if done % 200_000 == 0 or done == n:
            print(f"    {period} members {done:,}/{n:,}", file=sys.stderr)


def write_period(store, d: District, rng: random.Random, period: str, n_members: int) -> dict:
    from pbtool.clean import org_key
    from pbtool.store import Store, communities, estates, members, orgs, problems

    stats: Counter = Counter()
    with store.transaction() as conn:
        def imp(kind: str, rows: int) -> int:
            return Store.add_import(conn, period=period, kind=kind, street="", file="bench", sha256="0" * 64,
                                    sheet="bench", rows=rows, problems=0)
        iid = imp("community", len(d.comms))
        insert_chunks(conn, communities, (
            {**prov(iid, period, s, i + 3), "name": name, "party_org": po, "org_type": "党委" if po else None}
            for i, (s, name, po) in enumerate(d.comms)))
        iid = imp("estate", len(d.estates))
        insert_chunks(conn, estates, (
            {**prov(iid, period, s, i + 3), "community": cm, "name": name, "party_org": po,
             "households": 200 + (i * 37) % 1800}
            for i, (s, cm, name, po) in enumerate(d.estates)))
        iid = imp("org", len(d.orgs))
        insert_chunks(conn, orgs, (
            {**prov(iid, period, o["street"], i + 3), "name": o["name"], "name_key": org_key(o["name"]),
             "uscc": o["uscc"], "org_type": o["org_type"], "industry": None, "community": o["community"],
             "employees": o["employees"], "org_status": o["org_status"], "party_org": o["party_org"],
             "instructor": o["instructor"]}
            for i, o in enumerate(d.orgs)))
        iid = imp("roster", n_members)
        org_names = {org_key(o["name"]): o["name"] for o in d.orgs}
        unmatched: list[tuple[int, str, str, str]] = []
        insert_chunks(conn, members, member_rows(d, rng, n_members, period, iid, stats, set(org_names), unmatched))
        stats["near_miss_problems"] = insert_chunks(conn, problems, near_miss_problems(
            iid, period, unmatched, org_names))
        Store.refresh_aggregates(conn, period)   # as the import transaction does
    assert store.keep_coverage_inputs(period, "")   # as every import does once it committed
    return dict(stats)


def near_miss_problems(import_id: int, period: str, unmatched: list[tuple[int, str, str, str]],
                       org_names: dict[str, str]):
    """The NAME_NEAR_MISS warnings `pbtool import` records for these members (pbtool's own
    find_near_misses and make_problem), so that coverage finds them in the store as after a real import."""
    from pbtool.importer import find_near_misses
    from pbtool.problems import make_problem
    from pbtool.store import problems

    near = find_near_misses({k for _, _, k, _ in unmatched}, org_names)
    has_expected = "expected" in problems.c
    for row, employer, key, street in unmatched:
        if key not in near:
            continue
        p = make_problem("NAME_NEAR_MISS", file="bench", sheet="bench", row=row, column="工作单位", value=employer,
                         kind="roster", street=street, expected=org_names[near[key]])
        rec = {"import_id": import_id, "period": period, "kind": "roster", "street": street, "code": p.code,
               "severity": p.severity, "file": p.file, "sheet": p.sheet, "row": row, "column": p.column,
               "value": p.value, "message": p.message}
        if has_expected:
            rec["expected"] = p.expected
        yield rec


def build_store(db: Path, args) -> dict:
    from pbtool.store import Store

    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    print(f"构建数据库 {db} …", file=sys.stderr)
    d = District(rng, args.streets, args.communities, args.estates, args.orgs)
    print(f"  lists ready ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    server = "://" in str(db)
    tmp = db if server else db.with_suffix(".tmp.db")
    if not server:
        tmp.unlink(missing_ok=True)
    store = Store.open(str(tmp))
    stats = {}
    try:
        if args.with_previous:
            prng = random.Random(args.seed + 1)
            stats[PREVIOUS] = write_period(store, d.previous(prng), prng, PREVIOUS, args.previous_members)
        stats[PERIOD] = write_period(store, d, rng, PERIOD, args.members)
    finally:
        store.close()
    if not server:
        tmp.replace(db)
    return {"seconds": round(time.perf_counter() - t0, 1), "member_stats": stats}


def store_summary(db) -> dict:
    from sqlalchemy import create_engine, text

    from pbtool.store import db_url
    engine = create_engine(db_url(str(db)))
    p = {"p": PERIOD}
    try:
        with engine.connect() as con:
            def q(sql: str, **kw):
                return con.execute(text(sql), kw)
            out = {}
            for t in ("members", "communities", "estates", "orgs", "imports"):
                out[t] = {a: b for a, b in q(f"select period, count(*) from {t} group by period")}
            out["streets"] = q("select count(distinct street) from communities where period=:p", **p).scalar()
            out["branches"] = q("select count(*) from (select distinct street, branch from members where period=:p) b",
                                **p).scalar()
            out["branches_over_50"] = q("select count(*) from (select 1 from members where period=:p "
                                        "group by street, branch having count(*) > 50) b", **p).scalar()
            out["distinct_employer_keys"] = q("select count(distinct employer_key) from members where period=:p",
                                              **p).scalar()
            listed = {k for (k,) in q("select name_key from orgs where period=:p", **p)}
            emp = {k for (k,) in q("select distinct employer_key from members where period=:p "
                                   "and employer_key is not null", **p)}
            out["employer_keys_not_in_org_list"] = len(emp - listed)
            out["aggregate_rows"] = {t: q(f"select count(*) from {t} where period=:p", **p).scalar()
                                     for t in ("agg_places", "agg_employers", "agg_branches")}
    finally:
        engine.dispose()
    return out


def forget_states(db: str, period: str | None) -> None:
    """Before each timed run (not timed): drop the stored coverage states (of `period`, or all), so that
    the run computes them from the aggregates."""
    from pbtool.store import Store
    store = Store.open(db, create=False)
    try:
        store.forget_coverage_states(period)
    finally:
        store.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=1_000_000, help="members in 2026Q3 (default 1,000,000)")
    ap.add_argument("--estates", type=int, default=20_000, help="estates (default 20,000)")
    ap.add_argument("--orgs", type=int, default=100_000, help="two-new organizations (default 100,000)")
    ap.add_argument("--communities", type=int, default=300, help="communities (default 300)")
    ap.add_argument("--streets", type=int, default=10, help="streets (default 10)")
    ap.add_argument("--with-previous", action="store_true", help="also store a smaller 2026Q2 (same lists, "
                    "a few blind spots not yet closed) so that 新增/持续/closed are computed")
    ap.add_argument("--previous-members", type=int, default=None, help="members in 2026Q2 (default members/2)")
    ap.add_argument("--seed", type=int, default=20260930, help="random seed (fixed by default)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs (default 3)")
    ap.add_argument("--timeout", type=float, default=3600, help="kill a run after this many seconds (default 3600)")
    ap.add_argument("--stop-after", type=float, default=100,
                    help="when a run takes longer than this (10× the target by default), skip the remaining runs "
                         "and the separate run that counts the findings")
    ap.add_argument("--work", type=Path, default=C.DATA_DIR, help="directory for the store (default benchmarks/_data)")
    ap.add_argument("--json", type=Path, default=C.DATA_DIR / "coverage_bench.json", help="where to write the results")
    ap.add_argument("--attempts", type=int, default=3,
                    help="run again (up to this many times) when other processes used the CPU meanwhile")
    ap.add_argument("--max-wait", type=float, default=600,
                    help="before each run, wait up to this many seconds for the machine to be idle (0: don't)")
    ap.add_argument("--rebuild", action="store_true", help="build the store again even if it exists")
    ap.add_argument("--build-only", action="store_true", help="only build the store")
    ap.add_argument("--db", default=None, help="a PostgreSQL URL (an empty database) instead of a SQLite file")
    ap.add_argument("--warm", action="store_true", help="keep the stored coverage states between runs")
    ap.add_argument("--cold-previous", action="store_true",
                    help="drop the previous period's stored state too before each run (both computed)")
    args = ap.parse_args()
    C.compile_pbtool()
    if args.previous_members is None:
        args.previous_members = args.members // 2

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    C.DATA_DIR.mkdir(parents=True, exist_ok=True)
    tag = f"{args.members}_{args.estates}_{args.orgs}" + (f"_prev{args.previous_members}" if args.with_previous else "")
    db = work / f"coverage_{tag}.db"
    meta_path = db.with_suffix(".db.json")
    if args.db:
        from sqlalchemy.engine import make_url
        db = args.db   # type: ignore[assignment]
        meta_path = work / f"coverage_{tag}.{make_url(args.db).database}.pg.json"
    from pbtool.store import (
        SCHEMA_VERSION,  # a store of an older schema would be migrated by the first run
    )
    want = {"generator": GENERATOR_VERSION, "schema": SCHEMA_VERSION, "seed": args.seed, "members": args.members,
            "estates": args.estates, "orgs": args.orgs, "communities": args.communities, "streets": args.streets,
            "previous_members": args.previous_members if args.with_previous else None}
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    exists = meta_path.exists() if args.db else db.exists()
    if exists and not args.rebuild and {k: meta.get(k) for k in want} == want:
        print(f"使用已有数据库 {db}", file=sys.stderr)
    else:
        meta = {**want, "build": build_store(db, args)}
        meta["summary"] = store_summary(db)
        meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"  built in {meta['build']['seconds']} s", file=sys.stderr)
    if args.build_only:
        print(json.dumps(meta, ensure_ascii=False, indent=2))
        return 0

    # warm the page cache so that run 1 is not a cold-disk run
    if not args.db:
        with open(db, "rb") as fh:
            while fh.read(1 << 24):
                pass
    cli = ["coverage", "--period", PERIOD, "--db", str(db), "--format", "json"]
    # each run is `pbtool coverage` alone, in a fresh process, as a clerk runs it; a cold run's stored
    # states are dropped just before it, outside the timing (until 2026-11-29 the timed process did that
    # itself: it opened the store and deleted the state first, about 0.15 s of each figure)
    cmd = C.pbtool_cmd() + cli
    forget = None if args.warm else \
        (lambda: forget_states(str(db), None if args.cold_previous else PERIOD))
    if args.with_previous:   # last quarter's coverage run, which left its state stored
        from pbtool.coverage import compute_coverage
        compute_coverage(str(db), PREVIOUS)
    before = C.machine_state()
    C.warn_if_busy(before)
    runs = []
    for i in range(args.runs):
        m = C.measure_quiet(cmd, timeout=args.timeout, attempts=args.attempts, max_wait=args.max_wait, before=forget)
        runs.append(m)
        print(f"  run {i + 1}: {m['seconds']:.2f} s, peak RSS {m['peak_rss_mb']:.0f} MB, exit {m['returncode']}"
              f"{' (killed after --timeout)' if m['timed_out'] else ''}, other processes' CPU meanwhile "
              f"{m['other_cpu_s']} s", file=sys.stderr)
        if m["returncode"] != 0:
            print(m["stderr_tail"], file=sys.stderr)
            break
        if m["seconds"] > args.stop_after and i + 1 < args.runs:
            print(f"  run took over {args.stop_after:g} s (--stop-after): far over the target, "
                  "skipping the remaining runs and the separate counting run", file=sys.stderr)
            break
    after = C.machine_state()
    C.warn_if_busy(after)

    ok_runs = [r for r in runs if r["returncode"] == 0]
    findings = closed = near = out_bytes = None
    by_rule: dict = {}
    status: dict = {}
    district: list = []

    def count(run: dict, path: Path) -> None:
        nonlocal findings, closed, near, by_rule, status, district, out_bytes
        if run["returncode"] != 0:
            print(run["stderr_tail"], file=sys.stderr)
            return
        data = json.loads(path.read_text(encoding="utf-8"))
        findings, closed, near = len(data["findings"]), len(data["closed"]), len(data.get("near_misses", []))
        by_rule = dict(Counter(f["rule"] for f in data["findings"]))
        status = dict(Counter(f["status"] for f in data["findings"]))
        district = [r for r in data["rates"] if r["scope"] == "district"]
        out_bytes = path.stat().st_size
        path.unlink()

    # one more run that keeps the JSON, to count the findings (skipped when the timed runs failed)
    out = work / f"coverage_{tag}.out.json"
    counted = None
    if len(ok_runs) == len(runs) and max(r["seconds"] for r in runs) <= args.stop_after:
        if forget:
            forget()
        counted = C.measure(cmd, stdout=out, timeout=args.timeout)
        count(counted, out)
    times = [r["seconds"] for r in runs]
    t_min, t_med = min(times), C.median(times)
    peak = max(r["peak_rss_mb"] for r in runs)
    time_ok = len(ok_runs) == len(runs) and t_med < 2
    rss_ok = peak < 500
    summ = meta.get("summary", {})
    table1 = C.md_table(
        ["store", "members", "estates", "orgs", "communities", "streets", "branches (>50)", "periods"],
        [(db.name if isinstance(db, Path) else "PostgreSQL " + str(db).rsplit("/", 1)[-1], summ.get("members", {}).get(PERIOD, args.members), summ.get("estates", {}).get(PERIOD, args.estates),
          summ.get("orgs", {}).get(PERIOD, args.orgs), summ.get("communities", {}).get(PERIOD, args.communities),
          summ.get("streets", args.streets), f"{summ.get('branches', '?'):,} ({summ.get('branches_over_50', '?'):,})"
          if summ else "?", ", ".join(sorted(summ.get("members", {}))) if summ else "?")])
    table2 = C.md_table(
        ["measure"] + [f"run {i + 1}" for i in range(len(runs))] + ["min", "median / max", "target", "result"],
        [["wall seconds"] + times + [t_min, t_med, "< 2 s", "PASS" if time_ok else "FAIL"],
         ["peak RSS (MB)"] + [r["peak_rss_mb"] for r in runs] + [min(r["peak_rss_mb"] for r in runs), peak,
                                                                 "< 500 MB", "PASS" if rss_ok else "FAIL"],
         ["other procs' CPU s"] + [r["other_cpu_s"] for r in runs] + ["", "", "≈ 0", ""]])
    table3 = C.md_table(["findings", "by rule", "status", "closed", "near misses", "JSON bytes"],
                        [(findings if findings is not None else "not counted",
                          ", ".join(f"{k} {v:,}" for k, v in by_rule.items()),
                          ", ".join(f"{k} {v:,}" for k, v in status.items()), closed, near, out_bytes)])
    print()
    print("command: " + C.fmt_cmd(cmd, "/dev/null"))
    print()
    print(table1)
    print()
    print(table2)
    print()
    print(table3)
    print()
    print(f"load average before/after: {before['loadavg']} / {after['loadavg']}; "
          f"other busy processes: {len(before['busy_processes']) + len(after['busy_processes'])}")
    result = {
        "benchmark": "coverage", "command": C.fmt_cmd(cmd, "/dev/null"), "db": str(db), "store": meta,
        "runs": runs, "seconds_min": t_min, "seconds_median": t_med, "peak_rss_mb": peak,
        "targets": {"seconds_lt_2": time_ok, "rss_lt_500mb": rss_ok},
        "computed_each_run": [] if args.warm else ([PERIOD, PREVIOUS] if args.cold_previous else [PERIOD]),
        "findings": findings, "findings_by_rule": by_rule, "findings_by_status": status, "closed": closed,
        "near_misses": near, "json_bytes": out_bytes, "district_rates": district, "count_run": counted,
        "machine_before": before, "machine_after": after, "environment": C.environment(),
        "markdown": table1 + "\n\n" + table2 + "\n\n" + table3,
    }
    C.write_json(args.json, result)
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
