"""What a department sets once for its documents: [report] in pbtool.toml, overridden by options.

    [report]
    "发文机关" = "中共××区委组织部"      # TOML quotes keys that are not ASCII; org_name = … works too
    "联系人" = "王××"
    "电话" = "0571-12345678"
    "发文字号" = "×组通"          # prefix: documents print ×组通〔2026〕N号 (N from --doc-number)
    "抄送" = "区委办公室"          # 版记 (optional)
    "印发机关" = "中共××区委组织部办公室"

There is no fictional default: a document without 发文机关 says 【发文机关】 and the command says how to
set it."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .model import ReportError

CONFIG_NAME = "pbtool.toml"
ORG_PLACEHOLDER = "【发文机关】"
HOW_TO_SET_ORG = ("未设置发文机关，文书中落款为“【发文机关】”。请在 pbtool.toml 的 [report] 中写一行 "
                  "\"发文机关\" = \"中共××区委组织部\"（键名加英文双引号），或用 --org-name 指定。")
KEYS = {"发文机关": "org_name", "联系人": "contact", "电话": "phone", "发文字号": "doc_number_prefix",
        "抄送": "cc", "印发机关": "printer"}


@dataclass(frozen=True)
class ReportSettings:
    org_name: str | None = None
    contact: str | None = None
    phone: str | None = None
    doc_number_prefix: str | None = None
    doc_number: str | None = None      # the number itself, per document (--doc-number)
    cc: str | None = None
    printer: str | None = None

    def merged(self, **options: Any) -> ReportSettings:
        """These settings with every option that was given (not None) taking precedence."""
        given = {k: (str(v).strip() or None) for k, v in options.items() if v is not None}
        unknown = set(given) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(sorted(unknown))
        return replace(self, **given)


def load_settings(path: Path | None = None) -> ReportSettings:
    """[report] of pbtool.toml (./pbtool.toml unless a path is given); empty settings without one."""
    path = Path(path) if path else Path(CONFIG_NAME)
    if not path.is_file():
        return ReportSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReportError(f"配置文件 {path} 无法读取：{exc}") from None
    section = data.get("report", {})
    if not isinstance(section, dict):
        raise ReportError(f"配置文件 {path}：[report] 应为一节设置。")
    values: dict[str, Any] = {}
    english = set(KEYS.values())
    for key, value in section.items():
        if key in english:
            key = next(k for k, v in KEYS.items() if v == key)
        if key not in KEYS:
            raise ReportError(f"配置文件 {path}：[report] 中的“{key}”不是可用的设置（可用：{'、'.join(KEYS)}）。")
        if not isinstance(value, str):
            raise ReportError(f"配置文件 {path}：[report] {key} 应为文字，用英文双引号括起来。")
        values[KEYS[key]] = value.strip() or None
    return ReportSettings(**values)
