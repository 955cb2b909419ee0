"""`pbtool template`: the fill-in workbooks on the shipped samples, each validation read back with openpyxl,
the formulas evaluated by LibreOffice, and the round trip a street makes (fill with openpyxl, import as the
next quarter, exactly those changes in the store)."""
from __future__ import annotations

import collections
import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from builders import make_id, make_uscc
from openpyxl.utils import get_column_letter
from typer.testing import CliRunner

from pbtool.clean import clean_id_number, clean_uscc
from pbtool.cli import app
from pbtool.demo import sample_periods
from pbtool.fillin import fillin_spec, make_templates, next_period, read_marker
from pbtool.importer import ImportError_, import_files
from pbtool.outputs.template_xlsx import id_valid_formula, uscc_valid_formula
from pbtool.read import read_file
from pbtool.store import Store

STREETS = ["东湖街道", "南桥街道", "西山街道"]
FORMAT_CODES = {"ID_FORMAT", "ID_CHECKSUM", "ID_NUMBER_CELL", "BAD_DATE", "BAD_VALUE", "USCC_FORMAT", "USCC_CHECKSUM"}
PROVENANCE = {"id", "import_id", "period", "file", "sheet", "row", "extra", "place_source", "district"}
SOFFICE = shutil.which("soffice")
needs_lo = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) 未安装，跳过 LibreOffice 兼容性检查")


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("tpl") / "samples.db")
    for period, files in sample_periods().items():
        import_files(files, period, db)
    return db


@pytest.fixture(scope="module")
def templates(samples_db, tmp_path_factory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("templates")
    files = {}
    for what in ("roster", "lists"):
        r = make_templates(what, "2026Q4", out, samples_db, district="青湖区")
        for f, street in zip(r.files, r.rows):
            files[(what, street)] = f
    return files


def _soffice(src: Path, out_dir: Path, fmt: str = "xlsx") -> Path:
    """Convert with LibreOffice headless in a throw-away profile that recalculates every formula on load."""
    profile = out_dir / "lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">'
        '<value>0</value></prop></item></oor:items>\n', encoding="utf-8")
    conv = out_dir / "converted"
    conv.mkdir(exist_ok=True)
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--calc",
                    "--convert-to", fmt, "--outdir", str(conv), str(src)], check=True, capture_output=True,
                   timeout=240)
    out = conv / (src.stem + "." + fmt)
    assert out.is_file(), f"LibreOffice did not convert {src.name}"
    return out


def _header(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[3] if c.value}


