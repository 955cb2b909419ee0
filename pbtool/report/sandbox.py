"""The sandboxed Jinja environment report templates run in, and Chinese explanations of template errors.

A template can read the documented context (plain dicts, lists, strings, numbers) and nothing else:
attributes starting with "_" are refused (SecurityError), data cannot be modified, there is no loader
(so no include/import of files), and an unknown name fails instead of printing nothing."""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment
from jinja2.utils import missing

from . import limits
from .model import ReportError

TAG_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
XML_TAG_RE = re.compile(r"<[^>]+>")


class _Lookup(str):
    """An undefined-error message that also carries what was looked up (name, and the object it was
    looked up on), so the Chinese explanation can name the placeholder and list the valid fields."""

    name: Any = None
    obj: Any = None


class ReportUndefined(StrictUndefined):
    """StrictUndefined whose error message remembers the failed lookup."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        msg = _Lookup(super()._undefined_message)
        msg.name = self._undefined_name
        msg.obj = None if self._undefined_obj is missing else self._undefined_obj
        return msg


class ReportSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, compiling each template source once: docxtpl hands the same XML to from_string
    for every document rendered from one template (300 notices compile once, not 300 times)."""

    def __init__(self) -> None:
        super().__init__(undefined=ReportUndefined, autoescape=True)
        self.globals = {"range": self.globals["range"]}   # the sandbox's range, capped at MAX_RANGE items
        self._compiled: dict[str, Any] = {}
        # issue 10 caps: loop iterations per render, string widths, format widths (report/limits.py)
        self.budget = limits.Budget()
        self.globals["range"] = self.budget.range
        self.filters = limits.capped_filters(self.filters)

    # Arithmetic that could exhaust memory or time ('x' * 10**9, 9 ** 999999) is refused.
    intercepted_binops = frozenset({"*", "**", "%"})
    MAX_REPEAT = 100_000
    MAX_EXPONENT = 64

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%":
            limits.check_format(left)
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > self.MAX_EXPONENT:
            raise SecurityError(f"乘方的指数过大（最多 {self.MAX_EXPONENT}）")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > self.MAX_REPEAT:
                    raise SecurityError(f"重复生成的文字或列表过长（最多 {self.MAX_REPEAT} 项）")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "")
        bound = getattr(__obj, "__wrapped__", __obj)   # the sandbox hands str.format out wrapped
        if isinstance(getattr(bound, "__self__", None), str):
            limits.check_width(name, args, kwargs)
            if name in ("format", "format_map"):
                limits.check_format(bound.__self__)
        return super().call(__context, __obj, *args, **kwargs)

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        tpl = self._compiled.get(source)
        if tpl is None:
            tpl = self._compiled[source] = super().from_string(source)
        return tpl


def make_env() -> ReportSandbox:
    """A fresh sandbox: autoescape on (values land in XML), strict undefined, no loader, few globals."""
    return ReportSandbox()


def tags_of(xml: str) -> list[str]:
    """The placeholders ({{ … }}, {% … %}) of a patched docxtpl XML part, as the user typed them."""
    return [_one_line(XML_TAG_RE.sub("", t)) for t in TAG_RE.findall(xml)]


def _one_line(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _tag_with(name: str, tags: Iterable[str]) -> str | None:
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)|\.{re.escape(name)}(?!\w)")
    for t in tags:
        if word.search(t):
            return t
    return None


def _vars_hint(kind: str) -> str:
    return f"可用变量见 pbtool report vars {kind}"


def _suggest(name: str, choices: Iterable[str]) -> str:
    """The documented name closest to a misspelled one ('stret_name' -> 'street'), if any is close."""
    def score(c: str) -> float:
        return max(difflib.SequenceMatcher(None, name, c).ratio(),
                   difflib.SequenceMatcher(None, name.split("_")[0], c).ratio())
    best = max(choices, key=score, default=None)
    return f"是否应为“{best}”？" if best is not None and score(best) >= 0.6 else ""


def unknown_names_error(names: list[str], tags: list[str], available: Iterable[str], kind: str) -> ReportError:
    """Placeholders naming variables the context does not have, all named in one message."""
    parts = []
    available = list(available)
    for name in names:
        tag = _tag_with(name, tags) or f"{{{{ {name} }}}}"
        if _one_line(tag) == f"{{{{ {name} }}}}":
            text = f"模板中的“{tag}”不是可用变量"
        else:
            text = f"模板中的“{tag}”用到的“{name}”不是可用变量"
        parts.append(text + (f"（{_suggest(name, available)}）" if _suggest(name, available) else ""))
    return ReportError("；".join(parts) + f"。{_vars_hint(kind)}。")


