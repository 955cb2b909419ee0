"""Issue 10: nothing lost, never a traceback. Real files, real processes; every refusal checks its
message, its exit code and that the store's content is unchanged (a full SQL dump)."""
from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from builders import ROSTER_HEADER, make_id, member, write_csv, write_xlsx, sqlite_dump as dump
from typer.testing import CliRunner

from pbtool.cli import app
from pbtool.importer import ImportError_, import_files
from pbtool.store import Store

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]



@pytest.fixture
def db(sqlite_db: str) -> str:
    """These tests read and lock the SQLite file itself (iterdump, BEGIN IMMEDIATE, file modes), so
    they run on SQLite; PostgreSQL's serialized imports and messages are in test_postgres.py."""
    return sqlite_db



def roster(path: Path, rows) -> Path:
    return write_xlsx(path, {"花名册": (ROSTER_HEADER, rows)})


def cli(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env)


def err(res) -> str:
    return res.stderr if hasattr(res, "stderr") else res.output


# ---------------------------------------------------------------- reversible imports


def test_import_reimport_undo_restores_the_store_exactly(tmp_path, db):
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(i) for i in range(1, 11)])
    assert import_files([f], "2026Q3", db).run == 1
    before = dump(db)
    g = roster(tmp_path / "东湖街道花名册v2.xlsx", [member(i, category="党员") for i in range(1, 9)])
    r = import_files([g], "2026Q3", db)
    assert r.run == 2 and r.replaced == {("roster", "东湖街道"): 10}
    assert dump(db) != before
    # the replaced rows are kept, not deleted
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from members_replaced where superseded_by = 2").fetchone() == (10,)
    con.close()
    res = cli("undo", "--db", db)
    assert res.exit_code == 0, res.output
    assert "已撤销导入 2" in res.output and "恢复被替换的 党员花名册 10 行" in res.output and db in res.output
    assert dump(db) == before


def test_history_lists_runs_files_and_what_they_replaced(tmp_path, db):
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(i) for i in range(1, 5)])
    import_files([f], "2026Q3", db)
    g = roster(tmp_path / "东湖街道花名册新.xlsx", [member(i) for i in range(1, 5)])
    import_files([g], "2026Q3", db)
    res = cli("history", "--db", db, "--format", "json")
    assert res.exit_code == 0, res.output
    import json
    runs = json.loads(res.stdout)
    assert [r["run"] for r in runs] == [2, 1] and runs[0]["replaced_runs"] == [1]
    import hashlib
    assert runs[0]["sheets"][0]["sha256"] == hashlib.sha256(g.read_bytes()).hexdigest()
    assert runs[0]["sheets"][0]["street"] == "东湖街道" and runs[0]["sheets"][0]["replaced_rows"] == 4
    res = cli("history", "--db", db, env={"COLUMNS": "300"})
    assert res.exit_code == 0 and "东湖街道花名册新.xlsx" in res.output


def test_history_names_every_street_of_a_file_with_a_street_column(tmp_path, db):
    header = ["街道", "姓名", "性别", "身份证号", "人员类别", "所在党支部"]
    rows = [[s, f"党员{i}", "男", make_id(i), "正式党员", "第一党支部"]
            for i, s in enumerate(["东湖街道", "西山街道", "西山街道", "南桥街道"], 1)]
    f = write_xlsx(tmp_path / "全区党员花名册.xlsx", {"花名册": (header, rows)})
    import_files([f], "2026Q3", db)
    import json
    res = cli("history", "--db", db, "--format", "json")
    [run] = json.loads(res.stdout)
    assert run["sheets"][0]["streets"] == {"东湖街道": 1, "南桥街道": 1, "西山街道": 2}
    res = cli("history", "--db", db, env={"COLUMNS": "300"})
    assert "东湖街道、南桥街道、西山街道" in res.output


def test_undo_of_an_import_replaced_later_is_refused(tmp_path, db):
    for i, name in enumerate(("a.xlsx", "b.xlsx", "c.xlsx")):
        import_files([roster(tmp_path / f"东湖街道{name}", [member(j + i) for j in range(1, 5)])], "2026Q3", db)
    before = dump(db)
    res = cli("undo", "2", "--db", db)
    assert res.exit_code == 2 and "已被之后的导入 3 替换" in res.output and "Traceback" not in res.output
    assert dump(db) == before


