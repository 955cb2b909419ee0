"""Stage 4a: one cleaner per field type. Each takes a raw cell and returns (value, code, details):
the cleaned value (None when unusable) and, when the cell is wrong, a problem code from
data/problems.toml with the details its message needs. Cleaners never guess a value."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from typing import Any, Callable

import numpy as np

Cleaned = tuple[Any, str | None, dict[str, Any] | None]

# ---------------------------------------------------------------- text

_SPACE_RE = re.compile(r"\s+")
_PLAIN_NAME_RE = re.compile(r"[\u4e00-\u9fffA-Za-z·]+\Z")
# C0 control characters other than tab, line feed and carriage return (whitespace that the cleaners
# fold), and DEL: invisible, and PostgreSQL refuses NUL in text.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ORG_PUNCT_RE = re.compile(r"[\s·•.,，。、\-—_'\"“”‘’《》<>]+")


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Full-width digits, letters and brackets to half-width (NFKC), spaces trimmed and collapsed."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


def as_text(v: Any) -> str:
    """A cell as text: numbers without a spurious '.0', dates as ISO."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()[:10]
    return str(v)


def clean_text(v: Any) -> Cleaned:
    return (fold(as_text(v)) or None), None, None


def clean_person_name(v: Any) -> Cleaned:
    # Clerks pad two-character names with spaces to align them ("张  三").
    if type(v) is str and _PLAIN_NAME_RE.match(v):
        return v, None, None  # plain CJK or ASCII letters: nothing to fold
    t = fold(as_text(v)).replace(" ", "")
    return (t or None), None, None


@lru_cache(maxsize=1 << 18)
def org_key(name: str) -> str:
    """An organization name as matched: NFKC, no spaces or punctuation, brackets unified."""
    return _ORG_PUNCT_RE.sub("", unicodedata.normalize("NFKC", name)).upper()


def org_keys(names: list[str]) -> list[str]:
    """org_key of each name, in one comprehension (for many names seen once: no call, no cache entry).
    org_key keeps its own body: defined through this, its every cache miss paid for a list (measured
    with fold, 0.053 -> 0.078 s for 29,000 names); tests/test_clean.py holds the two equal."""
    sub, norm = _ORG_PUNCT_RE.sub, unicodedata.normalize
    return [sub("", norm("NFKC", n)).upper() for n in names]


@lru_cache(maxsize=1 << 16)
def place_key(name: str) -> str:
    """A place name as matched: NFKC, no spaces."""
    return _SPACE_RE.sub("", unicodedata.normalize("NFKC", name))


def clean_org_name(v: Any) -> Cleaned:
    return (fold(as_text(v)) or None), None, None


def clean_place(v: Any) -> Cleaned:
    t = fold(as_text(v)).replace(" ", "")
    return (t or None), None, None


def clean_phone(v: Any) -> Cleaned:
    if type(v) is str and v.isascii() and v.isdigit():
        return v, None, None
    t = fold(as_text(v)).replace(" ", "")
    return (t or None), None, None


def clean_int(v: Any) -> Cleaned:
    if v is None or v == "":
        return None, None, None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if float(v).is_integer() and v >= 0:
            return int(v), None, None
        return None, "BAD_VALUE", {"allowed": "非负整数"}
    t = fold(as_text(v)).replace(",", "").removesuffix("人").removesuffix("个").removesuffix("项")
    if t.isdigit():
        return int(t), None, None
    if not t:
        return None, None, None
    return None, "BAD_VALUE", {"allowed": "非负整数"}


# ---------------------------------------------------------------- dates

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_SEP_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?$")
_DATE_DIGITS_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})?$")
_TIME_TAIL_RE = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _ymd(y: int, m: int, d: int | None) -> str | None:
    if not 1900 <= y <= 2100 or not 1 <= m <= 12:
        return None
    if d is None:
        return f"{y:04d}-{m:02d}"
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