def _validations(ws) -> dict[str, object]:
    """Column letter -> the data validation of its data rows (the header cell's prompt-only one aside)."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        ref = str(dv.sqref)
        if ref.endswith("3") and ":" not in ref:
            continue
        dv.errorStyle = dv.errorStyle or "stop"   # absent = stop, the OOXML default
        out["".join(ch for ch in ref.split(":")[0] if ch.isalpha())] = dv
    return out


def _dv_key(dv) -> tuple:
    """A validation as the street meets it: type, range, list source or bound, stop or warning, prompt."""
    if not dv.type:  # a prompt only (LibreOffice writes 0 as its unused bounds)
        return ("any", str(dv.sqref), dv.promptTitle or "", dv.prompt or "")
    op = dv.operator or "between"
    upper = dv.formula2 or "" if dv.type != "list" and op in ("between", "notBetween") else ""
    return (dv.type, str(dv.sqref), (dv.formula1 or "").replace("'", ""), upper,
            dv.operator or "between", dv.errorStyle or "stop", dv.promptTitle or "", dv.prompt or "")


def _name_values(wb, name: str) -> list[str]:
    dest = list(wb.defined_names[name].destinations)
    assert len(dest) == 1
    sheet, ref = dest[0]
    cells = wb[sheet][ref.replace("$", "")]
    return [c[0].value for c in cells if c[0].value not in (None, "")]


def _stored(db: str, kind: str, period: str, street: str | None = None) -> list[dict]:
    store = Store.open(db)
    try:
        return [r for r in store.rows(kind, period) if street is None or r["street"] == street]
    finally:
        store.close()


def _comparable(rows: list[dict]) -> collections.Counter:
    return collections.Counter(tuple(sorted((k, v) for k, v in r.items() if k not in PROVENANCE | {"has_error"}))
                               for r in rows)


# ------------------------------------------------------------------------------------ what is written


def test_one_roster_and_one_lists_workbook_per_street_with_marker_and_title(templates, samples_db):
    assert sorted(templates) == sorted((w, s) for w in ("roster", "lists") for s in STREETS)
    for (what, street), path in templates.items():
        marker = read_marker(path)
        assert (marker.kind, marker.street, marker.district, marker.period, marker.source_period, marker.version) == \
            (what, street, "青湖区", "2026Q4", "2026Q3", fillin_spec()["version"])
        wb = openpyxl.load_workbook(path)
        props = {p.name: p.value for p in wb.custom_doc_props}
        assert props["pbtool_street"] == street and props["pbtool_period"] == "2026Q4"
        assert wb.defined_names["pbtool_template"].attr_text.startswith(f'"{what}|1|{street}|青湖区|2026Q4')
        assert wb.sheetnames[0] == "填表说明"
        for sheet in ([fillin_spec()["roster"]["sheet"]] if what == "roster" else ["社区", "小区", "两新组织", "驻区单位"]):
            title = wb[sheet]["A1"].value
            assert title.startswith(f"青湖区{street}") and title.endswith("（2026年第四季度）")


def test_roster_is_prefilled_with_the_streets_members_of_the_latest_period(templates, samples_db):
    for street in STREETS:
        ws = openpyxl.load_workbook(templates[("roster", street)])["花名册"]
        h = _header(ws)
        ids = [ws.cell(r, h["公民身份号码"]).value for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value
               or ws.cell(r, h["公民身份号码"]).value]
        stored = _stored(samples_db, "roster", "2026Q3", street)
        assert len(ids) == len(stored)
        assert sorted(i for i in ids if i) == sorted(r["id_number"] for r in stored if r["id_number"])
        assert all(isinstance(i, str) for i in ids if i)  # IDs are text cells, never numbers


def test_category_gender_are_strict_drop_downs(templates):
    ws = openpyxl.load_workbook(templates[("roster", "东湖街道")])["花名册"]
    h, dvs = _header(ws), _validations(ws)
    cat = dvs[get_column_letter(h["人员类别"])]
    assert (cat.type, cat.formula1, cat.errorStyle, cat.showErrorMessage) == ("list", '"正式党员,预备党员"', "stop", True)
    sex = dvs[get_column_letter(h["性别"])]
    assert (sex.type, sex.formula1, sex.errorStyle) == ("list", '"男,女"', "stop")
    n = sum(1 for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value or ws.cell(r, 4).value)
    letter = get_column_letter(h["人员类别"])
    assert str(cat.sqref) == f"{letter}4:{letter}{3 + n + fillin_spec()['extra_rows']}"


def test_education_branch_employer_lists_come_from_the_street(templates, samples_db):
    wb = openpyxl.load_workbook(templates[("roster", "西山街道")])
    ws = wb["花名册"]
    h, dvs = _header(ws), _validations(ws)
    members = _stored(samples_db, "roster", "2026Q3", "西山街道")
    edu = dvs[get_column_letter(h["学历"])]
    assert (edu.formula1, edu.errorStyle) == ("pb_education", "warning")
    assert set(fillin_spec()["education"]) <= set(_name_values(wb, "pb_education"))
    assert {r["education"] for r in members if r["education"]} <= set(_name_values(wb, "pb_education"))
    br = dvs[get_column_letter(h["所在党支部"])]
    assert (br.formula1, br.errorStyle) == ("pb_branches", "warning")
    assert sorted(_name_values(wb, "pb_branches")) == sorted({r["branch"] for r in members if r["branch"]})
    emp = dvs[get_column_letter(h["工作单位"])]
    assert (emp.formula1, emp.errorStyle) == ("pb_orgs", "warning")   # free text still allowed, with a warning
    orgs = _stored(samples_db, "org", "2026Q3", "西山街道")
    assert _name_values(wb, "pb_orgs") == [r["name"] for r in sorted(orgs, key=lambda r: r["row"]) if r["name"]]
    assert wb["下拉列表"].sheet_state == "hidden"


def test_community_and_dependent_estate_lists(templates, samples_db):
    wb = openpyxl.load_workbook(templates[("roster", "南桥街道")])
    ws = wb["花名册"]
    h, dvs = _header(ws), _validations(ws)
    comm = dvs[get_column_letter(h["所属社区"])]
    assert (comm.formula1, comm.errorStyle) == ("pb_communities", "stop")
    communities = _name_values(wb, "pb_communities")
    stored = _stored(samples_db, "community", "2026Q3", "南桥街道")
    assert communities == [r["name"] for r in sorted(stored, key=lambda r: r["row"])]
    est = dvs[get_column_letter(h["居住小区"])]
    col = get_column_letter(h["所属社区"])
    assert est.formula1 == f'INDIRECT("pb_c"&MATCH(${col}4,pb_communities,0))'
    estates = _stored(samples_db, "estate", "2026Q3", "南桥街道")
    for i, c in enumerate(communities, 1):
        assert _name_values(wb, f"pb_c{i}") == [e["name"] for e in sorted(estates, key=lambda r: r["row"])
                                                if e["community"] == c]


def test_id_column_is_text_with_length_check_and_check_digit_formatting(templates):
    ws = openpyxl.load_workbook(templates[("roster", "东湖街道")])["花名册"]
    h, dvs = _header(ws), _validations(ws)
    letter = get_column_letter(h["公民身份号码"])
    dv = dvs[letter]
    assert (dv.type, dv.operator, dv.formula1, dv.errorStyle) == ("textLength", "equal", "18", "stop")
    assert ws.column_dimensions[letter].number_format == "@" or ws[f"{letter}4"].number_format == "@"
    assert ws[f"{letter}4"].number_format == "@" and ws[f"{letter}2000"].number_format in ("@", "General")
    rules = [r for cf in ws.conditional_formatting for r in cf.rules if letter in str(cf.sqref)]
    assert len(rules) == 1 and rules[0].type == "expression"
    assert rules[0].formula[0] == f'AND(${letter}4<>"",NOT({id_valid_formula(f"${letter}4")}))'


def test_dates_validated_as_dates_and_phones_as_text(templates):
    ws = openpyxl.load_workbook(templates[("roster", "东湖街道")])["花名册"]
    h, dvs = _header(ws), _validations(ws)
    for title in ("出生日期", "入党时间", "转正时间"):
        dv = dvs[get_column_letter(h[title])]
        assert (dv.type, dv.operator or "between", dv.errorStyle) == ("date", "between", "warning")
    cells = [ws.cell(r, h["入党时间"]) for r in range(4, 50) if ws.cell(r, h["入党时间"]).value]
    assert any(isinstance(c.value, dt.datetime) and c.number_format == "yyyy-mm-dd" for c in cells)
    # a month-only date stays as written ('2013-12'): never given an invented day
    assert any(isinstance(c.value, str) and len(c.value) == 7 for c in cells)
    letter = get_column_letter(h["联系电话"])
    assert dvs[letter].type == "textLength" and ws[f"{letter}4"].number_format == "@"
    assert all(isinstance(ws.cell(r, h["联系电话"]).value, str) for r in range(4, 20) if ws.cell(r, h["联系电话"]).value)


def test_every_header_cell_has_an_input_message(templates):
    for key in (("roster", "东湖街道"), ("lists", "东湖街道")):
        wb = openpyxl.load_workbook(templates[key])
        for ws in wb.worksheets[1:]:
            if ws.sheet_state != "visible":
                continue
            prompts = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation if dv.promptTitle}
            for title, col in _header(ws).items():
                dv = prompts[f"{get_column_letter(col)}3"]
                assert dv.showInputMessage and dv.promptTitle == title[:32] and len(dv.prompt) > 4


def test_header_frozen_and_protected_without_password_data_unlocked(templates):
    for key in (("roster", "东湖街道"), ("lists", "东湖街道")):
        wb = openpyxl.load_workbook(templates[key])
        for ws in wb.worksheets[1:]:
            if ws.sheet_state != "visible":
                continue
            assert ws.freeze_panes == "B4"
            p = ws.protection
            assert p.sheet and not p.password
            assert p.insertRows is False and p.deleteRows is False and p.sort is False and p.autoFilter is False
            assert ws["A3"].protection.locked and ws["A1"].protection.locked
            assert ws["A4"].protection.locked is False and ws["B5"].protection.locked is False
            assert ws.column_dimensions["A"].width > 0 and not ws.column_dimensions["A"].hidden


def test_previous_problems_are_highlighted_with_a_comment(templates):
    ws = openpyxl.load_workbook(templates[("roster", "东湖街道")])["花名册"]
    h = _header(ws)
    # 2026Q3 东湖 row with 入党时间 2019.13.01 (BAD_DATE): left empty, highlighted, explained
    comments = [(c.row, c.column, c.comment.text) for row in ws.iter_rows(min_row=4) for c in row if c.comment]
    bad_date = [x for x in comments if "日期无法识别" in x[2]]
    assert len(bad_date) == 1 and bad_date[0][1] == h["入党时间"]
    cell = ws.cell(bad_date[0][0], h["入党时间"])
    assert cell.value is None and cell.fill.fgColor.rgb.endswith("FFEB9C")
    assert any("身份证号以数字格式保存" in t for _, _, t in comments)


def test_lists_template_drop_downs_and_credit_code_check(templates, samples_db):
    wb = openpyxl.load_workbook(templates[("lists", "西山街道")])
    ws = wb["两新组织"]
    h, dvs = _header(ws), _validations(ws)
    assert (dvs[get_column_letter(h["组织类型"])].formula1, dvs[get_column_letter(h["组织类型"])].errorStyle) == \
        ('"非公企业,社会组织"', "stop")
    assert dvs[get_column_letter(h["党组织建立情况"])].formula1 == '"单独组建,联合组建,挂靠,未建立"'
    assert dvs[get_column_letter(h["所在社区"])].formula1 == "pb_community_names"
    letter = get_column_letter(h["统一社会信用代码"])
    assert (dvs[letter].type, dvs[letter].formula1) == ("textLength", "18")
    rules = [r for cf in ws.conditional_formatting for r in cf.rules if letter in str(cf.sqref)]
    assert rules[0].formula[0] == f'AND(${letter}4<>"",NOT({uscc_valid_formula(f"${letter}4")}))'
    assert dvs[get_column_letter(h["从业人员数"])].type == "whole"
    # communities for the other lists come from the 社区 sheet as the street edits it
    dest = next(iter(wb.defined_names["pb_community_names"].destinations))
    assert dest[0] == "社区" and dest[1].startswith("$A$4:$A$")
    assert _header(wb["驻区单位"]) and _validations(wb["驻区单位"])[get_column_letter(_header(wb["驻区单位"])["是否签订共建协议"])].formula1 == '"是,否"'
    stored = _stored(samples_db, "org", "2026Q3", "西山街道")
    assert ws.max_row >= 3 + len(stored)


# ------------------------------------------------------------------------------------ LibreOffice


@needs_lo
def test_check_digit_formulas_agree_with_pbtool_in_libreoffice(tmp_path):
    import xlsxwriter
    good = [make_id(n, birth=f"19{50 + n % 40}0{1 + n % 9}1{n % 9}", sex="男" if n % 2 else "女") for n in range(1, 30)]
    ids = good + ["11010519491231002X", "11010519491231002x", "110105194912310021", "11010519491231002",
                  "1101051949123100A1", "１１０１０５１９４９１２３１００２Ｘ", "330106195110043180"]
    usccs = [make_uscc(n) for n in range(1, 20)] + ["91350100M000100Y43", "91350100m000100y43", "91330106RXW82KAB00",
                                                     "5233010673OQG7ADA4", "91350100M000100Y4"]
    path = tmp_path / "f.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("t")
    for r, v in enumerate(ids):
        ws.write_string(r, 0, v)
        ws.write_formula(r, 1, "=" + id_valid_formula(f"$A{r + 1}"))
    for r, v in enumerate(usccs):
        ws.write_string(r, 2, v)
        ws.write_formula(r, 3, "=" + uscc_valid_formula(f"$C{r + 1}"))
    wb.close()
    got = openpyxl.load_workbook(_soffice(path, tmp_path), data_only=True)["t"]
    for r, v in enumerate(ids, 1):
        ok = clean_id_number(v)[1] is None and len(v) == 18 and v.isascii()
        assert got.cell(r, 2).value is ok, v
    for r, v in enumerate(usccs, 1):
        assert got.cell(r, 4).value is (clean_uscc(v)[1] is None and len(v) == 18), v


@needs_lo
def test_dependent_estate_list_resolves_in_libreoffice(templates, samples_db, tmp_path):
    """Each pre-filled estate is found in the list LibreOffice computes from the row's community with the
    validation's own formula (an unknown estate such as 湖光小区 is not)."""
    path = tmp_path / "roster.xlsx"
    shutil.copy(templates[("roster", "东湖街道")], path)
    wb = openpyxl.load_workbook(path)
    ws = wb["花名册"]
    h = _header(ws)
    formula = _validations(ws)[get_column_letter(h["居住小区"])].formula1
    comm = get_column_letter(h["所属社区"])
    est = get_column_letter(h["居住小区"])
    probe = ws.max_column + 2
    rows = [r for r in range(4, ws.max_row + 1) if ws[f"{est}{r}"].value]
    for r in rows:
        ws.cell(r, probe, "=COUNTIF(" + formula.replace(f"${comm}4", f"${comm}{r}") + f",{est}{r})")
    wb.save(path)
    got = openpyxl.load_workbook(_soffice(path, tmp_path), data_only=True)["花名册"]
    estates = {(e["community"], e["name"]) for e in _stored(samples_db, "estate", "2026Q3", "东湖街道")}
    for r in rows:
        expected = 1 if (ws[f"{comm}{r}"].value, ws[f"{est}{r}"].value) in estates else 0
        assert got.cell(r, probe).value == expected, (r, ws[f"{comm}{r}"].value, ws[f"{est}{r}"].value)
    assert any(got.cell(r, probe).value == 0 for r in rows)  # 湖光小区 is not in 朝阳社区's list


