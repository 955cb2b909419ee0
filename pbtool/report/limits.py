"""Caps on what a report template may ask of the sandbox: loop iterations, string widths (center,
ljust, format widths, indent …), the rendered document's size, and the parts of the template zip.
Each refusal is a Chinese ReportError (through jinja2's SecurityError where it happens mid-render)."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from jinja2.exceptions import SecurityError

MAX_ITERATIONS = 1_000_000        # range() items over one render, nested loops included
MAX_WIDTH = 10_000                # center/ljust/rjust/zfill/indent/format widths
MAX_RENDERED = 100 << 20          # bytes of one rendered document
MAX_PART = 50 << 20               # one part of the template zip (an image, the body XML)
MAX_TEMPLATE = 200 << 20          # the whole template, inflated
WIDTH_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}
_SPEC_WIDTH = re.compile(r"%[-+ #0]*(\d+)|\{[^{}]*:[^{}]*?(\d{5,})[^{}]*\}")


class Budget:
    """Loop iterations left in one render; `range` draws from it."""

    def __init__(self) -> None:
        self.left = MAX_ITERATIONS

    def reset(self) -> None:
        self.left = MAX_ITERATIONS

    def range(self, *args: int) -> Any:
        r = range(*args)
        self.left -= len(r)
        if self.left < 0:
            raise SecurityError(f"模板中的循环次数过多（一份文书最多 {MAX_ITERATIONS:,} 次）")
        return r


def check_width(name: str, args: tuple, kwargs: dict) -> None:
    widths = [a for a in (*args, *kwargs.values()) if isinstance(a, int) and not isinstance(a, bool)]
    if name in WIDTH_METHODS | {"indent", "truncate", "wordwrap"} and any(abs(w) > MAX_WIDTH for w in widths):
        raise SecurityError(f"模板中的宽度过大（{name} 最多 {MAX_WIDTH:,}）")


def check_format(fmt: Any) -> None:
    if isinstance(fmt, str):
        for m in _SPEC_WIDTH.finditer(fmt):
            w = int(m.group(1) or m.group(2) or 0)
            if w > MAX_WIDTH:
                raise SecurityError(f"模板中的格式宽度过大（最多 {MAX_WIDTH:,}）")


def capped_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The width-taking filters wrapped with a cap; format's own widths checked too."""
    out = dict(filters)
    for name in ("center", "indent", "truncate", "wordwrap"):
        if name in filters:
            def wrapped(*args: Any, _f: Any = filters[name], _n: str = name, **kwargs: Any) -> Any:
                check_width(_n, args[1:], kwargs)
                return _f(*args, **kwargs)
            out[name] = wrapped
    if "format" in filters:
        def fmt(value: Any, *args: Any, _f: Any = filters["format"], **kwargs: Any) -> Any:
            check_format(value)
            return _f(value, *args, **kwargs)
        out["format"] = fmt
    return out


def check_template_zip(path: Path, where: str) -> str | None:
    """A Chinese reason to refuse the template's zip (oversize parts), or None."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError):
        return None
    big = [i for i in infos if i.file_size > MAX_PART]
    if big:
        return (f"模板{where}中的“{big[0].filename}”解压后有 {big[0].file_size / 2**20:.0f} MB，超过上限 "
                f"{MAX_PART >> 20} MB。请在 Word/WPS 中压缩或删除大图片后另存。")
    total = sum(i.file_size for i in infos)
    if total > MAX_TEMPLATE:
        return f"模板{where}解压后共 {total / 2**20:.0f} MB，超过上限 {MAX_TEMPLATE >> 20} MB。请压缩图片后另存。"
    return None