# ---------------------------------------------------------------- no silent replacement


def test_a_much_smaller_file_is_refused_naming_both_counts(tmp_path, db):
    import_files([roster(tmp_path / "东湖街道花名册.xlsx", [member(i) for i in range(1, 11)])], "2026Q3", db)
    before = dump(db)
    small = roster(tmp_path / "东湖街道名单.xlsx", [member(i) for i in range(20, 23)])
    res = cli("import", str(small), "--period", "2026Q3", "--db", db)
    assert res.exit_code == 2
    assert "3 行" in res.output and "10 行" in res.output and "--replace" in res.output and "数据库未改变" in res.output
    assert dump(db) == before
    res = cli("import", str(small), "--period", "2026Q3", "--db", db, "--replace")
    assert res.exit_code == 0, res.output
    assert Store.open(db).count("roster", "2026Q3") == 3


def test_a_supplement_is_refused_then_appended_with_duplicates_reported(tmp_path, db):
    import_files([roster(tmp_path / "东湖街道花名册.xlsx", [member(i) for i in range(1, 7)])], "2026Q3", db)
    before = dump(db)
    sup = write_csv(tmp_path / "东湖街道补充名单.csv", ROSTER_HEADER, [member(50), member(1)])
    res = cli("import", str(sup), "--period", "2026Q3", "--db", db)
    assert res.exit_code == 2 and "补充名单" in res.output and "--append" in res.output
    assert dump(db) == before
    res = cli("import", str(sup), "--period", "2026Q3", "--db", db, "--append", "--format", "json")
    import json
    data = json.loads(res.stdout)
    assert res.exit_code == 1   # the duplicate is an error-level problem
    assert [p["code"] for p in data["problems"]] == ["DUPLICATE_PERSON"]
    assert Store.open(db).count("roster", "2026Q3") == 8


def test_same_file_name_in_two_streets_does_not_replace(tmp_path, db):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    head = ["所在街道", "姓名", "身份证号", "人员类别"]
    a = write_csv(tmp_path / "a" / "花名册.csv", head,
                  [{"所在街道": "东湖街道", "姓名": f"甲{i}", "身份证号": make_id(i), "人员类别": "正式党员"} for i in range(1, 6)])
    b = write_csv(tmp_path / "b" / "花名册.csv", head,
                  [{"所在街道": "西山街道", "姓名": f"乙{i}", "身份证号": make_id(i + 100), "人员类别": "正式党员"}
                   for i in range(1, 5)])
    import_files([a], "2026Q3", db)
    r = import_files([b], "2026Q3", db)
    assert r.replaced == {}
    assert Store.open(db).count("roster", "2026Q3") == 9


# ---------------------------------------------------------------- outputs cannot destroy anything


def test_problems_output_naming_an_input_or_the_store_is_refused(tmp_path, db):
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(1, category="党员")])
    import_files([f], "2026Q3", db)
    before, data = dump(db), f.read_bytes()
    for target in (str(f), db):
        res = cli("import", str(f), "--period", "2026Q3", "--db", db, "--problems", target)
        assert res.exit_code == 2 and "会覆盖它" in res.output
        assert dump(db) == before and f.read_bytes() == data
    res = cli("import", str(f), "--period", "2026Q3", "--db", db, "--problems", str(tmp_path))
    assert res.exit_code == 2 and "是一个文件夹" in res.output and dump(db) == before


def test_ledger_name_gets_its_suffix_and_outputs_are_private(tmp_path, db, lists):
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(i, community="朝阳社区") for i in range(1, 4)])
    import_files([lists, f], "2026Q3", db)
    res = cli("coverage", "--period", "2026Q3", "--db", db, "--xlsx", str(tmp_path / "台账"))
    assert res.exit_code == 0, res.output
    out = tmp_path / "台账.xlsx"
    import openpyxl
    assert openpyxl.load_workbook(out).sheetnames[0] == "汇总"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temp file left
    res = cli("coverage", "--period", "2026Q3", "--db", db, "--xlsx", db)
    assert res.exit_code == 2 and "会覆盖它" in res.output


