"""The fill-in workbook a street gets back each quarter (`pbtool template`): pre-filled rows, drop-down
lists, checks and a hidden marker. Only what Excel, WPS and LibreOffice all keep: list/length/date/
integer validation, named ranges with INDIRECT for the dependent estate list, formula conditional
formatting, sheet protection without a password, cell comments and custom document properties."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from .xlsxutil import display_width
from .atomic import atomic_path

if TYPE_CHECKING:  # the plan types; fillin imports this module lazily, never the other way round
    from ..fillin import SheetPlan, StreetPlan

TITLE_ROW, INFO_ROW, HEADER_ROW, DATA_ROW = 0, 1, 2, 3
LISTS_SHEET = "下拉列表"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Sheet protection without a password: the header is kept from slips, nothing is hidden, and the
# street can still insert, delete, sort and filter rows and resize columns.
PROTECTION = {"insert_rows": True, "delete_rows": True, "format_cells": True, "format_columns": True,
              "format_rows": True, "sort": True, "autofilter": True, "select_locked_cells": True,
              "select_unlocked_cells": True}
_CN_DIGITS = "〇一二三四"
NUM_FORMATS = {"text": "@", "date": "yyyy-mm-dd", "int": "0", "general": "General"}


def period_cn(period: str) -> str:
    """'2026Q4' -> '2026年第四季度'."""
    return f"{period[:4]}年第{_CN_DIGITS[int(period[-1])]}季度"


def id_valid_formula(ref: str) -> str:
    """An Excel expression, TRUE when `ref` holds an 18-character ID whose GB 11643 check character is
    right. Written out term by term (no array formula), so Excel, WPS and LibreOffice agree."""
    total = "+".join(f"VALUE(MID({ref},{i},1))*{w}" for i, w in enumerate(ID_WEIGHTS, 1))
    return (f'IFERROR(AND(LEN({ref})=18,MID("10X98765432",MOD({total},11)+1,1)=UPPER(RIGHT({ref},1))),FALSE)')


def uscc_valid_formula(ref: str) -> str:
    """TRUE when `ref` holds an 18-character unified social credit code with the GB 32100 check character."""
    cs = USCC_CHARSET
    total = "+".join(f'(FIND(UPPER(MID({ref},{i},1)),"{cs}")-1)*{w}' for i, w in enumerate(USCC_WEIGHTS, 1))
    return (f'IFERROR(AND(LEN({ref})=18,MID("{cs}",MOD(31-MOD({total},31),31)+1,1)=UPPER(RIGHT({ref},1))),FALSE)')


class _Formats:
    """Cell formats, made once per workbook. Every data cell is unlocked; header and title are locked."""

    def __init__(self, wb: Any):
        self.wb = wb
        self.cache: dict[tuple[str, bool], Any] = {}
        self.title = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter",
                                    "locked": True})
        self.info = wb.add_format({"font_size": 10, "font_color": "#595959", "locked": True, "text_wrap": True,
                                   "valign": "top"})
        self.header = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True,
                                     "align": "center", "valign": "vcenter", "locked": True})
        self.bad = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.bold = wb.add_format({"bold": True, "valign": "top"})
        self.big = wb.add_format({"bold": True, "font_size": 14})

    def data(self, kind: str, flagged: bool = False) -> Any:
        key = (kind, flagged)
        if key not in self.cache:
            props: dict[str, Any] = {"num_format": NUM_FORMATS[kind], "locked": False, "align": "left"}
            if flagged:
                props["bg_color"] = "#FFEB9C"
            self.cache[key] = self.wb.add_format(props)
        return self.cache[key]


def _num_kind(check: str) -> str:
    if check in ("id_number", "uscc", "phone"):
        return "text"
    if check in ("date", "int"):
        return check
    return "text"


def _lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a cell `width` Excel units wide (LibreOffice does not grow rows itself)."""
    return max(1, -(-display_width(text) // max(int(width) - 1, 1)))


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def write_template(plan: StreetPlan, path: Path) -> Path:
    """Write one street's template; through a temporary file renamed into place (outputs/atomic.py), so a
    full disk or a crash never leaves half a workbook under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, "填报模板") as tmp:
        _write_template(plan, tmp)
    return path


def _write_template(plan: StreetPlan, path: Path) -> None:
    m = plan.marker
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    fmt = _Formats(wb)
    what = "党员花名册" if m.kind == "roster" else "区域化党建资源清单"
    wb.set_properties({"title": f"{m.district}{m.street}{what}（{period_cn(m.period)}）填报模板",
                       "author": "pbtool", "comments": "请勿修改第1–3行和工作表名称。"})
    # The marker: custom document properties (docProps/custom.xml) and, as a second copy, a defined name.
    for key, value in m.as_properties().items():
        wb.set_custom_property(key, value)
    wb.define_name("pbtool_template", '="' + m.as_text().replace('"', '""') + '"')

    _instructions(wb, fmt, plan)
    lists_needed = m.kind == "roster"
    if lists_needed:
        _lists_sheet_names(wb, plan)
    for sp in plan.sheets:
        if sp.kind == "community":  # the other lists choose their community from this sheet, as edited
            col = xl_col_to_name(next(c for c, col in enumerate(sp.columns) if col["field"] == "name"))
            end = DATA_ROW + len(sp.rows) + plan.extra_rows
            wb.define_name("pb_community_names", f"='{sp.sheet}'!${col}${DATA_ROW + 1}:${col}${end}")
    first = None
    for sp in plan.sheets:
        ws = _data_sheet(wb, fmt, plan, sp)
        first = first or ws
    if lists_needed:
        _lists_sheet(wb, plan)
    if first is not None:
        first.activate()
    wb.close()


def _lists_sheet_names(wb: Any, plan: StreetPlan) -> None:
    """Defined names over the hidden 下拉列表 sheet: pb_communities, pb_branches, pb_orgs, pb_education,
    and pb_c1 … pb_cN, the estates of the i-th community (community names are Chinese and may not be valid
    Excel names; their position in pb_communities is)."""
    q = f"'{LISTS_SHEET}'"

    def col_range(c: int, n: int) -> str:
        col = xl_col_to_name(c)
        return f"={q}!${col}$2:${col}${max(n, 1) + 1}"

    for c, (name, items) in enumerate((("pb_communities", plan.communities), ("pb_branches", plan.branches),
                                        ("pb_orgs", plan.orgs), ("pb_education", plan.education))):
        if items:
            wb.define_name(name, col_range(c, len(items)))
    for i, comm in enumerate(plan.communities, 1):
        wb.define_name(f"pb_c{i}", col_range(4 + i, len(plan.estates.get(comm, []))))


def _lists_sheet(wb: Any, plan: StreetPlan) -> None:
    ws = wb.add_worksheet(LISTS_SHEET)
    for c, (head, items) in enumerate((("社区", plan.communities), ("党支部", plan.branches),
                                       ("两新组织", plan.orgs), ("学历", plan.education))):
        ws.write_string(0, c, head)
        for r, v in enumerate(items, 1):
            ws.write_string(r, c, v)
    ws.write_string(0, 4, "各社区的小区 →")
    for i, comm in enumerate(plan.communities, 1):
        ws.write_string(0, 4 + i, comm)
        for r, v in enumerate(plan.estates.get(comm, []), 1):
            ws.write_string(r, 4 + i, v)
    ws.hide()
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})


def _instructions(wb: Any, fmt: _Formats, plan: StreetPlan) -> None:
    m = plan.marker
    ws = wb.add_worksheet("填表说明")
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 110)
    ws.set_column(2, 2, 30)
    ws.set_column(3, 3, 6)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    what = "党员花名册" if m.kind == "roster" else "区域化党建资源清单（社区、小区、两新组织、驻区单位）"
    src = f"已预填{period_cn(m.source_period)}的数据" if m.source_period else "没有可预填的上期数据"
    lines = [
        f"本文件是{m.district}{m.street}{period_cn(m.period)}的{what}填报模板，{src}。请在此基础上修改，不必重新录入。",
        "新增：在最后一行下面接着填写（或插入整行），每行一条。",
        "减少（转出、去世、撤销等）：删除整行。迁居、转换支部等：直接修改该行的相应列。",
        "有下拉箭头的列请从列表中选择；居住小区请先选所属社区，列表中只出现该社区的小区。",
        "身份证号、统一社会信用代码、电话为文本格式，请勿改为数字；号码校验位不对时单元格变红。日期按2019-07-01格式填写。",
        "标黄的单元格在上期导入时有问题，鼠标移到单元格上可看说明，请核对更正。",
        "第1–3行（标题、填报信息、表头）和工作表名称请勿修改；表格已设保护但没有密码，需要时可在“审阅”中撤消工作表保护。",
        "填好后直接报送本文件（.xlsx 格式）。导入时按文件中的模板标记核对街道和期别，并按表头逐列导入。",
    ]
    ws.write_string(0, 0, "填表说明", fmt.big)
    r = 2
    for i, line in enumerate(lines, 1):
        ws.write_string(r, 0, f"{i}.", fmt.bold)
        ws.write_string(r, 1, line, fmt.wrap)
        ws.set_row(r, 15 * _lines(line, 110))
        r += 1
    for sp in plan.sheets:
        r += 1
        ws.write_string(r, 0, f"“{sp.sheet}”表各列", fmt.bold)
        r += 1
        for c, h in enumerate(("列名", "填写说明", "示例", "必填")):
            ws.write_string(r, c, h, fmt.header)
        for col in sp.columns:
            r += 1
            ws.write_string(r, 0, col["title"])
            ws.write_string(r, 1, col["help"], fmt.wrap)
            ws.set_row(r, 15 * _lines(col["help"], 110))
            ws.write_string(r, 2, col.get("example", ""))
            ws.write_string(r, 3, "是" if col.get("required") else "")
    ws.write_string(r + 2, 1, f"模板版本 {m.version}，由 pbtool 生成。", fmt.info)
    ws.protect("", PROTECTION)


def _data_sheet(wb: Any, fmt: _Formats, plan: StreetPlan, sp: SheetPlan) -> Any:
    m = plan.marker
    ws = wb.add_worksheet(sp.sheet)
    cols = sp.columns
    ncols = len(cols)
    last = DATA_ROW + len(sp.rows) + plan.extra_rows - 1
    title = f"{m.district}{m.street}{sp.title}（{period_cn(m.period)}）"
    ws.merge_range(TITLE_ROW, 0, TITLE_ROW, max(ncols - 1, 1), title, fmt.title)
    ws.set_row(TITLE_ROW, 30)
    src = f"根据{period_cn(m.source_period)}数据预填" if m.source_period else "无上期数据"
    info = (f"填报单位：{m.street}（盖章）    填报日期：　　年　月　日    "
            f"pbtool 模板 v{m.version}，{src}；请勿修改第1–3行。")
    ws.merge_range(INFO_ROW, 0, INFO_ROW, max(ncols - 1, 1), info, fmt.info)
    ws.set_row(INFO_ROW, 14 * _lines(info, sum(col.get("width", 12) for col in cols)))
    ws.set_row(HEADER_ROW, 32)
    index = {col["field"]: c for c, col in enumerate(cols)}
    for c, col in enumerate(cols):
        kind = _num_kind(col["check"])
        ws.set_column(c, c, col.get("width", 12), fmt.data(kind))
        ws.write_string(HEADER_ROW, c, col["title"], fmt.header)
        ws.data_validation(HEADER_ROW, c, HEADER_ROW, c, {
            "validate": "any", "input_title": _short(col["title"], 32),
            "input_message": _short(col["help"] + (f"例：{col['example']}" if col.get("example") else ""), 255)})
        rule = _validation(col, c, index, plan)
        if rule:
            rule.setdefault("input_title", _short(col["title"], 32))
            rule.setdefault("input_message", _short(col["help"], 255))
            ws.data_validation(DATA_ROW, c, last, c, rule)
        if col["check"] in ("id_number", "uscc"):
            ref = xl_rowcol_to_cell(DATA_ROW, c, row_abs=False, col_abs=True)
            valid = id_valid_formula(ref) if col["check"] == "id_number" else uscc_valid_formula(ref)
            ws.conditional_format(DATA_ROW, c, last, c, {
                "type": "formula", "criteria": f'=AND({ref}<>"",NOT({valid}))', "format": fmt.bad})
    for i, row in enumerate(sp.rows):
        r = DATA_ROW + i
        # The previous period's problems of this row: the cell of the field (else the first column)
        # is highlighted and carries the messages as a comment.
        notes: dict[int, list[str]] = {}
        for f, msg in sp.notes[i]:
            notes.setdefault(index.get(f or "", 0), []).append(msg)
        for c, col in enumerate(cols):
            _write_value(ws, fmt, r, c, col, row.get(col["field"]), c in notes)
        for c, msgs in notes.items():
            text = f"上期（{m.source_period}）导入时的问题：\n" + "\n".join(msgs)
            ws.write_comment(r, c, text, {"x_scale": 3, "y_scale": 1 + len(msgs), "author": "pbtool"})
    ws.freeze_panes(DATA_ROW, 1)
    ws.autofilter(HEADER_ROW, 0, HEADER_ROW + max(len(sp.rows), 1), ncols - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(TITLE_ROW, HEADER_ROW)
    ws.protect("", PROTECTION)
    return ws


def _write_value(ws: Any, fmt: _Formats, r: int, c: int, col: dict[str, Any], value: Any, flagged: bool) -> None:
    check = col["check"]
    if value is None or value == "":
        if flagged:  # an empty cell takes the column's format; only a highlighted one is written
            ws.write_blank(r, c, None, fmt.data(_num_kind(check), flagged))
        return
    prefill = col.get("prefill")
    if prefill:
        key = str(value).lower() if isinstance(value, bool) else str(value)
        value = prefill.get(key, value)
    if check == "date" and isinstance(value, str) and len(value) == 10:
        try:
            ws.write_datetime(r, c, dt.datetime.fromisoformat(value), fmt.data("date", flagged))
            return
        except ValueError:
            pass
    if check == "int" and isinstance(value, int) and not isinstance(value, bool):
        ws.write_number(r, c, value, fmt.data("int", flagged))
        return
    # Everything else as text, never a formula: a month-only date ('2019-07') stays as written.
    ws.write_string(r, c, str(value), fmt.data("text" if check != "date" else "date", flagged))


def _validation(col: dict[str, Any], c: int, index: dict[str, int], plan: StreetPlan) -> dict[str, Any] | None:
    check = col["check"]
    title = col["title"]
    stop = "stop" if col.get("strict", True) else "warning"
    listed = {"error_type": stop, "error_title": _short(f"{title}不在列表中", 32)}
    if stop == "stop":
        listed["error_message"] = f"请从下拉列表中选择“{title}”。"
    else:
        listed["error_message"] = f"“{title}”不在列表中。确实如此请点“是”保留，否则点“否”重新选择。"
    if check == "choice":
        return {"validate": "list", "source": list(col["choices"]), **listed}
    named = {"communities": "pb_communities", "branches": "pb_branches", "orgs": "pb_orgs",
             "education": "pb_education", "community_names": "pb_community_names"}
    if check in named:
        items = {"communities": plan.communities, "branches": plan.branches, "orgs": plan.orgs,
                 "education": plan.education,
                 "community_names": [s for s in plan.sheets if s.kind == "community"]}[check]
        if not items:
            return None  # nothing to choose from: free text, checked at import
        return {"validate": "list", "source": f"={named[check]}", **listed}
    if check == "estates":
        if "community" not in index or not plan.communities:
            return None
        ref = xl_rowcol_to_cell(DATA_ROW, index["community"], row_abs=False, col_abs=True)
        return {"validate": "list", "source": f'=INDIRECT("pb_c"&MATCH({ref},pb_communities,0))', **listed,
                "error_message": "请先选所属社区，再从下拉列表中选择该社区的小区；清单中没有的小区请先在资源清单中补充。"}
    if check in ("id_number", "uscc"):
        what = "身份证号" if check == "id_number" else "统一社会信用代码"
        return {"validate": "length", "criteria": "==", "value": 18, "error_type": "stop",
                "error_title": f"{what}应为18位", "error_message": f"{what}应为18位（以文本格式填写，末位可为字母）。"}
    if check == "date":
        return {"validate": "date", "criteria": "between", "minimum": dt.date(1900, 1, 1),
                "maximum": dt.date(2100, 12, 31), "error_type": "warning", "error_title": "不是有效日期",
                "error_message": "请按2019-07-01格式填写真实存在的日期。只知道年月（如2019-07）时点“是”保留。"}
    if check == "int":
        return {"validate": "integer", "criteria": ">=", "value": 0, "error_type": "stop",
                "error_title": "应填整数", "error_message": f"“{title}”请填写0或正整数。"}
    if check == "phone":
        return {"validate": "length", "criteria": "between", "minimum": 7, "maximum": 20, "error_type": "warning",
                "error_title": "电话号码长度不对", "error_message": "请核对电话号码（手机11位）。确实如此请点“是”保留。"}
    return None
