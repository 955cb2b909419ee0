"""Shared helpers for the pbtool benchmarks: synthetic-but-realistic Chinese roster vocabulary (fixed
seed, synthetic people only), GB 11643 ID numbers, per-step measurement of a child process (wall time
and peak RSS), a machine-idle check and Markdown tables.

Not part of the pbtool package and not a test: run the scripts next to this file by hand."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "_data"          # git-ignored (.gitignore: benchmarks/_data/)
MB = 1024 * 1024
TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None    # GNU time (apt: time)

# ------------------------------------------------------------------------------------ vocabulary

STREETS = ["东湖街道", "西山街道", "南桥街道", "北苑街道", "城东街道", "城西街道", "文新街道", "翠苑街道",
           "古荡街道", "蒋村街道"]

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
            "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
# rough frequency: the first surnames are much more common
SURNAME_WEIGHTS = [max(1.0, 80.0 / (i + 1) ** 0.8) for i in range(len(SURNAMES))]
GIVEN_CHARS = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉兵云飞鹏辉斌宇浩凯俊峰宁波欣怡佳琪"
               "晨阳雪梅林婷慧颖文博海涛春燕丹萍晓东亮雷永德荣建新立成才振宏光金凤美玲淑珍海燕子涵雨轩梓萱思远"
               "嘉怡浩然一鸣子轩紫涵欣然诗雨天宇泽宇晓峰晓明丽娟秀兰桂英玉兰翠花建华建军国强国平")

ETHNICITIES = [("汉族", 950), ("回族", 8), ("满族", 7), ("壮族", 6), ("土家族", 5), ("苗族", 4), ("畲族", 4),
               ("蒙古族", 3), ("朝鲜族", 2), ("维吾尔族", 2), ("藏族", 2), ("彝族", 2), ("侗族", 2), ("布依族", 1),
               ("瑶族", 1), ("白族", 1)]
EDUCATION = [("小学", 3), ("初中", 10), ("高中", 9), ("中专", 6), ("大专", 18), ("大学本科", 40),
             ("硕士研究生", 11), ("博士研究生", 3)]

# GB/T 2260 area codes (Zhejiang mostly, a few from elsewhere: members move)
AREA_CODES = ["330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330113",
              "330114", "330122", "330127", "330182", "330203", "330205", "330206", "330211", "330212",
              "330302", "330303", "330304", "330402", "330411", "330502", "330503", "330602", "330603",
              "330702", "330703", "330782", "330802", "330902", "331002", "331102", "340102", "320102",
              "360102", "410102", "430102", "510104", "610102", "370102", "420102", "350102"]

PLACE_CHARS = ("金银翠绿阳光和平东方南北湖山水景园林海天泰华盛锦绣嘉禾瑞祥福康宁安欣悦春秋晨曦明月星辰兴隆"
               "新城桂兰梅竹松柏桃李杏荷芙蓉紫云青碧玉丽雅静清波江河溪泉潮鸣凤凰龙鹤鹿宝石文德仁义博学书香"
               "馨怡逸君临望汇融创智慧丰豪庭苑府湾岸")
ESTATE_SUFFIXES = ["小区", "花园", "家园", "新村", "嘉园", "公寓", "苑", "府", "佳苑", "名邸", "雅苑", "华庭",
                   "御园", "里", "一区", "二区", "三区", "城", "公馆", "锦园"]
TRADE_CHARS = ("华泰盛鑫源达恒通宏远信诚德隆兴昌瑞祥安康宁和顺丰利发新金银科创智联云数海天星辰宇航博雅嘉"
               "禾润泽汇融众合聚卓越凯旋精工匠心永乐同仁益民惠东南西北中江浙湖滨钱塘西溪运河之江望潮")
INDUSTRIES = ["科技", "网络科技", "信息技术", "电子商务", "贸易", "商贸", "建筑工程", "装饰工程", "物业管理",
              "餐饮管理", "文化传媒", "广告", "教育科技", "医疗器械", "医药", "生物科技", "物流", "供应链管理",
              "环保科技", "新能源科技", "机械制造", "电子", "服装", "食品", "家居", "软件", "咨询服务", "人力资源",
              "投资管理", "酒店管理", "汽车服务", "印刷", "智能科技", "数据科技", "检测技术"]
COMPANY_FORMS = [("有限公司", 80), ("股份有限公司", 6), ("有限责任公司", 6), ("（集团）有限公司", 2),
                 ("合伙企业（有限合伙）", 2), ("个人独资企业", 2), ("分公司", 2)]
SOCIAL_FORMS = ["协会", "商会", "促进会", "研究会", "服务中心", "社会工作服务社", "培训学校", "幼儿园", "基金会",
                "养老服务中心", "志愿者协会", "调解中心"]
CITY_PREFIX = [("杭州", 65), ("浙江", 12), ("", 15), ("杭州市", 8)]
UNLISTED_UNITS = ["区教育局", "区卫生健康局", "区人民医院", "区中医院", "第一中学", "实验小学", "区财政局",
                  "区市场监督管理局", "区税务局", "街道办事处", "区人民法院", "区人民检察院", "区公安分局", "区供电公司",
                  "区自来水公司", "区邮政分公司", "区图书馆", "区疾病预防控制中心"]
RETIRED = ["退休", "离退休", "无", "待业", "个体", "自由职业"]


def weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]], k: int) -> list[Any]:
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights, k=k)


def person_name(rng: random.Random) -> str:
    s = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    n = 1 if rng.random() < 0.28 else 2
    return s + "".join(rng.choice(GIVEN_CHARS) for _ in range(n))


def unique_words(rng: random.Random, n: int, make) -> list[str]:
    """n distinct strings from make(rng); fails loudly if the vocabulary is too small."""
    seen: set[str] = set()
    out: list[str] = []
    tries = 0
    while len(out) < n:
        w = make(rng)
        tries += 1
        if w not in seen:
            seen.add(w)
            out.append(w)
        elif tries > 50 * n + 1000:
            raise RuntimeError(f"vocabulary too small for {n} distinct names")
    return out


def community_names(rng: random.Random, n: int) -> list[str]:
    return unique_words(rng, n, lambda r: "".join(r.sample(PLACE_CHARS, 2)) + "社区")


def estate_names(rng: random.Random, n: int) -> list[str]:
    return unique_words(rng, n, lambda r: "".join(r.sample(PLACE_CHARS, 2)) + r.choice(ESTATE_SUFFIXES))


def company_name(rng: random.Random) -> str:
    """杭州 + 字号 + 行业 + 组织形式, as registered names really look (some with the city in brackets)."""
    trade = "".join(rng.sample(TRADE_CHARS, 2)) + (rng.choice(TRADE_CHARS) if rng.random() < 0.25 else "")
    city = weighted(rng, CITY_PREFIX, 1)[0]
    form = weighted(rng, COMPANY_FORMS, 1)[0]
    industry = rng.choice(INDUSTRIES)
    if not city and rng.random() < 0.5:
        return f"{trade}（杭州）{industry}{form}"
    return f"{city}{trade}{industry}{form}"


def social_org_name(rng: random.Random, street: str | None = None) -> str:
    where = street or rng.choice(STREETS)
    trade = "".join(rng.sample(TRADE_CHARS, 2))
    kind = rng.choice(SOCIAL_FORMS)
    if kind in ("协会", "商会", "促进会", "研究会", "志愿者协会"):
        return f"杭州市{rng.choice(['西湖区', '拱墅区', '上城区', '滨江区'])}{trade}{rng.choice(INDUSTRIES)}{kind}"
    return f"{where}{trade}{kind}"


def company_names(rng: random.Random, n: int) -> list[str]:
    return unique_words(rng, n, company_name)


def mobile(rng: random.Random) -> str:
    return rng.choice(("13", "15", "18", "17", "19", "13", "15", "18")) + str(rng.randrange(0, 10)) + \
        f"{rng.randrange(0, 100_000_000):08d}"


# ------------------------------------------------------------------------------------ ID numbers

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


class IdMaker:
    """Unique, valid 18-digit IDs: area + birth date + sequence (odd = 男, even = 女) + check char."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.next_seq: dict[tuple[int, int, int], int] = {}

    def make(self, area_idx: int, birth: dt.date, male: bool) -> str:
        key = (area_idx, birth.toordinal(), int(male))
        seq = self.next_seq.get(key)
        if seq is None:
            seq = self.rng.randrange(0, 400) * 2 + int(male)     # even/odd start below 800
        if seq > 999:
            raise RuntimeError("sequence space exhausted")
        self.next_seq[key] = seq + 2
        first17 = f"{AREA_CODES[area_idx]}{birth:%Y%m%d}{seq:03d}"
        return first17 + id_check_char(first17)