@lru_cache(maxsize=1 << 16)
def _parse_date_cached(v: Any) -> str | None | bool:
    """ISO date ('2019-07-01', or '2019-07' when the file gives only a month), None when empty,
    False when the value is not a real date."""
    if type(v) is str and len(v) == 10 and v[4] == "-" and v[7] == "-" and v.isascii():
        y, m, d = v[:4], v[5:7], v[8:]     # the usual ISO text: what the general path below concludes
        if y.isdigit() and m.isdigit() and d.isdigit():
            return _ymd(int(y), int(m), int(d)) or False
    if isinstance(v, dt.datetime):
        v = v.date()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if float(v).is_integer():
            n = int(v)
            if 19000101 <= n <= 21001231:
                return _parse_date_cached(str(n))
            if 190001 <= n <= 210012:
                return _parse_date_cached(str(n))
        if 1 <= v < 73415:  # an Excel serial date (1900-01-01 .. 2100-12-31)
            return (_EXCEL_EPOCH + dt.timedelta(days=int(v))).isoformat()
        return False
    t = _TIME_TAIL_RE.sub("", fold(str(v))).replace(" ", "")
    if not t:
        return None
    m = _DATE_SEP_RE.match(t) or _DATE_DIGITS_RE.match(t)
    if not m:
        return False
    y, mo, d = m.group(1), m.group(2), m.group(3)
    return _ymd(int(y), int(mo), int(d) if d else None) or False


def clean_date(v: Any) -> Cleaned:
    if v is None or v == "":
        return None, None, None
    r = _parse_date_cached(v)
    if r is False:
        return None, "BAD_DATE", None
    return r, None, None


# ---------------------------------------------------------------- resident ID (GB 11643-1999)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID18_RE = re.compile(r"^\d{17}[\dX]$")
_ID15_RE = re.compile(r"^\d{15}$")
_SCI_RE = re.compile(r"^\d(\.\d+)?E\+?\d+$")
_ID_STRIP_RE = re.compile(r"[\s\-']")


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(map(mul, map(int, first17), _ID_WEIGHTS)) % 11]


def id_birth_date(id18: str) -> str:
    return f"{id18[6:10]}-{id18[10:12]}-{id18[12:14]}"


def id_sex(id18: str) -> str:
    return "男" if int(id18[16]) % 2 else "女"


def clean_id_number(v: Any) -> Cleaned:
    if v is None or v == "":
        return None, None, None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        # A number cell: Excel keeps 15 significant digits, so an 18-digit ID is already destroyed.
        if abs(v) >= 1e15:
            return None, "ID_NUMBER_CELL", None
        if float(v).is_integer():
            v = str(int(v))
        else:
            return None, "ID_FORMAT", None
    if isinstance(v, str) and len(v) == 18 and v.isascii() and _ID18_RE.match(v):
        t = v  # the common case, already clean
    else:
        t = _ID_STRIP_RE.sub("", fold(str(v))).upper()
    if _SCI_RE.match(t):  # a CSV saved by Excel from a number cell
        return None, "ID_NUMBER_CELL", None
    if _ID15_RE.match(t):
        # Legacy 15-digit ID: 19 before the 2-digit year, check character appended.
        if _ymd(1900 + int(t[6:8]), int(t[8:10]), int(t[10:12])) is None:
            return None, "ID_FORMAT", None
        first17 = t[:6] + "19" + t[6:]
        return first17 + id_check_char(first17), None, None
    if not _ID18_RE.match(t):
        return None, "ID_FORMAT", None
    if _ymd(int(t[6:10]), int(t[10:12]), int(t[12:14])) is None:
        return None, "ID_FORMAT", None
    expected = id_check_char(t[:17])
    if t[17] != expected:
        return None, "ID_CHECKSUM", {"expected": expected}
    return t, None, None


# ---------------------------------------------------------------- unified social credit code (GB 32100-2015)

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


def uscc_check_char(first17: str) -> str:
    s = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_CHARSET[(31 - s % 31) % 31]


def clean_uscc(v: Any) -> Cleaned:
    if v is None or v == "":
        return None, None, None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return None, "USCC_FORMAT", None
    t = fold(str(v)).replace(" ", "").upper()
    if not t:
        return None, None, None
    if not _USCC_RE.match(t):
        return None, "USCC_FORMAT", None
    expected = uscc_check_char(t[:17])
    if t[17] != expected:
        return None, "USCC_CHECKSUM", {"expected": expected}
    return t, None, None


