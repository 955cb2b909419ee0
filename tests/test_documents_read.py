"""The documents read as a clerk reads them: every document of the samples rendered to PDF with
LibreOffice and checked in the PDF's text (deadline after the date, one row per organization, the
figures of `pbtool coverage --format json`, no half-width brackets in Chinese, no doubled words, no
placeholder the command did not list); and one store rendered by terminal, ledger, JSON and a
document, every shared figure the same text."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from rich.console import Console
from typer.testing import CliRunner

from pbtool import present, report
from pbtool.cli import app
from pbtool.coverage import compute_coverage
from pbtool.importer import import_files
from pbtool.outputs.ledger_xlsx import write_ledger
from pbtool.outputs.terminal import print_coverage

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
DOC_DATE = dt.date(2026, 11, 29)
HAS_PDF_TOOLS = bool(shutil.which("soffice") and shutil.which("pdftotext"))
runner = CliRunner()

CJK = r"\u3400-\u9fff"
HALF_BRACKET_IN_CHINESE = re.compile(rf"[{CJK}]\(|\)[{CJK}]|\([^()]*[{CJK}][^()]*\)")
DOUBLED = re.compile(rf"([{CJK}]{{2,}})\1|(的|了|在|和|是|为|对|于)\2")
PLACEHOLDER = re.compile(r"【[^】]*】")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("read") / "samples.db")
    for period, spec in EXPECTED["periods"].items():
        import_files([SAMPLES / f for f in spec["files"]], period, db)
    return db


@pytest.fixture(scope="module")
def documents(store, tmp_path_factory) -> dict[str, report.ReportResult]:
    out = tmp_path_factory.mktemp("docs")
    opts = {"doc_date": DOC_DATE, "org_name": "中共青湖区委组织部", "pdf": HAS_PDF_TOOLS}
    return {"annual": report.render_annual(store, 2026, out, **opts),
            "quarterly": report.render_quarterly(store, "2026Q3", out, **opts),
            "notices": report.render_notices(store, "2026Q3", out, **opts)}


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            parts.extend(c.text for c in row.cells)
    return "\n".join(parts)


def pdf_text(path: Path, layout: bool = False) -> str:
    args = ["pdftotext"] + (["-layout"] if layout else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def coverage_json(store: str) -> dict:
    res = runner.invoke(app, ["coverage", "-p", "2026Q3", "--db", store, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


# ------------------------------------------------------------------------------------ every document


def _every(documents) -> list[tuple[Path, report.ReportResult]]:
    return [(f, r) for r in documents.values() for f in r.files]


def test_no_half_width_brackets_in_chinese_and_no_doubled_words(documents):
    for path, _ in _every(documents):
        text = docx_text(path)
        assert not HALF_BRACKET_IN_CHINESE.findall(text), (path.name, HALF_BRACKET_IN_CHINESE.findall(text))
        assert not DOUBLED.findall(text), (path.name, DOUBLED.findall(text))
        assert "组织组织" not in text and "两新组织组织覆盖率" not in text


def test_only_listed_placeholders_remain(documents):
    for path, result in _every(documents):
        for ph in PLACEHOLDER.findall(docx_text(path)):
            if ph == "【待填写】":
                assert result.missing, (path.name, "【待填写】 left but no missing figure listed")
            else:
                assert ph in result.narrative, (path.name, ph)
    # the samples fill every figure: what is left are the paragraphs a person writes, listed
    assert documents["annual"].missing == [] and documents["quarterly"].missing == []
    assert all(n.startswith("【待填写：") for r in documents.values() for n in r.narrative)


def test_wording_fixes(documents):
    q = docx_text(documents["quarterly"].files[0])
    assert "3个街道均存在空白点" in q and "3个街道中，3个街道" not in q
    a = docx_text(documents["annual"].files[0])
    assert "两新组织党组织覆盖率" in a
    for path, _ in _every(documents):
        status_cells = [row.cells[i].text for t in Document(str(path)).tables
                        for i, h in enumerate(c.text for c in t.rows[0].cells) if h == "状态" for row in t.rows[1:]]
        assert all("（" not in s for s in status_cells)      # 持续2个季度, never 持续（2个季/度）


@pytest.mark.skipif(not HAS_PDF_TOOLS, reason="没有安装 LibreOffice（soffice）和 poppler-utils（pdftotext），跳过 PDF 检查")
def test_pdf_notices_deadline_after_date_and_one_row_per_organization(documents, store):
    notices = documents["notices"]
    assert len(notices.pdf_files) == len(notices.files) == 3
    cov = compute_coverage(store, "2026Q3")
    for pdf in notices.pdf_files:
        text = flat(pdf_text(pdf))
        street = pdf.name.split("整改通知书")[0]
        assert f"{street}党工委" in text and "—1—" in text
        m = re.search(r"请于(\d{4})年(\d{1,2})月(\d{1,2})日前完成整改", text)
        assert m, pdf.name
        deadline = dt.date(*map(int, m.groups()))
        assert deadline > DOC_DATE and "2026年11月29日" in text
        assert deadline == DOC_DATE + dt.timedelta(days=30)
        # each organization: one row in the list and one in the feedback form, never two rows
        for p in cov.places:
            if p.street == street and p.unit == "org":
                head = present_name(p.target)[:4]   # the 对象 column wraps after 5 characters
                assert text.count(head) == 2, (pdf.name, p.target, text.count(head))
        assert "整改情况反馈表" in text and "整改措施" in text and "完成时间" in text


def present_name(text: str) -> str:
    return text.replace("(", "（").replace(")", "）")


@pytest.mark.skipif(not HAS_PDF_TOOLS, reason="没有安装 LibreOffice（soffice）和 poppler-utils（pdftotext），跳过 PDF 检查")
def test_pdf_figures_equal_coverage_json(documents, store):
    data = coverage_json(store)
    district = next(r for r in data["rates"] if r["scope"] == "district" and r["kind"] == "合计")
    change = next(r for r in data["rate_changes"] if r["scope"] == "district" and r["kind"] == "合计")
    est = next(e for e in data["estates"] if e["street"] == "")
    q = flat(pdf_text(documents["quarterly"].pdf_files[0]))
    c = data["counts"]
    assert f"共有空白点{c['places']}处（问题{c['problems']}个）" in q
    assert f"党组织覆盖率{district['org_coverage_text']}" in q
    assert f"工作覆盖率{district['work_coverage_text']}" in q
    assert f"小区党组织覆盖率{est['coverage_text']}" in q
    pp = change["org_coverage_pp"]
    assert f"较上季度上升{pp:.1f}个百分点" in q or f"较上季度下降{-pp:.1f}个百分点" in q
    ranking = pdf_text(documents["quarterly"].pdf_files[0], layout=True)
    for r in data["rate_changes"]:
        if r["scope"] == "street" and r["kind"] == "合计":
            line = next(line for line in ranking.splitlines()   # the table's row: it starts with the rank
                        if r["street"] in line and "%" in line and line.split()[0].isdigit())
            assert r["org_coverage_pp_text"] in line.split(), (r["street"], line)
    a = flat(pdf_text(documents["annual"].pdf_files[0]))
    s = data["summary"]
    assert f"党员{s['members']}名，其中正式党员{s['full']}名、预备党员{s['probationary']}名" in a
    assert f"两新组织党组织覆盖率{district['org_coverage_text']}" in a


@pytest.mark.skipif(not HAS_PDF_TOOLS, reason="没有安装 LibreOffice（soffice）和 poppler-utils（pdftotext），跳过 PDF 检查")
def test_pdf_body_lines_hold_28_characters(tmp_path):
    """A paragraph of Chinese text in the shipped template's body style: 28 characters a line."""
    doc = Document(str(ROOT / "templates" / "季度通报.docx"))
    body = doc.element.body
    for el in list(body):
        if el.tag.endswith(("}p", "}tbl")):
            body.remove(el)
    doc.add_paragraph("国" * 70, style="主送机关")
    path = tmp_path / "grid.docx"
    doc.save(str(path))
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)], capture_output=True, timeout=180)
    lines = [line.strip() for line in pdf_text(tmp_path / "grid.pdf").splitlines() if "国" in line]
    assert [len(line) for line in lines] == [28, 28, 14]