@needs_lo
@pytest.mark.parametrize("what", ["roster", "lists"])
def test_libreoffice_keeps_validations_protection_and_marker(templates, tmp_path, samples_db, what):
    src = templates[(what, "东湖街道")]
    out = _soffice(src, tmp_path)
    a, b = openpyxl.load_workbook(src), openpyxl.load_workbook(out)
    assert read_marker(out) == read_marker(src)
    for ws in a.worksheets:
        wb_ = b[ws.title]
        assert wb_.sheet_state == ws.sheet_state
        assert bool(wb_.protection.sheet) == bool(ws.protection.sheet)
        before = sorted(map(_dv_key, ws.data_validations.dataValidation))
        after = sorted(map(_dv_key, wb_.data_validations.dataValidation))
        assert after == before, ws.title
        cf_a = sorted(str(cf.sqref) for cf in ws.conditional_formatting)
        assert sorted(str(cf.sqref) for cf in wb_.conditional_formatting) == cf_a
    assert set(a.defined_names) <= set(b.defined_names)
    # and the file LibreOffice saved still imports through its marker
    db = str(tmp_path / "lo.db")
    shutil.copy(samples_db, db)
    files = [templates[("lists", "东湖街道")], out] if what == "roster" else [out]
    result = import_files(files, "2026Q4", db)
    assert not [p for p in result.problems if p.code == "UNKNOWN_COLUMN" or p.code in FORMAT_CODES]