# ---------------------------------------------------------------- vocabularies


def vocab_cleaner(vocab: dict[str, Any]) -> Callable[[Any], Cleaned]:
    table = {fold(k).replace(" ", ""): val for k, val in vocab.items()}
    allowed = "、".join(dict.fromkeys(k for k in vocab))

    @lru_cache(maxsize=4096)
    def clean(v: Any) -> Cleaned:
        t = fold(as_text(v)).replace(" ", "")
        if not t:
            return None, None, None
        if t in table:
            return table[t], None, None
        return None, "BAD_VALUE", {"allowed": allowed}

    return clean


def cleaners(schema: dict[str, Any]) -> dict[str, Callable[[Any], Cleaned]]:
    """Field type -> cleaner; vocabulary types come from the schema's [vocab] tables."""
    reg: dict[str, Callable[[Any], Cleaned]] = {
        "text": clean_text,
        "person_name": clean_person_name,
        "org_name": clean_org_name,
        "place": clean_place,
        "phone": clean_phone,
        "int": clean_int,
        "date": clean_date,
        "id_number": clean_id_number,
        "uscc": clean_uscc,
    }
    for name, vocab in schema.get("vocab", {}).items():
        reg[name] = vocab_cleaner(vocab)
    return reg


# ---------------------------------------------------------------- whole columns

ColumnIssues = list[tuple[int, str, dict[str, Any] | None]]
DISTINCT_TYPES = {"person_name", "phone"}   # nearly every value differs: a cache costs more than it saves


def strip_controls(values: list[Any]) -> tuple[list[Any], list[tuple[int, int]]]:
    """Remove control characters from a column's text cells; returns the column (the same list when
    nothing had any) and (row index, characters removed) per changed cell. The common case, a column
    without any, is one regex search over the joined text."""
    try:
        joined = "".join(values)
    except TypeError:   # numbers or dates among the cells
        joined = "".join(v for v in values if type(v) is str)
    if not CONTROL_RE.search(joined):
        return values, []
    out = list(values)
    changed: list[tuple[int, int]] = []
    for i, v in enumerate(values):
        if type(v) is str:
            new, n = CONTROL_RE.subn("", v)
            if n:
                out[i] = new
                changed.append((i, n))
    return out, changed


def clean_column(ftype: str, clean: Callable[[Any], Cleaned], values: list[Any]) -> tuple[list[Any], ColumnIssues]:
    """Clean one column: each distinct text is cleaned once (rosters repeat dates, places and
    categories thousands of times) and ID numbers are checked vectorized. Returns the cleaned values
    and (row index, code, details) for each cell with a problem."""
    if ftype == "id_number":
        return _clean_id_column(values)
    if ftype == "date" and clean is clean_date:
        return _clean_date_column(clean, values)
    return _clean_distinct(ftype, clean, values)


def _clean_distinct(ftype: str, clean: Callable[[Any], Cleaned], values: list[Any]) -> tuple[list[Any], ColumnIssues]:
    if ftype in DISTINCT_TYPES and _already_clean(ftype, values):
        return list(values), []
    cache: dict[Any, Cleaned] = {} if ftype in DISTINCT_TYPES else dict.fromkeys(values)  # type: ignore[assignment]
    if not cache or any(type(k) is bool for k in cache):
        # Distinct by nature (names, phones), or holding True (== 1 == 1.0, which would share an entry).
        results = list(map(clean, values))
        return [r[0] for r in results], [(i, r[1], r[2]) for i, r in enumerate(results) if r[1]]
    if _FOLDING.get(ftype) is clean and "" not in cache and _folded(cache, spaces=ftype != "place"):
        return list(values), []   # every distinct text is its own fold: nothing to clean
    for k in cache:
        cache[k] = clean(k)
    cleaned = list(map({k: r[0] for k, r in cache.items()}.__getitem__, values))
    bad = {k for k, r in cache.items() if r[1]}
    if not bad:
        return cleaned, []
    return cleaned, [(i, cache[v][1], cache[v][2]) for i, v in enumerate(values) if v in bad]


