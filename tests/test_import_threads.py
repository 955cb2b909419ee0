"""The import's helper threads (issue 12): imports warmed up while fastexcel parses, aggregates counted
while the member rows are written. Whatever goes wrong while they run, the store and its folder stay as
they were and no thread outlives the import."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from builders import make_id, sqlite_dump

from pbtool.errors import LimitError
from pbtool.importer import import_files
from pbtool.xlsx_fast import HEAD_ROWS

HEADER = ["序号", "姓名", "性别", "身份证号", "出生日期", "人员类别", "所在党支部"]
ROOT = Path(__file__).resolve().parents[1]


def roster(path: Path, rows: int = HEAD_ROWS + 100, long_at: int | None = None) -> Path:
    """A roster longer than the head copy (its data area is read by fastexcel); long_at: the 0-based data
    row whose name is 40,000 characters (over Excel's 32,767)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(HEADER)
    for k in range(rows):
        ws.append([k + 1, f"党员{k}", "男" if k % 2 else "女", make_id(k + 1, sex="男" if k % 2 else "女"),
                   "1980-01-01", "正式党员", f"第{k % 4 + 1}党支部"])
    wb.save(path)
    if long_at is not None:   # written into the XML: openpyxl cuts a text at 32,767 characters
        tmp = path.with_suffix(".tmp")
        path.rename(tmp)
        with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename == "xl/worksheets/sheet1.xml":
                    refs = "".join(f"&#{ord(c)};" for c in "党员")   # openpyxl writes CJK as character references
                    name = f"<t>{refs}{long_at}</t>".encode()
                    assert data.count(name) == 1
                    data = data.replace(name, ("<t>" + "长" * 40_000 + "</t>").encode())
                dst.writestr(info, data)
        tmp.unlink()
    return path


def helper_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("pbtool-")]


def test_a_limit_found_while_the_warm_up_thread_runs_leaves_store_and_folder_untouched(tmp_path, monkeypatch):
    """A cell over 32,767 characters below the head is found in fastexcel's columns, while the warm-up
    thread is still importing: the import stops with the Chinese message, after that thread ended, and
    nothing is written (no store file, no scratch file)."""
    import pbtool.xlsx_fast as xf

    monkeypatch.setenv("PBTOOL_COLUMNAR", "1")
    path = roster(tmp_path / "东湖街道花名册.xlsx", long_at=HEAD_ROWS + 50)
    ran = []

    def slow_warm_up() -> None:   # still running when fastexcel has loaded and the lengths are checked
        time.sleep(0.5)
        ran.append(time.monotonic())

    monkeypatch.setattr(xf, "_warm_up", slow_warm_up)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(LimitError, match="超过 Excel 上限 32,767 个字符"):
        import_files([path], "2026Q3", str(tmp_path / "store.db"), street="东湖街道")
    assert ran, "the warm-up thread was not waited for"
    assert helper_threads() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_same_file_without_the_long_cell_imports_through_the_columnar_path(tmp_path, monkeypatch):
    """The counterpart of the test above: the file is read by fastexcel (the warm-up runs) and imported."""
    import pbtool.xlsx_fast as xf

    monkeypatch.setenv("PBTOOL_COLUMNAR", "1")
    path = roster(tmp_path / "东湖街道花名册.xlsx")
    warmed = []
    real = xf._warm_up
    monkeypatch.setattr(xf, "_warm_up", lambda: (warmed.append(1), real()))
    r = import_files([path], "2026Q3", str(tmp_path / "store.db"), street="东湖街道")
    assert warmed == [1]
    assert r.imported["roster"] == HEAD_ROWS + 100 and r.errors == 0
    assert helper_threads() == []


def test_an_error_while_counting_aggregates_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    """The aggregates are counted by a thread while the rows are written (staged here): its error reaches
    the caller and the transaction is rolled back, scratch databases deleted."""
    import pbtool.store as st

    monkeypatch.setattr(st, "STAGE_MIN_ROWS", 1)
    db = str(tmp_path / "store.db")
    import_files([roster(tmp_path / "西山街道花名册.xlsx")], "2026Q3", db, street="西山街道")
    before = sqlite_dump(db)

    def boom(cls, added):
        assert added and len(added[0][0]["id_number"]) == HEAD_ROWS + 100   # the new rows were handed over
        raise RuntimeError("计数失败（测试）")

    monkeypatch.setattr(st.Store, "count_added", classmethod(boom))
    with pytest.raises(RuntimeError, match="计数失败"):
        import_files([roster(tmp_path / "东湖街道花名册.xlsx")], "2026Q3", db, street="东湖街道")
    assert sqlite_dump(db) == before
    assert not list(tmp_path.glob(".pbtool-stage-*"))
    assert helper_threads() == []