def random_birth(rng: random.Random) -> dt.date:
    """Party members skew older: ages 19–95 in 2026, a bulge at 50–75."""
    if rng.random() < 0.45:
        year = rng.randint(1951, 1976)
    else:
        year = rng.randint(1931, 2006)
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:          # 29 Feb
        return d.replace(year=d.year + years, day=28)


def party_dates(rng: random.Random, birth: dt.date, probationary: bool) -> tuple[str, str]:
    """(入党时间, 转正时间) as text: probationary members joined in the last year and are not yet full."""
    if probationary:
        join = dt.date(2025, 7, 1) + dt.timedelta(days=rng.randrange(365))
        return join.isoformat(), ""
    earliest = add_years(birth, 18)
    latest = dt.date(2025, 6, 30)
    span = (latest - earliest).days
    join = earliest + dt.timedelta(days=rng.randrange(min(span, 365 * 30)) if span > 0 else 0)
    return join.isoformat(), add_years(join, 1).isoformat()


# ------------------------------------------------------------------------------------ measurement


def fmt_cmd(cmd: Sequence[str], stdout: str | None = None) -> str:
    s = " ".join(shlex.quote(str(c)) for c in cmd)
    return s + (f" > {stdout}" if stdout else "")


def measure(cmd: Sequence[str], *, stdout: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None,
            env: dict[str, str] | None = None, poll: float = 0.05, timeout: float | None = None,
            server_cpu: Callable[[], float] | None = None) -> dict[str, Any]:
    """Run one fresh child process; return wall seconds and peak RSS.

    Peak RSS is the kernel's high-water mark of *this* child (os.wait4's rusage: max over the child and
    any descendants it waited for; not RUSAGE_CHILDREN, which is the max over every child this
    process ever waited for), cross-checked by sampling the RSS of the child's whole process tree with
    psutil every `poll` seconds, with the high-water marks (VmHWM) of its processes. On Linux the
    kernel figure never falls below this script's own peak RSS (the child starts as a copy of this
    process before exec), so where GNU time is installed the command runs under `/usr/bin/time -f %M`,
    a 2 MB process whose child's figure starts from nothing, and that figure is the kernel's; without
    it, a kernel figure no higher than this script's own peak tells nothing and the polled figures are
    used. `stdout=None` sends the output to /dev/null.
    `server_cpu` (optional) returns the CPU seconds used so far by a local server the child works
    through (a database server): that CPU is part of the step, reported as server_cpu_s, and not
    counted as other processes' CPU."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(stdout, "wb")) if stdout else subprocess.DEVNULL
        err = stack.enter_context(tempfile.TemporaryFile())
        srv0 = server_cpu() if server_cpu else 0.0
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024     # Linux: KiB
        cpu0 = psutil.cpu_times()
        maxrss_file = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "maxrss" if TIME_BIN else None
        run = [TIME_BIN, "-q", "-f", "%M", "-o", maxrss_file, *cmd] if maxrss_file else cmd
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(map(str, run)), stdout=out, stderr=err, cwd=cwd, env=env)
        ps = psutil.Process(proc.pid)
        polled_peak = 0
        status = rusage = None
        timed_out = False
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                tree = ps.children(recursive=True) + ([] if maxrss_file else [ps])   # not GNU time itself
                rss = sum(p.memory_info().rss for p in tree)
                polled_peak = max(polled_peak, rss, *(_vm_hwm(p.pid) for p in tree))
            except psutil.Error:
                pass
            if timeout and not timed_out and time.perf_counter() - t0 > timeout:
                for p in ps.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        p.kill()
                proc.kill()
                timed_out = True
            time.sleep(poll)
        seconds = time.perf_counter() - t0
        cpu1 = psutil.cpu_times()
        srv = (server_cpu() - srv0) if server_cpu else 0.0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; keep Popen from waiting again
        err.seek(0)
        stderr = err.read().decode("utf-8", errors="replace")
        child_peak = None
        if maxrss_file:
            with contextlib.suppress(OSError, ValueError, IndexError):
                child_peak = int(maxrss_file.read_text().split()[-1]) * 1024     # KiB
    busy = sum(getattr(cpu1, f) - getattr(cpu0, f) for f in ("user", "nice", "system", "irq", "softirq", "steal")
               if hasattr(cpu1, f))
    if child_peak is not None:                     # GNU time's figure for the command itself: no floor
        kernel_peak, floor = child_peak, 0
    else:
        kernel_peak = rusage.ru_maxrss * 1024      # Linux: KiB
    peak = max(kernel_peak, polled_peak) if kernel_peak > floor else polled_peak
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak / MB, 1),
        "kernel_maxrss_mb": round(kernel_peak / MB, 1),
        "kernel_floor_mb": round(floor / MB, 1),
        "polled_tree_peak_mb": round(polled_peak / MB, 1),
        "user_s": round(rusage.ru_utime, 2),
        "sys_s": round(rusage.ru_stime, 2),
        # CPU seconds the rest of the machine used meanwhile (this script's polling included, ~0.1 s):
        # well above 1 s means another process competed with the measured step
        "other_cpu_s": round(max(0.0, busy - rusage.ru_utime - rusage.ru_stime - srv), 1),
        **({"server_cpu_s": round(srv, 2)} if server_cpu else {}),
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "stderr_tail": stderr[-2000:],
    }


def _vm_hwm(pid: int) -> int:
    """A process's peak resident set size since its exec (Linux /proc; 0 where unknown)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def wait_until_idle(max_wait: float, quiet_for: float = 10.0, cpu_limit: float = 20.0) -> float:
    """Wait (at most max_wait seconds) until no other process has used more than cpu_limit % of a CPU
    for quiet_for seconds in a row; returns the seconds waited."""
    t0 = time.perf_counter()
    me = os.getpid()
    quiet = 0.0
    while time.perf_counter() - t0 < max_wait:
        procs = []
        for p in psutil.process_iter():
            if p.pid == me:
                continue
            try:
                p.cpu_percent(None)
                procs.append(p)
            except psutil.Error:
                pass
        time.sleep(2)
        busy = False
        for p in procs:
            try:
                busy = busy or p.cpu_percent(None) > cpu_limit
            except psutil.Error:
                pass
        quiet = 0.0 if busy else quiet + 2
        if quiet >= quiet_for:
            break
    return round(time.perf_counter() - t0, 1)