def _already_clean(ftype: str, values: list[Any]) -> bool:
    """True when a whole column is plain text its cleaner would return unchanged (every phone ASCII
    digits, every name plain CJK or Latin letters): tested on the joined column at C speed."""
    if not values or "" in values:
        return False
    try:
        joined = "".join(values)
    except TypeError:  # a number or date cell among them: clean cell by cell
        return False
    if ftype == "phone":
        return joined.isascii() and joined.isdigit()
    return ftype == "person_name" and _PLAIN_NAME_RE.match(joined) is not None


# Cleaners that return fold(text) (place: without its spaces) and nothing else for a non-empty text cell.
_FOLDING: dict[str, Callable[[Any], Cleaned]] = {"text": clean_text, "org_name": clean_org_name, "place": clean_place}
_OTHER_SPACE_RE = re.compile(r"[^\S ]")   # whitespace other than the space (a character class: scanned fast)


def folded_texts(texts: list[str], spaces: bool = True) -> list[str | None]:
    """clean_text / clean_org_name (spaces kept) or clean_place (spaces dropped) of many texts: the same
    fold(), in one comprehension (no call per text, no cache of texts seen once: under half the time
    at 29,000 employer names, measured). fold keeps its own body, as org_key does (see org_keys);
    tests/test_clean.py holds them equal on 3,000 awkward texts."""
    norm = unicodedata.normalize
    if spaces:
        return [" ".join((v if v.isascii() else norm("NFKC", v)).split()) or None for v in texts]
    return ["".join((v if v.isascii() else norm("NFKC", v)).split()) or None for v in texts]


def _folded(texts: Any, spaces: bool) -> bool:
    """Whether every one of the texts (non-empty) is its own fold(), tested on them joined by NUL at C
    speed: NFKC already (NUL is a stable code point, so the joined text is normalized exactly when each
    text is) and no whitespace but single spaces between words (none at all where the cleaner drops
    spaces). A NUL inside a text can only make clean texts look unclean, never the other way round."""
    try:
        joined = "\x00".join(texts)
    except TypeError:   # a number or date among them
        return False
    if not unicodedata.is_normalized("NFKC", joined):
        return False
    if not spaces:
        return _SPACE_RE.search(joined) is None
    return (_OTHER_SPACE_RE.search(joined) is None and "  " not in joined and "\x00 " not in joined
            and " \x00" not in joined and not joined.startswith(" ") and not joined.endswith(" "))


def _iso_ok(a: Any) -> Any:
    """Per row of an (n, 10) array of ASCII bytes: an ISO date YYYY-MM-DD of a real day of 1900-2100
    (what clean_date returns unchanged), the whole column at once."""
    d = a.astype(np.int64) - 48
    digits = ((d[:, [0, 1, 2, 3, 5, 6, 8, 9]] >= 0) & (d[:, [0, 1, 2, 3, 5, 6, 8, 9]] <= 9)).all(axis=1)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    return digits & (a[:, 4] == 45) & (a[:, 7] == 45) & _real_days(year, d[:, 5] * 10 + d[:, 6], d[:, 8] * 10 + d[:, 9])


def _clean_date_column(clean: Callable[[Any], Cleaned], values: list[Any]) -> tuple[list[Any], ColumnIssues]:
    """Dates written as ISO text (YYYY-MM-DD, a real day of 1900-2100: what clean_date returns unchanged)
    are recognised for the whole column at once with numpy; every other cell is cleaned as any column
    is (each distinct value once)."""
    iso = [i for i, v in enumerate(values) if type(v) is str and len(v) == 10 and v.isascii()]
    good = np.zeros(len(values), dtype=bool)
    if iso:
        ok = _iso_ok(np.frombuffer("".join([values[i] for i in iso]).encode("ascii"), dtype=np.uint8).reshape(-1, 10))
        good[np.asarray(iso, dtype=np.int64)[ok]] = True
    rest = np.flatnonzero(~good).tolist()
    if not rest:
        return list(values), []
    cleaned_rest, issues_rest = _clean_distinct("date", clean, [values[i] for i in rest])
    cleaned = list(values)
    for i, v in zip(rest, cleaned_rest):
        cleaned[i] = v
    return cleaned, [(rest[j], code, details) for j, code, details in issues_rest]