def test_failed_write_leaves_the_old_output_whole(tmp_path, monkeypatch):
    from pbtool.errors import OutputError
    from pbtool.outputs import atomic
    target = tmp_path / "台账.xlsx"
    target.write_bytes(b"old")
    wb = atomic.Workbook(target, {})
    wb.add_worksheet("汇总").write(0, 0, "x")

    def full(*a, **k):
        raise OSError(28, "No space left on device")
    import zipfile
    monkeypatch.setattr(zipfile.ZipFile, "write", full)
    with pytest.raises(OutputError, match="磁盘空间已满"):
        wb.close()
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["台账.xlsx"]


# ---------------------------------------------------------------- one error boundary


@pytest.mark.parametrize("case", ["folder", "text", "xlsx", "new_xlsx", "missing_dir", "bad_version"])
def test_a_bad_store_gives_one_chinese_line(tmp_path, case):
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(1)])
    if case == "folder":
        db = str(tmp_path)
    elif case == "text":
        db = str(tmp_path / "notes.txt")
        Path(db).write_text("hello " * 1000)
    elif case == "xlsx":
        db = str(f)
    elif case == "new_xlsx":   # a slip of --db 台账.xlsx: no database may appear under that name
        db = str(tmp_path / "台账.xlsx")
    elif case == "missing_dir":
        db = str(tmp_path / "nope" / "x.db")
    else:
        db = str(tmp_path / "s.db")
        import_files([f], "2026Q3", db)
        con = sqlite3.connect(db)
        con.execute("update meta set value = 'abc' where key = 'schema_version'")
        con.commit()
        con.close()
    before = Path(db).read_bytes() if Path(db).is_file() else None
    for args in (["import", str(f), "--period", "2026Q3", "--db", db], ["coverage", "--period", "2026Q3", "--db", db]):
        res = cli(*args)
        assert res.exit_code == 2, (case, res.output)
        assert "错误：" in res.output and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1
        assert before is None or Path(db).read_bytes() == before
    if case == "new_xlsx":
        assert not Path(db).exists()


def test_locked_and_read_only_store(tmp_path, db, monkeypatch):
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(i) for i in range(1, 4)])
    import_files([f], "2026Q3", db)
    before = dump(db)
    monkeypatch.setattr("pbtool.store.LOCK_WAIT_SECONDS", 0.5)
    holder = sqlite3.connect(db)
    holder.execute("BEGIN IMMEDIATE")
    try:
        g = roster(tmp_path / "西山街道花名册.xlsx", [member(i) for i in range(10, 13)])
        res = cli("import", str(g), "--period", "2026Q3", "--db", db)
        assert res.exit_code == 2 and "正在等待" in res.output and "占用" in res.output
    finally:
        holder.rollback()
        holder.close()
    assert dump(db) == before
    os.chmod(db, 0o400)
    try:
        if os.access(db, os.W_OK):
            pytest.skip("running as a user who can write read-only files")
        res = cli("import", str(g), "--period", "2026Q3", "--db", db)
        assert res.exit_code == 2 and "只读" in res.output
    finally:
        os.chmod(db, 0o600)


def test_read_only_command_never_creates_a_store(tmp_path):
    db = tmp_path / "none.db"
    res = cli("coverage", "--period", "2026Q3", "--db", str(db))
    assert res.exit_code == 2 and "不存在" in res.output and not db.exists()
    res = cli("history", "--db", str(db))
    assert res.exit_code == 2 and not db.exists()


def test_unexpected_error_goes_to_a_masked_log_and_exits_3(tmp_path, db, monkeypatch):
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(1)])
    idn = make_id(1)

    def boom(*a, **k):
        raise RuntimeError(f"bug with {idn}")
    monkeypatch.setattr("pbtool.importer.import_files", boom)
    res = cli("import", str(f), "--period", "2026Q3", "--db", db, env={"PBTOOL_LOG_DIR": str(tmp_path / "logs")})
    assert res.exit_code == 3 and "内部错误" in res.output and "Traceback" not in res.output
    [log] = (tmp_path / "logs").iterdir()
    assert str(log) in res.output.replace("\n", "")
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "RuntimeError" in text and idn not in text and idn[:6] in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_ctrl_c_says_nothing_was_saved(tmp_path, db, monkeypatch):
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(1)])

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr("pbtool.importer.import_files", interrupted)
    res = cli("import", str(f), "--period", "2026Q3", "--db", db)
    assert res.exit_code == 130 and "已取消" in res.output and "数据库未改变" in res.output