def measure_quiet(cmd: Sequence[str], *, attempts: int = 3, max_wait: float = 600, before=None,
                  **kw: Any) -> dict[str, Any]:
    """measure(), on an idle machine: wait for other processes to go quiet, run, and run again (up to
    `attempts` times) when other processes used more than 1 s + 5% of the step's time in CPU meanwhile.
    The last attempt is returned, with the figures of the discarded ones under "discarded"."""
    discarded = []
    for i in range(attempts):
        waited = wait_until_idle(max_wait) if max_wait else 0.0
        if before:
            before()
        m = measure(cmd, **kw)
        m["waited_for_idle_s"] = waited
        if m["returncode"] != 0 or m["other_cpu_s"] <= 1 + 0.05 * m["seconds"] or i + 1 == attempts:
            m["discarded"] = discarded
            return m
        print(f"    other processes used {m['other_cpu_s']} s of CPU during this run "
              f"({m['seconds']:.1f} s): run again", file=sys.stderr)
        discarded.append({k: m[k] for k in ("seconds", "peak_rss_mb", "other_cpu_s")})
    raise AssertionError("unreachable")


def machine_state(exclude_pids: set[int] | None = None, sample: float = 1.0) -> dict[str, Any]:
    """Load average and any other process using a noticeable share of a CPU (to tell whether the
    figures were taken on an otherwise idle machine)."""
    me = os.getpid()
    skip = {me, *(exclude_pids or set())}
    procs = []
    for p in psutil.process_iter(["pid", "name"]):
        if p.info["pid"] in skip:
            continue
        try:
            p.cpu_percent(None)
            procs.append(p)
        except psutil.Error:
            pass
    time.sleep(sample)
    busy = []
    for p in procs:
        try:
            cpu = p.cpu_percent(None)
            if cpu >= 10:
                busy.append({"pid": p.pid, "cpu_percent": round(cpu), "cmd": " ".join(p.cmdline())[:160],
                             "rss_mb": round(p.memory_info().rss / MB)})
        except psutil.Error:
            pass
    vm = psutil.virtual_memory()
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
            "mem_total_gb": round(vm.total / 1024 ** 3, 1), "mem_available_gb": round(vm.available / 1024 ** 3, 1),
            "busy_processes": busy}


