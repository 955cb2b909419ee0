"""The shipped samples: every planted defect is reported at its row, and coverage finds exactly the
planted blind spots (no more, no fewer) with the right counts (samples/expected.json)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ENGINES, store_url

from pbtool.coverage import compute_coverage
from pbtool.importer import import_files

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=ENGINES)
def sample_store(request, tmp_path_factory):
    with store_url(request.param, tmp_path_factory.mktemp("samples"), request) as db:
        results = {}
        for period, spec in EXPECTED["periods"].items():
            results[period] = import_files([SAMPLES / f for f in spec["files"]], period, db)
        yield db, results


def test_samples_give_identical_coverage_json_on_both_engines(request, tmp_path):
    """The same files give byte-identical coverage JSON on SQLite and on PostgreSQL, both periods."""
    out = {}
    for engine in ENGINES:
        (tmp_path / engine).mkdir()
        with store_url(engine, tmp_path / engine, request) as db:
            for period, spec in EXPECTED["periods"].items():
                import_files([SAMPLES / f for f in spec["files"]], period, db)
            out[engine] = [json.dumps(compute_coverage(db, p).as_dict(), ensure_ascii=False, sort_keys=True)
                           for p in EXPECTED["periods"]]
    assert out["sqlite"] == out["postgresql"]
    assert all('"findings": [{' in text for text in out["sqlite"])   # not two empty results


def test_every_planted_problem_is_reported_at_its_row(sample_store):
    _, results = sample_store
    got = sorted((period, p.file, p.sheet, p.row, p.column, p.code)
                 for period, r in results.items() for p in r.problems)
    want = sorted((p["period"], Path(p["file"]).name, p["sheet"], p["row"], p["column"], p["code"])
                  for p in EXPECTED["problems"])
    assert got == want


def test_every_member_row_is_stored(sample_store):
    _, results = sample_store
    for period, spec in EXPECTED["periods"].items():
        assert results[period].imported["roster"] == spec["members"]


@pytest.mark.parametrize("period", sorted(EXPECTED["periods"]))
def test_coverage_finds_exactly_the_planted_blind_spots(sample_store, period):
    db, _ = sample_store
    result = compute_coverage(db, period)
    got = sorted((f.rule, f.street, f.community, f.target, f.full_members, f.probationary, f.members)
                 for f in result.findings)
    want = sorted((f["rule"], f["street"], f["community"], f["target"], f["full_members"], f["probationary"],
                   f["members"]) for f in EXPECTED["findings"] if f["period"] == period)
    assert got == want


def test_period_comparison_marks_new_persisting_and_closed(sample_store):
    """Places are compared, not rule hits: a place whose problem changed kind is 变化 (neither new nor
    closed), and a place is closed only when none of its problems remains."""
    db, _ = sample_store
    def places(period):
        out: dict = {}
        for f in EXPECTED["findings"]:
            if f["period"] == period:
                out.setdefault((f["street"], f["target"]), set()).add(f["rule"])
        return out
    q2, q3 = places("2026Q2"), places("2026Q3")
    result = compute_coverage(db, "2026Q3")
    assert result.previous_period == "2026Q2"
    status = {(p.street, p.target): p.status for p in result.places}
    assert {k for k, s in status.items() if s == "新增"} == set(q3) - set(q2)
    assert {k for k, s in status.items() if s == "持续"} == {k for k in set(q3) & set(q2) if q3[k] <= q2[k]}
    assert {k for k, s in status.items() if s == "变化"} == {k for k in set(q3) & set(q2) if q3[k] - q2[k]}
    assert all(p.quarters_open == 2 for p in result.places if p.status != "新增")
    assert {(p.street, p.target) for p in result.closed_places} == set(q2) - set(q3)
    moved = next(p for p in result.places if p.target == "杭州西山物流有限公司")
    assert (moved.status, moved.change) == ("变化", "由应联合组建转为应单独组建")
    assert "杭州西山物流有限公司" not in {f.target for f in result.closed}
    assert result.counts()["places"] == len(q3) and result.counts()["problems"] == sum(map(len, q3.values()))