@needs_lo
def test_template_saved_by_libreoffice_as_ods_keeps_its_marker_and_imports(templates, samples_db, tmp_path):
    ods = _soffice(templates[("roster", "西山街道")], tmp_path, "ods")
    assert read_marker(ods) == read_marker(templates[("roster", "西山街道")])
    db = str(tmp_path / "s.db")
    shutil.copy(samples_db, db)
    result = import_files([templates[("lists", "西山街道")], ods], "2026Q4", db)
    assert not [p for p in result.problems if p.code == "UNKNOWN_COLUMN" or p.code in FORMAT_CODES]
    assert _comparable(_stored(db, "roster", "2026Q4")) == _comparable(_stored(db, "roster", "2026Q3", "西山街道"))


# ------------------------------------------------------------------------------------ the round trip


def test_round_trip_a_street_fills_its_templates_and_the_store_holds_exactly_those_changes(templates, samples_db,
                                                                                              tmp_path):
    db = str(tmp_path / "q4.db")
    shutil.copy(samples_db, db)
    filled = tmp_path / "东湖街道党员花名册（2026年第四季度）.xlsx"
    shutil.copy(templates[("roster", "东湖街道")], filled)
    wb = openpyxl.load_workbook(filled)
    ws = wb["花名册"]
    h = _header(ws)
    col = {title: get_column_letter(c) for title, c in h.items()}
    dvs = _validations(ws)
    data_rows = [r for r in range(4, ws.max_row + 1) if ws[f"{col['姓名']}{r}"].value or ws[f"{col['公民身份号码']}{r}"].value]
    by_id = {ws[f"{col['公民身份号码']}{r}"].value: r for r in data_rows}
    expected = {r["id_number"]: dict(r) for r in _stored(db, "roster", "2026Q3", "东湖街道") if r["id_number"]}
    clean_ids = [i for i in by_id if i and not ws[f"{col['姓名']}{by_id[i]}"].comment
                 and not any(ws[f"{c}{by_id[i]}"].comment for c in col.values())]
    # 1. a category changed through the drop-down's own values
    choices = dvs[col["人员类别"]].formula1.strip('"').split(",")
    who = next(i for i in clean_ids if ws[f"{col['人员类别']}{by_id[i]}"].value == choices[0])
    ws[f"{col['人员类别']}{by_id[who]}"] = choices[1]
    expected[who]["category"] = "预备"
    # 2. one member moved to another community's estate, picked from that community's list
    communities = _name_values(wb, "pb_communities")
    mover = next(i for i in clean_ids if i != who and ws[f"{col['所属社区']}{by_id[i]}"].value == communities[0])
    target = communities[1]
    new_estate = _name_values(wb, f"pb_c{communities.index(target) + 1}")[-1]
    ws[f"{col['所属社区']}{by_id[mover]}"] = target
    ws[f"{col['居住小区']}{by_id[mover]}"] = new_estate
    expected[mover].update(community=target, estate=new_estate)
    # 3. one member deleted (moved away)
    gone = next(i for i in clean_ids if i not in (who, mover))
    ws.delete_rows(by_id[gone])
    del expected[gone]
    # 4. two members added under the last row, values from the drop-downs
    last = max(r for r in range(4, ws.max_row + 1) if ws[f"{col['姓名']}{r}"].value)
    branches = _name_values(wb, "pb_branches")
    estates0 = _name_values(wb, "pb_c1")
    for k, (n, sex) in enumerate(((901, "男"), (902, "女")), 1):
        r = last + k
        idn = make_id(n, birth="19900315", sex=sex, area="330106")
        values = {"姓名": f"新党员{k}", "性别": sex, "民族": "汉族", "公民身份号码": idn,
                  "出生日期": dt.datetime(1990, 3, 15), "学历": "大学本科", "入党时间": dt.datetime(2026, 7, 1),
                  "人员类别": choices[1], "所在党支部": branches[0], "工作单位": "青湖区第一中学",
                  "所属社区": communities[0], "居住小区": estates0[0], "联系电话": f"1380013{n:04d}"}
        for title, v in values.items():
            ws[f"{col[title]}{r}"] = v
        expected[idn] = {**{f: None for f in next(iter(expected.values()))}, "street": "东湖街道", "name": f"新党员{k}",
                         "gender": sex, "ethnicity": "汉族", "id_number": idn, "birth_date": "1990-03-15",
                         "education": "大学本科", "join_date": "2026-07-01", "category": "预备",
                         "branch": branches[0], "employer": "青湖区第一中学", "employer_key": "青湖区第一中学",
                         "community": communities[0], "estate": estates0[0], "phone": f"1380013{n:04d}",
                         "place_status": "ok", "has_error": False}
    wb.save(filled)
    assert read_marker(filled) is not None   # openpyxl keeps the marker, as Excel and WPS do

    files = [templates[("lists", s)] for s in STREETS] + [filled] + [templates[("roster", s)] for s in STREETS[1:]]
    result = import_files(files, "2026Q4", db)
    assert not [p for p in result.problems if p.code == "UNKNOWN_COLUMN"]
    assert not [p for p in result.problems if p.code in FORMAT_CODES]
    assert {s.street_source for s in result.sheets} == {"标题行"}

    q4 = {r["id_number"]: r for r in _stored(db, "roster", "2026Q4", "东湖街道") if r["id_number"]}
    assert set(q4) == set(expected)
    for idn, row in q4.items():
        want = {k: v for k, v in expected[idn].items() if k not in PROVENANCE | {"has_error"}}
        got = {k: v for k, v in row.items() if k not in PROVENANCE | {"has_error"}}
        assert got == want, idn
    # members without a usable ID (unrecoverable in 2026Q3) come back as they were
    assert _comparable([r for r in _stored(db, "roster", "2026Q4", "东湖街道") if not r["id_number"]]) == \
        _comparable([r for r in _stored(db, "roster", "2026Q3", "东湖街道") if not r["id_number"]])
    # the other streets and every list: unchanged, row for row
    for kind in ("community", "estate", "org", "unit"):
        assert _comparable(_stored(db, kind, "2026Q4")) == _comparable(_stored(db, kind, "2026Q3")), kind
    for street in STREETS[1:]:
        assert _comparable(_stored(db, "roster", "2026Q4", street)) == \
            _comparable(_stored(db, "roster", "2026Q3", street)), street