def warn_if_busy(state: dict[str, Any]) -> None:
    if state["busy_processes"]:
        print("警告 / WARNING: other processes are using CPU; figures may be inflated:", file=sys.stderr)
        for b in state["busy_processes"]:
            print(f"  pid {b['pid']} {b['cpu_percent']}% CPU {b['rss_mb']} MB  {b['cmd']}", file=sys.stderr)


def environment() -> dict[str, Any]:
    import importlib.metadata as md
    versions = {}
    for pkg in ("pbtool", "python-calamine", "fastexcel", "pyarrow", "pandas", "openpyxl", "xlsxwriter", "SQLAlchemy",
                "psycopg", "psutil"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"python": platform.python_version(), "platform": platform.platform(), "versions": versions,
            "pbtool_commit": git("rev-parse", "--short", "HEAD"),
            "pbtool_dirty": bool(git("status", "--porcelain", "--", "pbtool")),
            "date": dt.datetime.now().isoformat(timespec="seconds")}


def compile_pbtool() -> None:
    """Byte-compile the pbtool package, as pip does when it installs it. From an editable checkout
    run with PYTHONDONTWRITEBYTECODE=1 (as on the development machine) every run would otherwise
    compile all of pbtool's modules again at start-up: 0.1–0.2 s that no installed copy pays."""
    import compileall

    compileall.compile_dir(str(REPO / "pbtool"), quiet=1)


def pbtool_cmd() -> list[str]:
    """The installed console script, as a user runs it: the one beside this Python (its virtual
    environment, also when that is not on PATH), else on PATH, else `python -m pbtool.cli`. The
    last imports the CLI module twice (as __main__ and as pbtool.cli)."""
    import shutil
    here = Path(sys.executable).parent / ("pbtool.exe" if os.name == "nt" else "pbtool")
    exe = str(here) if here.exists() else shutil.which("pbtool")
    return [exe] if exe else [sys.executable, "-m", "pbtool.cli"]


def median(xs: Sequence[float]) -> float:
    return round(statistics.median(xs), 3)


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
