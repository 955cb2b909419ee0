#!/usr/bin/env python3
"""Generate the synthetic 青湖区 sample rosters and resource lists (2026Q2, 2026Q3) plus expected.json.

Standalone: does not import pbtool. Deterministic: one seeded RNG, fixed workbook metadata.
Usage: python samples/generate.py [--out DIR]      (default DIR: the folder of this script)
All names, ID numbers and credit codes are synthetic.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import xlsxwriter
import xlwt

SEED = 20260930
Q2, Q3 = "2026Q2", "2026Q3"
PERIODS = (Q2, Q3)
QUARTER_CN = {Q2: "2026年第二季度", Q3: "2026年第三季度"}
REPORT_DATE = {Q2: dt.date(2026, 6, 30), Q3: dt.date(2026, 9, 30)}
STREETS = ("东湖街道", "西山街道", "南桥街道")
STREET_FILE = {"东湖街道": "dh", "西山街道": "xs", "南桥街道": "nq"}
FILE_NAMES = {
    "lists": "青湖区区域化党建资源清单.xlsx",
    "dh": "东湖街道党员花名册（{q}）.xlsx",
    "xs": "西山街道党员信息采集表.xls",
    "nq": "南桥街道党员信息（全国党员管理信息系统导出）.csv",
    "supp": "补充名单.csv",
}
FILE_ORDER = ("lists", "dh", "xs", "nq", "supp")  # import order; DUPLICATE_PERSON marks the later row

# ---------------------------------------------------------------- checksums (domain.md §5)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def id_check_char(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits of a resident ID."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters of a unified social credit code."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


assert id_check_char("11010519491231002") == "X" and uscc_check_char("91350100M000100Y4") == "3"

# ---------------------------------------------------------------- the district (value may be {period: value})
COMMUNITIES = [  # street, community, (Party organization, type) or None
    ("东湖街道", "朝阳社区", None),
    ("东湖街道", "湖滨社区", ("湖滨社区党委", "社区党委")),
    ("东湖街道", "文晖社区", ("文晖社区党总支", "党总支")),
    ("东湖街道", "望湖社区", ("望湖社区党支部", "党支部")),
    ("西山街道", "朝阳社区", ("朝阳社区党委", "社区党委")),
    ("西山街道", "青松社区", ("青松社区党总支", "党总支")),
    ("西山街道", "枫华社区", {Q2: None, Q3: ("枫华社区党支部", "党支部")}),
    ("西山街道", "西岭社区", ("西岭社区党支部", "党支部")),
    ("南桥街道", "南桥社区", ("南桥社区党委", "社区党委")),
    ("南桥街道", "锦绣社区", ("锦绣社区党总支", "党总支")),
    ("南桥街道", "翠苑社区", ("翠苑社区党支部", "党支部")),
    ("南桥街道", "新河社区", None),
]
R = "rand"  # resident spec drawn at random (estate has a Party organization, so no threshold matters)
ESTATES = [  # street, community, estate, estate Party organization, residents (正式Q2, 预备Q2, 正式Q3, 预备Q3)
    ("东湖街道", "朝阳社区", "朝晖小区", None, (3, 0, 3, 0)),       # exactly 3 正式 -> RES_NO_ORG
    ("东湖街道", "朝阳社区", "阳光花园", None, (2, 1, 2, 1)),       # 2 正式 + 1 预备 -> nothing
    ("东湖街道", "朝阳社区", "紫荆苑", None, (1, 0, 1, 0)),         # + one newcomer in 补充名单 (Q3)
    ("东湖街道", "湖滨社区", "幸福里小区", "幸福里小区党支部", R),
    ("东湖街道", "湖滨社区", "湖滨花苑", "湖滨花苑小区党支部", R),
    ("东湖街道", "湖滨社区", "观澜小区", {Q2: None, Q3: "观澜小区党支部"}, (4, 0, 4, 1)),  # closed in Q3
    ("东湖街道", "文晖社区", "文晖苑", "文晖苑小区党支部", R),
    ("东湖街道", "文晖社区", "金桂小区", "金桂小区党支部", R),
    ("东湖街道", "文晖社区", "东湖一品", None, (1, 1, 2, 0)),
    ("东湖街道", "望湖社区", "望湖小区", "望湖小区党支部", R),
    ("东湖街道", "望湖社区", "临湖家园", "临湖家园小区党支部", R),
    ("西山街道", "朝阳社区", "朝阳新村", "朝阳新村小区党支部", R),
    ("西山街道", "朝阳社区", "明月小区", "明月小区党支部", R),
    ("西山街道", "青松社区", "青松苑", "青松苑小区党支部", R),
    ("西山街道", "青松社区", "松鹤小区", "松鹤小区党支部", R),
    ("西山街道", "青松社区", "云栖小区", None, (2, 1, 3, 0)),       # 预备 转正 -> new RES_NO_ORG in Q3
    ("西山街道", "枫华社区", "枫华苑", None, (2, 0, 2, 0)),
    ("西山街道", "枫华社区", "石榴园", None, (2, 0, 2, 1)),
    ("西山街道", "西岭社区", "西岭雅苑", "西岭雅苑小区党支部", R),
    ("西山街道", "西岭社区", "岭秀小区", "岭秀小区党支部", R),
    ("南桥街道", "南桥社区", "幸福里小区", "南桥幸福里小区党支部", R),
    ("南桥街道", "南桥社区", "南苑小区", "南苑小区党支部", R),
    ("南桥街道", "锦绣社区", "锦绣家园", "锦绣家园小区党支部", R),
    ("南桥街道", "锦绣社区", "枫林小区", None, (3, 0, 3, 0)),       # one address says only "枫林"
    ("南桥街道", "锦绣社区", "桂花园", "桂花园小区党支部", R),
    ("南桥街道", "翠苑社区", "翠苑", "翠苑小区党支部", R),
    ("南桥街道", "翠苑社区", "翠苑一区", None, (2, 0, 3, 0)),       # longest name wins over 翠苑
    ("南桥街道", "翠苑社区", "丹桂小区", "丹桂小区党支部", R),
    ("南桥街道", "新河社区", "新河湾小区", None, (1, 1, 2, 0)),
    ("南桥街道", "新河社区", "柳岸小区", None, (1, 0, 1, 0)),
]
RAND_FULL = {"东湖街道": (11, 14), "西山街道": (7, 10), "南桥街道": (12, 14)}
SUPPLEMENT = [("东湖街道", "朝阳社区", "紫荆苑"), ("西山街道", "青松社区", "青松苑"), ("南桥街道", "锦绣社区", "锦绣家园")]

NF, SH, MF = "非公有制企业", "社会团体", "民办非企业单位"
ORGS = [  # street, community, name, type, industry, 党组织建立情况, 党组织名称, 党建工作指导员, employees
    ("东湖街道", "湖滨社区", "青湖智联科技有限公司", NF, "信息技术服务", "单独组建", "青湖智联科技有限公司党支部", "", "F5"),
    ("东湖街道", "湖滨社区", "青湖(杭州)数据服务有限公司", NF, "数据处理", "未建立", "", "张建国", "F3"),
    ("东湖街道", "文晖社区", "东湖餐饮管理有限公司", NF, "餐饮业", {Q2: "未建立", Q3: "联合组建"},
     {Q2: "", Q3: "东湖街道非公企业联合党支部"}, "", "F2"),
    ("东湖街道", "朝阳社区", "东湖社会工作服务中心", MF, "社会服务", "未建立", "", "刘芳", ""),
    ("东湖街道", "望湖社区", "青湖区东湖商会", SH, "商会", "挂靠", "东湖街道机关党支部", "", "F1"),
    ("东湖街道", "湖滨社区", "东湖物业服务有限公司", NF, "物业管理", "单独组建", "东湖物业服务有限公司党支部", "", "F3 P1"),
    ("东湖街道", "文晖社区", "杭州湖畔文化传媒有限公司", NF, "文化传媒", "联合组建", "东湖街道非公企业联合党支部", "", "F2"),
    ("东湖街道", "朝阳社区", "东湖颐养院", MF, "养老服务", "", "", "", "F1 P1"),
    ("东湖街道", "望湖社区", "浙江青湖建设工程有限公司", NF, "建筑业", "单独组建", "浙江青湖建设工程有限公司党支部", "", "F4"),
    ("东湖街道", "文晖社区", "青湖区东湖书画协会", SH, "文化艺术", "未建立", "", "陈志强", "F1"),
    ("西山街道", "朝阳社区", "西山新材料科技有限公司", NF, "制造业", "单独组建", "西山新材料科技有限公司党支部", "", "F3"),
    ("西山街道", "青松社区", "杭州西山物流有限公司", NF, "交通运输", "未建立", "", "", "F2 C1"),
    ("西山街道", "青松社区", "西山社区养老服务中心", MF, "养老服务", "联合组建", "西山街道社会组织联合党支部", "", "F1"),
    ("西山街道", "西岭社区", "青湖区西山摄影协会", SH, "文化艺术", "挂靠", "西山街道文化站党支部", "", "F1"),
    ("西山街道", "朝阳社区", "西山电子商务有限公司", NF, "批发零售", "单独组建", "西山电子商务有限公司党支部", "", "F3 P1"),
    ("西山街道", "枫华社区", "杭州青湖汽车服务有限公司", NF, "汽车维修", "", "", "", ""),  # blank = not set up
    ("西山街道", "西岭社区", "西山阳光幼儿园", MF, "教育", "单独组建", "西山阳光幼儿园党支部", "", "F3"),
    ("西山街道", "枫华社区", "西山建筑劳务有限公司", NF, "建筑业", "联合组建", "西山街道非公企业联合党支部", "", ""),
    ("西山街道", "青松社区", "西山农产品经销有限公司", NF, "批发零售", "挂靠", "西山街道机关党支部", "", "F1"),
    ("西山街道", "朝阳社区", "西山心理咨询服务中心", MF, "社会服务", "联合组建", "西山街道社会组织联合党支部", "", "F1"),
    ("南桥街道", "南桥社区", "南桥智能制造有限公司", NF, "制造业", "单独组建", "南桥智能制造有限公司党支部", "", "F4"),
    ("南桥街道", "锦绣社区", "南桥网络科技有限公司", NF, "信息技术服务", "未建立", "", "赵敏", "F3 NF1"),
    ("南桥街道", "翠苑社区", "南桥家政服务有限公司", NF, "居民服务", "联合组建", "南桥街道非公企业联合党支部", "", "F2"),
    ("南桥街道", "南桥社区", "青湖区南桥志愿者协会", SH, "社会服务", "联合组建", "南桥街道社会组织联合党支部", "", "F1"),
    ("南桥街道", "锦绣社区", "青湖区南桥职业技能培训学校", MF, "教育", "单独组建", "南桥职业技能培训学校党支部", "", "F3"),
    ("南桥街道", "新河社区", "南桥医药连锁有限公司", NF, "医药零售", "挂靠", "南桥街道机关党支部", "", "F1"),
    ("南桥街道", "翠苑社区", "南桥食品有限公司", NF, "食品制造", {Q2: "未建立", Q3: "单独组建"},
     {Q2: "", Q3: "南桥食品有限公司党支部"}, "孙丽", "F3"),
    ("南桥街道", "南桥社区", "南桥康复护理院", MF, "卫生", "单独组建", "南桥康复护理院党支部", "", "F3"),
    ("南桥街道", "锦绣社区", "南桥商贸有限公司", NF, "批发零售", "联合组建", "南桥街道非公企业联合党支部", "", "F1"),
    ("南桥街道", "新河社区", "南桥装饰工程有限公司", NF, "建筑装饰", "未建立", "", "", "NP1"),
]
COVERED = ("单独组建", "联合组建", "挂靠")
ORG_DEFECTS = {  # Q3 only: org name -> (code, field, note)
    "浙江青湖建设工程有限公司": ("USCC_CHECKSUM", "uscc", "统一社会信用代码校验位错误"),
    "南桥康复护理院": ("USCC_FORMAT", "uscc", "统一社会信用代码含字母O"),
    "西山建筑劳务有限公司": ("MISSING_REQUIRED", "name", "单位名称为空"),
}
UNITS = [  # name, type, street, community, 共建协议 signed, 共建项目数
    ("青湖区教育局", "机关", "东湖街道", "湖滨社区", "是", 3),
    ("青湖区人民医院", "事业单位", "东湖街道", "文晖社区", "是", 2),
    ("国网杭州市青湖区供电公司", "国有企业", "东湖街道", "望湖社区", {Q2: "否", Q3: "是"}, {Q2: 0, Q3: 1}),
    ("青湖区市场监督管理局", "机关", "西山街道", "青松社区", "是", 1),
    ("青湖区第一中学", "事业单位", "西山街道", "朝阳社区", "是", 2),
    ("杭州青湖水务集团", "国有企业", "西山街道", "西岭社区", "是", 4),
    ("青湖区税务局", "机关", "南桥街道", "南桥社区", "否", 0),
    ("青湖区第二实验小学", "事业单位", "南桥街道", "翠苑社区", "是", 2),
    ("青湖公交集团", "国有企业", "南桥街道", "锦绣社区", "是", 1),
]
GENERIC_EMPLOYERS = [u[0] for u in UNITS] + ["个体经营", "自由职业", "退休", "退休"]
BIG_BRANCHES = [("东湖街道", "东湖街道退休党员党支部", "F50 NF1"), ("南桥街道", "南桥街道退休党员第一党支部", "F50")]
PATTERNS = {"F": ("正式", "正式"), "P": ("预备", "预备"), "C": ("预备", "正式"), "NF": (None, "正式"),
            "NP": (None, "预备"), "LF": ("正式", None), "LP": ("预备", None)}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈姚卢姜钟陆汪金方"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰萍红建文辉宇浩凯欣怡晨阳雪琳思佳涵轩宏志海燕飞鹏晓东春梅庆新振宁慧婷颖"
AREAS = ("330106", "330105", "330102")


def per(value, period):
    return value[period] if isinstance(value, dict) else value


def norm_name(s: str) -> str:
    """Employer-name normalization used for matching: NFKC, no whitespace, ASCII brackets."""
    s = unicodedata.normalize("NFKC", s or "")
    return "".join(s.split()).replace("（", "(").replace("）", ")")


def rand_date(rng, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))


def plus_year(d: dt.date) -> dt.date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 Feb
        return d.replace(year=d.year + 1, day=28)


# ---------------------------------------------------------------- resource lists
def build_lists(rng) -> dict:
    """Per period: communities, estates, orgs, units as they are written in the resource workbook."""
    households = {e[:3]: rng.randint(180, 1600) for e in ESTATES}
    org_fixed = {}
    for o in ORGS:
        prefix = {NF: "91", SH: "51", MF: "52"}[o[3]]
        body = prefix + rng.choice(AREAS) + "".join(rng.choice(USCC_CHARSET) for _ in range(9))
        org_fixed[o[2]] = (body + uscc_check_char(body), rng.randint(8, 320))
    out = {}
    for period in PERIODS:
        comms = [dict(street=s, name=c, org=(per(o, period) or ("", ""))[0], type=(per(o, period) or ("", ""))[1])
                 for s, c, o in COMMUNITIES]
        ests = [dict(street=s, community=c, name=n, org=per(o, period) or "", households=households[(s, c, n)])
                for s, c, n, o, _ in ESTATES]
        orgs = []
        for s, c, n, typ, ind, status, party, instr, _ in ORGS:
            uscc, staff = org_fixed[n]
            org = dict(street=s, community=c, name=n, true_name=n, uscc=uscc, type=typ, industry=ind, staff=staff,
                       status=per(status, period), party=per(party, period), instructor=per(instr, period),
                       problem=None)
            if period == Q3 and n in ORG_DEFECTS:
                code, field, note = ORG_DEFECTS[n]
                if code == "USCC_CHECKSUM":
                    org["uscc"] = uscc[:17] + next(ch for ch in "0123456789" if ch != uscc[17])
                elif code == "USCC_FORMAT":
                    org["uscc"] = uscc[:10] + "O" + uscc[11:]
                else:
                    org["name"] = ""
                org["problem"] = (code, field, org[field], note)
            orgs.append(org)
        units = [dict(name=n, type=t, street=s, community=c, signed=per(a, period), projects=per(p, period))
                 for n, t, s, c, a, p in UNITS]
        out[period] = dict(communities=comms, estates=ests, orgs=orgs, units=units)
    return out


# ---------------------------------------------------------------- people
def spec_codes(f2: int, p2: int, f3: int, p3: int) -> list[str]:
    """Expand per-period 正式/预备 counts into person patterns (same people kept where possible)."""
    conv = min(p2, max(0, f3 - f2))
    both = min(f2, f3 - conv)
    codes = ["F"] * both + ["C"] * conv + ["NF"] * (f3 - conv - both) + ["LF"] * (f2 - both)
    pb = min(p2 - conv, p3)
    return codes + ["P"] * pb + ["NP"] * (p3 - pb) + ["LP"] * (p2 - conv - pb)


def build_people(rng, lists) -> list[dict]:
    people = []

    def add(street, comm, estate, code, **extra):
        people.append(dict(dict(pid=len(people), street=street, community=comm, estate=estate, pat=code,
                                cats=dict(zip(PERIODS, PATTERNS[code])), role=None, org=None, employer=None,
                                big_branch=None, variant=None, supp=False), **extra))

    for eidx, (s, c, n, _, spec) in enumerate(ESTATES):
        if spec == R:
            lo, hi = RAND_FULL[s]
            codes = ["F"] * rng.randint(lo, hi) + ["NF"]
            codes += [k for k in ("C", "P", "NP", "LF") if rng.random() < 0.5]
        else:
            codes = spec_codes(*spec)
        for code in codes:
            add(s, c, n, code, eidx=eidx)
    for s, c, n in SUPPLEMENT:
        eidx = next(i for i, e in enumerate(ESTATES) if e[:3] == (s, c, n))
        add(s, c, n, "NF", eidx=eidx, role="supp", supp=True)

    orgs = {o["true_name"]: o for o in lists[Q2]["orgs"]}

    def take(street, spec, **assign):
        chosen = []
        for part in spec.split():
            code, n = part.rstrip("0123456789"), int(part.lstrip("CFLNP"))
            pool = [p for p in people if p["street"] == street and p["pat"] == code and p["role"] is None]
            if len(pool) < n:
                raise SystemExit(f"not enough {code} people in {street} for {spec}")
            chosen += rng.sample(pool, n)
        for p in chosen:
            p.update(assign)
        return chosen

    for street, branch, spec in BIG_BRANCHES:
        take(street, spec, role="retiree", big_branch=branch, employer="退休")
    for s, _, name, *_, emp in ORGS:
        if emp:
            take(s, emp, role="org", org=orgs[name], employer=name)
    # valid-but-unusual spellings (not problems) and the person who moves from 东湖 to 西山
    critical = critical_people(people, lists)
    org_staff = lambda name: sorted((p for p in people if p["employer"] == name), key=lambda p: p["pid"])
    org_staff("青湖(杭州)数据服务有限公司")[0]["variant"] = "emp_fullwidth"   # these two decide ORG_SOLO
    org_staff("青湖(杭州)数据服务有限公司")[1]["variant"] = "emp_space"
    next(p for p in org_staff("青湖智联科技有限公司") if p["pid"] not in critical)["variant"] = "near_miss"  # Q3 only
    next(p for p in people if p["estate"] == "枫林小区")["variant"] = "nosuffix"
    for street, variant in [("东湖街道", "id_fullwidth"), ("东湖街道", "id_lower_x"), ("东湖街道", "id_spaces"),
                            ("西山街道", "id_15"), ("西山街道", "name_space"), ("南桥街道", "id_lower_x")]:
        take(street, "F1", role="variant", variant=variant)
    pool = [p for p in people if p["street"] == "东湖街道" and p["pat"] == "F" and p["role"] is None
            and p["pid"] not in critical]
    rng.choice(pool).update(role="moved")
    for p in people:
        if p["employer"] is None:
            p["employer"] = rng.choice(GENERIC_EMPLOYERS)
    give_identities(rng, people)
    return people


def critical_people(people, lists) -> set[int]:
    """People whose rows decide a threshold: kept free of planted problems so every finding is robust."""
    blank_c = {(c["street"], c["name"]) for L in lists.values() for c in L["communities"] if not c["org"]}
    blank_e = {(e["street"], e["community"], e["name"]) for L in lists.values() for e in L["estates"] if not e["org"]}
    open_orgs = {o["true_name"] for L in lists.values() for o in L["orgs"] if o["status"] not in COVERED}
    return {p["pid"] for p in people
            if (p["street"], p["community"]) in blank_c or (p["street"], p["community"], p["estate"]) in blank_e
            or p["big_branch"] or p["employer"] in open_orgs}


def give_identities(rng, people):
    used_ids, used_names = set(), {"王某某", "李某某"}
    for p in people:
        old = p["employer"] == "退休" or p["variant"] == "id_15"  # 15-digit IDs predate 1999
        young = p["pat"] in ("P", "C", "NP", "LP")
        lo, hi = (1940, 1962) if old else (1988, 2000) if young else (1963, 1999)
        birth = rand_date(rng, dt.date(lo, 1, 1), dt.date(hi, 12, 31))
        male = rng.random() < 0.55
        while True:
            seq = rng.randrange(1, 500) * 2 - (1 if male else 0)
            first17 = f"{rng.choice(AREAS)}{birth:%Y%m%d}{seq:03d}"
            pid = first17 + id_check_char(first17)
            if pid not in used_ids and (p["variant"] != "id_lower_x" or pid[-1] == "X"):
                break
        used_ids.add(pid)
        while True:
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
            if name not in used_names:
                break
        used_names.add(name)
        if p["pat"] == "C":
            join = rand_date(rng, dt.date(2025, 7, 1), dt.date(2025, 9, 20))
        elif p["pat"] in ("P", "LP"):
            join = rand_date(rng, dt.date(2025, 10, 10), dt.date(2026, 6, 20))
        elif p["pat"] == "NP":
            join = rand_date(rng, dt.date(2026, 7, 1), dt.date(2026, 9, 15))
        else:
            join = rand_date(rng, dt.date(birth.year + 20, 1, 1), dt.date(2024, 6, 30))
        edu = rng.choice(("高中", "中专", "大学专科") if old else ("大学专科", "大学本科", "大学本科", "研究生"))
        p.update(name=name, sex="男" if male else "女", birth=birth, id=pid, join=join, full=plus_year(join), edu=edu,
                 ethnic=rng.choice(("汉族",) * 12 + ("畲族", "回族", "满族")),
                 phone="1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9)),
                 origin=rng.choice(("浙江杭州", "浙江绍兴", "浙江宁波", "浙江金华", "安徽安庆", "江西上饶")))


# ---------------------------------------------------------------- rows and cells
def branch_of(p, period, street, community, lists) -> str:
    if p["big_branch"]:
        return p["big_branch"]
    org = p["org"]
    if org:
        o = next(x for x in lists[period]["orgs"] if x["true_name"] == org["true_name"])
        if o["status"] in COVERED:
            return o["party"]
    if not next(c for c in lists[period]["communities"] if (c["street"], c["name"]) == (street, community))["org"]:
        return f"{street}直属党支部"
    return community + ("第一党支部" if p["eidx"] % 2 == 0 else "第二党支部")


DATE_STYLES = {"dh": ["excel"] * 3 + ["iso", "slash", "dot", "cn", "compact", "ym_dot", "ym_compact"],
               "xs": ["excel"] * 4 + ["iso", "slash"], "nq": ["iso"] * 4 + ["slash"], "supp": ["iso"]}


def fmt_date(rng, d, file):
    if d is None:
        return ""
    style = rng.choice(DATE_STYLES[file])
    return {"excel": ("date", d), "iso": f"{d:%Y-%m-%d}", "slash": f"{d.year}/{d.month}/{d.day}",
            "dot": f"{d:%Y.%m.%d}", "cn": f"{d.year}年{d.month}月{d.day}日", "compact": f"{d:%Y%m%d}",
            "ym_dot": f"{d:%Y.%m}", "ym_compact": f"{d:%Y%m}"}[style]


def id_as_written(p) -> str:
    i, v = p["id"], p["variant"]
    if v == "id_fullwidth":
        return i.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    if v == "id_lower_x":
        return i.lower()
    if v == "id_spaces":
        return f"{i[:6]} {i[6:14]} {i[14:]}"
    if v == "id_15":
        return i[:6] + i[8:17]
    return i


def address(rng, p, estate) -> str:
    shown = estate[:-2] if estate.endswith("小区") and (p["variant"] == "nosuffix" or rng.random() < 0.25) else estate
    pre = rng.choice(("", "南桥街道", "青湖区南桥街道", "杭州市青湖区南桥街道"))
    b, u, room = rng.randint(1, 20), rng.randint(1, 4), rng.randint(1, 18) * 100 + rng.randint(1, 4)
    return pre + shown + rng.choice((f"{b}栋{u}单元{room}", f"{b}幢{room}室", f"{b}号楼{u}单元{room}室"))


def job_of(p) -> str:
    e = p["employer"]
    if e == "退休":
        return "离退休人员"
    if p["org"]:
        return "企业管理人员" if p["org"]["type"] == NF else "专业技术人员"
    return {"机关": "公务员", "事业单位": "专业技术人员", "国有企业": "企业管理人员"}.get(
        next((u[1] for u in UNITS if u[0] == e), ""), {"个体经营": "个体工商户"}.get(e, "自由职业人员"))


def make_row(rng, p, period, file, street, community, estate, lists) -> dict:
    cat = p["cats"][period]
    employer = p["employer"]
    if p["variant"] == "emp_fullwidth":
        employer = employer.replace("(", "（").replace(")", "）")
    elif p["variant"] == "emp_space":
        employer += "  "
    if file == "nq" and employer == "退休":
        employer = ""
    c = dict(name=p["name"] + (" " if p["variant"] == "name_space" else ""), sex=p["sex"], ethnic=p["ethnic"],
             id=id_as_written(p), edu=p["edu"], phone=p["phone"], employer=employer,
             branch=branch_of(p, period, street, community, lists),
             birth=fmt_date(rng, p["birth"], file), join=fmt_date(rng, p["join"], file),
             full=fmt_date(rng, p["full"] if cat == "正式" else None, file),
             cat=cat if file == "xs" else cat + "党员", community=community, estate=estate, street=street)
    if file == "dh":
        c.update(origin=p["origin"], note=rng.choice(("",) * 8 + ("在职党员已到社区报到", "外出务工")))
    elif file == "nq":
        c.update(address=address(rng, p, estate), job=job_of(p), status="正常",
                 flow="是" if rng.random() < 0.08 else "否")
    elif file == "xs":
        c.update(note="")
    return dict(p=p, period=period, file=file, street=street, community=community, estate=estate, cells=c,
                problems=[])


def build_rows(rng, people, lists, period) -> dict[str, list]:
    rows = defaultdict(list)
    for p in people:
        if p["cats"][period] is None:
            continue
        file = "supp" if p["supp"] and period == Q3 else STREET_FILE[p["street"]]
        if file == "supp" or not p["supp"]:
            rows[file].append(make_row(rng, p, period, file, p["street"], p["community"], p["estate"], lists))
    order = {e[:3]: i for i, e in enumerate(ESTATES)}
    for f in ("dh", "xs"):
        rows[f].sort(key=lambda r: (order[(r["street"], r["community"], r["estate"])], r["p"]["pid"]))
    rows["nq"].sort(key=lambda r: (r["cells"]["branch"], r["p"]["pid"]))
    if period == Q3:
        plant_row_problems(rng, people, rows, lists)
    return rows


def plant_row_problems(rng, people, rows, lists):
    """Q3 only: put each planted roster problem on a row whose person decides no threshold."""
    critical = critical_people(people, lists)
    moved = next(p for p in people if p["role"] == "moved")
    row = make_row(rng, moved, Q3, "xs", "西山街道", "青松社区", "青松苑", lists)   # stale 东湖 row stays
    row["problems"].append(("DUPLICATE_PERSON", "id", row["cells"]["id"],
                            "同一身份证号已在东湖街道花名册出现（本季度转至西山街道，东湖未删除）"))
    rows["xs"].append(row)
    rows["xs"].sort(key=lambda r: ([c[1] for c in COMMUNITIES if c[0] == "西山街道"].index(r["community"])))

    used = set()

    def pick(file, cond=lambda r: True):
        r = rng.choice([r for r in rows[file] if not r["problems"] and r["p"]["role"] in (None, "org")
                        and r["p"]["pid"] not in critical | used and r["p"]["variant"] is None and cond(r)])
        used.add(r["p"]["pid"])
        return r

    def plant(file, code, field, value, note, cond=lambda r: True):
        r = pick(file, cond)
        v = value(r) if callable(value) else value
        r["cells"][field] = v
        r["problems"].append((code, field, v, note))

    digits = lambda r: r["p"]["id"][-1] != "X" and r["p"]["id"][15:] != "000"
    full = lambda r: r["p"]["cats"][Q3] == "正式"
    plant("dh", "ID_NUMBER_CELL", "id", lambda r: ("num", float(r["p"]["id"][:15] + "000")),
          "身份证号以数值格式保存，第16位起已丢失，无法恢复，请按原件重新录入", digits)
    plant("dh", "ID_CHECKSUM", "id", lambda r: r["p"]["id"][:17] + next(
        c for c in "0123456789X" if c != r["p"]["id"][17]), "校验位错误")
    plant("dh", "ID_FORMAT", "id", lambda r: r["p"]["id"][:17], "身份证号只有17位")
    plant("dh", "BAD_DATE", "join", "2019.13.01", "入党时间月份为13，日期不存在", full)
    plant("dh", "BAD_VALUE", "cat", "党员", "人员类别应为正式党员或预备党员")
    plant("dh", "UNKNOWN_PLACE", "estate", "湖光小区", "小区清单中没有湖光小区")
    plant("xs", "ID_NUMBER_CELL", "id", lambda r: ("num", float(r["p"]["id"][:15] + "000")),
          "身份证号以数值格式保存，第16位起已丢失，无法恢复，请按原件重新录入", digits)
    plant("xs", "ID_FORMAT", "id", lambda r: r["p"]["id"][:14] + "A" + r["p"]["id"][15:], "身份证号含字母A")
    plant("xs", "ID_SEX_MISMATCH", "sex", lambda r: "女" if r["p"]["sex"] == "男" else "男",
          "性别与身份证号第17位不符")
    plant("xs", "BAD_DATE", "full", "2021年2月30日", "转正日期2月30日不存在", full)
    plant("xs", "MISSING_REQUIRED", "name", "", "姓名为空")
    plant("nq", "ID_BIRTH_MISMATCH", "birth", lambda r: f"{r['p']['birth'].year + 1}-{r['p']['birth']:%m-%d}"
          if r["p"]["birth"].month * 100 + r["p"]["birth"].day != 229 else "1970-01-01",
          "出生日期与身份证号中的出生日期相差一年")
    plant("nq", "MISSING_REQUIRED", "cat", "", "人员类别为空")
    plant("nq", "UNKNOWN_PLACE", "address", "青湖区南桥街道滨河路88号2单元501", "家庭住址中没有清单内的小区")
    plant("nq", "AMBIGUOUS_PLACE", "address", "南桥街道锦绣家园对面枫林小区2栋301",
          "家庭住址同时含锦绣家园和枫林小区两个小区")
    src = pick("nq")  # exported twice: an identical copy right below it
    rows["nq"].insert(rows["nq"].index(src) + 1, dict(src, cells=dict(src["cells"]), problems=[
        ("DUPLICATE_PERSON", "id", src["cells"]["id"], "同一身份证号在本文件中出现两次（重复导出）")]))
    nm = next(r for r in rows["dh"] if r["p"]["variant"] == "near_miss")
    nm["cells"]["employer"] = "青湖智联科技有限责任公司"
    nm["problems"].append(("NAME_NEAR_MISS", "employer", "青湖智联科技有限责任公司", "清单中为青湖智联科技有限公司"))


# ---------------------------------------------------------------- writers
DH_COLS = [("seq", "序号"), ("name", "姓名"), ("sex", "性别"), ("ethnic", "民族"), ("origin", "籍贯"),
           ("id", "身份证号码"), ("birth", "出生年月"), ("edu", "学历"), ("join", "入党时间"), ("full", "转正时间"),
           ("cat", "人员类别"), ("branch", "所在党支部"), ("employer", "工作单位"), ("community", "所属社区"),
           ("estate", "居住小区"), ("phone", "联系电话"), ("note", "备注")]
XS_BASIC = [("name", "姓名"), ("sex", "性别"), ("id", "公民身份号码"), ("birth", "出生日期"), ("edu", "文化程度"),
            ("employer", "单位名称"), ("estate", "小区"), ("phone", "手机号码")]
XS_PARTY = [("join", "入党日期"), ("full", "转正日期"), ("cat", "党员类别"), ("branch", "党组织名称")]
XS_COLS = [("seq", "序号")] + XS_BASIC + XS_PARTY + [("note", "备注")]
NQ_COLS = [("seq", "序号"), ("name", "姓名"), ("sex", "性别"), ("id", "公民身份证号"), ("ethnic", "民族"),
           ("birth", "出生日期"), ("edu", "学历"), ("cat", "人员类别"), ("join", "加入党组织日期"),
           ("full", "转为正式党员日期"), ("job", "工作岗位"), ("employer", "工作单位及职务"), ("branch", "所在党支部"),
           ("address", "家庭住址"), ("status", "党籍状态"), ("flow", "是否为流动党员"), ("phone", "联系电话")]
SUPP_COLS = [("seq", "序号"), ("street", "街道"), ("community", "所属社区"), ("estate", "居住小区"), ("name", "姓名"),
             ("sex", "性别"), ("id", "身份证号码"), ("cat", "人员类别"), ("branch", "所在党支部"),
             ("employer", "工作单位"), ("phone", "联系电话")]


class Sink:
    """Collects what the writers put where: roster records for counting and planted problems."""

    def __init__(self, period):
        self.period, self.records, self.problems = period, [], []

    def row(self, r, sheet, line, cols):
        head = dict(cols)
        for code, field, value, note in r["problems"]:
            self.problems.append(dict(period=self.period, file=self.file, sheet=sheet, row=line, column=head[field],
                                      code=code, value=shown(value), note=note))
        c = r["cells"]
        self.records.append(dict(file=self.file, sheet=sheet, line=line, street=c["street"], community=c.get("community"),
                                 estate=c.get("estate") if "address" not in c else None, address=c.get("address"),
                                 cat=c["cat"], employer=c["employer"], branch=c["branch"],
                                 truth=(r["community"], r["estate"]), planted=bool(r["problems"])))


def shown(v) -> str:
    if isinstance(v, tuple):
        return f"{v[1]:.14E}" if v[0] == "num" else f"{v[1]:%Y-%m-%d}"  # number as Excel displays it
    return v


def new_xlsx(path, period):
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"author": "青湖区委组织部", "created": dt.datetime.combine(REPORT_DATE[period], dt.time(9))})
    f = dict(title=wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"}),
             head=wb.add_format({"bold": True, "border": 1, "align": "center", "bg_color": "#DDEBF7"}),
             cell=wb.add_format({"border": 1}), text=wb.add_format({"border": 1, "num_format": "@"}),
             date=wb.add_format({"border": 1, "num_format": "yyyy-mm-dd"}),
             merged=wb.add_format({"border": 1, "valign": "vcenter", "align": "center"}))
    return wb, f


def write_lists(path, period, L, sink):
    wb, f = new_xlsx(path, period)
    ws = wb.add_worksheet("填表说明")
    ws.set_column(0, 0, 90)
    for i, line in enumerate(["青湖区区域化党建资源清单填表说明", "1. 本表由各街道党工委每季度末填报，报区委组织部组织科。",
                              "2. 党组织名称一栏未建立党组织的请留空；党组织建立情况填单独组建、联合组建、挂靠或未建立。",
                              "3. 统一社会信用代码为18位，请与营业执照或登记证书核对。",
                              f"4. 本期为{QUARTER_CN[period]}，填报截止日期{REPORT_DATE[period]:%Y年%m月%d日}。"]):
        ws.write(i, 0, line, f["title"] if i == 0 else None)
    tables = [
        ("社区", "青湖区社区党组织设置情况表", ["序号", "所在街道", "社区名称", "社区党组织名称", "党组织类型"],
         [(c["street"], c["name"], c["org"], c["type"]) for c in L["communities"]]),
        ("小区", "青湖区小区党组织建设情况表", ["序号", "所在街道", "所属社区", "小区名称", "小区党组织名称", "户数"],
         [(e["street"], e["community"], e["name"], e["org"], e["households"]) for e in L["estates"]]),
        ("两新组织", "青湖区两新组织党建工作情况表", ["序号", "单位名称", "统一社会信用代码", "组织类型", "行业", "所在街道",
                                         "所在社区", "从业人员数", "党组织建立情况", "党组织名称", "党建工作指导员"],
         [(o["name"], o["uscc"], o["type"], o["industry"], o["street"], o["community"], o["staff"], o["status"],
           o["party"], o["instructor"]) for o in L["orgs"]]),
        ("驻区单位", "青湖区驻区单位区域化党建共建情况表", ["序号", "单位名称", "单位类型", "所在街道", "所在社区",
                                            "是否签订共建协议", "共建项目数"],
         [(u["name"], u["type"], u["street"], u["community"], u["signed"], u["projects"]) for u in L["units"]]),
    ]
    for sheet, title, heads, data in tables:
        ws = wb.add_worksheet(sheet)
        ws.set_column(0, len(heads) - 1, 16)
        ws.merge_range(0, 0, 0, len(heads) - 1, title, f["title"])
        ws.write_row(1, 0, heads, f["head"])
        for i, vals in enumerate(data):
            ws.write_row(i + 2, 0, (i + 1,) + vals, f["cell"])
    for i, o in enumerate(L["orgs"]):
        if o["problem"]:
            code, field, value, note = o["problem"]
            sink.problems.append(dict(period=period, file=sink.file, sheet="两新组织", row=i + 3,
                                      column={"uscc": "统一社会信用代码", "name": "单位名称"}[field],
                                      code=code, value=value, note=note))
    ws = wb.add_worksheet("参数")
    for i, row in enumerate([["党组织建立情况", "单独组建", "联合组建", "挂靠", "未建立"],
                             ["党组织类型", "社区党委", "党总支", "党支部"], ["模板版本", "v2.3", 20240115, "内部使用"],
                             ["校验", "备用", 3.14159, "勿删"]]):
        ws.write_row(i, 0, row)
    ws.hide()
    wb.close()


def write_donghu(path, period, rows, sink):
    cols = [c for c in DH_COLS if c[0] != "origin" or period == Q3]  # 籍贯 column added by the clerk in Q3
    wb, f = new_xlsx(path, period)
    ws = wb.add_worksheet("花名册")
    ws.set_column(0, len(cols) - 1, 14)
    ws.merge_range(0, 0, 0, len(cols) - 1, "东湖街道党员花名册", f["title"])
    ws.merge_range(1, 0, 1, len(cols) - 1,
                   f"填报单位：东湖街道党工委    填报日期：{REPORT_DATE[period].year}年{REPORT_DATE[period].month}月"
                   f"{REPORT_DATE[period].day}日", None)
    ws.write_row(2, 0, [h for _, h in cols], f["head"])
    if period == Q3:
        sink.problems.append(dict(period=period, file=sink.file, sheet="花名册", row=3, column="籍贯",
                                  code="UNKNOWN_COLUMN", value="籍贯", note="籍贯列不对应任何字段，将被忽略"))
    ccol = [k for k, _ in cols].index("community")
    groups = [[r for r in rows if r["community"] == c] for s, c, _ in COMMUNITIES if s == "东湖街道"]
    line, seq = 3, 0
    for gi, group in enumerate(groups):
        if gi == 2:
            line += 1  # the blank row in the middle of the data
        start = line
        for r in group:
            seq += 1
            r["cells"]["seq"] = seq
            for ci, (k, _) in enumerate(cols):
                v = r["cells"].get(k, "")
                if k == "community":
                    continue
                if isinstance(v, tuple):
                    (ws.write_number(line, ci, v[1], f["cell"]) if v[0] == "num"
                     else ws.write_datetime(line, ci, dt.datetime.combine(v[1], dt.time()), f["date"]))
                elif k == "seq":
                    ws.write_number(line, ci, v, f["cell"])
                else:
                    ws.write_string(line, ci, v, f["text"] if k == "id" else f["cell"])
            sink.row(r, "花名册", line + 1, cols)
            line += 1
        if len(group) > 1:
            ws.merge_range(start, ccol, line - 1, ccol, group[0]["community"], f["merged"])
        elif group:
            ws.write_string(start, ccol, group[0]["community"], f["merged"])
    ws.write_string(line, 0, "合计", f["cell"])
    ws.write_number(line, 1, seq, f["cell"])
    ws.merge_range(line + 1, 0, line + 1, 6, "填表人：王某某  审核人：李某某", None)
    wb.close()


def write_xishan(path, period, rows, sink):
    wb = xlwt.Workbook(encoding="utf-8")
    title = xlwt.easyxf("font: bold on, height 320; align: horiz center, vert center")
    head = xlwt.easyxf("font: bold on; align: horiz center, vert center; borders: left thin, right thin, top thin, "
                       "bottom thin; pattern: pattern solid, fore_colour pale_blue")
    cell = xlwt.easyxf("borders: left thin, right thin, top thin, bottom thin")
    date = xlwt.easyxf("borders: left thin, right thin, top thin, bottom thin", num_format_str="YYYY-MM-DD")
    n = len(XS_COLS)
    for s, comm, _ in COMMUNITIES:
        if s != "西山街道":
            continue
        ws = wb.add_sheet(comm)
        for ci in range(n):
            ws.col(ci).width = 256 * 14
        ws.write_merge(0, 0, 0, n - 1, f"西山街道党员信息采集表（{QUARTER_CN[period]}）", title)
        ws.write_merge(1, 2, 0, 0, "序号", head)
        ws.write_merge(1, 1, 1, len(XS_BASIC), "基本信息", head)
        ws.write_merge(1, 1, len(XS_BASIC) + 1, len(XS_BASIC) + len(XS_PARTY), "党籍信息", head)
        ws.write_merge(1, 2, n - 1, n - 1, "备注", head)
        for ci, (_, h) in enumerate(XS_COLS[1:-1], start=1):
            ws.write(2, ci, h, head)
        for i, r in enumerate([r for r in rows if r["community"] == comm]):
            r["cells"]["seq"] = i + 1
            for ci, (k, _) in enumerate(XS_COLS):
                v = r["cells"].get(k, "")
                if isinstance(v, tuple):
                    ws.write(3 + i, ci, v[1], date if v[0] == "date" else cell)
                else:
                    ws.write(3 + i, ci, v, cell)
            sink.row(r, comm, 4 + i, XS_COLS)
    wb.save(str(path))


def write_csv(path, rows, cols, encoding, sink, sheet):
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)  # excel dialect: CRLF line ends
        w.writerow([h for _, h in cols])
        for i, r in enumerate(rows):
            r["cells"]["seq"] = i + 1
            w.writerow([shown(r["cells"].get(k, "")) for k, _ in cols])
            sink.row(r, sheet, i + 2, cols)


# ---------------------------------------------------------------- independent counting (rule semantics)
CAT_READ = {"正式党员": "正式", "正式": "正式", "预备党员": "预备", "预备": "预备"}


def resolve_address(addr, estates):
    """Estate named in a free-text address: with/without 小区, longest name wins; None if 0 or >1 left."""
    keys = lambda e: [e["name"]] + ([e["name"][:-2]] if e["name"].endswith("小区") else [])
    hits = [e for e in estates if any(k in addr for k in keys(e))]
    hits = [e for e in hits if not any(o is not e and e["name"] in o["name"] for o in hits)]
    return hits[0] if len(hits) == 1 else None


def count_findings(period, L, records, skip_planted=False):
    est_by_street = defaultdict(list)
    for e in L["estates"]:
        est_by_street[e["street"]].append(e)
    comm_keys = {(c["street"], c["name"]) for c in L["communities"]}
    orgs = {norm_name(o["name"]): o for o in L["orgs"] if o["name"]}
    res_c, res_e, emp, br = (defaultdict(Counter) for _ in range(4))
    for r in records:
        if skip_planted and r["planted"]:
            continue
        cat = CAT_READ.get(r["cat"].strip(), "其他")
        s = r["street"]
        if r["address"] is not None:
            e = resolve_address(r["address"], est_by_street[s])
            comm, est = (e["community"], e["name"]) if e else (None, None)
            assert r["planted"] or (comm, est) == r["truth"], (r, comm, est)
        else:
            comm = r["community"] if (s, r["community"]) in comm_keys else None
            est = next((e["name"] for e in est_by_street[s] if (e["community"], e["name"]) == (comm, r["estate"])),
                       None)
        for counter, key in ((res_c, (s, comm) if comm else None), (res_e, (s, comm, est) if est else None),
                             (emp, norm_name(r["employer"]) if norm_name(r["employer"]) in orgs else None),
                             (br, (s, r["branch"].strip()) if r["branch"].strip() else None)):
            if key:
                counter[key][cat] += 1
                counter[key]["all"] += 1
    out = []

    def find(rule, street, comm, target, cnt):
        out.append(dict(period=period, rule=rule, street=street, community=comm, target=target,
                        full_members=cnt["正式"], probationary=cnt["预备"], members=cnt["all"]))

    for c in L["communities"]:
        if not c["org"] and res_c[(c["street"], c["name"])]["正式"] >= 3:
            find("COMMUNITY_NO_ORG", c["street"], c["name"], c["name"], res_c[(c["street"], c["name"])])
    for e in L["estates"]:
        cnt = res_e[(e["street"], e["community"], e["name"])]
        if not e["org"] and cnt["正式"] >= 3:
            find("RES_NO_ORG", e["street"], e["community"], e["name"], cnt)
    for o in L["orgs"]:
        if not o["name"] or o["status"] in COVERED:
            continue
        cnt = emp[norm_name(o["name"])]
        if cnt["正式"] >= 3:
            find("ORG_SOLO", o["street"], o["community"], o["name"], cnt)
        elif cnt["all"] >= 1:
            find("ORG_JOINT", o["street"], o["community"], o["name"], cnt)
        if not o["instructor"].strip():
            find("ORG_NO_WORK", o["street"], o["community"], o["name"], cnt)
    for (s, b), cnt in sorted(br.items()):
        if cnt["all"] > 50:
            find("BRANCH_TOO_BIG", s, "", b, cnt)
    big = {k: v["all"] for k, v in br.items() if v["all"] >= 45}
    return out, big


# ---------------------------------------------------------------- main
def write_period(rng, out: Path, period, people, lists):
    folder = out / period
    folder.mkdir(parents=True, exist_ok=True)
    rows = build_rows(rng, people, lists, period)
    sink, files = Sink(period), []
    for key in FILE_ORDER:
        if key == "supp" and period != Q3:
            continue
        name = FILE_NAMES[key].format(q=QUARTER_CN[period])
        sink.file = f"{period}/{name}"
        files.append(sink.file)
        path = folder / name
        if key == "lists":
            write_lists(path, period, lists[period], sink)
        elif key == "dh":
            write_donghu(path, period, rows["dh"], sink)
        elif key == "xs":
            write_xishan(path, period, rows["xs"], sink)
        else:
            enc, cols = ("gb18030", NQ_COLS) if key == "nq" else ("utf-8-sig", SUPP_COLS)
            write_csv(path, rows[key], cols, enc, sink, Path(name).stem)
    return files, sink


def changes(findings):
    keys = {p: {(f["rule"], f["street"], f["target"]) for f in findings if f["period"] == p} for p in PERIODS}
    return dict(closed=sorted(keys[Q2] - keys[Q3]), new=sorted(keys[Q3] - keys[Q2]), kept=sorted(keys[Q2] & keys[Q3]))


README_HEAD = """# 青湖区样例数据（合成）

