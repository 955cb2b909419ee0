"""Findings kept as columns (pbtool.findings): the comparison with the previous period, quarters_open
and the JSON written from the columns, each against its definition worked out row by row."""
from __future__ import annotations

import random

import numpy as np
import orjson
import pytest

from pbtool import findings as fd
from pbtool.config import load_config
from pbtool.coverage import Columns, CoverageResult, PeriodState, rule_text
from pbtool.outputs.jsonout import OPTIONS, json_chunks
from pbtool.units import NEAR_MISS_SCHEMA

RULES = ["COMMUNITY_NO_ORG", "RES_NO_ORG", "ORG_SOLO", "ORG_JOINT", "ORG_NO_WORK", "BRANCH_TOO_BIG"]
STREETS = ["东湖街道", "西山街道", "南湖街道"]
# names a JSON writer must escape or keep exactly: quotes, backslashes, a control character, a line
# separator, a character outside the BMP, and text that only looks like JSON
ODD = ['甲"引号"公司', "乙\\反斜杠", "丙\t制表", "丁\u2028分隔", "戊𠀀公司", '{"a":1}', "", "[red]标记"]


def _rows(rng: random.Random, n_places: int = 30) -> list[list]:
    """Findings rows (fd.STORED's fields) of a random period: places with one to three rules, in a
    random order, some names odd, some communities missing (None)."""
    out = []
    for k in rng.sample(range(n_places), rng.randint(0, n_places - 5)):
        street = STREETS[k % 3]
        name = rng.choice(ODD) + str(k) if k % 4 == 0 else f"单位{k}"
        community = None if k % 7 == 0 else f"社区{k % 5}"
        for rule in rng.sample(RULES, rng.choice([1, 1, 1, 2, 3])):
            full = rng.randint(0, 60)
            out.append([rule, street, community, name, full, rng.randint(0, 3), full + rng.randint(0, 3),
                        rng.randint(0, 2), f"p{k}"])
    return out


def _by_place(rows: list[list]) -> dict[str, list[list]]:
    out: dict[str, list[list]] = {}
    for r in rows:
        out.setdefault(r[8], []).append(r)
    return out


def _reference(cur: list[list], prev: list[list] | None, earlier: list[list[list]], short: dict[str, str]):
    """The definitions, place by place: status and change of each place, status of each finding,
    closed places (in the previous period's order), quarters_open of places and findings."""
    now, before = _by_place(cur), _by_place(prev or [])
    status, change, fstatus = {}, {}, {}
    for key, fs in now.items():
        old = before.get(key)
        rules = [f[0] for f in fs]
        if old is None:
            status[key], change[key] = "新增", ""
            fstatus.update({(key, r): "新增" for r in rules})
            continue
        old_rules = [o[0] for o in old]
        gone = [r for r in old_rules if r not in rules]
        added = [r for r in rules if r not in old_rules]
        if old_rules == rules:
            status[key], change[key] = "持续", ""
        elif added and gone:
            status[key], change[key] = "变化", f"由{'、'.join(short[r] for r in gone)}转为{'、'.join(short[r] for r in added)}"
        elif added:
            status[key], change[key] = "变化", f"新发现{'、'.join(short[r] for r in added)}"
        else:
            status[key], change[key] = "持续", f"{'、'.join(short[r] for r in gone)}已整改" if gone else ""
        fstatus.update({(key, r): "持续" if r in old_rules else "变化" for r in rules})
    closed = [k for k in before if k not in now]
    pq, fq = {}, {}
    keys = [({r[8] for r in e}, {(r[8], r[0]) for r in e}) for e in earlier]   # newest first
    for key, fs in now.items():
        n = 1
        for places, _ in keys:
            if key not in places:
                break
            n += 1
        pq[key] = n
        for f in fs:
            m = 1
            for _, found in keys:
                if (key, f[0]) not in found:
                    break
                m += 1
            fq[(key, f[0])] = m
    return status, change, fstatus, closed, pq, fq


