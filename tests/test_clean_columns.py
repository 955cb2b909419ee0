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
    import pbtool.clean as cl

    values = [(dt.date(1950, 1, 1) + dt.timedelta(days=k * 7)).isoformat() for k in range(3000)]
    handed = []
    real = cl._clean_distinct
    monkeypatch.setattr(cl, "_clean_distinct", lambda ftype, clean, vals: handed.append(vals) or real(ftype, clean, vals))
    assert clean_column("date", clean_date, values) == (values, [])
    assert handed == []   # every cell settled at once
    mixed = values[:10] + ["2019/07/01", "", "2019-02-30"]
    assert clean_column("date", clean_date, mixed) == cell_by_cell(mixed)
    assert handed == [["2019/07/01", "", "2019-02-30"]]   # only the cells numpy did not settle


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


def folding_cells(n: int, seed: int, pool: list[str]) -> list:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        k = rnd.random()
        if k < 0.8:
            out.append(rnd.choice(pool))
        else:
            out.append("".join(rnd.choice(pool[0] + "  \t\u3000\u00a0ＡＢ１（）e\u0301\ufb01\x00\n")
                               for _ in range(rnd.randrange(0, 6))))
    return out


def junk(seed: int, pool: list[str]) -> str:
    """One text that may or may not be its own fold: spaces at either end, doubled, other whitespace,
    full-width letters, a combining accent, a ligature, a NUL."""
    rnd = random.Random(seed)
    word = rnd.choice(pool)
    cut = rnd.randrange(len(word) + 1)
    return word[:cut] + rnd.choice(["", " ", "  ", "\t", "\u3000", "\u00a0", "Ａ", "e\u0301", "\ufb01", "\x00", "\n"]) + word[cut:] \
        + rnd.choice(["", " ", "\n"])


PLACE_POOL = ["东湖街道", "德水社区", "龙玉花园", "金怡公馆", "A区", "Block 3", "青湖(一)"]
ORG_POOL = ["杭州宁鑫汽车服务有限公司", "个体", "Acme Ltd", "青湖科技 有限公司", "东湖 街道 办事处", "(株)"]


def test_folding_columns_equal_cleaning_each_cell():
    from pbtool.clean import clean_org_name, clean_place, clean_text

    for ftype, clean, pool in (("place", clean_place, PLACE_POOL), ("org_name", clean_org_name, ORG_POOL),
                               ("text", clean_text, ORG_POOL + PLACE_POOL)):
        for seed in range(20):
            for values in (folding_cells(300, seed, pool), [v for v in folding_cells(300, seed, pool) if v.strip()],
                           list(pool) * 3 + [junk(seed, pool)], [junk(seed, pool)] + list(pool) * 3):
                results = [clean(v) for v in values]
                expected = ([r[0] for r in results], [(i, r[1], r[2]) for i, r in enumerate(results) if r[1]])
                assert clean_column(ftype, clean, values) == expected, (ftype, seed)


def test_a_clean_folding_column_is_not_cleaned_cell_by_cell(monkeypatch):
    from pbtool.clean import clean_place, clean_text

    calls = []
    values = PLACE_POOL[:4] * 500
    assert clean_column("place", lambda v: calls.append(v) or clean_place(v), values) == (values, [])
    # the shortcut is taken for pbtool's own cleaner only: a stand-in is called once per distinct value
    assert sorted(calls) == sorted(PLACE_POOL[:4])
    import pbtool.clean as cl
    spy = []
    real = cl.fold
    cl_values = ORG_POOL[:3] * 500
    monkeypatch.setattr(cl, "fold", lambda t: spy.append(t) or real(t))
    assert clean_column("text", clean_text, cl_values) == (cl_values, [])
    assert spy == []   # settled for the whole column at once
    monkeypatch.setattr(cl, "fold", real)
    for unclean in (["德水社区 "], [" 德水社区"], ["德水  社区"], ["德水\t社区"], ["德水\u3000社区"], ["ＡＢ"]):
        assert clean_column("text", clean_text, PLACE_POOL + unclean)[0][-1] == clean_text(unclean[0])[0]


def test_id_sex_check_equals_checking_each_row():
    """The vectorized 性别 check yields exactly the rows the row-by-row rule yields."""
    from builders import make_id

    from pbtool.checks import check_id_sex

    rnd = random.Random(3)
    ids, sexes = [], []
    for k in range(3000):
        sex = rnd.choice(["男", "女"])
        ids.append(rnd.choice([make_id(k, sex=sex), None, "", make_id(k, sex=sex)]))
        sexes.append(rnd.choice([sex, sex, sex, "男" if sex == "女" else "女", None, "", "未知"]))

    def each_row(ids, sexes):
        for i, (idn, sex) in enumerate(zip(ids, sexes)):
            if idn and sex and sex != ("男" if idn[16] in "13579" else "女"):
                yield i, "ID_SEX_MISMATCH", "gender", {"expected": "男" if int(idn[16]) % 2 else "女"}

    expected = list(each_row(ids, sexes))
    assert list(check_id_sex(ids, sexes)) == expected
    assert len(expected) > 100
    mixed = sexes[:20] + [1]          # a value Arrow cannot take as text: every row checked one by one
    assert list(check_id_sex(ids[:21], mixed)) == list(each_row(ids[:21], mixed))


def test_footer_words_regex_matches_exactly_the_words():
    """_special_rows looks for every 合计/填表人 word in one RE2 pass: the same rows as one search a word."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from pbtool.importer import FOOTER_WORDS, FOOTER_WORDS_RE

    rnd = random.Random(5)
    parts = [*FOOTER_WORDS, "注", "说明", ":", "：", "合", "计", "人", " ", "a", ".", "*", "(", "|"]
    texts = ["".join(rnd.choice(parts) for _ in range(rnd.randrange(0, 4))) for _ in range(4000)] + [None]
    col = pa.array(texts, pa.string())
    one_by_one = pc.match_substring(col, FOOTER_WORDS[0])
    for word in FOOTER_WORDS[1:]:
        one_by_one = pc.or_kleene(one_by_one, pc.match_substring(col, word))
    assert pc.match_substring_regex(col, FOOTER_WORDS_RE).equals(one_by_one)
    assert 0 < pc.sum(one_by_one).as_py() < 4000
