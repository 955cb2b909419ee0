"""Command line: argument parsing only; every command calls the Python API and renders its result."""

import datetime as dt
import sys
import warnings
from contextlib import suppress
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer
from typer.core import TyperGroup

from . import __version__, cliparams, i18n

if TYPE_CHECKING:
    from rich.console import Console


def _rich_console(**options: Any) -> "Console":
    """rich's Console, imported when a command first prints through it (rich takes 40 ms to import,
    which a JSON output never needs)."""
    from rich.console import Console
    return Console(**options)


def escape(text: str) -> str:
    """rich.markup.escape, imported when first needed."""
    from rich.markup import escape as rich_escape
    return rich_escape(text)

i18n.install()
cliparams.install()


try:   # typer >= 0.20 vendors click; older versions use it as a dependency
    from typer._click import exceptions as _click_exc  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    from click import exceptions as _click_exc  # type: ignore[no-redef]
# usage errors, --help and exits: click's own flow, not failures
_CLICK_FLOW = (_click_exc.ClickException,)


class _Boundary(TyperGroup):
    """The one error boundary: every command runs inside it (also under typer's CliRunner)."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            with warnings.catch_warnings():   # errors.Notice lines go to stderr as they happen
                from .errors import Notice
                warnings.simplefilter("always", Notice)
                warnings.showwarning = _notice_or(warnings.showwarning)
                return super().invoke(ctx)
        except (*_CLICK_FLOW, typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            _err("已取消，数据库未改变（正在进行的导入整体撤回，不会留下一半数据）。")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # the reader of our output stopped reading (pbtool … | head): nothing is wrong, nothing to say;
            # what is still buffered goes nowhere instead of failing again
            import os
            with suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
        except Exception as exc:  # noqa: BLE001 - this is the boundary
            from .errors import PbtoolError, translate
            err = exc if isinstance(exc, PbtoolError) else translate(exc)
            if err is not None:
                _err(err.user_line())
                raise typer.Exit(err.exit_code) from None
            from .errors import write_crash_log
            try:
                log = write_crash_log(exc)
                where = f"详细信息已写入：{log}"
            except OSError:
                where = "详细信息未能写入日志文件"
            _err(f"pbtool 内部错误（{type(exc).__name__}），这是程序的缺陷，请把日志文件发给维护人员。{where}")
            raise typer.Exit(3) from None


def _err(message: str) -> None:
    from .errors import clean_text
    from .problems import mask_value
    _rich_console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]错误：[/]{escape(mask_value(clean_text(message)))}")


def _notice_or(show):  # type: ignore[no-untyped-def]
    """warnings.showwarning that prints an errors.Notice as one Chinese line and leaves the rest to `show`."""
    from .errors import Notice

    def showwarning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        if issubclass(category, Notice):
            from .errors import clean_text
            from .problems import mask_value
            _rich_console(stderr=True, highlight=False, soft_wrap=True).print(
                f"[yellow]提示：[/]{escape(mask_value(clean_text(str(message))))}")
        else:
            show(message, category, filename, lineno, file, line)
    return showwarning


def _err_wait() -> None:
    _rich_console(stderr=True, highlight=False, soft_wrap=True).print("另一个导入正在写入数据库，正在等待它完成……")


app = typer.Typer(
    cls=_Boundary,
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
DistrictOpt = Annotated[Optional[str], typer.Option(
    "--district", help="区名：全市共用一个数据库时，导入的数据属于哪个区、排查哪个区（不写则用 pbtool.toml 中的 "
                       "district；排查时都不写即全市）。", show_default=False)]
ShowPersonalOpt = Annotated[bool, typer.Option(
    "--show-personal", help="在屏幕和 JSON 中显示完整身份证号和电话（默认打码）。")]


def _console() -> "Console":
    return _rich_console(highlight=False, soft_wrap=False)


_KEPT: list[object] = []


def _keep(*objs: Any) -> Any:
    """Hold the command's large results until the process ends: _end leaves with os._exit, so they are
    never freed one object at a time (a city's coverage, 50,000 findings and their JSON records: 0.09 s,
    measured). Each call drops what the previous command kept (tests run many commands in one
    process). Returns the last object given."""
    _KEPT[:] = objs
    return objs[-1]


def _print_json(data: object) -> None:
    """JSON is always UTF-8, also when Windows redirects stdout in its ANSI code page. Indented for a
    person at a terminal; compact into a file or pipe, written piece by piece (outputs/jsonout.py)."""
    from .outputs.jsonout import json_chunks

    tty = sys.stdout.isatty()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None or tty:   # a terminal: through its own encoding (Windows' console)
        sys.stdout.write(b"".join(json_chunks(data, indent=tty)).decode("utf-8") + "\n")
        return
    sys.stdout.flush()
    for piece in json_chunks(data):
        buffer.write(piece)
    buffer.write(b"\n")
    buffer.flush()


def _fail(message: str, code: int = 2) -> None:
    _err(message)
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
    period_mismatch_ok: Annotated[bool, typer.Option(
        "--period-mismatch-ok", help="文件名或标题写的年份/季度与 --period 不同时仍按 --period 导入（默认拒绝）。")] = False,
    problems: Annotated[Optional[Path], typer.Option(
        "--problems", help="把全部问题写入此 Excel 文件，供街道对照修改。", show_default=False)] = None,
    fmt: FormatOpt = OutputFormat.text,
    show_personal: ShowPersonalOpt = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="确认用本次文件替换该街道本期已有的同类数据（新文件行数不到原来一半或标题为补充名单时需要）。")] = False,
    append: Annotated[bool, typer.Option(
        "--append", help="把本次文件作为补充名单追加到该街道已有数据中（与已有人员重复的会报告）。")] = False,
    district: DistrictOpt = None,
) -> None:
    """导入一个期别的党员花名册和资源清单，逐行检查并存入数据库。

    同一街道同一期别重新导入时，替换该街道原有的同类数据，不会重复计入；被替换的数据保留，可用 pbtool undo 撤销。
    有问题的行照常保存并标记；退出码：0 无错误，1 有“错误”级问题，2 文件无法导入（数据库不变）。

    示例：pbtool import 东湖街道花名册.xlsx 资源清单.xlsx --period 2026Q3 --problems 问题清单.xlsx
    """
    from .errors import InputError, OutputError
    from .importer import import_files
    from .mapping import parse_user_map
    from .outputs.atomic import output_path
    from .outputs.safe import for_terminal

    console = _console()
    if replace and append:
        _fail("--replace 与 --append 只能选一个。")
    for f in files:
        if f.is_dir():
            _fail(f"“{f}”是一个文件夹，不是文件。请给出文件夹中的 .xlsx/.xls/.csv 文件，例如 {f}/*.xlsx。")
    if problems:   # checked before any work: it must not overwrite an input file or the store
        from .store import db_url
        problems = output_path(problems, ".xlsx", label="问题清单", protect=[db_url(db), *files])
    try:
        user_map = parse_user_map(map_)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    with _progress(console, fmt == OutputFormat.text) as progress:
        result = import_files(files, period, db, street=street, user_map=user_map, dry_run=dry_run,
                              progress=progress, mode="replace" if replace else "append" if append else "auto",
                              on_wait=lambda: _err_wait(), period_mismatch_ok=period_mismatch_ok, district=district)
    if problems:
        from .outputs.problems_xlsx import write_problem_workbook
        try:
            write_problem_workbook(result, list(files), problems)
        except OutputError as exc:
            exc.saved = not dry_run
            exc.hint = "导入的数据已保存；问题清单可换个路径加 --dry-run 重新生成。" if not dry_run else ""
            raise
    if fmt == OutputFormat.json:
        _print_json(result.as_dict(mask=not show_personal))
    else:
        from .outputs.terminal import print_import   # after the import: SQLAlchemy loads while the file is parsed
        print_import(for_terminal(result), console, mask=not show_personal)
        if problems:
            console.print(f"问题清单已写入：{escape(str(problems))}")
        if not dry_run and result.store:
            console.print(f"已写入数据库：{escape(result.store)}（导入编号 {result.run}，可用 pbtool undo {result.run} 撤销）",
                          soft_wrap=True)
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
    district: DistrictOpt = None,
    city: Annotated[bool, typer.Option(
        "--city", help="排查全市（各区分列，街道名前加区名），不管 pbtool.toml 中的 district。")] = False,
    show_all: Annotated[bool, typer.Option(
        "--all", help="在终端列出全部空白点（默认每个街道最多列 20 处，完整清单在整改台账和 JSON 中）。")] = False,
) -> None:
    """排查一个期别的党组织覆盖空白点和覆盖率，并与上一期对比。

    退出码：0 完成；1 有空白点且用了 --fail-on-findings；2 数据库中没有该期别或缺少资源清单。

    示例：pbtool coverage --period 2026Q3 --xlsx 整改台账.xlsx
    """
    from .coverage import compute_coverage
    from .outputs.atomic import output_path
    from .store import db_url

    if city and district:
        _fail("--city（全市）和 --district（一个区）只能用一个。")
    if xlsx:   # checked before any work: it must not overwrite the store
        xlsx = output_path(xlsx, ".xlsx", label="整改台账", protect=[db_url(db)])
    result = _keep(compute_coverage(db, period, street, district=district, city=city))
    if xlsx:
        from .outputs.ledger_xlsx import write_ledger
        write_ledger(result, xlsx)
    if fmt == OutputFormat.json:
        _print_json(_keep(result, result.as_dict() if sys.stdout.isatty() else result.json_data()))
    else:
        from .outputs.terminal import TERMINAL_LIMIT, print_coverage
        console = _console()
        print_coverage(result, console, limit=None if show_all else TERMINAL_LIMIT)
        if xlsx:
            console.print(f"整改台账已写入：{escape(str(xlsx))}")
    raise typer.Exit(1 if fail_on_findings and result.findings else 0)


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="演示结果输出文件夹（其中的 demo.db 每次重建）。")] = Path("pbtool-demo"),
) -> None:
    """用随附的示例数据（虚构的青湖区三个街道）演示完整流程：导入两个季度、排查空白点、写出问题清单、整改台账和文书。

    示例：pbtool demo --out 演示结果
    """
    from .demo import run_demo

    if out.exists() and not out.is_dir():
        _fail(f"--out “{out}”是一个文件，不是文件夹。请换一个文件夹名。")
    run_demo(out, _console())


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
ReportDistrictOpt = Annotated[Optional[str], typer.Option(
    "--district", help="全市共用一个数据库时，只用这个区的数据（不写则用 pbtool.toml 中的 district）。",
    show_default=False)]


def _date_option(value: Optional[str], option: str) -> Optional[dt.date]:
    from .clean import clean_date

    if not value:
        return None
    iso, code, _ = clean_date(value)
    if code or not iso or len(iso) != 10:
        _fail(f"{option} “{value}”不是有效日期，请写成 2026-12-31。")
    return dt.date.fromisoformat(iso)


def _report(call) -> None:  # type: ignore[no-untyped-def]
    console = _console()
    result = call()
    for f in result.files + result.pdf_files:
        console.print(f"已生成：{escape(str(f))}")
    for w in result.warnings:
        console.print(f"[yellow]提示[/]：{escape(w)}")
    if result.missing:
        console.print("数据库中没有以下内容，文书中已留空为【待填写】：")
        for m in result.missing:
            console.print(f"  - {escape(m)}")
    if result.narrative:
        console.print("以下段落需要撰写（文书中以黄色标出）：")
        for m in result.narrative:
            console.print(f"  - {escape(m)}")


@report_app.command("annual")
def report_annual(
    year: Annotated[int, typer.Option("--year", "-y", help="年度，例如 2026。", show_default=False)],
    db: DbOpt = None, out: OutOpt = Path("."), template: TemplateOpt = None, org_name: OrgOpt = None,
    pdf: PdfOpt = False, date: DateOpt = None, doc_number: DocNumberOpt = None, cc: CcOpt = None,
    printer: PrinterOpt = None, district: ReportDistrictOpt = None,
) -> None:
    """生成年度城市基层党建工作总结（基本情况、做法成效、存在问题、下一步打算，含表格和图表）。

    没有上年数据时，与本年最早导入的季度末比较，并在文中说明。

    示例：pbtool report annual --year 2026 --out 文书
    """
    from .report import render_annual
    doc_date = _date_option(date, "--date")
    _report(lambda: render_annual(db, year, out, org_name=org_name, template=template, pdf=pdf, doc_date=doc_date,
                                  doc_number=doc_number, cc=cc, printer=printer, district=district))


@report_app.command("quarterly")
def report_quarterly(
    period: PeriodOpt, db: DbOpt = None, out: OutOpt = Path("."), template: TemplateOpt = None,
    org_name: OrgOpt = None, pdf: PdfOpt = False, date: DateOpt = None, doc_number: DocNumberOpt = None,
    cc: CcOpt = None, printer: PrinterOpt = None,
    district: Annotated[Optional[str], typer.Option(
        "--district", help="只通报这个区（各街道排名）；不写则用 pbtool.toml 中的 district。", show_default=False)] = None,
    city: Annotated[bool, typer.Option(
        "--city", help="生成全市通报（各区排名），不管 pbtool.toml 中的 district。")] = False,
) -> None:
    """生成季度通报：各街道覆盖率排名、新增/持续/变化/已整改的空白点、覆盖率较上季度变化。

    全市共用一个数据库时：--district 青湖区 生成该区的通报；用 --city，或 --district 和 pbtool.toml 的 district 都不写、且该期有两个以上区的数据时，生成全市通报：各区按同样的覆盖率排名，并列出各区分街道的空白点数。

    示例：pbtool report quarterly --period 2026Q3 --out 文书
    """
    from .report import render_quarterly
    if city and district:
        _fail("--city（全市通报）和 --district（一个区的通报）只能用一个。")
    doc_date = _date_option(date, "--date")
    _report(lambda: render_quarterly(db, period, out, org_name=org_name, template=template, pdf=pdf,
                                     doc_date=doc_date, doc_number=doc_number, cc=cc, printer=printer,
                                     district=district, city=city))


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
    district: ReportDistrictOpt = None,
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
                                   printer=printer, contact=contact, phone=phone, district=district))


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

    from .report import template_vars
    from .store import db_url

    # with --period the values come from --db, PBTOOL_DB or the default ./pbtool.db
    items = template_vars(kind.value, db_url(db) if period else None, period)
    t = Table(title=f"{kind.value} 模板变量（在 .docx 中写作 {{{{ 变量名 }}}}）", title_justify="left")
    for h in ("变量", "类型", "含义") + (("取值",) if period else ()):
        t.add_column(h, overflow="fold")
    for v in items:
        row = [v.name, v.type, v.meaning]
        if period:
            row.append("" if v.value is None else str(v.value))
        t.add_row(*map(escape, row))
    _console().print(t)


class _progress:
    """A rich progress bar for sheets over a few thousand rows; nothing for small files or JSON output."""

    def __init__(self, console: "Console", enabled: bool):
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


# ---------------------------------------------------------------- issue 10: import history and undo


@app.command("history")
def history_cmd(
    db: DbOpt = None,
    period: Annotated[Optional[str], typer.Option("--period", "-p", help="只看这个期别。", show_default=False)] = None,
    fmt: FormatOpt = OutputFormat.text,
) -> None:
    """列出数据库中的每次导入：编号、期别、文件及其 SHA-256、街道、类型、行数、问题数、替换了哪次导入、时间。

    示例：pbtool history --period 2026Q3
    """
    from rich.table import Table

    from .outputs.terminal import KIND_TITLES
    from .store import Store

    store = Store.open(db, create=False)
    try:
        runs = store.history(period)
    finally:
        store.close()
    if fmt == OutputFormat.json:
        _print_json([{**r, "imported_at": str(r["imported_at"])} for r in runs])
        return
    t = Table(title=f"导入记录（{escape(store.where)}）", title_justify="left")
    for h in ("编号", "期别", "时间", "文件", "工作表", "类型", "街道", "行数", "问题", "替换行数", "替换了导入", "SHA-256"):
        t.add_column(h, overflow="fold")
    for r in runs:
        for i, sh in enumerate(r["sheets"]):
            first = i == 0
            t.add_row(str(r["run"]) if first else "", r["period"] if first else "",
                      str(r["imported_at"])[:19] if first else "", *map(escape, (sh["file"], sh["sheet"])),
                      KIND_TITLES.get(sh["kind"], sh["kind"]),
                      escape(_streets_text(sh)), str(sh["rows"]), str(sh["problems"]), str(sh["replaced_rows"]),
                      "、".join(map(str, r["replaced_runs"])) if first else "", sh["sha256"][:16])
    _console().print(t if runs else "数据库中还没有导入记录。")


def _streets_text(sheet: dict) -> str:
    """The streets a sheet's rows name: one, a few by name, or the first and how many."""
    named = [s for s in sheet.get("streets", {}) if s] or ([sheet["street"]] if sheet["street"] else [])
    if len(named) <= 3:
        return "、".join(named)
    return f"{named[0]}等{len(named)}个街道"


