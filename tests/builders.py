"""Builders of real street files for tests: xlsx (xlsxwriter/openpyxl), legacy xls (xlwt), CSV in any
encoding. Synthetic people only; IDs and credit codes get valid check characters unless asked not to."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any, Sequence

import xlsxwriter

from pbtool.clean import id_check_char, uscc_check_char

ROSTER_HEADER = ["序号", "姓名", "性别", "身份证号", "出生日期", "入党时间", "人员类别", "所在党支部", "工作单位", "所属社区", "居住小区"]


def make_id(n: int, birth: str = "19800101", sex: str = "男", area: str = "330106") -> str:
    seq = (n * 2 + (1 if sex == "男" else 0)) % 1000
    if (seq % 2 == 1) != (sex == "男"):
        seq = (seq + 1) % 1000
    first17 = f"{area}{birth}{seq:03d}"
    return first17 + id_check_char(first17)


def make_uscc(n: int) -> str:
    first17 = f"91330106MA{n:07d}"[:17]
    return first17 + uscc_check_char(first17)


def member(n: int, *, name: str | None = None, category: str = "正式党员", branch: str = "第一党支部",
           employer: str = "", community: str = "", estate: str = "", sex: str = "男",
           birth: str = "19800101", idn: Any = None, **extra: Any) -> dict[str, Any]:
    return {"序号": n, "姓名": name if name is not None else f"测试{n}", "性别": sex,
            "身份证号": idn if idn is not None else make_id(n, birth, sex),
            "出生日期": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", "入党时间": "2010-07-01", "人员类别": category,
            "所在党支部": branch, "工作单位": employer, "所属社区": community, "居住小区": estate, **extra}


def write_xlsx(path: Path, sheets: dict[str, tuple[list[str], list[dict[str, Any]] | list[list[Any]]]], *,
               title: str | None = None, footer: bool = False, hidden: Sequence[str] = (),
               instructions: bool = False, number_cells: Sequence[str] = ()) -> Path:
    """One sheet per entry: header + rows (dicts keyed by header, or lists). With `title` a merged
    title row and a 填报单位 row stand above the header; `footer` adds 合计 and 填表人 rows."""
    wb = xlsxwriter.Workbook(str(path))
    if instructions:
        ws = wb.add_worksheet("填表说明")
        ws.write(0, 0, "填表说明")
        ws.write(1, 0, "1. 身份证号请以文本格式填写。")
    for name, (header, rows) in sheets.items():
        ws = wb.add_worksheet(name)
        r = 0
        if title:
            ws.merge_range(0, 0, 0, len(header) - 1, title)
            ws.write(1, 0, "填报单位：（盖章）    填报日期：2026年9月30日")
            r = 2
        ws.write_row(r, 0, header)
        for row in rows:
            r += 1
            values = [row.get(h, "") for h in header] if isinstance(row, dict) else row
            for c, v in enumerate(values):
                if header[c] in number_cells and isinstance(v, str) and v.isdigit():
                    ws.write_number(r, c, float(v))
                elif isinstance(v, (dt.date, dt.datetime)):
                    ws.write_datetime(r, c, v, wb.add_format({"num_format": "yyyy-mm-dd"}))
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                elif v not in ("", None):
                    ws.write_string(r, c, str(v))
        if footer:
            ws.write_row(r + 1, 0, ["合计", len(rows)])
            ws.write(r + 2, 0, "填表人：王某某    审核人：李某某")
        if name in hidden:
            ws.hide()
    wb.close()
    return path


def write_csv(path: Path, header: list[str], rows: list[dict[str, Any]], encoding: str = "gb18030") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([row.get(h, "") for h in header])
    return path


COMMUNITY_HEADER = ["序号", "所在街道", "社区名称", "社区党组织名称"]
ESTATE_HEADER = ["序号", "所在街道", "所属社区", "小区名称", "小区党组织名称"]
ORG_HEADER = ["序号", "单位名称", "统一社会信用代码", "组织类型", "所在街道", "所在社区", "党组织建立情况", "党组织名称", "党建工作指导员"]
UNIT_HEADER = ["序号", "单位名称", "单位类型", "所在街道", "所在社区", "是否签订共建协议", "共建项目数"]


def write_lists(path: Path, communities: list[dict], estates: list[dict], orgs: list[dict],
                units: list[dict] | None = None) -> Path:
    sheets = {"社区": (COMMUNITY_HEADER, communities), "小区": (ESTATE_HEADER, estates),
              "两新组织": (ORG_HEADER, orgs)}
    if units is not None:
        sheets["驻区单位"] = (UNIT_HEADER, units)
    return write_xlsx(path, sheets, instructions=True)


def stored(db: str, sql: str) -> list[tuple]:
    """Rows of a query on the store, whichever engine it is on."""
    from sqlalchemy import create_engine, text

    from pbtool.store import db_url
    engine = create_engine(db_url(db))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def sqlite_dump(db: str) -> list[str]:
    """The whole SQLite store as SQL text: equal dumps, equal stores. The coverage inputs an import keeps
    (coverage_inputs) are given by their content (a hash of each Arrow table) without their stamp and
    time, which follow the imports' times (in the dump themselves)."""
    import hashlib
    import sqlite3
    con = sqlite3.connect(db)
    try:
        lines = [line for line in con.iterdump() if not line.startswith('INSERT INTO "coverage_inputs"')]
        try:
            kept = con.execute("SELECT period, district, name, data FROM coverage_inputs ORDER BY 1, 2, 3").fetchall()
        except sqlite3.OperationalError:   # a store without the table
            kept = []
        return lines + [f"-- coverage_inputs {p} {d} {n} {hashlib.sha256(data).hexdigest()}" for p, d, n, data in kept]
    finally:
        con.close()


def user_template(path: Path, *paragraphs: str) -> Path:
    """A .docx of plain paragraphs (a clerk's own template)."""
    from docx import Document
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(str(path))
    return path
