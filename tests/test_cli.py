"""The command line through typer's CliRunner: Chinese help, masking, exit codes, problem workbook."""
from __future__ import annotations

import datetime as dt

import json
import re
from pathlib import Path

import openpyxl
import pytest
from builders import ROSTER_HEADER, make_id, member, write_xlsx
from conftest import ENGINES, store_url
from typer.testing import CliRunner

from pbtool.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [["import"], ["inspect"], ["coverage"], ["demo"], ["report"], ["report", "annual"], ["report", "quarterly"],
            ["report", "notices"], ["report", "vars"], ["template"], ["template", "roster"], ["template", "lists"],
            ["history"], ["undo"]]


def _commands() -> list[list[str]]:
    names = {c.name for c in app.registered_commands}
    return [c for c in COMMANDS if c[0] in names or c[0] in {g.name for g in app.registered_groups}]


@pytest.mark.parametrize("cmd", _commands(), ids=lambda c: " ".join(c))
def test_help_is_chinese_with_an_example(cmd):
    res = runner.invoke(app, [*cmd, "--help"])
    assert res.exit_code == 0
    assert re.search(r"[\u4e00-\u9fff]", res.output)
    assert "用法" in res.output and "Show this message" not in res.output
    # no Python type names or English usage words: <list[Path]> is <文件>, a flag shows no type
    assert not re.search(r"<(list\[|str>|bool>|int>|path>)|\[OPTIONS\]|\{\w+\}", res.output), res.output
    if len(cmd) > 1 or cmd[0] != "report":
        assert "示例" in res.output


def test_readme_documents_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for cmd in _commands():
        res = runner.invoke(app, [*cmd, "--help"])
        first = next(line.strip() for line in res.output.splitlines()[3:] if line.strip())
        assert f"pbtool {' '.join(cmd)}" in readme
        assert first in readme, f"README 缺少 {cmd} 的说明：{first}"


def test_usage_error_is_chinese():
    res = runner.invoke(app, ["import", "x.xlsx"])
    assert res.exit_code == 2 and "缺少必填选项" in res.output


def test_import_json_masks_personal_data_unless_asked(tmp_path, db):
    bad = make_id(5)[:17] + ("0" if make_id(5)[17] != "0" else "1")
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER + ["联系电话"],
                                                             [member(1, idn=bad, 联系电话="13812345678")])})
    res = runner.invoke(app, ["import", str(f), "--period", "2026Q3", "--db", db, "--format", "json"])
    assert res.exit_code == 1   # an error-level problem
    data = json.loads(res.output)
    assert data["period"] == "2026Q3" and data["imported"] == {"roster": 1}
    [p] = data["problems"]
    assert set(p) >= {"code", "severity", "file", "sheet", "row", "column", "value", "message"}
    assert p["code"] == "ID_CHECKSUM" and p["value"] == bad[:6] + "********" + bad[14:]
    assert bad not in res.output
    res2 = runner.invoke(app, ["import", str(f), "-p", "2026Q3", "--db", db, "-f", "json", "--show-personal"])
    assert bad in res2.output


def test_import_text_output_and_problem_workbook(tmp_path, db):
    rows = [member(1), member(2, category="党员"), member(3, 入党时间="2019.13.01")]
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, rows)}, title="东湖街道党员花名册")
    out = tmp_path / "问题清单.xlsx"
    res = runner.invoke(app, ["import", str(f), "-p", "2026Q3", "--db", db, "--problems", str(out)])
    assert res.exit_code == 1
    assert "BAD_VALUE" in res.output and "第5行" in res.output
    wb = openpyxl.load_workbook(out)
    summary = wb["问题汇总"]
    assert [c.value for c in summary[1]][:6] == ["文件", "工作表", "行号", "列", "问题代码", "严重程度"]
    assert sorted((r[2], r[4]) for r in summary.iter_rows(min_row=2, values_only=True)) == [(5, "BAD_VALUE"), (6, "BAD_DATE")]
    [sheet] = [wb[n] for n in wb.sheetnames if n != "问题汇总"]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["原行号", "问题及处理办法"] and "人员类别" in header
    rows_back = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows_back] == [5, 6]
    assert rows_back[0][header.index("人员类别")] == "党员"       # the street's own value, beside the problem
    bad_cell = sheet.cell(row=2, column=header.index("人员类别") + 1)
    assert bad_cell.fill.fgColor.rgb.endswith("FFC7CE")           # highlighted


def test_import_of_missing_file_exits_2_and_leaves_store(tmp_path, sqlite_db):
    db = sqlite_db   # about the store file itself
    res = runner.invoke(app, ["import", str(tmp_path / "没有这个文件.xlsx"), "-p", "2026Q3", "--db", db])
    assert res.exit_code == 2 and "找不到文件" in res.output
    assert not Path(db).exists()


def test_dry_run_via_cli(tmp_path, db):
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(1)])})
    res = runner.invoke(app, ["import", str(f), "-p", "2026Q3", "--db", db, "--dry-run"])
    assert res.exit_code == 0 and "试运行" in res.output


def test_demo_runs_on_the_shipped_samples(tmp_path):
    out = tmp_path / "演示"
    res = runner.invoke(app, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "2026Q3整改台账.xlsx").is_file() and (out / "2026Q3问题清单.xlsx").is_file()
    data = json.loads((out / "2026Q3覆盖情况.json").read_text(encoding="utf-8"))
    assert data["period"] == "2026Q3" and data["previous_period"] == "2026Q2" and data["findings"]