@app.command("undo")
def undo_cmd(
    run: Annotated[Optional[int], typer.Argument(help="要撤销的导入编号（见 pbtool history；不写则撤销最近一次）。",
                                                 show_default=False)] = None,
    db: DbOpt = None,
) -> None:
    """撤销一次导入：删除该次导入的数据和问题，恢复被它替换的原有数据。

    示例：pbtool undo 3
    """
    from .outputs.terminal import KIND_TITLES
    from .store import Store

    store = Store.open(db, create=False)
    try:
        done = store.undo(run)
    finally:
        store.close()
    title = {**KIND_TITLES, "problems": "问题"}
    removed = "、".join(f"{title.get(k, k)} {n} 行" for k, n in done["removed"].items()) or "无数据行"
    restored = "、".join(f"{title.get(k, k)} {n} 行" for k, n in done["restored"].items()) or "无"
    _console().print(f"已撤销导入 {done['run']}（{done['period']}）：删除 {removed}；恢复被替换的 {restored}。"
                     f"已写入数据库：{escape(store.where)}", soft_wrap=True)


@app.command("inspect")
def inspect_cmd(
    files: Annotated[list[Path], typer.Argument(help="要查看的花名册或清单文件，可一次给多个。", show_default=False)],
    map_: Annotated[Optional[list[str]], typer.Option(
        "--map", help="试用列对应关系，格式 原列名=字段，可多次使用（与 import 相同）。", show_default=False)] = None,
    fmt: FormatOpt = OutputFormat.text,
    show_personal: ShowPersonalOpt = False,
) -> None:
    """查看 pbtool 如何识别文件（不写入任何内容）：每个工作表的类型、表头行，每列对应的字段、依据和示例值。

    据此可用 --map 或 pbtool.toml 更正列的对应关系。退出码：0 有可导入的工作表；2 没有或文件无法读取。

    示例：pbtool inspect 东湖街道花名册.xlsx --format json
    """
    from .config import ConfigError
    from .mapping import parse_user_map
    from .outputs.survey_text import print_survey
    from .read import ReadError
    from .survey import survey_files

    try:
        result = survey_files(list(files), parse_user_map(map_))
    except (ReadError, ConfigError, ValueError) as exc:
        _fail(str(exc))
        return
    if fmt == OutputFormat.json:
        _print_json(result.as_dict(mask=not show_personal))
    else:
        print_survey(result, _console(), mask=not show_personal)
    importable = any(s.kind for f in result.files if not f.refused for s in f.sheets)
    raise typer.Exit(0 if importable else 2)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt   # closing the window or `kill`: the same orderly stop as Ctrl-C (rollback, clean-up)