def test_folder_given_as_input_is_called_a_folder(tmp_path, db):
    res = cli("import", str(tmp_path), "--period", "2026Q3", "--db", db)
    assert res.exit_code == 2 and "是一个文件夹" in res.output and not Path(db).exists()


def test_rich_markup_and_escapes_in_messages_are_shown_as_text(tmp_path, db):
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(1)])
    res = cli("import", str(f), "--period", "2026Q3", "--db", db, "--street", "[/]\x1b[31m街道[link=x]")
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output


# ---------------------------------------------------------------- writers wait their turn


def test_parallel_imports_find_cross_street_duplicates(tmp_path, db):
    """Four real processes import 3,000 rows each at once; every street shares 200 IDs with the next."""
    n, shared = 3000, 200
    streets = ["东湖街道", "西山街道", "南桥街道", "北关街道"]
    files = []
    for k, s in enumerate(streets):
        ids = list(range(k * n, (k + 1) * n))
        ids[:shared] = range(((k + 1) % 4) * n + n - shared, ((k + 1) % 4) * n + n)   # another street's last rows
        files.append(write_csv(tmp_path / f"{s}花名册.csv", ROSTER_HEADER,
                               [member(i, idn=make_id(i % 400, birth=f"{1960 + i // 4800}{1 + i // 400 % 12:02d}01"))
                                for i in ids],
                               encoding="utf-8"))
    Store.open(db).close()
    script = textwrap.dedent("""
        import sys
        from pbtool.importer import import_files
        r = import_files([sys.argv[1]], "2026Q3", sys.argv[2], on_wait=lambda: print("WAIT", flush=True))
        print("DUP", sum(p.code == "DUPLICATE_PERSON" for p in r.problems))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(f), db], stdout=subprocess.PIPE, text=True, env=env)
             for f in files]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    dups = sum(int(line.split()[1]) for o in outs for line in o.splitlines() if line.startswith("DUP"))
    # each shared ID is stored twice; whichever import came second reports it: 4 × 200 in all
    assert dups == 4 * shared
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from members").fetchone() == (4 * n,)
    assert con.execute("select count(*) from problems where code = 'DUPLICATE_PERSON'").fetchone() == (4 * shared,)
    assert con.execute("pragma journal_mode").fetchone() == ("wal",)
    con.close()


def test_import_api_refusal_leaves_store_unchanged(tmp_path, db):
    import_files([roster(tmp_path / "东湖街道花名册.xlsx", [member(i) for i in range(1, 11)])], "2026Q3", db)
    before = dump(db)
    with pytest.raises(ImportError_, match="不到一半"):
        import_files([roster(tmp_path / "东湖街道x.xlsx", [member(1)])], "2026Q3", db)
    assert dump(db) == before


# ---------------------------------------------------------------- personal data and names


@pytest.mark.parametrize("text, masked", [
    ("330106198001010031", "330106********0031"), ("6222021234567890123", "622202*********0123"),
    ("电话 +86 138 1234 5678", "电话 +86 138 **** 5678"), ("138-1234-5678", "138-****-5678"),
    ("+86-13812345678。", "+86-138****5678。"), ("2026Q3 第1234567行", "2026Q3 第1234567行")])
def test_masking_covers_long_id_runs_and_written_phones(text, masked):
    from pbtool.problems import mask_value
    assert mask_value(text) == masked


def test_sheet_names_excel_accepts(tmp_path):
    import xlsxwriter

    from pbtool.outputs.xlsxutil import safe_sheet_name
    taken: set[str] = set()
    names = [safe_sheet_name(n, taken) for n in
             ["Abc街道", "ABC街道", "𠀀" * 18 + "街道", "'东湖'", "x" * 40, "x" * 40, "a[b]:c"]]
    assert len({n.casefold() for n in names}) == len(names)
    for n in names:
        assert len(n.encode("utf-16-le")) // 2 <= 31 and not n.startswith("'") and not n.endswith("'")
    wb = xlsxwriter.Workbook(str(tmp_path / "names.xlsx"))
    for n in names:
        wb.add_worksheet(n)   # xlsxwriter refuses any name Excel would
    wb.close()


def test_notice_names_stay_unique():
    from pbtool.report.render import safe_filename, unique_name
    taken: set[str] = set()
    a = unique_name(safe_filename("东湖/街道整改通知书"), ".docx", taken)
    b = unique_name(safe_filename("东湖:街道整改通知书"), ".docx", taken)
    assert a != b and a == "东湖_街道整改通知书.docx" and b == "东湖_街道整改通知书（2）.docx"


def test_reimporting_the_whole_sample_period_with_its_supplement_is_not_refused(tmp_path):
    import json
    spec = json.loads((ROOT / "samples" / "expected.json").read_text(encoding="utf-8"))
    files = [ROOT / "samples" / f for f in spec["periods"]["2026Q3"]["files"]]
    db = str(tmp_path / "s.db")
    first = import_files(files, "2026Q3", db)
    again = import_files(files, "2026Q3", db)
    assert again.imported == first.imported and sum(again.replaced.values()) == sum(first.imported.values())


# ---------------------------------------------------------------- a newcomer's path


def test_samples_are_package_data_so_demo_works_after_pip_install():
    """Every sample the demo imports is matched by pyproject's package data for pbtool.samples (a wheel
    built from this tree held them all and `python -m pbtool demo` ran from it outside the tree)."""
    import fnmatch
    import json
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setup = project["tool"]["setuptools"]
    assert "pbtool.samples" in setup["packages"] and setup["package-dir"]["pbtool.samples"] == "samples"
    patterns = setup["package-data"]["pbtool.samples"]
    spec = json.loads((ROOT / "samples" / "expected.json").read_text(encoding="utf-8"))
    files = ["expected.json"] + [f for p in spec["periods"].values() for f in p["files"]]
    for f in files:
        assert any(fnmatch.fnmatch(f, pat) for pat in patterns), f
    from pbtool import demo
    assert (demo.SAMPLES / "expected.json").is_file()


def test_readme_first_screen_creates_a_virtual_environment():
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:2500]
    assert "python3 -m venv" in head and head.index("venv") < head.index("pip install")


# ---------------------------------------------------------------- more edges of the boundary


def test_postgresql_url_without_server_is_one_chinese_line(tmp_path):
    res = cli("coverage", "--period", "2026Q3", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert res.exit_code == 2 and "错误：" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = cli("coverage", "--period", "2026Q3", "--db", "nosuchdriver://x/y")
    assert res.exit_code == 2 and "数据库网址" in res.output


def test_bad_pbtool_toml_under_report_is_one_chinese_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pbtool.toml").write_text("[thresholds]\nno_such = 1\n", encoding="utf-8")
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(1)])
    db = str(tmp_path / "s.db")
    res = cli("import", str(f), "--period", "2026Q3", "--db", db)
    assert res.exit_code == 2 and "pbtool.toml" in res.output and "Traceback" not in res.output
    assert not Path(db).exists()


def test_read_only_and_full_disk_errors_are_translated():
    import sqlite3 as s3

    from sqlalchemy.exc import OperationalError

    from pbtool.store import db_error_message
    ro = OperationalError("INSERT", {}, s3.OperationalError("attempt to write a readonly database"))
    assert "只读" in db_error_message(ro, "x.db")
    full = OperationalError("INSERT", {}, s3.OperationalError("database or disk is full"))
    assert "磁盘空间不足" in db_error_message(full, "x.db")
    import errno

    from pbtool.errors import translate
    assert "磁盘空间已满" in translate(OSError(errno.ENOSPC, "No space left", "a.xlsx")).user_line()
    assert "编码" in translate(b"\xff".decode("utf-8", "strict") if False else UnicodeDecodeError(
        "utf-8", b"\xff", 0, 1, "invalid start byte")).user_line()


def test_undefined_entity_in_sheet_xml_is_a_chinese_error(tmp_path, db):
    import zipfile as zf
    src = roster(tmp_path / "东湖街道花名册.xlsx", [member(1)])
    bad = tmp_path / "东湖街道坏.xlsx"
    with zf.ZipFile(src) as zin, zf.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/sharedStrings.xml":
                data = data.replace("<t>测试1</t>".encode(), "<t>测试&undefined;1</t>".encode(), 1)
            zout.writestr(item, data)
    res = cli("import", str(bad), "--period", "2026Q3", "--db", db)
    assert res.exit_code == 2 and "错误：" in res.output and "Traceback" not in res.output
    assert not Path(db).exists()


def test_coverage_never_mixes_the_store_before_and_after_an_import(tmp_path, db, lists, monkeypatch):
    from pbtool import coverage
    a = roster(tmp_path / "东湖街道花名册.xlsx", [member(i, community="朝阳社区") for i in range(1, 4)])
    import_files([lists, a], "2026Q3", db)
    b = roster(tmp_path / "西山街道花名册.xlsx", [member(i, community="朝阳社区") for i in range(10, 15)])
    original, calls = coverage._period_state, []

    def state_then_import(*args, **kw):
        out = original(*args, **kw)
        if not calls:   # another process's import commits while this coverage is half-way
            subprocess.run([sys.executable, "-c", f"from pbtool.importer import import_files; "
                            f"import_files([{str(b)!r}], '2026Q3', {db!r})"], check=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        calls.append(1)
        return out
    monkeypatch.setattr(coverage, "_period_state", state_then_import)
    result = coverage.compute_coverage(db, "2026Q3")
    assert result.summary["members"] == 8 and len(calls) == 2   # computed again, wholly after the import


def test_ctrl_c_in_a_real_import_leaves_the_store_unchanged(tmp_path, db):
    import signal
    import_files([roster(tmp_path / "东湖街道花名册.xlsx", [member(i) for i in range(1, 4)])], "2026Q3", db)
    before = dump(db)
    big = write_csv(tmp_path / "西山街道花名册.csv", ROSTER_HEADER,
                    [member(i, idn=make_id(i % 400, birth=f"{1960 + i // 4800}{1 + i // 400 % 12:02d}01"))
                     for i in range(100, 150_000)], encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "pbtool", "import", str(big), "--period", "2026Q3", "--db", db],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"})
    import time
    time.sleep(2.5)
    assert proc.poll() is None, "the import finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _out, errs = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "已取消" in errs and "数据库未改变" in errs and "Traceback" not in errs
    assert dump(db) == before


def test_problem_workbook_failing_after_the_import_says_the_data_was_saved(tmp_path, db, monkeypatch):
    from pbtool.errors import OutputError
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(1, category="党员")])

    def full_disk(*a, **k):
        raise OutputError("“问题.xlsx”无法写入：磁盘空间已满。")
    monkeypatch.setattr("pbtool.outputs.problems_xlsx.write_problem_workbook", full_disk)
    res = cli("import", str(f), "--period", "2026Q3", "--db", db, "--problems", str(tmp_path / "问题.xlsx"))
    assert res.exit_code == 2 and "磁盘空间已满" in res.output and "导入的数据已保存" in res.output
    assert Store.open(db).count("roster", "2026Q3") == 1


def test_report_vars_with_period_uses_the_default_store(tmp_path, monkeypatch):
    import json
    spec = json.loads((ROOT / "samples" / "expected.json").read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PBTOOL_DB", raising=False)
    import_files([ROOT / "samples" / f for f in spec["periods"]["2026Q3"]["files"]], "2026Q3", None)
    assert (tmp_path / "pbtool.db").is_file()
    res = cli("report", "vars", "quarterly", "--period", "2026Q3", env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "取值" in res.output and "2026" in res.output


def test_a_report_that_would_overwrite_its_template_is_refused(tmp_path):
    import json
    spec = json.loads((ROOT / "samples" / "expected.json").read_text(encoding="utf-8"))
    db = str(tmp_path / "s.db")
    import_files([ROOT / "samples" / f for f in spec["periods"]["2026Q3"]["files"]], "2026Q3", db)
    from docx import Document
    tpl = tmp_path / "2026Q3季度通报.docx"
    doc = Document()
    doc.add_paragraph("{{ period }}")
    doc.save(str(tpl))
    data = tpl.read_bytes()
    res = cli("report", "quarterly", "--period", "2026Q3", "--db", db, "--out", str(tmp_path), "--template", str(tpl))
    assert res.exit_code == 2 and "覆盖模板" in res.output and tpl.read_bytes() == data


def test_another_programs_sqlite_database_is_not_touched(tmp_path):
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("create table customers (id integer primary key, name text)")
    con.execute("insert into customers (name) values ('x')")
    con.commit()
    con.close()
    before = dump(str(other))
    f = roster(tmp_path / "东湖街道花名册.xlsx", [member(1)])
    res = cli("import", str(f), "--period", "2026Q3", "--db", str(other))
    assert res.exit_code == 2 and "不是 pbtool 的" in res.output
    assert dump(str(other)) == before