def check_syntax(env: ReportSandbox, xml: str, kind: str, where: str) -> set[str]:
    """Parse a patched XML part; return its undeclared (context) names, or raise a Chinese ReportError."""
    try:
        ast = env.parse(xml)
    except TemplateSyntaxError as exc:
        raise syntax_error(exc, xml, kind, where) from None
    return set(meta.find_undeclared_variables(ast))


def syntax_error(exc: TemplateSyntaxError, xml: str, kind: str, where: str) -> ReportError:
    lines = xml.splitlines()
    near = ""
    if exc.lineno and 0 < exc.lineno <= len(lines):
        near = _one_line(XML_TAG_RE.sub("", lines[exc.lineno - 1]))[:80]
    what = _syntax_reason(str(exc.message or ""))
    loc = f"出错段落：“{near}”。" if near else ""
    return ReportError(f"模板{where}有语法错误：{what}。{loc}请检查 {{{{ }}}} 与 {{% %}} 是否成对，"
                       f"{{%tr for %}}、{{%p if %}} 等是否有对应的 endfor/endif。"
                       f"（原始信息：{exc.message}）{_vars_hint(kind)}。")


def _syntax_reason(msg: str) -> str:
    m = re.search(r"Encountered unknown tag '(\w+)'", msg)
    if m:
        return f"不认识的标签“{m.group(1)}”（缺少对应的开始标签，或拼写有误）"
    if "Unexpected end of template" in msg:
        m = re.search(r"looking for the following tags: (.*?)\.", msg)
        tags = m.group(1).replace("'", "") if m else "endfor/endif"
        return f"模板提前结束，缺少结束标签（{tags}）"
    m = re.search(r"unexpected '(.+?)'", msg)
    if m:
        return f"出现了意外的“{m.group(1)}”"
    if "expected token" in msg:
        return "表达式写法不完整"
    return "无法解析的占位符"


def runtime_error(exc: Exception, tags: list[str], kind: str) -> ReportError:
    """A failure while rendering, explained in Chinese with the placeholder it came from."""
    lookup = exc.args[0] if exc.args else None
    name = getattr(lookup, "name", None)
    obj = getattr(lookup, "obj", None)
    if isinstance(exc, SecurityError) and name is None and _attr_from(str(exc)) is None:
        return ReportError(f"模板中的表达式出于安全考虑已拒绝：{exc}。{_vars_hint(kind)}。")
    if isinstance(exc, SecurityError) or (isinstance(exc, UndefinedError) and str(name or "").startswith("_")):
        attr = str(name or _attr_from(str(exc)) or "?")
        tag = _tag_with(attr, tags)
        where = f"模板中的“{tag}”" if tag else "模板"
        if attr.startswith("_"):
            what = f"试图访问内部属性“{attr}”"
        else:
            what = f"试图调用会修改数据或访问程序内部的方法“{attr}”"
        return ReportError(f"{where}{what}，出于安全考虑已拒绝。模板只能读取文档说明的变量，"
                           f"不能访问程序内部对象或文件。{_vars_hint(kind)}。")
    if isinstance(exc, UndefinedError) and name is not None:
        tag = _tag_with(str(name), tags)
        where = f"模板中的“{tag}”" if tag else "模板"
        if isinstance(obj, dict):
            fields = "、".join(obj.keys())
            hint = _suggest(str(name), obj.keys())
            return ReportError(f"{where}用到的字段“{name}”不存在（该项可用字段：{fields}）。{hint}{_vars_hint(kind)}。")
        if isinstance(obj, (list, tuple)):
            return ReportError(f"{where}取列表的第 {name} 项，但列表只有 {len(obj)} 项。{_vars_hint(kind)}。")
        if obj is not None:
            return ReportError(f"{where}对“{obj}”取“{name}”，但它不是可取字段的对象。{_vars_hint(kind)}。")
        return unknown_names_error([str(name)], tags, [], kind)
    if isinstance(exc, OverflowError):
        return ReportError(f"模板中的循环次数过多（range 最多 {MAX_RANGE} 次），已停止渲染。{_vars_hint(kind)}。")
    if isinstance(exc, TypeError) and "no loader" in str(exc):
        return ReportError(f"模板不能引用其他文件（include、import、extends 不可用）。{_vars_hint(kind)}。")
    if isinstance(exc, TemplateError):
        return ReportError(f"模板渲染出错：{exc}。{_vars_hint(kind)}。")
    return ReportError(f"模板渲染出错（{type(exc).__name__}：{exc}），请检查占位符中的表达式。{_vars_hint(kind)}。")


def _attr_from(msg: str) -> str | None:
    m = re.search(r"attribute '([^']+)'", msg)
    return m.group(1) if m else None