def test_template_declares_the_gb_t_9704_grid():
    for name in ("年度总结.docx", "季度通报.docx", "整改通知书.docx"):
        doc = Document(str(ROOT / "templates" / name))
        grid = doc.sections[0]._sectPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}docGrid")
        w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
        assert grid.get(f"{w}type") == "linesAndChars"
        assert grid.get(f"{w}linePitch") == "579"                          # 28.95 pt: 22 lines
        pitch = 16 + int(grid.get(f"{w}charSpace")) / 4096                  # char pitch, pt
        assert 28 * pitch <= 156 / 25.4 * 72 < 29 * pitch                   # 28 characters in 156 mm


# ------------------------------------------------------------------------------------ one set of numbers


def _coverage_outputs(store: str) -> tuple:
    """The coverage result, its terminal text and `pbtool coverage --format json` for one store."""
    result = compute_coverage(store, "2026Q3")
    console = Console(record=True, width=200, highlight=False)
    print_coverage(result, console)
    return result, console.export_text(), coverage_json(store)


def test_terminal_ledger_json_and_bulletin_print_the_same_figures(store, documents, tmp_path):
    result, terminal, data = _coverage_outputs(store)
    ledger = openpyxl.load_workbook(write_ledger(result, tmp_path / "台账.xlsx"))["汇总"]
    ledger_rows = [[c.value for c in row] for row in ledger.iter_rows(min_row=4)]
    bulletin = docx_text(documents["quarterly"].files[0])
    prev = result.previous
    checked = 0
    for street in ["", *result.summary["streets"]]:
        scope = "district" if street == "" else "street"
        r, p = result.rate(scope, street), prev.rate(scope, street)
        rate, change = present.pct_text(r.org_coverage), present.pp_text(r.org_coverage, p.org_coverage)
        # terminal: “22/30 73.3%（+6.7）”
        assert f"{r.org_covered}/{r.total} {rate}（{change}）" in terminal
        # JSON: the text fields, and the number rounded once
        j = next(x for x in data["rates"] if x["scope"] == scope and x["street"] == street and x["kind"] == "合计")
        jc = next(x for x in data["rate_changes"] if x["scope"] == scope and x["street"] == street and x["kind"] == "合计")
        assert j["org_coverage_text"] == rate and jc["org_coverage_pp_text"] == change
        assert jc["org_coverage_pp"] == present.pp_number(r.org_coverage, p.org_coverage)
        # ledger: the number Excel shows as 0.0%, and the change as text
        row = next(x for x in ledger_rows if x[0] == ("全区" if street == "" else "街道") and (x[1] or "") == street
                   and x[3] == "合计")
        assert f"{row[6] * 100:.1f}%" == rate and row[7] == change
        # bulletin: the ranking row (streets) or the prose (district)
        if street:
            line = next(line for line in bulletin.split("\n") if line == street)
            assert rate in bulletin and change in bulletin and line
        else:
            assert f"党组织覆盖率{rate}，较上季度{present.pp_prose(r.org_coverage, p.org_coverage)}" in bulletin
        checked += 1
    assert checked == 4
    c = result.counts()
    assert f"空白点 {c['places']} 处（问题 {c['problems']} 个）" in terminal
    assert data["counts"] == c
    assert f"共有空白点{c['places']}处（问题{c['problems']}个）" in bulletin
    members = present.member_line(result.summary)
    assert members in terminal and ledger["A2"].value == members
    assert "重复 2 人次，已按 1 人计" in members and "类别不详 2" in members


