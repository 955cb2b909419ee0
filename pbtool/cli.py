"""Command line: argument parsing only; every command calls the Python API and renders its result."""
from __future__ import annotations

import datetime as dt
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from . import __version__, i18n

i18n.install()

app = typer.Typer(
    name="pbtool",
    help="城市基层党建数据工具：导入各街道党员花名册和资源清单，查找党组织覆盖空白点，生成总结、通报和整改通知书。\n\n"
         "新手先运行：pbtool demo",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


# Options shared by several commands, declared once.
DbOpt = Annotated[Optional[str], typer.Option(
    "--db", envvar="PBTOOL_DB", help="数据库文件路径或 SQLAlchemy 网址（默认 ./pbtool.db，也可用环境变量 PBTOOL_DB）。",
    show_default=False)]
PeriodOpt = Annotated[str, typer.Option("--period", "-p", help="期别，年份+Q+季度，例如 2026Q3。", show_default=False)]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="输出格式：text（表格）或 json。")]
ShowPersonalOpt = Annotated[bool, typer.Option(
    "--show-personal", help="在屏幕和 JSON 中显示完整身份证号和电话（默认打码）。")]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _print_json(data: object) -> None:
    """JSON is always UTF-8, also when Windows redirects stdout in its ANSI code page. Indented for a
    person at a terminal; compact into a file or pipe (json's C encoder only runs without indent,
    which matters for 50,000 findings)."""
    tty = sys.stdout.isatty()
    if hasattr(sys.stdout, "reconfigure") and not tty:
        sys.stdout.reconfigure(encoding="utf-8")
    print(json.dumps(data, ensure_ascii=False, indent=2 if tty else None))


def _fail(message: str, code: int = 2) -> None:
    Console(stderr=True, highlight=False).print(f"[red]错误：[/]{message}")
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        print(f"pbtool {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="显示版本号。")] = False) -> None:
    """城市基层党建数据工具。"""


@app.command("import")
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="要导入的花名册和资源清单文件（.xlsx .xls .ods .csv），可一次给多个。",
                                                show_default=False)],
    period: PeriodOpt,
    db: DbOpt = None,
    street: Annotated[Optional[str], typer.Option(
        "--street", "-s", help="文件所属街道（不写则从街道列、标题行或文件名识别）。", show_default=False)] = None,
    map_: Annotated[Optional[list[str]], typer.Option(
        "--map", help="指定列对应的字段，格式 原列名=字段，可多次使用，例如 --map 现居小区=estate。", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查并报告问题，不写入数据库。")] = False,
    problems: Annotated[Optional[Path], typer.Option(
        "--problems", help="把全部问题写入此 Excel 文件，供街道对照修改。", show_default=False)] = None,
    fmt: FormatOpt = OutputFormat.text,
    show_personal: ShowPersonalOpt = False,
) -> None:
    """导入一个期别的党员花名册和资源清单，逐行检查并存入数据库。

    同一街道同一期别重新导入时，替换该街道原有的同类数据，不会重复计入。
    有问题的行照常保存并标记；退出码：0 无错误，1 有“错误”级问题，2 文件无法导入（数据库不变）。

    示例：pbtool import 东湖街道花名册.xlsx 资源清单.xlsx --period 2026Q3 --problems 问题清单.xlsx
    """
    from .importer import ImportError_, import_files
    from .mapping import parse_user_map
    from .outputs.terminal import print_import
    from .read import ReadError
    from .store import StoreError

    console = _console()
    try:
        user_map = parse_user_map(map_)
        with _progress(console, fmt == OutputFormat.text) as progress:
            result = import_files(files, period, db, street=street, user_map=user_map, dry_run=dry_run,
                                  progress=progress)
    except (ImportError_, ReadError, StoreError, ValueError) as exc:
        _fail(str(exc))
        return
    if problems:
        from .outputs.problems_xlsx import write_problem_workbook
        write_problem_workbook(result, list(files), problems)
    if fmt == OutputFormat.json:
        _print_json(result.as_dict(mask=not show_personal))
    else:
        print_import(result, console, mask=not show_personal)
        if problems:
            console.print(f"问题清单已写入：{problems}")
    raise typer.Exit(1 if result.errors else 0)


@app.command("coverage")
def coverage_cmd(
    period: PeriodOpt,
    db: DbOpt = None,
    street: Annotated[Optional[str], typer.Option("--street", "-s", help="只看这个街道。", show_default=False)] = None,
    xlsx: Annotated[Optional[Path], typer.Option(
        "--xlsx", help="写出整改台账 Excel（汇总表 + 每个街道一张表）。", show_default=False)] = None,
    fmt: FormatOpt = OutputFormat.text,
    fail_on_findings: Annotated[bool, typer.Option(
        "--fail-on-findings", help="发现空白点时以退出码 1 结束（便于脚本判断）。")] = False,
) -> None:
    """排查一个期别的党组织覆盖空白点和覆盖率，并与上一期对比。

    退出码：0 完成；1 有空白点且用了 --fail-on-findings；2 数据库中没有该期别或缺少资源清单。

    示例：pbtool coverage --period 2026Q3 --xlsx 整改台账.xlsx
    """
    from .config import ConfigError
    from .coverage import CoverageError, compute_coverage
    from .importer import ImportError_
    from .outputs.terminal import print_coverage
    from .store import StoreError

    try:
        result = compute_coverage(db, period, street)
    except (CoverageError, ImportError_, StoreError, ConfigError) as exc:
        _fail(str(exc))
        return
    if xlsx:
        from .outputs.ledger_xlsx import write_ledger
        write_ledger(result, xlsx)
    if fmt == OutputFormat.json:
        _print_json(result.as_dict())
    else:
        console = _console()
        print_coverage(result, console)
        if xlsx:
            console.print(f"整改台账已写入：{xlsx}")
    raise typer.Exit(1 if fail_on_findings and result.findings else 0)


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="演示结果输出文件夹（其中的 demo.db 每次重建）。")] = Path("pbtool-demo"),
) -> None:
    """用随附的示例数据（虚构的青湖区三个街道）演示完整流程：导入两个季度、排查空白点、写出问题清单、整改台账和文书。

    示例：pbtool demo --out 演示结果
    """
    from .demo import DemoError, run_demo

    try:
        run_demo(out, _console())
    except DemoError as exc:
        _fail(str(exc))