# ------------------------------------------------------------------------------------ recognition and refusal


def test_template_imported_as_another_period_is_refused_and_store_unchanged(templates, samples_db, tmp_path):
    db = str(tmp_path / "s.db")
    shutil.copy(samples_db, db)
    before = len(_stored(db, "roster", "2026Q3"))
    with pytest.raises(ImportError_, match="东湖街道2026Q4期的党员花名册填报模板，不能作为 2026Q3 导入"):
        import_files([templates[("roster", "东湖街道")]], "2026Q3", db)
    assert len(_stored(db, "roster", "2026Q3")) == before


def test_template_imported_for_another_street_is_refused(templates, samples_db, tmp_path):
    db = str(tmp_path / "s.db")
    shutil.copy(samples_db, db)
    r = CliRunner().invoke(app, ["import", str(templates[("roster", "东湖街道")]), "--period", "2026Q4",
                                 "--street", "西山街道", "--db", db])
    assert r.exit_code == 2
    assert "东湖街道的党员花名册填报模板，与 --street 西山街道 不一致" in r.output.replace("\n", "")
    assert _stored(db, "roster", "2026Q4") == []


def test_template_whose_title_names_another_street_is_refused(templates, tmp_path):
    path = tmp_path / "copy.xlsx"
    shutil.copy(templates[("roster", "东湖街道")], path)
    wb = openpyxl.load_workbook(path)
    wb["花名册"]["A1"] = "青湖区西山街道党员花名册（2026年第四季度）"
    wb.save(path)
    with pytest.raises(ImportError_, match="标题写的是西山街道，而模板标记是东湖街道"):
        import_files([path], "2026Q4", str(tmp_path / "x.db"), dry_run=True)


