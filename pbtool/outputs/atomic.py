"""Outputs that cannot destroy anything: every file pbtool writes (xlsx, docx, pdf, json) goes to a
temporary file beside its target and is renamed into place only when complete, readable by its owner
only; an output path that is the store, an input file or a folder is refused before any work."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError, os_error_message


def output_path(path: str | os.PathLike, suffix: str, *, label: str = "输出文件",
                protect: Iterable[str | os.PathLike | None] = ()) -> Path:
    """The path an output will be written to: the suffix added when missing (`--xlsx 台账` -> 台账.xlsx);
    refused (OutputError) when it is a folder, the store or one of the command's input files."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise OutputError(f"{label}“{p}”是一个文件夹，请给出文件名，例如 {p / ('结果' + suffix)}。")
    protect = list(protect)
    _refuse_same(p, protect, label)   # --problems pbtool.db is a slip even though pbtool.db.xlsx would be harmless
    if p.suffix.lower() != suffix.lower():
        p = p.with_name(p.name + suffix)
        if p.is_dir():
            raise OutputError(f"{label}“{p}”是一个文件夹，请给出文件名。")
        _refuse_same(p, protect, label)
    if not p.parent.is_dir():
        raise OutputError(f"{label}“{p}”所在的文件夹不存在，请先建立文件夹或换一个路径。")
    return p


def _refuse_same(p: Path, protect: list, label: str) -> None:
    target = p.resolve()
    for other in protect:
        if other is None:
            continue
        o = str(other)
        if "://" in o and not o.startswith("sqlite:///"):
            continue
        o = o.removeprefix("sqlite:///")
        try:
            same = Path(o).expanduser().resolve() == target or (p.exists() and Path(o).exists()
                                                                  and os.path.samefile(o, p))
        except OSError:
            same = False
        if same:
            raise OutputError(f"{label}“{p}”与输入文件或数据库是同一个文件，写入会覆盖它。请换一个文件名。")


@contextmanager
def atomic_path(target: str | os.PathLike, label: str = "输出文件") -> Iterator[Path]:
    """Yield a temporary path beside `target` for a writer to fill; on success it is renamed onto the
    target (mode 0600), on any failure removed, so the target is either the old file or the new one."""
    target = Path(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem[:40]}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{label}无法写入：{os_error_message(exc, target)}。") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o600)
        with open(tmp_path, "rb+") as fh:   # on disk before the rename: a crash leaves old or new, never half
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise OutputError(f"{label}无法写入：{os_error_message(exc, target)}。") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(target: str | os.PathLike, text: str, label: str = "输出文件") -> Path:
    with atomic_path(target, label) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(target: str | os.PathLike, data: bytes, label: str = "输出文件") -> Path:
    with atomic_path(target, label) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def _xlsx_workbook_class():  # xlsxwriter imported only by the commands that write a workbook
    import xlsxwriter
    from xlsxwriter.exceptions import FileCreateError

    class AtomicWorkbook(xlsxwriter.Workbook):
        """An xlsxwriter Workbook whose close() writes a temporary file beside the target and renames
        it into place: a full disk or a crash never leaves a 0-byte or half-written .xlsx."""

        filename: str

        def close(self) -> None:
            target = Path(self.filename)
            with atomic_path(target, f"“{target.name}”") as tmp:
                self.filename = str(tmp)
                try:
                    super().close()
                except FileCreateError as exc:
                    cause = exc.__context__ if isinstance(exc.__context__, OSError) else None
                    raise OutputError(f"“{target.name}”无法写入："
                                      f"{os_error_message(cause, target) if cause else exc}。") from None
                finally:
                    self.filename = str(target)

    return AtomicWorkbook


def Workbook(filename: str | os.PathLike, options: dict | None = None):  # stands in for the class
    return _xlsx_workbook_class()(str(filename), options or {})
