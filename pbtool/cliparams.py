"""Command-line values converted without pydantic.

typer 0.20 and later convert every option's value through a pydantic TypeAdapter, built when the option
is first used: importing pydantic and building a command's adapters took 0.12–0.14 s of the start of
every command (measured on `pbtool import` and `pbtool coverage`), more than pbtool itself spends before
it opens a file. Their messages were English too ('Input should be a valid integer, unable to parse
string as an integer'). pbtool's options are plain text, integers, flags, paths, lists of those and
enums: they are converted here, with Chinese messages (an enum's choices and an existing path's
readability checked as typer checks them). Any other option (a parser, a range, another path check,
a case-insensitive choice), or a typer whose internals differ, keeps typer's own way.
"""
from __future__ import annotations

import dataclasses
import os
import re
from enum import Enum
from pathlib import Path
from typing import Any, Callable, get_args, get_origin

_INT = re.compile(r"\s*([+-]?\d+)(?:\.0*)?\s*", re.ASCII)   # what typer's pydantic accepted: 3, +3, 03, 3.0
_OTHER = object()          # a value this module does not convert: typer's own conversion decides


def _text(value: Any) -> Any:
    return value if isinstance(value, str) else _OTHER


def _path(value: Any) -> Any:
    if not isinstance(value, (str, Path)):
        return _OTHER
    path = value if isinstance(value, Path) else Path(value)
    # as typer does (readable=True by default): an existing path must be readable; a path that cannot
    # be looked at (absent, a name too long) is left to the command, which says why in Chinese
    try:
        os.stat(path)
    except (OSError, ValueError):
        return path
    if not os.access(path, os.R_OK):
        raise ValueError(f"“{value}”没有读取权限。")
    return path


def _flag(value: Any) -> Any:
    return value if isinstance(value, bool) else _OTHER


def _integer(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _INT.fullmatch(value) if isinstance(value, str) else None
    if m is not None:
        try:
            return int(m.group(1))
        except ValueError:   # more digits than Python converts
            pass
    raise ValueError(f"“{str(value)[:40]}”不是整数。")


def _choice(enum: type[Enum]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, enum):
            return value
        try:
            return enum(value)
        except ValueError:
            raise ValueError(f"“{value}”不是可选值 {'、'.join(str(m.value) for m in enum)} 之一。") from None
    return convert


def _many(one: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(values: Any) -> Any:
        if not isinstance(values, (list, tuple)):
            return _OTHER
        out = [one(v) for v in values]
        return _OTHER if any(v is _OTHER for v in out) else out
    return convert


def converter(annotation: Any) -> Callable[[Any], Any] | None:
    """How a value of this annotation is converted here, or None (typer converts it)."""
    if get_origin(annotation) is list:
        args = get_args(annotation)
        inner = converter(args[0]) if len(args) == 1 and get_origin(args[0]) is None else None
        return _many(inner) if inner is not None else None
    if annotation is str:
        return _text
    if annotation is bool:
        return _flag
    if annotation is int:
        return _integer
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return _path if annotation is Path else None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(annotation)
    return None


def _plain_option(info: Any) -> bool:
    """No parser, click type, range, path check other than readability, or case-insensitive choice:
    nothing typer's adapter would add."""
    checks = {"parser": None, "click_type": None, "min": None, "max": None, "exists": False,
              "resolve_path": False, "writable": False, "readable": True, "allow_dash": False,
              "path_type": None, "case_sensitive": True}
    return all(getattr(info, name, default) == default for name, default in checks.items()) \
        and getattr(info, "file_okay", True) and getattr(info, "dir_okay", True)


def install() -> None:
    """Give typer's parameters this conversion where it applies (typer 0.20 and later). Anything
    unexpected in typer's internals leaves typer's own conversion in place."""
    try:
        _install()
    except Exception:  # noqa: BLE001 - a typer whose internals differ: its own conversion stays
        pass


def _install() -> None:
    try:
        from typer import core
        from typer._click.exceptions import BadParameter  # type: ignore[import-not-found]
        from typer._coercion import RuntimeParam, build_runtime_param  # type: ignore[import-not-found]
    except ImportError:   # an older typer converts through click, without pydantic
        return
    cls = getattr(core, "_TyperParameter", None)
    original = getattr(cls, "get_runtime_param", None)
    if cls is None or original is None or getattr(original, "pbtool", False):
        return
    # the runtime parameter this module builds: typer's two fields and a converter
    if not dataclasses.is_dataclass(RuntimeParam) or \
            [f.name for f in dataclasses.fields(RuntimeParam)] != ["parameter_info", "annotation"]:
        return

    @dataclasses.dataclass(frozen=True)
    class Plain(RuntimeParam):  # type: ignore[misc, valid-type]
        convert: Callable[[Any], Any] = _text

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                out = self.convert(value)
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None
            if out is _OTHER:
                return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)
            return out

    def get_runtime_param(self: Any) -> Any:
        if getattr(self, "_runtime_param", None) is None:
            desc = getattr(self, "type_descriptor", None)
            if desc is not None and getattr(desc, "file_annotation", None) is None \
                    and _plain_option(desc.parameter_info):
                convert = converter(desc.annotation)
                if convert is not None:
                    self._runtime_param = Plain(parameter_info=desc.parameter_info, annotation=desc.annotation,
                                                convert=convert)
        return original(self)

    get_runtime_param.pbtool = True  # type: ignore[attr-defined]
    cls.get_runtime_param = get_runtime_param