_ID_WEIGHT_VECTOR = np.array(_ID_WEIGHTS, dtype=np.int64)
_ID_CHECK_BYTES = np.frombuffer(_ID_CHECK.encode("ascii"), dtype=np.uint8)
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _real_days(year: Any, month: Any, day: Any) -> Any:
    """Element-wise: year-month-day is a real day of 1900-2100 (numpy arrays of ints)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    days = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] - ((month == 2) & ~leap)
    return (year >= 1900) & (year <= 2100) & month_ok & (day >= 1) & (day <= days)


def _ids_ok(a: Any) -> Any:
    """Per row of an (n, 18) array of ASCII bytes: 17 digits, the right check character and a real
    date of birth (GB 11643), the whole column at once."""
    d = a[:, :17].astype(np.int64) - 48
    digits = ((d >= 0) & (d <= 9)).all(axis=1)
    d = np.where(d < 0, 0, np.where(d > 9, 0, d))
    expected = _ID_CHECK_BYTES[(d @ _ID_WEIGHT_VECTOR) % 11]
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    return digits & (a[:, 17] == expected) & _real_days(year, d[:, 10] * 10 + d[:, 11], d[:, 12] * 10 + d[:, 13])


def _clean_id_column(values: list[Any]) -> tuple[list[Any], ColumnIssues]:
    """The common case (18 ASCII characters, valid date and check character) is decided for the
    whole column at once with numpy; every other cell goes through clean_id_number one by one."""
    try:  # the usual column: all text, all 18 characters long
        uniform = set(map(len, values)) == {18} and all(type(v) is str for v in values)
    except TypeError:
        uniform = False
    fast = list(range(len(values))) if uniform else [
        i for i, v in enumerate(values) if type(v) is str and len(v) == 18 and v.isascii()]
    if uniform and not "".join(values).isascii():
        fast = [i for i in fast if values[i].isascii()]
    ok = np.zeros(len(fast), dtype=bool)
    if fast:
        ok = _ids_ok(np.frombuffer("".join(values[i] for i in fast).encode("ascii"), dtype=np.uint8).reshape(-1, 18))
    cleaned: list[Any] = list(values)
    issues: ColumnIssues = []
    is_good = np.zeros(len(values), dtype=bool)
    if fast:
        is_good[np.asarray(fast)[ok]] = True
    for i in np.flatnonzero(~is_good).tolist():   # only the cells the vector check did not settle
        v = values[i]
        value, code, details = clean_id_number(v)
        cleaned[i] = value
        if code:
            issues.append((i, code, details))
    return cleaned, issues


# ---------------------------------------------------------------- whole Arrow columns (issue 12)
#
# The same cleaning on an Arrow column of the columnar reader (an empty cell is null or '', as '' for the
# row reader): each distinct value is cleaned once from the column's dictionary, and names, phones and
# ID numbers that their cleaner returns unchanged are told apart at C speed. No Python object is made per
# cell. Every result equals what clean_column gives for the same column as a Python list.

CONTROL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"   # CONTROL_RE for pyarrow.compute (RE2)
# what clean_person_name / clean_phone return unchanged (_PLAIN_NAME_RE; ASCII digits)
_PLAIN_RE2 = {"person_name": r"^[\x{4e00}-\x{9fff}A-Za-z\x{00b7}]+$", "phone": r"^[0-9]+$"}


@dataclass
class ArrowCleaned:
    """A cleaned Arrow column: `array` (None when its values do not make one Arrow type), the issues as
    clean_column gives them, and the raw value of a row for a problem's value."""

    raw: Any
    array: Any
    issues: ColumnIssues
    distinct: list[Any] | None = None      # cleaned distinct values, with `indices` per row
    indices: Any = None

    def tolist(self) -> list[Any]:
        """The cleaned column as a Python list (from the distinct values: the cells share their objects)."""
        if self.distinct is not None:
            table = np.empty(len(self.distinct), dtype=object)
            table[:] = self.distinct
            return table[self.indices].tolist()
        return self.array.to_pylist()

    def raw_at(self, i: int) -> Any:
        return arrow_value(self.raw, i)


def arrow_value(arr: Any, i: int) -> Any:
    """One cell of an Arrow column as the row reader gives it (an empty cell is '')."""
    v = arr[i].as_py()
    return "" if v is None else v