本目录由 `generate.py` 生成：`python samples/generate.py [--out 目录]`，固定随机种子 20260930，重复运行结果相同。
所有姓名、身份证号、统一社会信用代码均为虚构；身份证号（GB 11643）和信用代码（GB 32100）按国标校验位生成，除下表预置的错误外均有效。
`expected.json` 由生成程序根据写出的数据计算，列出全部预置问题和空白点，供测试比对。

青湖区辖东湖街道、西山街道、南桥街道。朝阳社区在东湖、西山两街道重名；幸福里小区在东湖、南桥两街道重名；
南桥街道翠苑社区同时有“翠苑”和“翠苑一区”（名称包含关系，应取最长匹配）；锦绣家园、翠苑、桂花园等小区名不带“小区”。

## 文件（2026Q2、2026Q3 两期版式相同）

| 文件 | 内容与版式特点 |
|---|---|
| 青湖区区域化党建资源清单.xlsx | 工作表依次为 填表说明（纯文字）、社区、小区、两新组织、驻区单位，另有隐藏表“参数”（杂项）。每张清单第1行为合并标题，第2行为表头，数据从第3行起。党组织名称为空表示未建立。 |
| 东湖街道党员花名册（2026年第X季度）.xlsx | 第1行合并标题，第2行“填报单位…填报日期…”，第3行表头；无街道列（街道见标题和文件名）。“所属社区”按社区纵向合并单元格；数据中间有一个空行；末尾有“合计”行和“填表人/审核人”行。日期混用真日期和 2019-07-01、2019/7/1、2019.07.01、2019年7月1日、20190701、2019.07、201907 等文本；“出生年月”可能只到月。身份证号多为文本，个别为小写x、全角数字、带空格（均有效）。第三季度多一列“籍贯”。 |
| 西山街道党员信息采集表.xls | 旧版 xls。每个社区一张工作表（表名即社区名，表内无社区列）；第1行标题含“西山街道”；第2、3行为两行表头：“基本信息”“党籍信息”为合并分组，“序号”“备注”纵向合并两行。党员类别为“正式/预备”。有一个15位旧身份证号（有效，应升为18位）和一个姓名末尾带空格。 |
| 南桥街道党员信息（全国党员管理信息系统导出）.csv | GB18030 编码、CRLF 换行，全国党员管理信息系统表头。无社区、小区列：居住小区只能从“家庭住址”中识别，有的省略“小区”二字（如“枫林5栋…”对应枫林小区）；幸福里小区须在南桥街道内匹配。“工作岗位”是职业类别，不是工作单位；“党籍状态”不是人员类别。 |
| 补充名单.csv（仅2026Q3） | UTF-8 带 BOM，有“街道”列，3名新转入党员分属三个街道（其中一人住东湖街道朝阳社区）。 |