def _collect_rarely() -> None:
    """pbtool's work makes hundreds of thousands of small objects that form no cycles (cells, rows,
    findings, places). Python's cycle collector, run after every 700 new objects, scanned them over
    and over: a third of a city's coverage run. Here it runs after every 100,000; the objects of
    start-up (typer, rich) are set aside for good (gc.freeze). Cycles are still collected."""
    import gc

    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def run() -> None:  # console-script entry point; the error boundary is _Boundary.invoke
    import signal

    _collect_rarely()
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        # only where the signal would end the process anyway (nohup's ignored SIGHUP stays ignored)
        if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
            try:
                signal.signal(sig, _interrupted)
            except (ValueError, OSError):   # not the main thread, or a platform without it
                pass
    code: int | str | None = 0
    try:
        app()   # ends by raising SystemExit (typer's standalone mode)
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:   # Ctrl-C while arguments are parsed, outside any command
        _err("已取消，数据库未改变。")
        code = 130
    _end(code)


def _end(code: int | str | None) -> NoReturn:
    """The command is done: leave without Python's own teardown, which frees every object and module
    one by one (0.1–0.2 s after a district's import or a city's coverage, measured). What the
    teardown would do that matters is done first: our threads finish, every store is closed (SQLite
    folds its write-ahead log back into the .db), atexit handlers run (logging), output is flushed."""
    import atexit
    import os
    import threading

    status = 0 if code is None else code if isinstance(code, int) else 1
    if isinstance(code, str):
        print(code, file=sys.stderr)
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    engines = sys.modules.get(f"{__package__}.engines")
    if engines is not None:
        engines.dispose_all()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):   # a closed pipe (pbtool … | head): nothing more to say there
            pass
    os._exit(status)


