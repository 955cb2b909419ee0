"""Terminal renderer of `pbtool inspect` (survey.SurveyResult). Names are printed as written."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..problems import mask_value
from ..survey import SurveyResult


def print_survey(result: SurveyResult, console: Console, mask: bool = True) -> None:
    for f in result.files:
        fmt = {"xlsx": "Excel 工作簿", "xls": "Excel 97-2003 工作簿", "csv": "文本（CSV/制表符分隔）",
               "html": "网页表格"}.get(f.format, f.format)
        enc = f"，编码 {f.encoding}" if f.encoding else ""
        console.print(f"[bold]{escape(f.file)}[/]（内容为{fmt}{enc}）")
        if f.refused:
            console.print(f"  [red]这是{escape(f.refused)}，不是花名册或资源清单，不能导入。[/]")
        if f.bad_rows:
            rows = "、".join(map(str, f.bad_rows[:20])) + ("等" if len(f.bad_rows) > 20 else "")
            console.print(f"  [yellow]第{rows}行有无法识别的字节，导入时将略过并报告。[/]")
        for s in f.sheets:
            if not s.kind:
                console.print(f"  工作表“{escape(s.sheet)}”：不导入。{escape(s.diagnosis)}")
                continue
            rows = "、".join(map(str, s.header_rows))
            console.print(f"  工作表“{escape(s.sheet)}”：{s.kind_title}，表头在第{rows}行，约 {s.data_rows} 行数据")
            t = Table(title_justify="left")
            for h in ("列", "表头", "字段", "依据", "示例值", "内容像"):
                t.add_column(h, overflow="fold")
            for c in s.columns:
                field = f"{c.field_title}（{c.field}）" if c.field else "—"
                samples = "、".join(mask_value(v) if mask else v for v in c.samples)
                t.add_row(c.column, escape(c.header), field, c.reason, escape(samples), c.looks_like)
            console.print(t)
            for c in s.columns:
                if c.note:
                    console.print(f"    [yellow]提示[/]：{escape(c.note)}")