## 计数口径

每一行花名册数据都算党员（含带问题的行、重复行）；“正式”只算人员类别为正式党员/正式的行，类别缺失或无效的行算党员不算正式。
居住地按（街道，社区，小区）计；家庭住址中的小区按清单匹配后取其所属社区；无法识别或有歧义的住址不计入任何社区、小区。
工作单位与两新组织名称比对前做 NFKC、去空格、统一括号（“青湖（杭州）数据服务有限公司 ”应与清单中“青湖(杭州)数据服务有限公司”匹配）；
“青湖智联科技有限责任公司”不等于“青湖智联科技有限公司”，只提示 NAME_NEAR_MISS，不计入。党支部按（街道，所在党支部）计。
所有预置问题都放在不影响任何阈值的行上，因此无论是否剔除问题行，空白点结果都相同。
除东湖花名册第三季度的“籍贯”列外，所有列都应能识别（序号、备注可忽略；民族、工作岗位、党籍状态、是否为流动党员为已知字段）。
"""


def write_readme(out: Path, manifest, diff):
    lines = [README_HEAD, "## 预置问题", "", "2026Q2 无预置问题。2026Q3：", "",
             "| 文件 | 工作表 | 行 | 列 | 代码 | 写入值 | 说明 |", "|---|---|---|---|---|---|---|"]
    for p in manifest["problems"]:
        lines.append(f"| {p['file'].split('/')[1]} | {p['sheet']} | {p['row']} | {p['column']} | {p['code']} | "
                     f"{p['value'] or '（空）'} | {p['note']} |")
    lines += ["", "行号为 Excel 显示的行号；CSV 为文件行号（表头为第1行）。DUPLICATE_PERSON 记在按导入顺序第二次出现的行。", ""]
    for period in PERIODS:
        info = manifest["periods"][period]
        lines += [f"## 预置空白点 {period}（党员 {info['members']} 行："
                  + "、".join(f"{s} {n}" for s, n in info["members_by_street"].items()) + "）", "",
                  "| 规则 | 街道 | 社区 | 对象 | 正式 | 预备 | 党员 |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {f['rule']} | {f['street']} | {f['community']} | {f['target']} | {f['full_members']} | "
                  f"{f['probationary']} | {f['members']} |" for f in manifest["findings"] if f["period"] == period]
        lines.append("")
    label = {"closed": "第三季度已整改", "new": "第三季度新增", "kept": "两期均存在"}
    lines += ["## 两期变化", ""] + [f"- {label[k]}：" + "；".join(f"{r} {s} {t}" for r, s, t in v)
                                   for k, v in diff.items()]
    lines += ["", "阈值边界（均不应报）：东湖街道阳光花园 2名正式+1名预备；南桥街道退休党员第一党支部恰好50人；"
              "东湖社会工作服务中心未建立党组织但有指导员且无党员；西山街道朝阳社区有社区党委（与东湖朝阳社区重名）。", ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description="生成青湖区合成样例数据")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    out = ap.parse_args().out
    rng = random.Random(SEED)
    lists = build_lists(rng)
    people = build_people(rng, lists)
    manifest = dict(district="青湖区", periods={}, problems=[], findings=[])
    for period in PERIODS:
        files, sink = write_period(rng, out, period, people, lists)
        findings, big = count_findings(period, lists[period], sink.records)
        if count_findings(period, lists[period], sink.records, skip_planted=True)[0] != findings:
            raise SystemExit(f"{period}: findings depend on rows with planted problems")
        by_street = Counter(r["street"] for r in sink.records)
        manifest["periods"][period] = dict(files=files, members=len(sink.records),
                                           members_by_street={s: by_street[s] for s in STREETS})
        manifest["problems"] += sink.problems
        manifest["findings"] += findings
        print(f"{period}: {len(sink.records)} 行党员 {dict(by_street)}，问题 {len(sink.problems)} 个，"
              f"空白点 {len(findings)} 个，大支部 {big}")
        for f in findings:
            print(f"   {f['rule']:<17} {f['street']} {f['community'] or '-'} {f['target']} "
                  f"正式{f['full_members']} 预备{f['probationary']} 共{f['members']}")
    diff = changes(manifest["findings"])
    assert diff["closed"] and diff["new"] and len(diff["kept"]) >= 2, diff
    for k, v in diff.items():
        print(f"{k}: {v}")
    for p in manifest["problems"]:
        print(f"   {p['code']:<18} {p['file']} [{p['sheet']}] 行{p['row']} {p['column']} = {p['value']!r}")
    (out / "expected.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_readme(out, manifest, diff)


if __name__ == "__main__":
    main()