@pytest.fixture(scope="module", params=ENGINES)
def samples_store(request, tmp_path_factory):
    from pbtool.demo import sample_periods
    from pbtool.importer import import_files
    with store_url(request.param, tmp_path_factory.mktemp("cli"), request) as db:
        for period, files in sample_periods().items():
            import_files(files, period, db)
        yield db


def test_report_notices_via_cli(samples_store, tmp_path):
    out = tmp_path / "文书"
    res = runner.invoke(app, ["report", "notices", "-p", "2026Q3", "--db", samples_store, "--out", str(out),
                              "--street", "东湖街道", "--deadline", "2026-12-31"])
    assert res.exit_code == 0, res.output
    [doc] = list(out.glob("*.docx"))
    assert doc.name == "东湖街道整改通知书（2026Q3）.docx" and "已生成" in res.output
    import docx
    text = "\n".join(p.text for p in docx.Document(str(doc)).paragraphs)
    assert "2026年12月31日" in text
    bad = runner.invoke(app, ["report", "notices", "-p", "2026Q3", "--db", samples_store, "--deadline", "12月底"])
    assert bad.exit_code == 2 and "不是有效日期" in bad.output


def test_report_vars_lists_variables_with_values(samples_store):
    res = runner.invoke(app, ["report", "vars", "notice", "--db", samples_store, "-p", "2026Q3"])
    assert res.exit_code == 0
    due = dt.date.today() + dt.timedelta(days=30)   # 30 days after the document's date (today)
    assert "deadline" in res.output and f"{due.year}年{due.month}月{due.day}日" in res.output


def test_a_finished_command_leaves_the_store_whole_in_its_file(tmp_path):
    """pbtool ends without Python's teardown (cli._end): the store must still be closed first, so that
    SQLite folds its write-ahead log into the .db and deletes the -wal file (a clerk copies the .db
    alone), the exit code and both streams must survive, and a JSON reader that stops early (a
    closed pipe) gets no error text."""
    import sqlite3
    import subprocess
    import sys

    db = tmp_path / "pbtool.db"
    f = write_xlsx(tmp_path / "东湖街道花名册.xlsx", {"花名册": (ROSTER_HEADER, [member(i) for i in range(1, 6)])})

    def pbtool(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pbtool", *args], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path, check=False)

    res = pbtool("import", str(f), "--period", "2026Q3", "--db", str(db), "--format", "json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["imported"] == {"roster": 5}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("pbtool.db")) == ["pbtool.db"]
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)   # read-only: sees only what is in the file
    assert con.execute("select count(*) from members").fetchone() == (5,)
    con.close()
    res = pbtool("coverage", "--period", "2026Q9", "--db", str(db))
    assert res.returncode == 2 and res.stderr.startswith("错误：") and "Traceback" not in res.stderr
    # a reader that stopped before pbtool wrote (pbtool … | head): every write meets a closed pipe
    reader = subprocess.Popen([sys.executable, "-m", "pbtool", "history", "--db", str(db), "--format", "json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()
    assert reader.stderr.read() == b""    # no 无法读写 line, no traceback
    assert reader.wait(timeout=120) == 1


def test_coverage_command_stores_the_states_it_computed_before_it_ends(tmp_path):
    """`pbtool coverage` stores the periods' states it computed, also now that the CLI ends without
    Python's teardown (cli._end): the next run and next quarter read them."""
    import sqlite3
    import subprocess
    import sys

    from pbtool.demo import sample_periods
    from pbtool.importer import import_files

    db = tmp_path / "pbtool.db"
    for period, files in sample_periods().items():
        import_files(files, period, str(db))
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from coverage_states").fetchone() == (0,)
    con.close()
    res = subprocess.run([sys.executable, "-m", "pbtool", "coverage", "--period", "2026Q3", "--db", str(db),
                          "--format", "json"], capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["previous_period"] == "2026Q2"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert [p for (p,) in con.execute("select period from coverage_states order by period")] == ["2026Q2", "2026Q3"]
    con.close()


def test_option_values_converted_in_chinese_without_pydantic(tmp_path):
    """Option values are converted by pbtool.cliparams (typer's pydantic adapters cost 0.12 s of every
    start and spoke English): integers, enums and file lists come out typed, a bad value is refused in
    Chinese, and a whole command never imports pydantic."""
    import subprocess
    import sys

    from pbtool.cliparams import converter

    assert converter(int)(" 2026 ") == 2026 and converter(int)("+3") == 3 and converter(int)("3.0") == 3
    with pytest.raises(ValueError, match="“20x6”不是整数"):
        converter(int)("20x6")
    assert converter(list[Path])(("a.xlsx", "b.csv")) == [Path("a.xlsx"), Path("b.csv")]
    assert converter(Path)("台账.xlsx") == Path("台账.xlsx") and converter(str)("东湖街道") == "东湖街道"

    runner = CliRunner()
    res = runner.invoke(app, ["report", "annual", "--year", "20x6", "--db", str(tmp_path / "x.db")])
    assert res.exit_code == 2 and "“20x6”不是整数" in res.output and "Input should" not in res.output
    res = runner.invoke(app, ["coverage", "--period", "2026Q3", "--format", "xml", "--db", str(tmp_path / "x.db")])
    assert res.exit_code == 2 and "“xml”不是可选值 text、json 之一" in res.output
    assert not (tmp_path / "x.db").exists()

    # a real process: the command runs to its own error (no store) and pydantic is never imported
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pbtool", "coverage", "--period", "2026Q3",
                           "--format", "json", "--db", str(tmp_path / "无此库.db")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and "无此库.db" in proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "pbtool.store" in imported and not {m for m in imported if m.split(".")[0] == "pydantic"}