def test_cleared_title_row_takes_the_street_from_the_marker(templates, samples_db, tmp_path):
    path = tmp_path / "无标题.xlsx"
    shutil.copy(templates[("roster", "南桥街道")], path)
    wb = openpyxl.load_workbook(path)
    wb["花名册"]["A1"] = None
    wb["花名册"]["A2"] = None
    wb.save(path)
    db = str(tmp_path / "s.db")
    shutil.copy(samples_db, db)
    result = import_files([templates[("lists", "南桥街道")], path], "2026Q4", db)
    roster = next(s for s in result.sheets if s.kind == "roster")
    assert roster.street == "南桥街道" and roster.rows == 105
    assert {r["street"] for r in _stored(db, "roster", "2026Q4")} == {"南桥街道"}


def test_marker_read_from_defined_name_when_document_properties_are_gone(templates, tmp_path):
    src = templates[("roster", "南桥街道")]
    path = tmp_path / "no-props.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            if item.filename != "docProps/custom.xml":
                zout.writestr(item, zin.read(item.filename))
    assert read_marker(path) == read_marker(src)
    assert read_marker(read_file(path).path).street == "南桥街道"


def test_a_column_added_by_the_street_is_reported_not_guessed(templates, samples_db, tmp_path):
    path = tmp_path / "南桥.xlsx"
    shutil.copy(templates[("roster", "南桥街道")], path)
    wb = openpyxl.load_workbook(path)
    ws = wb["花名册"]
    ws.protection.sheet = False
    c = ws.max_column + 1
    ws.cell(3, c, "籍贯")
    ws.cell(4, c, "浙江杭州")
    wb.save(path)
    db = str(tmp_path / "s.db")
    shutil.copy(samples_db, db)
    result = import_files([templates[("lists", "南桥街道")], path], "2026Q4", db)
    unknown = [p for p in result.problems if p.code == "UNKNOWN_COLUMN"]
    assert [(p.column, p.row) for p in unknown] == [("籍贯", 3)]


