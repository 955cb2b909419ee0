"""The Problem record every stage reports, built from the code table in data/problems.toml."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from .config import _shipped

ERROR = "错误"
WARNING = "警告"


@dataclass(slots=True)
class Problem:
    code: str
    severity: str
    file: str
    sheet: str
    row: int | None          # Excel row number as the clerk sees it (CSV: line number)
    column: str              # column header as written in the file
    value: str               # the value as written (unmasked; outputs mask it)
    message: str             # Chinese: what is wrong and what to do
    kind: str = ""           # roster / community / estate / org / unit
    street: str = ""
    expected: str = ""       # what the value should be, where the check knows (check character, list name …)

    def as_dict(self, mask: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if mask:
            d["value"] = mask_value(self.value)
            d["message"] = mask_value(self.message)
        return d


def make_problem(code: str, *, file: str, sheet: str, row: int | None, column: str, value: Any,
                 kind: str = "", street: str = "", **details: Any) -> Problem:
    """Build a Problem whose message is the code's title and its fix text, filled with `details`."""
    spec = shipped_problems()[code]
    value_text = "" if value is None else str(value)
    details.setdefault("column", column)
    fix = spec["fix"].format_map(_Blank(details))
    if "lead" in spec:  # a problem about the sheet itself (e.g. a header) words its lead differently
        lead = spec["lead"].format_map(_Blank({**details, "value": value_text}))
    elif column:
        lead = f"“{column}”填写为“{value_text}”" if value_text else f"“{column}”为空"
    else:
        lead = ""
    message = f"{spec['title']}：{lead}。{fix}" if lead else f"{spec['title']}。{fix}"
    expected = details.get("expected")
    return Problem(code, spec["severity"], file, sheet, row, column, value_text, message, kind, street,
                   "" if expected is None else str(expected))


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def shipped_problems() -> dict[str, Any]:
    return _shipped("problems.toml")


# Every run of 15 or more ID-like characters (IDs, bank cards, an ID with a slip of the keyboard), and
# mobile numbers, also written with +86/0086, spaces or dashes, wherever they stand in a text.
_ID_RE = re.compile(r"(?<![0-9])(\d{6})(\d{5,})(\d{3}[0-9Xx])(?![0-9])")
_PHONE_RE = re.compile(r"(?<!\d)((?:\+|00)86[\s-]?)?(1[3-9]\d)([\s-]?)(\d{4})([\s-]?)(\d{4})(?!\d)")
# An ID that Excel turned into a number shows as 3.30106195301272E+17: still 15 personal digits.
_SCI_RE = re.compile(r"(\d\.\d{4})(\d{4,})([Ee]\+?\d+)")


def mask_value(text: str) -> str:
    """Mask ID numbers (330106********1234) and mobile numbers (138****8000) inside any text."""
    if not text:
        return text
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)
    text = _SCI_RE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)
    return _PHONE_RE.sub(lambda m: (m.group(1) or "") + m.group(2) + m.group(3) + "****" + m.group(5) + m.group(6), text)