def test_changed_kind_is_neither_fixed_nor_new_in_every_output(store, documents, tmp_path):
    result, terminal, data = _coverage_outputs(store)
    [moved] = [p for p in data["places"] if p["target"] == "杭州西山物流有限公司"]
    assert moved["status"] == "变化" and moved["change"] == "由应联合组建转为应单独组建"
    assert "杭州西山物流有限公司" not in {p["target"] for p in data["closed_places"]}
    assert "由应联合组建转为应单独组建" in terminal
    closed_table = terminal.split("已整改的空白点")[1].split("覆盖率")[0]
    assert "杭州西山物流" not in closed_table
    ws = openpyxl.load_workbook(write_ledger(result, tmp_path / "台账.xlsx"))["西山街道"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2) if row[2].value == "杭州西山物流有限公司"]
    assert len(rows) == 1 and rows[0][10] == "由应联合组建转为应单独组建"


def test_org_with_blank_name_but_known_credit_code_keeps_its_place(store):
    q3 = compute_coverage(store, "2026Q3")
    west, before = q3.rate("street", "西山街道"), q3.previous.rate("street", "西山街道")
    assert west.total == before.total == 10                      # the row is still counted
    assert present.pp_text(west.org_coverage, before.org_coverage) == "0.0"


# ------------------------------------------------------------------------------------ charts