# ------------------------------------------------------------------------------------ pbtool template

template_app = typer.Typer(
    help="生成发给各街道的填报模板：预填上期数据，带下拉列表和号码校验，交回后按模板标记直接导入。\n\n"
         "示例：pbtool template roster --period 2026Q4 --out 填报模板",
    no_args_is_help=True, rich_markup_mode="rich", context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(template_app, name="template")

TplOutOpt = Annotated[Path, typer.Option("--out", "-o", help="模板输出文件夹（每个街道一个文件）。")]
TplStreetOpt = Annotated[Optional[str], typer.Option(
    "--street", "-s", help="只生成这个街道的模板（默认为数据库中最近一期的全部街道）。", show_default=False)]
DistrictOpt = Annotated[Optional[str], typer.Option(
    "--district", help="写在标题中的区名，如 青湖区（默认取自已导入的文件名）。", show_default=False)]


def _template(what: str, period: str, db: Optional[str], street: Optional[str], district: Optional[str],
              out: Path) -> None:
    from .fillin import TemplateError, make_templates
    from .importer import ImportError_
    from .store import StoreError

    console = _console()
    try:
        result = make_templates(what, period, out, db, street=street, district=district)
    except (TemplateError, ImportError_, StoreError) as exc:
        _fail(str(exc))
        return
    console.print(f"按 {result.source_period} 的数据预填 {result.period} 的填报模板：", markup=False)
    for f, street_ in zip(result.files, result.rows):
        console.print(f"已生成：{f}（{street_}：{result.counts(street_)}）", markup=False)
    for note in result.notes:
        console.print(f"提示：{note}", markup=False)


@template_app.command("roster")
def template_roster(period: PeriodOpt, db: DbOpt = None, street: TplStreetOpt = None, district: DistrictOpt = None,
                    out: TplOutOpt = Path(".")) -> None:
    """党员花名册填报模板：每个街道一个文件，预填最近一期的党员，人员类别、性别、学历、社区、小区、党支部、
    工作单位有下拉列表，身份证号按文本保存并校验位数和校验位。

    示例：pbtool template roster --period 2026Q4 --out 模板
    """
    _template("roster", period, db, street, district, out)


@template_app.command("lists")
def template_lists(period: PeriodOpt, db: DbOpt = None, street: TplStreetOpt = None, district: DistrictOpt = None,
                   out: TplOutOpt = Path(".")) -> None:
    """资源清单填报模板（社区、小区、两新组织、驻区单位）：每个街道一个文件，预填最近一期的清单，
    组织类型、党组织建立情况、所属社区有下拉列表，统一社会信用代码校验位数和校验位。

    示例：pbtool template lists --period 2026Q4 --out 模板
    """
    _template("lists", period, db, street, district, out)


if __name__ == "__main__":
    run()
