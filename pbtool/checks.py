"""Stage 4b: row checks that look at more than one cell, in one registry. Each check takes the
cleaned values of one row (field -> value) and yields (code, field, details)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .clean import id_birth_date, id_sex

RowCheck = Callable[[dict[str, Any]], Iterator[tuple[str, str, dict[str, Any]]]]


def check_id_birth(row: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    idn, birth = row.get("id_number"), row.get("birth_date")
    if idn and birth:
        expected = id_birth_date(idn)
        if not expected.startswith(birth):  # a month-only birth date compares by month
            yield "ID_BIRTH_MISMATCH", "birth_date", {"expected": expected}


def check_id_sex(row: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    idn, sex = row.get("id_number"), row.get("gender")
    if idn and sex:
        expected = id_sex(idn)
        if sex != expected:
            yield "ID_SEX_MISMATCH", "gender", {"expected": expected}


# kind -> the row checks that apply to it
ROW_CHECKS: dict[str, list[RowCheck]] = {
    "roster": [check_id_birth, check_id_sex],
}
