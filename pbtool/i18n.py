"""Chinese for the texts that click and typer print themselves (usage, option panels, errors).

Both libraries pass their messages through gettext's `_`; we give their modules a `_` that looks the
English text up in this table and falls back to it, so a message we do not know stays readable."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import re
import sys
from collections.abc import Callable
from typing import Any

ZH = {
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "Usage:": "用法：",
    "Options": "选项",
    "Arguments": "参数",
    "Commands": "命令",
    "Error": "错误",
    "Error: {message}": "错误：{message}",
    "Aborted!": "已中止。",
    "Aborted.": "已中止。",
    "Missing command.": "缺少命令。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing {param_type}": "缺少{param_type}",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值不对：{message}",
    "Invalid value: {message}": "值不对：{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "Try [blue]'{command_path} {help_option}'[/] for help.": "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不需要值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是文件夹。",
    "{value!r} is not one of {choices}.": "{value!r} 不是可选值 {choices} 之一。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的是/否值，可用：{states}",
    "'{default}' is not one of {choices}.": "'{default}' 不是可选值 {choices} 之一。",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "[default: {}]": "[默认：{}]",
    "[env var: {}]": "[环境变量：{}]",
    "[required]": "[必填]",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "required": "必填",
}


# Typer vendors its own click, whose messages are plain f-strings: translate them by pattern.
PATTERNS = [
    (re.compile(r"^Missing option (.+?)\.?$"), r"缺少必填选项 \1。"),
    (re.compile(r"^Missing argument (.+?)\.?$"), r"缺少参数 \1。"),
    (re.compile(r"^Missing parameter: (.+)$"), r"缺少参数：\1"),
    (re.compile(r"^No such option: (\S+) \(Possible options: (.+)\)$"), r"没有选项 \1（是否想用：\2）"),
    (re.compile(r"^No such option: (\S+)$"), r"没有选项 \1"),
    (re.compile(r"^No such command ('[^']*')\.*"), r"没有命令 \1。"),
    (re.compile(r"\s*Did you mean (.+?)\?"), r"是否想用 \1？"),
    (re.compile(r"^Option (.+?) requires an argument\.?$"), r"选项 \1 后面需要一个值。"),
    (re.compile(r"^Got unexpected extra arguments? \((.+)\)$"), r"多余的参数：\1"),
    (re.compile(r"^Invalid value for (.+?): (?:Value error, )?(.+)$"), r"\1 的值不对：\2"),
    (re.compile(r"(\S+) is not one of (.+?)\.$"), r"\1 不是可选值 \2 之一。"),
    (re.compile(r"^Usage: "), "用法："),
]


def translate(message: str) -> str:
    for pattern, repl in PATTERNS:
        message = pattern.sub(repl, message)
    return message


def _(text: str) -> str:
    return ZH.get(text, text)


def install() -> None:
    for name in ("click.core", "click.decorators", "click.exceptions", "click.formatting", "click.parser",
                 "click.types", "typer.core"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = _
    try:
        from typer._click import formatting
        original_usage = formatting.HelpFormatter.write_usage

        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:  # type: ignore[no-untyped-def]
            for en, zh in USAGE_WORDS.items():
                args = args.replace(en, zh)
            original_usage(self, prog, args, "用法：" if prefix is None else prefix)

        formatting.HelpFormatter.write_usage = write_usage
        from typer._click import core
        original_help_option = core.Command.get_help_option

        def get_help_option(self, ctx):  # type: ignore[no-untyped-def]
            opt = original_help_option(self, ctx)
            if opt is not None:
                opt.help = ZH["Show this message and exit."]
            return opt

        core.Command.get_help_option = get_help_option
    except ImportError:
        pass
    _translate_types()
    # typer imports rich_utils (and with it rich's Markdown, Syntax and Traceback: 0.08 s) only to print
    # help or a usage error: translated when it is imported, not imported to be translated
    if "typer.rich_utils" in sys.modules:
        _translate_rich_utils(sys.modules["typer.rich_utils"])
    elif not any(isinstance(f, _AfterImport) and not f.done for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("typer.rich_utils", _translate_rich_utils))


def _translate_rich_utils(ru: Any) -> None:
    ru._ = _
    original_format_error = ru.rich_format_error

    def format_error(exc) -> None:  # type: ignore[no-untyped-def]
        message = exc.format_message()
        exc.format_message = lambda: translate(message)
        original_format_error(exc)

    ru.rich_format_error = format_error
    ru.RICH_HELP = ZH["Try [blue]'{command_path} {help_option}'[/] for help."]
    ru.ARGUMENTS_PANEL_TITLE = "参数"
    ru.OPTIONS_PANEL_TITLE = "选项"
    ru.COMMANDS_PANEL_TITLE = "命令"
    ru.ERRORS_PANEL_TITLE = "错误"
    ru.REQUIRED_LONG_STRING = "[必填]"
    ru.DEFAULT_STRING = "[默认：{}]"
    ru.ENVVAR_STRING = "[环境变量：{}]"
    ru.ABORTED_TEXT = "已中止。"


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs `then(module)` once the named module has been imported (by whoever imports it first)."""

    def __init__(self, name: str, then: Callable[[Any], None]):
        self.name, self.then = name, then
        self.done = False   # left in sys.meta_path: removing it while another thread imports could skip a finder

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name or self.done:
            return None
        self.done = True
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader, then = spec.loader, self.then

        class Loader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: Any) -> None:
                loader.exec_module(module)  # type: ignore[attr-defined]
                try:
                    then(module)
                except Exception:  # noqa: BLE001 - a typer whose help module differs: English help, not a traceback
                    pass

        spec.loader = Loader()
        return spec


# Help shows each parameter's type the way Python spells it (<list[Path]>, <str>, <bool>) and the usage line
# "[OPTIONS] {files}...": a clerk reads these words in Chinese, and a flag needs no type at all.
TYPE_WORDS = {"list[Path]": "文件", "list[str]": "文字", "str": "文字", "path": "路径", "Path": "路径", "int": "整数",
              "float": "数字", "bool": "", "text": "文字", "integer": "整数", "boolean": ""}
USAGE_WORDS = {"[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]...", "{files}": "文件", "{run}": "导入编号",
               "{kind}": "模板类型"}


def _type_word(shown: str | None) -> str | None:
    if not shown:
        return shown
    dots = "..." if shown.endswith("...") else ""
    core = shown.removesuffix("...")
    bare = core[1:-1] if core.startswith("<") and core.endswith(">") else core
    if bare in TYPE_WORDS:
        word = TYPE_WORDS[bare]
        return f"<{word}>{dots}" if word else None
    return shown


def _translate_types() -> None:
    try:
        from typer import core
    except ImportError:  # pragma: no cover - older typer: nothing to translate
        return
    for cls in (core.TyperArgument, core.TyperOption):
        original = cls.display_type_rich

        def display_type_rich(self, ctx, _original=original):  # type: ignore[no-untyped-def]
            return _type_word(_original(self, ctx))

        cls.display_type_rich = display_type_rich  # type: ignore[method-assign]
