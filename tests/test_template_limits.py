"""Issue 10: report templates cannot ask for unbounded work or size (loops, widths, zip parts)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from docx import Document

from pbtool import report
from pbtool.importer import import_files
from pbtool.report import ReportError
from builders import user_template

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("samples") / "samples.db")
    spec = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    for period, p in sorted(spec["periods"].items()):
        import_files([SAMPLES / f for f in p["files"]], period, db)
    return db




@pytest.mark.parametrize("expr, message", [
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "循环次数过多"),
    ("{{ '某'|center(10**9) }}", "宽度过大"),
    ("{{ 'x'.ljust(10**9) }}", "宽度过大"),
    ("{{ '%1000000000s'|format('x') }}", "格式宽度过大"),
    ("{{ '%1000000000s' % 'x' }}", "格式宽度过大"),
    ("{{ '{:>1000000000}'.format('x') }}", "格式宽度过大"),
])
def test_template_caps(samples_db, tmp_path, expr, message):
    tpl = user_template(tmp_path / "big.docx", expr)
    out = tmp_path / "out"
    with pytest.raises(ReportError, match=message):
        report.render_notices(samples_db, "2026Q3", out, street="东湖街道", template=tpl)
    assert not out.exists() or not any(out.glob("*.docx"))


def test_template_with_an_oversize_part_is_refused(samples_db, tmp_path, monkeypatch):
    from pbtool.report import limits
    monkeypatch.setattr(limits, "MAX_PART", 1 << 20)
    tpl = user_template(tmp_path / "img.docx", "{{ street }}")
    with zipfile.ZipFile(tpl, "a") as z:
        z.writestr("word/media/huge.png", b"\0" * (2 << 20))   # 2 MB of zeros: a few KB in the zip
    with pytest.raises(ReportError, match="huge.png"):
        report.render_notices(samples_db, "2026Q3", tmp_path / "out", street="东湖街道", template=tpl)


def test_ordinary_widths_still_render(samples_db, tmp_path):
    tpl = user_template(tmp_path / "ok.docx", "{{ street|center(20) }}{% for i in range(3) %}{{ i }}{% endfor %}")
    r = report.render_notices(samples_db, "2026Q3", tmp_path / "out", street="东湖街道", template=tpl)
    assert r.files and "012" in "".join(p.text for p in Document(str(r.files[0])).paragraphs)