report_app = typer.Typer(
    help="生成 Word 文书：年度总结、季度通报、整改通知书（模板可在 Word/WPS 中修改）。",
    no_args_is_help=True, rich_markup_mode="rich", context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(report_app, name="report")

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="文书输出文件夹。")]
TemplateOpt = Annotated[Optional[Path], typer.Option(
    "--template", help="使用自己修改过的 .docx 模板（可用变量见 pbtool report vars）。", show_default=False)]
OrgOpt = Annotated[Optional[str], typer.Option(
    "--org-name", help="发文机关署名（默认取 pbtool.toml \\[report] 发文机关；都没有时文书中为【发文机关】）。",
    show_default=False)]
PdfOpt = Annotated[bool, typer.Option("--pdf", help="同时用 LibreOffice 转成 PDF（需已安装 LibreOffice）。")]
DateOpt = Annotated[Optional[str], typer.Option(
    "--date", help="成文日期，如 2026-12-31（默认为今天）。", show_default=False)]
DocNumberOpt = Annotated[Optional[str], typer.Option(
    "--doc-number", help="发文字号的序号，与 pbtool.toml \\[report] 发文字号 前缀合成如“×组通〔2026〕5号”。",
    show_default=False)]
CcOpt = Annotated[Optional[str], typer.Option("--cc", help="版记中的抄送机关（默认取 pbtool.toml \\[report] 抄送）。",
                                              show_default=False)]
PrinterOpt = Annotated[Optional[str], typer.Option(
    "--printer", help="版记中的印发机关（默认取 pbtool.toml \\[report] 印发机关）。", show_default=False)]


def _date_option(value: Optional[str], option: str) -> Optional[dt.date]:
    from .clean import clean_date

    if not value:
        return None
    iso, code, _ = clean_date(value)
    if code or not iso or len(iso) != 10:
        _fail(f"{option} “{value}”不是有效日期，请写成 2026-12-31。")
    return dt.date.fromisoformat(iso)


def _report(call) -> None:  # type: ignore[no-untyped-def]
    from .coverage import CoverageError
    from .importer import ImportError_
    from .report import ReportError
    from .store import StoreError

    console = _console()
    try:
        result = call()
    except (ReportError, CoverageError, ImportError_, StoreError) as exc:
        _fail(str(exc))
        return
    for f in result.files + result.pdf_files:
        console.print(f"已生成：{f}")
    for w in result.warnings:
        console.print(f"[yellow]提示[/]：{w}")
    if result.missing:
        console.print("数据库中没有以下内容，文书中已留空为【待填写】：")
        for m in result.missing:
            console.print(f"  - {m}")
    if result.narrative:
        console.print("以下段落需要撰写（文书中以黄色标出）：")
        for m in result.narrative:
            console.print(f"  - {m}")


@report_app.command("annual")
def report_annual(
    year: Annotated[int, typer.Option("--year", "-y", help="年度，例如 2026。", show_default=False)],
    db: DbOpt = None, out: OutOpt = Path("."), template: TemplateOpt = None, org_name: OrgOpt = None,
    pdf: PdfOpt = False, date: DateOpt = None, doc_number: DocNumberOpt = None, cc: CcOpt = None,
    printer: PrinterOpt = None,
) -> None:
    """生成年度城市基层党建工作总结（基本情况、做法成效、存在问题、下一步打算，含表格和图表）。

    没有上年数据时，与本年最早导入的季度末比较，并在文中说明。

    示例：pbtool report annual --year 2026 --out 文书
    """
    from .report import render_annual
    doc_date = _date_option(date, "--date")
    _report(lambda: render_annual(db, year, out, org_name=org_name, template=template, pdf=pdf, doc_date=doc_date,
                                  doc_number=doc_number, cc=cc, printer=printer))


