"""Records that cross the report stage's boundary: the result of a run, a variable's description, the error."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PbtoolError
from .fmt import MISSING


class ReportError(PbtoolError):
    """A report that cannot be made (missing period, bad template …); the message is Chinese."""


@dataclass
class ReportResult:
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)    # figures the store lacked, left as 【待填写】
    warnings: list[str] = field(default_factory=list)   # chart left out, PDF not made …
    pdf_files: list[Path] = field(default_factory=list)
    narrative: list[str] = field(default_factory=list)  # 【待填写：…】 paragraphs a person writes

    def add_narrative(self, items: list[str]) -> None:
        for m in items:
            if m not in self.narrative:
                self.narrative.append(m)

    def add_missing(self, items: list[str]) -> None:
        for m in items:
            if m not in self.missing:
                self.missing.append(m)

    def add_warning(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


@dataclass
class VarInfo:
    name: str        # "findings[].title" is a field of each item of the list "findings"
    type: str        # 整数 | 文本 | 比率 | 变化 | 日期 | 列表 | 对象 | 图片
    meaning: str     # Chinese
    value: Any = None


class Missing:
    """Collects descriptions of figures the store lacks while a context is built."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def note(self, description: str) -> None:
        if description not in self.items:
            self.items.append(description)

    def value(self, value: Any, description: str) -> Any:
        """The value, or 【待填写】 (noting why) when the store does not have it."""
        if value is None:
            self.note(description)
            return MISSING
        return value
