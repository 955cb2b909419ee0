"""Presentation of figures, shared by every output (terminal, ledger, JSON, documents): rates are exact
fractions until here, and each rate or percentage-point change is rounded once, in `percent_1`."""
from __future__ import annotations

from fractions import Fraction
from typing import Optional

NOT_APPLICABLE = "—"

Rate = Optional[Fraction]


def ratio(part: int, whole: int) -> Rate:
    """part / whole as an exact fraction; None when there is nothing to divide by."""
    return Fraction(part, whole) if whole else None


def _round_1(value: Fraction) -> Fraction:
    """value × 100 rounded to one decimal, half away from zero, in integers: floor(|a/b| × 1000 + 1/2)
    tenths (Fraction arithmetic took a city's 1,000 rates 40 ms)."""
    a, b = value.numerator, value.denominator   # b > 0
    n = (2000 * abs(a) + b) // (2 * b)
    return Fraction(n if a >= 0 else -n, 10)


def percent_1(value: Fraction | None) -> Fraction | None:
    """A fraction as a percentage rounded once to one decimal, half away from zero (the rule a
    clerk uses): 0.72414 -> 72.4, 0.05747 -> 5.7, 0.00125 -> 0.1. Exact: no float is involved."""
    return None if value is None else _round_1(value)


def _one_decimal(p: Fraction) -> str:
    sign = "-" if p < 0 else ""
    n = abs(p.numerator * 10 // p.denominator)
    return f"{sign}{n // 10}.{n % 10}"


def pct_number(rate: Rate) -> float | None:
    """The printed percentage as a number (72.4), for JSON and sorting."""
    p = percent_1(rate)
    return None if p is None else float(p)


def pct_text(rate: Rate) -> str:
    """29/21 -> '72.4%'; None (nothing to divide by) -> '—'."""
    p = percent_1(rate)
    return NOT_APPLICABLE if p is None else f"{_one_decimal(p)}%"


def pp(cur: Rate, prev: Rate) -> Fraction | None:
    """The exact change in percentage points; None when either rate is undefined."""
    return None if cur is None or prev is None else (cur - prev) * 100


def pp_number(cur: Rate, prev: Rate) -> float | None:
    d = pp(cur, prev)
    return None if d is None else float(_round_1(d / 100))


def pp_text(cur: Rate, prev: Rate) -> str:
    """For tables: '+5.7', '-2.2', '0.0'; '—' when either rate is undefined."""
    d = pp(cur, prev)
    if d is None:
        return NOT_APPLICABLE
    p = _round_1(d / 100)
    return "0.0" if p == 0 else ("+" if p > 0 else "") + _one_decimal(p)


def pp_prose(cur: Rate, prev: Rate) -> str:
    """For running text: '上升5.7个百分点', '下降2.2个百分点', '持平'."""
    d = pp(cur, prev)
    if d is None:
        return NOT_APPLICABLE
    p = _round_1(d / 100)
    if p > 0:
        return f"上升{_one_decimal(p)}个百分点"
    if p < 0:
        return f"下降{_one_decimal(-p)}个百分点"
    return "持平"


_DIGITS = "零一二三四五六七八九"


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


def member_line(s: dict) -> str:
    """党员 285 名（正式 266，预备 17，类别不详 2）；重复 2 人次，已按 1 人计 …: members as every
    output states them, data errors named beside the totals, never silently inside them."""
    parts = [f"正式 {s['full']}", f"预备 {s['probationary']}"]
    if s.get("unknown_category"):
        parts.append(f"类别不详 {s['unknown_category']}")
    line = f"党员 {s['members']} 名（{'，'.join(parts)}）"
    if s.get("duplicates"):
        line += f"；重复 {s['duplicates']} 人次，已按 1 人计"
    if s.get("members_with_errors"):   # none: nothing to say ("0 条记录有问题，仍按…计入" reads as a defect)
        line += f"；{s['members_with_errors']} 条记录有“错误”级问题，仍按其居住地/工作单位计入"
    return line + "。"
