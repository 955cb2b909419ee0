"""Cleaners and validators against the examples and algorithms of domain.md §5."""
from __future__ import annotations

import random

import pytest

from pbtool.clean import (_clean_id_column, clean_column, clean_date, clean_id_number, clean_uscc, cleaners,
                          id_check_char, org_key, uscc_check_char)
from pbtool.config import load_config


def test_domain_examples_validate():
    assert clean_id_number("11010519491231002X") == ("11010519491231002X", None, None)
    assert id_check_char("11010519491231002") == "X"
    assert clean_uscc("91350100M000100Y43") == ("91350100M000100Y43", None, None)
    assert uscc_check_char("91350100M000100Y4") == "3"


def test_legacy_15_digit_id_converts_to_18():
    assert clean_id_number("110105491231002")[0] == "11010519491231002X"


@pytest.mark.parametrize("value", ["2019-07-01", "2019/7/1", "2019.07.01", "2019年7月1日", "20190701", 43647, 43647.0])
def test_day_dates(value):
    assert clean_date(value) == ("2019-07-01", None, None)


@pytest.mark.parametrize("value", ["2019.07", "201907", "2019年7月"])
def test_month_dates_keep_month_precision(value):
    assert clean_date(value) == ("2019-07", None, None)


@pytest.mark.parametrize("value", ["2019.13.01", "2021年2月30日", "19.7.1", "七月一日", "2019-02-29"])
def test_impossible_or_unreadable_dates(value):
    assert clean_date(value) == (None, "BAD_DATE", None)


def test_uscc_rejects_letters_outside_the_charset():
    for bad in ("91350100M000100I43", "91350100M000100O43", "91350100M0001", "91350100M000100Z43"):
        assert clean_uscc(bad)[1] == "USCC_FORMAT"


def test_org_names_match_across_bracket_and_space_spellings():
    assert org_key("青湖（杭州） 数据服务有限公司") == org_key("青湖(杭州)数据服务有限公司")
    assert org_key("青湖智联科技有限责任公司") != org_key("青湖智联科技有限公司")


def test_vectorized_id_column_agrees_with_the_cell_cleaner():
    rng = random.Random(7)
    values = []
    for _ in range(3000):
        first17 = f"{rng.randint(110000, 659999)}{rng.randint(1890, 2110)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}{rng.randint(0, 999):03d}"
        last = rng.choice([id_check_char(first17) if first17.isdigit() else "0", rng.choice("0123456789X")])
        v = first17 + last
        values.append(rng.choice([v, v.lower(), v[:17], " " + v, v.replace("1", "１"), float(v[:15])]))
    cleaned, issues = _clean_id_column(values)
    expected = [clean_id_number(v) for v in values]
    assert cleaned == [e[0] for e in expected]
    assert issues == [(i, e[1], e[2]) for i, e in enumerate(expected) if e[1]]


def test_column_cleaning_agrees_with_cell_cleaning():
    reg = cleaners(load_config().schema)
    values = ["2019-07-01", "2019.13.01", 43647.0, "", None, "2019.07", "2019-07-01"]
    cleaned, issues = clean_column("date", reg["date"], values)
    assert cleaned == [clean_date(v)[0] for v in values]
    assert issues == [(1, "BAD_DATE", None)]


def test_near_misses_are_another_legal_form_or_one_edit_not_two():
    from pbtool.importer import find_near_misses
    orgs = {org_key(n): n for n in ["杭州华星教育科技有限公司", "青湖智联科技有限公司", "南桥网络科技有限公司"]}
    keys = {org_key(n) for n in ["杭州星云教育科技有限公司",      # two edits from 华星: a different firm
                                 "青湖智联科技有限责任公司",      # another legal form
                                 "南桥网络科枝有限公司",          # one character changed
                                 "南桥网络科技有公司"]}           # one character dropped
    assert find_near_misses(keys, orgs) == {
        org_key("青湖智联科技有限责任公司"): org_key("青湖智联科技有限公司"),
        org_key("南桥网络科枝有限公司"): org_key("南桥网络科技有限公司"),
        org_key("南桥网络科技有公司"): org_key("南桥网络科技有限公司")}


def test_id_birth_check_full_dates_months_and_gaps():
    from builders import make_id
    from pbtool.checks import check_id_birth

    ids = [make_id(1, "19800115"), make_id(2, "19800115"), make_id(3, "19800115"), make_id(4, "19800115"), None,
           make_id(5, "19800115")]
    births = ["1980-01-15", "1980-01", "1980-02", "1980-01-16", "1980-01-15", None]
    found = [(i, code, fld, d["expected"]) for i, code, fld, d in check_id_birth(ids, births)]
    assert found == [(2, "ID_BIRTH_MISMATCH", "birth_date", "1980-01-15"),
                     (3, "ID_BIRTH_MISMATCH", "birth_date", "1980-01-15")]


def test_folding_many_texts_at_once_is_the_per_text_cleaning():
    """folded_texts (used for a column's distinct values) and employer_keys against the per-value
    functions they replace, on texts with every kind of width, space, case and separator trouble."""
    from pbtool.clean import clean_org_name, clean_place, clean_text, folded_texts, org_key, org_keys
    from pbtool.importer import employer_key, employer_keys

    pieces = ["青湖", "（杭州）", "(杭州)", "ＡＢＣ", "abc", "Straße", "ǅ", "ﬁ", "Ⅻ", "①", "\u3000", "\xa0", " ",
              "  ", "\t", "\n", "\x1c", "\u2028", "\u200b", "\u0345", "e\u0301", "，", ",", "、", "；", "/", "·",
              "—", "《", "》", "经理", "有限公司", "", "Ｘ", "ß", "İ", "ŉ"]
    rng = random.Random(12)
    texts = [""] + ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 7))) for _ in range(3000)]
    assert folded_texts(texts) == [clean_text(t)[0] for t in texts] == [clean_org_name(t)[0] for t in texts]
    assert folded_texts(texts, spaces=False) == [clean_place(t)[0] for t in texts]
    names = [t for t in folded_texts(texts)]
    assert employer_keys(names) == [employer_key(n) for n in names]
    assert org_keys([n or "" for n in names]) == [org_key(n or "") for n in names]
