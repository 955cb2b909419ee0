"""Stage 4b: row checks that look at more than one cell, in one registry. A check names the fields
it reads and gets their cleaned values positionally (fast over a million rows); it returns None or
(code, field to blame, details)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .clean import id_birth_date, id_sex

Outcome = tuple[str, str, dict[str, Any]] | None


@dataclass(frozen=True)
class RowCheck:
    fields: tuple[str, ...]
    func: Callable[..., Outcome]


def check_id_birth(idn: str | None, birth: str | None) -> Outcome:
    if idn and birth:
        expected = id_birth_date(idn)
        if not expected.startswith(birth):  # a month-only birth date compares by month
            return "ID_BIRTH_MISMATCH", "birth_date", {"expected": expected}
    return None


def check_id_sex(idn: str | None, sex: str | None) -> Outcome:
    if idn and sex:
        expected = id_sex(idn)
        if sex != expected:
            return "ID_SEX_MISMATCH", "gender", {"expected": expected}
    return None


# kind -> the row checks that apply to it
ROW_CHECKS: dict[str, list[RowCheck]] = {
    "roster": [RowCheck(("id_number", "birth_date"), check_id_birth),
               RowCheck(("id_number", "gender"), check_id_sex)],
}
