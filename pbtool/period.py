"""Periods (年份+Q+季度, e.g. 2026Q3): parsing, checking what a clerk typed, and arithmetic. The one
place that knows the format; the importer, coverage and the reports ask it."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

PERIOD_RE = re.compile(r"^(\d{4})Q([1-4])$")
_QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


class PeriodError(ValueError):
    """A period that is not 年份+Q+季度; the message is Chinese."""


def check_period(period: str) -> str:
    """What a clerk typed ('2026q3 ') -> '2026Q3'; PeriodError with a Chinese message otherwise."""
    p = (period or "").strip().upper()
    if not PERIOD_RE.match(p):
        raise PeriodError(f"期别“{period}”格式不对，应写成 年份+Q+季度，例如 2026Q3。")
    return p


def parse_period(period: str) -> tuple[int, int]:
    """'2026Q3' -> (2026, 3); ValueError for anything else."""
    m = PERIOD_RE.match(period or "")
    if not m:
        raise ValueError(period)
    return int(m.group(1)), int(m.group(2))


def make_period(year: int, quarter: int) -> str:
    return f"{year}Q{quarter}"


def shift(period: str, quarters: int) -> str:
    """The period `quarters` later (earlier when negative): shift('2026Q1', -1) == '2025Q4'."""
    year, q = parse_period(period)
    n = year * 4 + (q - 1) + quarters
    return make_period(n // 4, n % 4 + 1)


def period_end(period: str) -> dt.date:
    year, q = parse_period(period)
    month, day = _QUARTER_END[q]
    return dt.date(year, month, day)


def previous_of(period: str, periods: Iterable[str]) -> str | None:
    """The latest of `periods` before `period` (stored periods may skip quarters), or None."""
    earlier = [p for p in periods if p < period]
    return max(earlier) if earlier else None