def test_charts_label_values_in_greyscale_without_a_title_and_match_the_tables(store, monkeypatch, tmp_path):
    from matplotlib.colors import to_rgb

    from pbtool.report import charts
    if charts.find_cjk_font() is None:
        pytest.skip("没有安装中文字体（fonts-noto-cjk），图表不会生成")
    figures = []
    monkeypatch.setattr(charts, "_png", lambda fig: figures.append(fig) or b"\x89PNG")
    built = report.context.build_annual(store, 2026, settings=report.ReportSettings(org_name="x"), doc_date=DOC_DATE)
    coverage, members = figures
    for fig in figures:
        ax = fig.axes[0]
        assert ax.get_title() == ""                                   # the caption 图1 … says it
        ticks = ax.get_xticklabels() + ax.get_yticklabels()
        assert ticks and all(t.get_fontsize() >= 10.5 for t in ticks)
        for patch in ax.patches:
            r, g, b = to_rgb(patch.get_facecolor())
            assert r == g == b                                         # prints the same in greyscale
        assert len({(to_rgb(p.get_facecolor()), p.get_hatch()) for p in ax.patches}) >= 2
    labels = [t.get_text() for t in coverage.axes[0].texts]
    result = compute_coverage(store, "2026Q3", compare_with="2026Q2")
    for street in result.summary["streets"]:
        assert present.pct_text(result.rate("street", street).org_coverage).rstrip("%") in labels
    totals = [int(t.get_text()) for t in members.axes[0].texts]
    assert totals == [r["members"] for r in built.context["street_rows"]]
    assert sum(totals) == built.context["street_total"]["members"] == result.summary["members"]


def test_short_tables_stay_on_one_page_and_headers_stay_with_rows(documents):
    for path, _ in _every(documents):
        for t in Document(str(path)).tables:
            header = t.rows[0].cells[0].paragraphs[0]
            assert header.paragraph_format.keep_with_next, path.name
            if len(t.rows) <= 6 and not any(c.text == "整改措施" for c in t.rows[0].cells) \
                    and not any(c.text == "整改建议" for c in t.rows[0].cells):
                assert all(p.paragraph_format.keep_with_next for row in t.rows[:-1] for c in row.cells
                           for p in c.paragraphs), path.name


def test_columns_fit_their_content(documents):
    """No percentage, change or short status is broken over two lines: every such column is at least
    as wide as its longest cell needs (render.fit_columns)."""
    from pbtool.report.render import CELL_PADDING, W, _text_twips
    for path, _ in _every(documents):
        for tbl in Document(str(path)).element.body.iter(f"{W}tbl"):
            grid = [int(c.get(f"{W}w")) for c in tbl.find(f"{W}tblGrid")]
            rows = [[("".join(t.text or "" for t in tc.iter(f"{W}t"))) for tc in tr.iterchildren(f"{W}tc")]
                    for tr in tbl.iterchildren(f"{W}tr")]
            for i, width in enumerate(grid):
                body = [r[i] for r in rows[1:] if i < len(r)]
                if body and all(len(x) <= 7 for x in body):    # numbers, rates, 持续2个季度, short names
                    # the text itself and the cell margins (the extra air is not needed everywhere)
                    need = max(_text_twips(x) for x in body) - CELL_PADDING + 80
                    assert need <= width, (path.name, rows[0][i], body, width)