def test_staging_on_sqlite_imports_neither_polars_nor_adbc_dbapi(tmp_path):
    """ADBC's DB-API module imports polars and pandas; the stage uses its low-level API. Run in a fresh
    interpreter: the rows really go through the stage (STAGE_MIN_ROWS lowered) and are stored."""
    path = roster(tmp_path / "东湖街道花名册.xlsx")
    db = tmp_path / "store.db"
    code = (
        "import sys\n"
        "import pbtool.store as st\n"
        "st.STAGE_MIN_ROWS = 1\n"
        "staged = []\n"
        "real = st.Store._insert_staged\n"
        "st.Store._insert_staged = lambda self, *a: staged.append(1) or real(self, *a)\n"
        "from pbtool.importer import import_files\n"
        f"r = import_files([{str(path)!r}], '2026Q3', {str(db)!r}, street='东湖街道')\n"
        "print(r.imported['roster'], len(staged), 'polars' in sys.modules, 'adbc_driver_manager.dbapi' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    rows, staged, polars, dbapi = out.stdout.split()
    assert int(rows) == HEAD_ROWS + 100 and int(staged) >= 1
    assert polars == "False" and dbapi == "False"
    import sqlite3
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from members").fetchone() == (HEAD_ROWS + 100,)
    con.close()


@pytest.mark.parametrize("at, pieces", [(1, False), (2, True)], ids=["first-file", "second-piece"])
def test_an_interrupt_while_staging_leaves_nothing_behind(tmp_path, monkeypatch, at, pieces):
    """Ctrl-C or SIGTERM can land between making the stage's scratch file and using it (the other thread
    may hold the GIL then): the file is registered before it exists, so the rollback deletes it. A large
    sheet is staged in pieces by a thread of its own while the import's connection moves the earlier
    pieces in: an interrupt that lands in that thread (the second piece) still stops the import, rolls
    back what was moved in, deletes every scratch file and leaves no thread behind."""
    import pbtool.store as st

    monkeypatch.setattr(st, "STAGE_MIN_ROWS", 1)
    if pieces:
        monkeypatch.setattr(st, "STAGE_PIECE_MIN_ROWS", 1)
    db = str(tmp_path / "store.db")
    import_files([roster(tmp_path / "西山街道花名册.xlsx")], "2026Q3", db, street="西山街道")
    before = sqlite_dump(db)
    made = []
    real = st._create_stage_file

    def interrupted(path):
        real(path)
        made.append(path)
        if len(made) == at:
            raise KeyboardInterrupt

    monkeypatch.setattr(st, "_create_stage_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_files([roster(tmp_path / "东湖街道花名册.xlsx")], "2026Q3", db, street="东湖街道")
    assert len(made) == at and made[0].parent == tmp_path
    assert not list(tmp_path.glob(".pbtool-stage-*"))
    assert helper_threads() == []
    assert sqlite_dump(db) == before


def test_cell_length_limit_counts_characters_not_bytes():
    """xlsx_fast._check_lengths settles a column by its byte lengths only when no text there can be
    over the limit: 32,767 Chinese characters (98,301 bytes) pass, 32,768 are refused, and so are
    32,768 ASCII letters."""
    from pbtool.arrow import pa
    from pbtool.xlsx_fast import _check_lengths

    ok = pa.table({"a": pa.array(["短", "党" * 32_767, None]), "n": pa.array([1.0, 2.0, 3.0])})
    _check_lengths(ok, "x.xlsx", "花名册")
    for long in ("党" * 32_768, "x" * 32_768):
        with pytest.raises(LimitError, match="超过 Excel 上限 32,767 个字符"):
            _check_lengths(pa.table({"a": pa.array(["短", long])}), "x.xlsx", "花名册")