# ------------------------------------------------------------------------------------ CLI and demo


def test_cli_template_roster_and_lists(samples_db, tmp_path):
    class runner:  # output with the terminal's line wrapping undone
        @staticmethod
        def invoke(*args):
            r = CliRunner().invoke(*args)
            r.output_ = "".join(r.output.split())
            return r

    out = tmp_path / "模板"
    r = runner.invoke(app, ["template", "roster", "--period", "2026Q4", "--street", "东湖街道", "--db", samples_db,
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "东湖街道：花名册103行" in r.output_
    assert [p.name for p in out.iterdir()] == ["东湖街道党员花名册填报模板（2026年第四季度）.xlsx"]
    r = runner.invoke(app, ["template", "lists", "--period", "2026Q4", "--db", samples_db, "--out", str(out)])
    assert r.exit_code == 0 and "社区4行，小区11行，两新组织10行，驻区单位3行" in r.output_
    r = runner.invoke(app, ["template", "roster", "--period", "2026Q4", "--street", "北山街道", "--db", samples_db])
    assert r.exit_code == 2 and "没有“北山街道”" in r.output_ and "东湖街道、南桥街道、西山街道" in r.output_
    r = runner.invoke(app, ["template", "roster", "--period", "2026Q4", "--db", str(tmp_path / "none.db")])
    assert r.exit_code == 2 and "不存在" in r.output_
    assert not (tmp_path / "none.db").exists()


def test_unwritable_output_is_a_chinese_message(samples_db, tmp_path):
    out = tmp_path / "模板"
    out.mkdir()
    (out / "东湖街道党员花名册填报模板（2026年第四季度）.xlsx").mkdir()   # a folder where the file should go
    r = CliRunner().invoke(app, ["template", "roster", "--period", "2026Q4", "--street", "东湖街道", "--db", samples_db,
                                 "--out", str(out)])
    assert r.exit_code == 2 and "无法写入" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["template", "roster", "--period", "2026Q4", "--db", samples_db,
                                 "--out", str(out / "东湖街道党员花名册填报模板（2026年第四季度）.xlsx" / "x")])
    assert r.exit_code == 0  # a missing folder is created


def test_next_period():
    assert next_period("2026Q3") == "2026Q4" and next_period("2026Q4") == "2027Q1"


def test_demo_writes_next_quarters_templates(tmp_path):
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in (tmp_path / "demo" / "填报模板").iterdir())
    assert len(files) == 6 and all("2026年第四季度" in f for f in files)
    assert all(read_marker(tmp_path / "demo" / "填报模板" / f).period == "2026Q4" for f in files)


