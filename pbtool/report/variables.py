"""The template variables of each document kind, from vars.toml: listed with their meaning (and, for a
period, their value) by `pbtool report vars`, and rendered as Markdown for the docs."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

from .fmt import MISSING
from .model import ReportError, VarInfo

KINDS = ("annual", "quarterly", "notice")
KIND_TITLES = {"annual": "年度总结", "quarterly": "季度通报", "notice": "整改通知书"}


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, list[dict[str, str]]]:
    return tomllib.loads(resources.files("pbtool.report").joinpath("vars.toml").read_text(encoding="utf-8"))


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ReportError(f"没有“{kind}”这种文书。可用：annual（年度总结）、quarterly（季度通报）、notice（整改通知书）。")
    return kind


def specs(kind: str) -> list[dict[str, str]]:
    """Variable descriptions of a kind: the common ones, then the kind's own."""
    cat = _catalogue()
    return [dict(v) for v in cat["common"] + cat[check_kind(kind)]]


def top_level_names(kind: str) -> set[str]:
    return {v["name"] for v in specs(kind) if "[]" not in v["name"]}


def image_names(kind: str) -> set[str]:
    return {v["name"] for v in specs(kind) if v["type"] == "图片"}


def lookup(context: dict[str, Any], name: str) -> Any:
    """The value a variable has in a context, shortened for listing: lists as '共N项'; a field of a
    list's items as its value in the first item."""
    head, *rest = name.split("[].")
    value: Any = context.get(head)
    for part in rest:
        if not isinstance(value, list):
            return None
        if not value:
            return "（列表为空）"
        value = value[0].get(part) if isinstance(value[0], dict) else None
    if isinstance(value, list):
        return f"共{len(value)}项"
    if isinstance(value, bytes):
        return "（图片）"
    if isinstance(value, dict):
        return "；".join(f"{k}={v}" for k, v in value.items())
    return value


def describe(kind: str, context: dict[str, Any] | None) -> list[VarInfo]:
    return [VarInfo(v["name"], v["type"], v["meaning"], lookup(context, v["name"]) if context is not None else None)
            for v in specs(kind)]


def vars_markdown(kinds: tuple[str, ...] = KINDS) -> str:
    """The variable reference as Markdown tables, one per document kind (for the docs)."""
    out = [(f"未能从数据库取得的数字显示为 {MISSING}。列表字段写作 `列表[].字段`，"
           "在模板中用 `{%tr for r in 列表 %}` … `{{ r.字段 }}` … `{%tr endfor %}` 取用。"), ""]
    for kind in kinds:
        out += [f"### {KIND_TITLES[kind]}（{kind}）", "", "| 变量 | 类型 | 含义 |", "|---|---|---|"]
        out += [f"| `{v['name']}` | {v['type']} | {v['meaning']} |" for v in specs(kind)]
        out.append("")
    return "\n".join(out)