@pytest.mark.parametrize("seed", range(12))
def test_comparison_and_quarters_by_columns_follow_their_definitions(seed):
    rng = random.Random(seed)
    text = rule_text(load_config())
    cur_rows = _rows(rng)
    periods = [_rows(rng) for _ in range(rng.randint(0, 4))]          # newest first
    prev_rows = periods[0] if periods and seed % 4 else None           # sometimes no comparison period
    cur = fd.Findings(fd.table_from_rows(cur_rows), text)
    read = []

    def earlier():
        for rows in periods:
            read.append(1)
            yield fd.Findings(fd.table_from_rows(rows), text)

    fd.count_quarters(cur, earlier())
    prev = fd.Findings(fd.table_from_rows(prev_rows), text) if prev_rows is not None else None
    closed = fd.compare(cur, prev)
    status, change, fstatus, want_closed, pq, fq = _reference(cur_rows, prev_rows, periods, text.short)

    keys = cur.keys.to_pylist()
    assert keys == list(_by_place(cur_rows))                            # places in order of their first finding
    assert {k: fd.STATUS_WORDS[s] for k, s in zip(keys, cur.place_status)} == status
    assert {k: cur.change.get(i, "") for i, k in enumerate(keys)} == change
    assert {(r[8], r[0]): fd.STATUS_WORDS[s] for r, s in zip(cur_rows, cur.status)} == fstatus
    assert (prev.keys.take(closed).to_pylist() if prev else []) == want_closed
    assert dict(zip(keys, cur.place_quarters.tolist())) == pq
    assert {(r[8], r[0]): q for r, q in zip(cur_rows, cur.quarters.tolist())} == fq
    # earlier periods are read only while some place is open in every one so far
    assert len(read) == min(len(periods), max(pq.values(), default=0) + 1)


def _result(seed: int, street: str | None = None) -> CoverageResult:
    rng = random.Random(seed)
    text = rule_text(load_config())
    cur = fd.Findings(fd.table_from_rows(_rows(rng)), text)
    prev = fd.Findings(fd.table_from_rows(_rows(rng)), text)
    fd.count_quarters(cur, [prev])
    closed = fd.compare(cur, prev)
    near = fd.pa.Table.from_pylist([{"street": STREETS[k % 3], "employer": rng.choice(ODD) + "公司", "org": f"单位{k}",
                                     "members": k} for k in range(rng.randint(0, 6))], schema=NEAR_MISS_SCHEMA)
    cols = Columns(cur, np.arange(cur.n), fd.PlaceView(cur, np.arange(cur.m)), fd.PlaceView(prev, closed, closed=True),
                   near)
    if street:
        cols = cols.for_street(street)
    state = PeriodState("2026Q2", prev, [], [], {}, NEAR_MISS_SCHEMA.empty_table())
    return CoverageResult("2026Q3", "2026Q2", street, [], [], [], {}, previous=state, columns=cols)


@pytest.mark.parametrize("seed,street", [(s, None) for s in range(6)] + [(6, "西山街道"), (7, "东湖街道"), (8, "无此街道")])
def test_the_json_written_from_columns_is_byte_for_byte_the_records_of_the_objects(seed, street, monkeypatch):
    """The CLI's JSON (json_data: places and findings written from the columns) is what orjson writes
    for as_dict(); as_dict() from the columns is as_dict() of the Finding and Place objects (what the
    terminal, ledger and documents render)."""
    if seed % 2:   # records made a few at a time: the pieces join up exactly
        monkeypatch.setattr(fd, "JSON_CHUNK", 1 + seed)
    result = _result(seed, street)
    data = result.as_dict()
    assert b"".join(json_chunks(result.json_data())) == orjson.dumps(data, option=OPTIONS)
    objects = _result(seed, street)
    objects.places, objects.closed_places = objects.places, objects.closed_places   # lists set: rendered as objects
    objects.findings, objects.closed = objects.findings, objects.closed
    objects.near_misses = objects.near_misses
    assert not objects._from_columns()
    assert objects.as_dict() == data
    assert b"".join(json_chunks(objects.json_data())) == orjson.dumps(data, option=OPTIONS)
    if street:
        assert {p["street"] for p in data["places"] + data["closed_places"]} <= {street}
        assert {f["street"] for f in data["findings"] + data["closed"] + data["near_misses"]} <= {street}
    assert data["counts"]["places"] == len(data["places"]) and data["counts"]["closed"] == len(data["closed_places"])


def test_findings_survive_their_stored_form():
    rows = _rows(random.Random(3))
    t = fd.table_from_rows(rows)
    back = fd.from_text(fd.to_text(t))
    assert back.equals(t) and [list(r.values()) for r in back.to_pylist()] == rows
    assert fd.from_text(fd.to_text(fd.empty_table())).num_rows == 0


def test_an_escape_in_one_value_sends_only_its_column_through_orjson():
    cols = {"a": fd.pa.array(["甲", 'x"y', None]), "b": fd.pa.array(["1", "2", "3"]), "n": fd.pa.array([1, None, 3])}
    want = [{"a": "甲", "b": "1", "n": 1}, {"a": 'x"y', "b": "2", "n": None}, {"a": None, "b": "3", "n": 3}]
    assert bytes(fd.json_array(cols, ("a", "b", "n"))) == orjson.dumps(want)
    sliced = {k: v.slice(1) for k, v in cols.items()}
    assert bytes(fd.json_array(sliced, ("b", "a"))) == orjson.dumps([{"b": w["b"], "a": w["a"]} for w in want[1:]])
    assert bytes(fd.json_array({"a": fd.pa.array([], fd.pa.string())}, ("a",))) == b"[]"