def arrow_list(arr: Any) -> list[Any]:
    """An Arrow column as the row reader's Python values (an empty cell is '')."""
    from .arrow import pa, pc

    if not arr.null_count:
        return arr.to_pylist()
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pc.fill_null(arr, "").to_pylist()
    return ["" if v is None else v for v in arr.to_pylist()]


def _is_text(arr: Any) -> bool:
    from .arrow import pa

    return pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)


_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]] = True


def _has_control_bytes(arr: Any) -> bool:
    """Whether a text column's data holds a control character (CONTROL_RE): in UTF-8 these bytes are
    never part of another character, so the data buffer is scanned with numpy, no string made."""
    from .arrow import pa

    arr = arr.cast(pa.string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
    data = arr.buffers()[2]
    if data is None:
        return False
    start, end = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    raw = np.frombuffer(data, dtype=np.uint8)[start:end]
    if not len(raw) or (raw.min() >= 0x20 and not (raw == 0x7F).any()):
        return False      # the usual text: no byte below the space, no DEL
    return bool(_CONTROL_BYTES[raw].any())   # tab, line feed and carriage return are not control characters here


def strip_controls_arrow(arr: Any) -> tuple[Any, list[tuple[int, int]]]:
    """strip_controls for an Arrow column: the column without control characters, and (row index,
    characters removed) per changed cell."""
    from .arrow import pc

    if not _is_text(arr) or not len(arr) or not _has_control_bytes(arr):
        return arr, []
    hit = pc.fill_null(pc.match_substring_regex(arr, CONTROL_RE2), False)
    if not pc.any(hit).as_py():
        return arr, []
    rows = pc.indices_nonzero(hit)
    counts = pc.count_substring_regex(arr.take(rows), CONTROL_RE2)
    return (pc.replace_substring_regex(arr, CONTROL_RE2, ""),
            list(zip(rows.to_pylist(), counts.to_pylist())))


def _distinct(arr: Any) -> tuple[list[Any], Any, Any]:
    """The column's distinct values as the row reader gives them ('' for an empty cell, in the order
    of their first row), per row the index of its value (numpy), and the Arrow dictionary."""
    from .arrow import pc

    if _is_text(arr) and arr.null_count:
        arr = pc.fill_null(arr, "")
    enc = pc.dictionary_encode(arr)
    distinct = enc.dictionary.to_pylist()
    idx = enc.indices
    if idx.null_count:
        idx = pc.fill_null(idx, len(distinct))
        distinct.append("")
    return distinct, idx.to_numpy(zero_copy_only=False), enc.dictionary


def clean_arrow_column(ftype: str, clean: Callable[[Any], Cleaned], arr: Any) -> ArrowCleaned:
    """clean_column for an Arrow column (one Arrow array, any type)."""
    from .arrow import pa, pc

    if pa.types.is_null(arr.type):     # a column with no value at all
        arr = arr.cast(pa.string())
    if _is_text(arr):
        arr = arr.cast(pa.string())
        if ftype == "id_number":
            return _clean_id_arrow(arr)
        if ftype in _PLAIN_RE2 and clean is {"person_name": clean_person_name, "phone": clean_phone}[ftype]:
            return _clean_plain_arrow(clean, arr, pc.match_substring_regex(arr, _PLAIN_RE2[ftype]))
    return _clean_distinct_arrow(ftype, clean, arr)


def _clean_distinct_arrow(ftype: str, clean: Callable[[Any], Cleaned], arr: Any) -> ArrowCleaned:
    """_clean_distinct on an Arrow column: each distinct value (from its dictionary) cleaned once."""
    from .arrow import pa

    distinct, idx, dictionary = _distinct(arr)
    if _FOLDING.get(ftype) is clean and "" not in distinct and _folded(distinct, spaces=ftype != "place"):
        results: list[Cleaned] = [(v, None, None) for v in distinct]   # every text is its own fold
    elif _FOLDING.get(ftype) is clean and _is_text(dictionary):
        results = [(v, None, None) for v in folded_texts(distinct, spaces=ftype != "place")]
    elif ftype == "date" and clean is clean_date and _is_text(dictionary):
        iso = np.zeros(len(distinct), dtype=bool)     # ISO dates: what clean_date returns unchanged
        iso[:len(dictionary)] = _iso_dates(dictionary.cast(pa.string()))
        results = [(v, None, None) if ok else clean_date(v) for v, ok in zip(distinct, iso.tolist())]
    else:
        results = list(map(clean, distinct))
    cleaned = [r[0] for r in results]
    bad = [j for j, r in enumerate(results) if r[1]]
    issues: ColumnIssues = []
    if bad:
        for i in np.flatnonzero(np.isin(idx, bad)).tolist():
            r = results[idx[i]]
            issues.append((i, r[1], r[2]))
    if _is_text(arr) and cleaned == distinct:
        return ArrowCleaned(arr, arr, issues, cleaned, idx)    # every text its own cleaned value
    return ArrowCleaned(arr, distinct_array(cleaned, idx), issues, cleaned, idx)


def distinct_array(distinct: list[Any], indices: Any) -> Any:
    """The column of `distinct` values at `indices` (per row) as one Arrow array; None when the values do
    not make one Arrow type (the store then binds them one by one)."""
    from .arrow import int_array, pa

    try:
        return pa.array(distinct).take(int_array(indices) if isinstance(indices, np.ndarray) else pa.array(indices))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None


def _fixed_width(arr: Any, width: int) -> tuple[Any, Any]:
    """The rows whose text is `width` bytes long (indices, numpy) and their bytes as a (rows, width)
    numpy array, straight from the data buffer."""
    from .arrow import pc

    cand = pc.fill_null(pc.equal(pc.binary_length(arr), width), False)
    rows = np.flatnonzero(cand.to_numpy(zero_copy_only=False))
    if not len(rows):
        return rows, np.zeros((0, width), dtype=np.uint8)
    sub = arr.filter(cand)
    start = int(np.frombuffer(sub.buffers()[1], dtype=np.int32)[sub.offset])
    return rows, np.frombuffer(sub.buffers()[2], dtype=np.uint8)[start:start + width * len(sub)].reshape(-1, width)


def _iso_dates(arr: Any) -> Any:
    """Per cell of a text column: an ISO date (YYYY-MM-DD, a real day of 1900-2100), which clean_date
    returns unchanged; told with numpy from the data buffer (as _clean_date_column does)."""
    good = np.zeros(len(arr), dtype=bool)
    rows, a = _fixed_width(arr, 10)
    if len(rows):
        good[rows[_iso_ok(a)]] = True
    return good


def _clean_plain_arrow(clean: Callable[[Any], Cleaned], arr: Any, plain: Any) -> ArrowCleaned:
    """Names and phones: a cell its cleaner returns unchanged (plain letters; ASCII digits) is told at C
    speed; only the others are cleaned one by one."""
    from .arrow import pc

    return _clean_others(clean, arr, pc.fill_null(plain, False).to_numpy(zero_copy_only=False))


def _clean_others(clean: Callable[[Any], Cleaned], arr: Any, good: Any) -> ArrowCleaned:
    """A text column whose `good` cells (numpy, per row) its cleaner returns unchanged: only the others
    are cleaned, one by one."""
    from .arrow import pa, pc

    rest = np.flatnonzero(~good)
    if not len(rest):
        return ArrowCleaned(arr, arr, [])
    results = list(map(clean, arrow_list(arr.take(pa.array(rest)))))
    rows = rest.tolist()
    issues: ColumnIssues = [(rows[j], r[1], r[2]) for j, r in enumerate(results) if r[1]]
    array = pc.replace_with_mask(arr, pa.array(~good), pa.array([r[0] for r in results], pa.string()))
    return ArrowCleaned(arr, array, issues)


def _clean_id_arrow(arr: Any) -> ArrowCleaned:
    """_clean_id_column on an Arrow text column: the 18-byte cells are checked with numpy straight from
    the column's data buffer; every other cell goes through clean_id_number one by one."""

    good = np.zeros(len(arr), dtype=bool)
    fast, a = _fixed_width(arr, 18)
    if len(fast):
        good[fast[_ids_ok(a)]] = True
    return _clean_others(clean_id_number, arr, good)
