"""One exception hierarchy for every failure a user can meet, caught once at the CLI boundary.

A PbtoolError carries a Chinese message (what happened), `saved` (True: the data was saved before the
failure; False: the store is unchanged; None: nothing to say) and an optional `hint` (what to do).
Library exceptions are translated into these at the edge of the module that calls the library."""
from __future__ import annotations

import datetime as dt
import errno
import os
import re
import tempfile
import traceback
from pathlib import Path

LOG_DIR_ENV = "PBTOOL_LOG_DIR"


class PbtoolError(Exception):
    """A failure on the user's side, told in one Chinese line; exit code 2."""

    exit_code = 2
    saved: bool | None = None

    def __init__(self, message: str = "", *, saved: bool | None = None, hint: str = ""):
        super().__init__(message)
        if saved is not None:
            self.saved = saved
        self.hint = hint

    def user_line(self) -> str:
        """What happened, whether anything was saved, what to do."""
        msg = str(self).rstrip()
        parts = [msg]
        if self.saved is False and "数据库" not in msg:
            parts.append("数据库未改变。")
        elif self.saved is True and "已保存" not in msg:
            parts.append("此前的数据已保存。")
        if self.hint and self.hint not in msg:
            parts.append(self.hint)
        out = parts[0]
        for p in parts[1:]:
            out += ("" if out.endswith(("。", "！", "？", "）")) else "。") + p
        return out if out.endswith(("。", "！", "？", "）", "。）")) else out + "。"


class InputError(PbtoolError):
    """An input file or argument that cannot be used; nothing is written."""

    saved = False


class StoreError(PbtoolError):
    """A store that cannot be opened, read or written; the message is Chinese."""


class OutputError(PbtoolError):
    """An output file that cannot or must not be written."""


class Notice(UserWarning):
    """Not a failure: a Chinese line the user should read (a store upgraded on opening). Library code
    raises it with warnings.warn; the CLI prints it on stderr, other callers see a UserWarning."""


class LimitError(InputError):
    """A file or template beyond a safety limit (size, cells, loop counts): refused before parsing."""


# ------------------------------------------------------------------ translating library exceptions


def os_error_message(exc: OSError, path: str | os.PathLike | None = None) -> str:
    """An OSError in Chinese: full disk, permission, missing folder, a folder where a file belongs."""
    where = f"“{path}”" if path is not None else (f"“{exc.filename}”" if exc.filename else "")
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"磁盘空间已满，无法写入{where}。请清理磁盘后重试"
    if code in (errno.EACCES, errno.EPERM):
        return f"没有权限写入或读取{where}（可能正在 Word/WPS/Excel 中打开，或文件只读）。请关闭文件或检查权限后重试"
    if code == errno.EROFS:
        return f"{where}所在的磁盘是只读的，请换一个可写的位置"
    if code == errno.ENOENT:
        return f"找不到{where}或其所在文件夹，请检查路径"
    if code == errno.EISDIR:
        return f"{where}是一个文件夹，不是文件，请给出文件路径"
    if code == errno.ENOTDIR:
        return f"{where}路径中有一段不是文件夹，请检查路径"
    return f"无法读写{where}（{exc.strerror or exc}）"


# ------------------------------------------------------------------ masking and the crash log


def crash_log_dir() -> Path:
    return Path(os.environ.get(LOG_DIR_ENV) or Path(tempfile.gettempdir()) / "pbtool-logs")


def write_crash_log(exc: BaseException) -> Path:
    """The traceback of an unexpected error, personal data masked, in a file only the owner can read."""
    from .problems import mask_value

    folder = crash_log_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"pbtool-error-{stamp}-{os.getpid()}.log"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(mask_value(text))
    return path


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """A user-supplied string made safe for a terminal: control characters (ESC sequences, bidi
    overrides) removed. Rich markup is escaped separately where it is printed (rich.markup.escape)."""
    return _CONTROL_RE.sub("", str(text))


def translate(exc: BaseException) -> PbtoolError | None:
    """A library exception that reached the boundary, as the user-side failure it is; None = a bug."""
    try:
        from sqlalchemy import exc as sa_exc
        if isinstance(exc, sa_exc.DBAPIError):
            from .store import db_error_message
            return StoreError(db_error_message(exc, "当前数据库"))
    except ImportError:  # pragma: no cover
        pass
    if isinstance(exc, UnicodeDecodeError):
        return InputError("文件中有无法识别编码的文字，请用 Excel/WPS 另存为 .xlsx 或“CSV UTF-8”后重试。")
    if isinstance(exc, OSError):
        return PbtoolError(os_error_message(exc) + "。")
    if isinstance(exc, MemoryError):
        return LimitError("文件过大，内存不足，已停止。请把文件拆成几个较小的文件后分别导入。")
    mod = type(exc).__module__ or ""
    if mod.startswith("lxml"):
        return InputError(f"文件内部的 XML 格式有误（{str(exc)[:120]}），请用 Excel/WPS/Word 打开后另存再试。")
    if mod.startswith("xlsxwriter"):
        return OutputError(f"Excel 文件未能写出（{str(exc)[:120]}）。")
    return None