def test_a_street_without_lists_gets_free_text_columns_and_text_never_becomes_a_formula(tmp_path):
    from builders import ROSTER_HEADER, member, write_xlsx

    db = str(tmp_path / "s.db")
    rows = [member(1, name="=HYPERLINK(\"http://x\",\"点\")", branch="+1"), member(2, branch="第一党支部")]
    import_files([write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)})], "2026Q3", db)
    r = make_templates("roster", "2026Q4", tmp_path / "out", db)
    assert r.rows == {"东湖街道": {"roster": 2}} and r.district == ""
    wb = openpyxl.load_workbook(r.files[0])
    ws = wb["花名册"]
    h, dvs = _header(ws), _validations(ws)
    assert ws.cell(4, h["姓名"]).value == '=HYPERLINK("http://x","点")' and ws.cell(4, h["姓名"]).data_type == "s"
    assert ws.cell(4, h["所在党支部"]).data_type == "s"
    # no community or estate list stored: those columns are free text, checked at import
    assert get_column_letter(h["所属社区"]) not in dvs and get_column_letter(h["居住小区"]) not in dvs
    assert "pb_communities" not in wb.defined_names
    assert sorted(_name_values(wb, "pb_branches")) == ["+1", "第一党支部"]


def test_roster_prefilled_from_the_last_period_with_members(templates, samples_db, tmp_path):
    db = str(tmp_path / "s.db")
    shutil.copy(samples_db, db)
    import_files([templates[("lists", "东湖街道")]], "2026Q4", db)   # the lists came back first
    r = make_templates("roster", "2026Q4", tmp_path / "out", db, street="东湖街道")
    assert r.source_period == "2026Q3" and r.rows == {"东湖街道": {"roster": 103}}
    assert "下拉列表取自 2026Q4 已导入的资源清单" in " ".join(r.notes)
    assert make_templates("lists", "2026Q4", tmp_path / "out", db, street="东湖街道").source_period == "2026Q4"


def test_no_stored_period_up_to_the_target_is_refused(samples_db, tmp_path):
    from pbtool.fillin import TemplateError
    with pytest.raises(TemplateError, match="没有 2026Q1 或更早期别的数据"):
        make_templates("roster", "2026Q1", tmp_path, samples_db)


def test_lists_round_trip_new_estate_and_organization_land_exactly(templates, samples_db, tmp_path):
    db = str(tmp_path / "s.db")
    shutil.copy(samples_db, db)
    path = tmp_path / "东湖街道资源清单.xlsx"
    shutil.copy(templates[("lists", "东湖街道")], path)
    wb = openpyxl.load_workbook(path)
    est, org = wb["小区"], wb["两新组织"]
    he, ho = _header(est), _header(org)
    community = _name_values(wb, "pb_community_names")[2]          # chosen from the drop-down's own range
    r = est.max_row + 1
    est.cell(r, he["所属社区"], community)
    est.cell(r, he["小区名称"], "新建小区")
    est.cell(r, he["户数"], 300)
    r = org.max_row + 1
    status = _validations(org)[get_column_letter(ho["党组织建立情况"])].formula1.strip('"').split(",")[1]
    values = {"单位名称": "青湖新设科技有限公司", "统一社会信用代码": make_uscc(4242), "组织类型": "非公企业",
              "所在社区": community, "从业人员数": 12, "党组织建立情况": status, "党组织名称": "某联合党支部"}
    for title, v in values.items():
        org.cell(r, ho[title], v)
    wb.save(path)
    result = import_files([path], "2026Q4", db)
    assert not [p for p in result.problems if p.code == "UNKNOWN_COLUMN" or p.code in FORMAT_CODES]
    q3, q4 = (_stored(db, k, p, "东湖街道") for k, p in (("estate", "2026Q3"), ("estate", "2026Q4")))
    added = _comparable(q4) - _comparable(q3)
    assert [dict(x) for x in added] == [{"community": community, "name": "新建小区", "households": 300,
                                         "party_org": None, "org_built": None, "street": "东湖街道"}]
    assert not _comparable(q3) - _comparable(q4)
    q4_orgs = {o["name"]: o for o in _stored(db, "org", "2026Q4", "东湖街道")}
    new = q4_orgs["青湖新设科技有限公司"]
    assert (new["uscc"], new["org_type"], new["community"], new["employees"], new["org_status"]) == \
        (make_uscc(4242), "非公企业", community, 12, "联合组建")
    assert len(q4_orgs) == len(_stored(db, "org", "2026Q3", "东湖街道")) + 1