@report_app.command("quarterly")
def report_quarterly(
    period: PeriodOpt, db: DbOpt = None, out: OutOpt = Path("."), template: TemplateOpt = None,
    org_name: OrgOpt = None, pdf: PdfOpt = False, date: DateOpt = None, doc_number: DocNumberOpt = None,
    cc: CcOpt = None, printer: PrinterOpt = None,
) -> None:
    """生成季度通报：各街道覆盖率排名、新增/持续/变化/已整改的空白点、覆盖率较上季度变化。

    示例：pbtool report quarterly --period 2026Q3 --out 文书
    """
    from .report import render_quarterly
    doc_date = _date_option(date, "--date")
    _report(lambda: render_quarterly(db, period, out, org_name=org_name, template=template, pdf=pdf,
                                     doc_date=doc_date, doc_number=doc_number, cc=cc, printer=printer))


@report_app.command("notices")
def report_notices(
    period: PeriodOpt, db: DbOpt = None,
    street: Annotated[Optional[str], typer.Option("--street", "-s", help="只生成这个街道的通知书。",
                                                  show_default=False)] = None,
    deadline: Annotated[Optional[str], typer.Option(
        "--deadline", help="整改时限，如 2026-12-31（默认为成文日期后 30 天；须晚于成文日期）。",
        show_default=False)] = None,
    out: OutOpt = Path("."), template: TemplateOpt = None, org_name: OrgOpt = None, pdf: PdfOpt = False,
    date: DateOpt = None, doc_number: DocNumberOpt = None, cc: CcOpt = None, printer: PrinterOpt = None,
    contact: Annotated[Optional[str], typer.Option(
        "--contact", help="联系人（默认取 pbtool.toml \\[report] 联系人）。", show_default=False)] = None,
    phone: Annotated[Optional[str], typer.Option(
        "--phone", help="联系电话（默认取 pbtool.toml \\[report] 电话）。", show_default=False)] = None,
) -> None:
    """为每个有空白点的街道生成一份整改通知书（空白点清单一处一行、整改建议、整改时限、联系方式、落款，
    附整改情况反馈表）。

    示例：pbtool report notices --period 2026Q3 --deadline 2026-12-31 --out 文书
    """
    from .report import render_notices

    due = _date_option(deadline, "--deadline")
    doc_date = _date_option(date, "--date")
    _report(lambda: render_notices(db, period, out, street=street, deadline=due, org_name=org_name,
                                   template=template, pdf=pdf, doc_date=doc_date, doc_number=doc_number, cc=cc,
                                   printer=printer, contact=contact, phone=phone))


class TemplateKind(str, Enum):
    annual = "annual"
    quarterly = "quarterly"
    notice = "notice"


@report_app.command("vars")
def report_vars(
    kind: Annotated[TemplateKind, typer.Argument(help="模板类型：annual（年度总结）、quarterly（季度通报）、notice（整改通知书）。")],
    db: DbOpt = None,
    period: Annotated[Optional[str], typer.Option(
        "--period", "-p", help="给出期别（年度总结给年份）时同时显示各变量在该期的取值。", show_default=False)] = None,
) -> None:
    """列出模板中可用的每个变量和循环：名称、类型、含义，以及（给出期别时）当前取值。

    示例：pbtool report vars notice --period 2026Q3
    """
    from rich.table import Table

    from .report import ReportError, template_vars
    from .store import StoreError

    try:
        items = template_vars(kind.value, db if period else None, period)
    except (ReportError, StoreError) as exc:
        _fail(str(exc))
        return
    t = Table(title=f"{kind.value} 模板变量（在 .docx 中写作 {{{{ 变量名 }}}}）", title_justify="left")
    for h in ("变量", "类型", "含义") + (("取值",) if period else ()):
        t.add_column(h, overflow="fold")
    for v in items:
        row = [v.name, v.type, v.meaning]
        if period:
            row.append("" if v.value is None else str(v.value))
        t.add_row(*row)
    _console().print(t)


class _progress:
    """A rich progress bar for sheets over a few thousand rows; nothing for small files or JSON output."""

    def __init__(self, console: Console, enabled: bool):
        self.enabled = enabled and console.is_terminal
        self.console = console
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} 行"),
                            TimeElapsedColumn(), console=self.console, transient=True)
        self.bar.start()
        return self.update

    def update(self, label: str, done: int, total: int) -> None:
        # total 0 = size not known yet (a workbook being parsed): an indeterminate bar
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=total or None)
        self.bar.update(self.tasks[label], completed=done, total=total or None)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def run() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    sys.exit(app())
