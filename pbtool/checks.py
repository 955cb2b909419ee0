"""Stage 4b: row checks that look at more than one cell, in one registry. A check names the fields
it reads and gets their cleaned columns; it yields (row index, code, field to blame, details). Checks
walk whole columns (a million rows cost one loop, not a million calls)."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .clean import id_birth_date, id_sex

Finding = tuple[int, str, str, dict[str, Any]]


@dataclass(frozen=True)
class RowCheck:
    fields: tuple[str, ...]
    func: Callable[..., Iterator[Finding]]


def _arrow(values: Any) -> Any:
    """A cleaned column as an Arrow text array (it may be one already: the columnar reader's)."""
    from .arrow import pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values if pa.types.is_string(values.type) else values.cast(pa.string())
    return pa.array(values, pa.string())


def _at(values: Any, i: int) -> Any:
    """One cleaned value of a Python list or an Arrow array."""
    return values[i] if isinstance(values, list) else values[i].as_py()


def check_id_birth(ids: Sequence[str | None], births: Sequence[str | None]) -> Iterator[Finding]:
    """出生日期 against the ID's birth date (a month-only 出生年月 compares by month). The rows whose
    date equals the ID's (the usual case) are told apart for the whole column at once (pyarrow); the
    rest are checked one by one."""
    from .arrow import pa, pc

    try:
        idn_a, birth_a = _arrow(ids), _arrow(births)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        suspects = range(len(ids))
    else:
        from_id = pc.binary_join_element_wise(pc.utf8_slice_codeunits(idn_a, 6, 10), pc.utf8_slice_codeunits(idn_a, 10, 12),
                                              pc.utf8_slice_codeunits(idn_a, 12, 14), "-")
        agrees = pc.or_kleene(pc.equal(from_id, birth_a), pc.equal(pc.utf8_slice_codeunits(from_id, 0, 7), birth_a))
        suspects = pc.indices_nonzero(pc.invert(pc.fill_null(agrees, True))).to_pylist()
    for i in suspects:
        idn, birth = _at(ids, i), _at(births, i)
        if idn and birth and not f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}".startswith(birth):
            yield i, "ID_BIRTH_MISMATCH", "birth_date", {"expected": id_birth_date(idn)}


def check_id_sex(ids: Sequence[str | None], sexes: Sequence[str | None]) -> Iterator[Finding]:
    """性别 against the ID's sex digit (odd = 男, even = 女). The rows whose 性别 equals the ID's (the
    usual case) are told apart for the whole column at once (pyarrow); the rest are checked one by one."""
    from .arrow import pa, pc

    try:
        idn_a, sex_a = _arrow(ids), _arrow(sexes)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        suspects = range(len(ids))
    else:
        odd = pc.is_in(pc.utf8_slice_codeunits(idn_a, 16, 17), value_set=pa.array(list("13579")))
        agrees = pc.equal(sex_a, pc.if_else(odd, "男", "女"))
        suspects = pc.indices_nonzero(pc.invert(pc.fill_null(agrees, True))).to_pylist()
    for i in suspects:
        idn, sex = _at(ids, i), _at(sexes, i)
        if idn and sex and sex != ("男" if idn[16] in "13579" else "女"):
            yield i, "ID_SEX_MISMATCH", "gender", {"expected": id_sex(idn)}


# kind -> the row checks that apply to it
ROW_CHECKS: dict[str, list[RowCheck]] = {
    "roster": [RowCheck(("id_number", "birth_date"), check_id_birth),
               RowCheck(("id_number", "gender"), check_id_sex)],
}
