"""Formatting of figures as an official document writes them: rates, changes, dates, periods, numerals."""
from __future__ import annotations

import datetime as dt

from ..period import parse_period, period_end  # noqa: F401 - the documents' period helpers, re-exported

MISSING = "【待填写】"
NOT_APPLICABLE = "—"

_QUARTER_CN = {1: "一", 2: "二", 3: "三", 4: "四"}
_DIGITS = "零一二三四五六七八九"


def period_text(period: str) -> str:
    """'2026Q3' -> '2026年第三季度'."""
    year, q = parse_period(period)
    return f"{year}年第{_QUARTER_CN[q]}季度"


def date_text(d: dt.date) -> str:
    """成文日期 in Arabic numerals without leading zeros (GB/T 9704-2012 7.3.5.1): 2026年9月30日."""
    return f"{d.year}年{d.month}月{d.day}日"


def cn_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 23 -> 二十三, 105 -> 一百零五 (for headings like （二十三）)."""
    if n < 0:
        raise ValueError(n)
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _DIGITS[n // 10] + "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        head = _DIGITS[n // 100] + "百"
        if rest == 0:
            return head
        if rest < 10:
            return head + "零" + _DIGITS[rest]
        return head + (_DIGITS[rest // 10] + "十" + (_DIGITS[rest % 10] if rest % 10 else ""))
    return str(n)


def percent(rate: float | None) -> float | None:
    """A fraction as a percentage rounded to one decimal, the precision the documents print."""
    return None if rate is None else round(rate * 100 + 1e-9, 1)


def rate_text(rate: float | None) -> str:
    """0.8534 -> '85.3%'; None (nothing to divide by) -> '—'."""
    p = percent(rate)
    return NOT_APPLICABLE if p is None else f"{p:.1f}%"


def pp_change(cur: float | None, prev: float | None) -> float | None:
    """Change in percentage points between the printed (rounded) percentages, so readers can check it."""
    a, b = percent(cur), percent(prev)
    return None if a is None or b is None else round(a - b, 1)


def pp_table(pp: float | None) -> str:
    """For table cells: '+2.1', '-0.5', '0.0'; '—' when either rate is undefined."""
    if pp is None:
        return NOT_APPLICABLE
    return "0.0" if pp == 0 else f"{pp:+.1f}"


def pp_prose(pp: float | None) -> str:
    """For running text: '上升2.1个百分点', '下降0.5个百分点', '持平'."""
    if pp is None:
        return NOT_APPLICABLE
    if pp > 0:
        return f"上升{pp:.1f}个百分点"
    if pp < 0:
        return f"下降{-pp:.1f}个百分点"
    return "持平"
