"""Formatting as an official document writes it: dates and periods here; rates, changes and numerals
from pbtool.present, the one module every output shares."""
from __future__ import annotations

import datetime as dt
from fractions import Fraction

from .. import present
from ..period import parse_period, period_end  # noqa: F401 - the documents' period helpers, re-exported
from ..present import cn_number  # noqa: F401 - one implementation, used by the benchmarks through here

MISSING = "【待填写】"
NOT_APPLICABLE = present.NOT_APPLICABLE
# A table cell holding only this marks its column as one the store cannot fill: render.py removes
# every table column whose body cells all hold it (a user template's columns included).
DROP = "【本列删除】"

_QUARTER_CN = {1: "一", 2: "二", 3: "三", 4: "四"}


def period_text(period: str) -> str:
    """'2026Q3' -> '2026年第三季度'."""
    year, q = parse_period(period)
    return f"{year}年第{_QUARTER_CN[q]}季度"


def date_text(d: dt.date) -> str:
    """成文日期 in Arabic numerals without leading zeros (GB/T 9704-2012 7.3.5.1): 2026年9月30日."""
    return f"{d.year}年{d.month}月{d.day}日"


def percent(rate: Fraction | None) -> float | None:
    """A rate as the percentage the documents print (rounded once, by pbtool.present)."""
    return present.pct_number(rate)


def rate_text(rate: Fraction | None) -> str:
    """29/40 -> '72.5%'; None (nothing to divide by) -> '—'."""
    return present.pct_text(rate)
