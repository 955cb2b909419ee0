"""Whole-column cleaning (issue 12): the vectorized paths give exactly what cleaning each cell gives,
problems at the same row indexes."""
from __future__ import annotations

import datetime as dt
import random

from pbtool.clean import _clean_distinct, clean_column, clean_date


def cell_by_cell(values: list) -> tuple[list, list]:
    results = [clean_date(v) for v in values]
    return [r[0] for r in results], [(i, r[1], r[2]) for i, r in enumerate(results) if r[1]]


def date_cells(n: int, seed: int) -> list:
    rnd = random.Random(seed)
    edges = ["1900-02-29", "2000-02-29", "2100-02-29", "2024-02-29", "2023-02-29", "1899-12-31", "2101-01-01",
             "1900-01-01", "2100-12-31", "2019-00-10", "2019-13-01", "2019-04-31", "2019-04-30", "2019-01-00",
             "2019-01-32", "2019/07/01", "2019.07.01", "20190701", "2019-7-1", "2019-07", "2019年7月1日",
             "２０１９-07-01", "2019-07-01 ", " 2019-07-01", "2019-07-0１", "abcd-ef-gh", "2019-07-01T00:00",
             "----------", "0000-00-00", "9999-99-99", "2019-07-1a", "2019+07+01", "", "  ", None, 0, 1.5,
             43000, 43000.0, 20190701, True, False, dt.date(1850, 1, 1), dt.datetime(2019, 7, 1, 8, 30)]
    alphabet = "0123456789-/. 年月日X１"
    out = []
    for _ in range(n):
        k = rnd.random()
        if k < 0.5:
            d = dt.date(1890, 1, 1) + dt.timedelta(days=rnd.randrange(0, 80_000))
            out.append(d.isoformat())
        elif k < 0.7:
            out.append(rnd.choice(edges))
        else:
            out.append("".join(rnd.choice(alphabet) for _ in range(rnd.choice([9, 10, 10, 10, 11]))))
    return out


def test_date_column_equals_cleaning_each_cell():
    for seed in range(5):
        values = date_cells(5000, seed)
        assert clean_column("date", clean_date, values) == cell_by_cell(values)
        # the numpy path decided most of them: the generic path agrees on all of them
        assert clean_column("date", clean_date, values) == _clean_distinct("date", clean_date, values)


def test_date_column_all_iso_needs_no_cell_cleaning(monkeypatch):
    values = [(dt.date(1950, 1, 1) + dt.timedelta(days=k * 7)).isoformat() for k in range(3000)]
    calls = []

    def spy(v):
        calls.append(v)
        return clean_date(v)

    assert clean_column("date", spy, values) == (values, [])
    assert calls == []   # every cell settled at once


def test_date_column_problems_at_their_rows():
    values = ["2019-07-01"] * 10
    values[3] = "2019-02-30"
    values[7] = "1899-12-31"
    values[8] = ""
    values[9] = 43000.0
    cleaned, issues = clean_column("date", clean_date, values)
    assert issues == [(3, "BAD_DATE", None), (7, "BAD_DATE", None)]
    assert cleaned[:3] == ["2019-07-01"] * 3 and cleaned[3] is None and cleaned[7] is None
    assert cleaned[8] is None and cleaned[9] == (dt.date(1899, 12, 30) + dt.timedelta(days=43000)).isoformat()
