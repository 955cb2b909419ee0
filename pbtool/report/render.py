"""docxtpl rendering of a context into a .docx inside the sandbox: a template is loaded and checked
once (syntax, unknown variables), then rendered for one or many contexts."""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from lxml import etree

from ..outputs.atomic import atomic_path
from . import limits, sandbox
from .fmt import DROP, MISSING
from .model import ReportError
from .variables import image_names, top_level_names

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
TEMPLATE_FILES = {"annual": "年度总结.docx", "quarterly": "季度通报.docx", "notice": "整改通知书.docx"}
IMAGE_WIDTH = Mm(150)
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\r\n\t]')
_NARRATIVE = re.compile(r"【待填写：[^】]*】")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _cell_text(tc: Any) -> str:
    return "".join(t.text or "" for t in tc.iter(f"{W}t")).strip()


def drop_columns(doc: Any) -> None:
    """Remove every table column whose body cells all say DROP (a figure the store cannot give for
    any row), and give its width to the other columns, so a document never prints a column of blanks."""
    for tbl in doc.element.body.iter(f"{W}tbl"):
        rows = [tr for tr in tbl.iterchildren(f"{W}tr")]
        grid = tbl.find(f"{W}tblGrid")
        if len(rows) < 2 or grid is None:
            continue
        cells = [list(tr.iterchildren(f"{W}tc")) for tr in rows]
        if len({len(c) for c in cells}) != 1:
            continue   # merged cells: leave the table as it is
        n = len(cells[0])
        drop = [i for i in range(n) if all(_cell_text(c[i]) == DROP for c in cells[1:])]
        if not drop or len(drop) == n:
            continue
        cols = list(grid.iterchildren(f"{W}gridCol"))
        widths = [int(c.get(f"{W}w") or 0) for c in cols]
        freed = sum(widths[i] for i in drop)
        keep = [i for i in range(n) if i not in drop]
        kept_total = sum(widths[i] for i in keep) or 1
        new = {i: widths[i] + round(freed * widths[i] / kept_total) for i in keep}
        for i in sorted(drop, reverse=True):
            grid.remove(cols[i])
            for c in cells:
                c[i].getparent().remove(c[i])
        _set_widths(cols, cells, {i: new[i] for i in keep})


def _set_widths(cols: list[Any], cells: list[list[Any]], widths: dict[int, int]) -> None:
    """Column i of the table grid and every cell of that column get widths[i] twips."""
    for i, w in widths.items():
        cols[i].set(f"{W}w", str(w))
        for c in cells:
            tcw = c[i].find(f"{W}tcPr/{W}tcW")
            if tcw is not None:
                tcw.set(f"{W}w", str(w))
                tcw.set(f"{W}type", "dxa")


CJK_TWIPS, LATIN_TWIPS = 240, 130     # one 小四 (12 pt) character in a table cell
CELL_PADDING = 2 * 40 + 240           # cell margins, and one character of air (office suites set digits apart)


def _text_twips(text: str) -> int:
    return sum(CJK_TWIPS if unicodedata.east_asian_width(ch) in "WF" else LATIN_TWIPS for ch in text) + CELL_PADDING


def fit_columns(doc: Any) -> None:
    """Column widths that fit their content, within the table's width: a column whose longest cell
    (a header may take two lines) is shorter than the template's width gives the rest to the columns
    whose content does not fit on one line. A column left empty for writing in (整改措施, 责任人 …)
    keeps the template's width."""
    for tbl in doc.element.body.iter(f"{W}tbl"):
        grid = tbl.find(f"{W}tblGrid")
        rows = list(tbl.iterchildren(f"{W}tr"))
        cells = [list(tr.iterchildren(f"{W}tc")) for tr in rows]
        if grid is None or len(rows) < 2 or len({len(c) for c in cells}) != 1:
            continue
        cols = list(grid.iterchildren(f"{W}gridCol"))
        widths = [int(c.get(f"{W}w") or 0) for c in cols]
        total, n = sum(widths), len(widths)
        if n != len(cells[0]) or not total:
            continue
        need: list[int] = []
        fixed: dict[int, int] = {}
        for i in range(n):
            body = [_cell_text(c[i]) for c in cells[1:]]
            if not any(body):
                fixed[i] = widths[i]
                need.append(widths[i])
                continue
            header = _cell_text(cells[0][i])
            need.append(max(max(_text_twips(t) for t in body), (_text_twips(header) + CELL_PADDING) // 2,
                            2 * CJK_TWIPS + CELL_PADDING))
        free = [i for i in range(n) if i not in fixed]
        # The template's widths are the design: a column whose content needs less gives the difference
        # to the columns whose content needs more (in proportion to what they lack), and what is left
        # goes back to every column in proportion.
        new = {i: min(widths[i], need[i]) for i in free}
        freed = total - sum(fixed.values()) - sum(new.values())
        lack = {i: need[i] - widths[i] for i in free if need[i] > widths[i]}
        if lack:
            give = min(freed, sum(lack.values()))
            for i, x in lack.items():
                new[i] += give * x // sum(lack.values())
            freed = total - sum(fixed.values()) - sum(new.values())
        base = sum(new.values()) or 1
        for i in free:
            new[i] += freed * new[i] // base
        new.update(fixed)
        new[n - 1] += total - sum(new.values())          # rounding: the table keeps its width
        _set_widths(cols, cells, new)


def fill_dropped_outside_tables(doc: Any) -> bool:
    """A not-applicable figure a (user's) template prints outside a table column becomes 【待填写】;
    True when there was one, so the command lists it."""
    found = False
    for t in doc.element.body.iter(f"{W}t"):
        if t.text and DROP in t.text:
            t.text = t.text.replace(DROP, MISSING)
            found = True
    return found


def narrative_places(doc: Any) -> list[str]:
    """The 【待填写：…】 paragraphs left for a person to write, in document order."""
    text = "\n".join("".join(t.text or "" for t in p.iter(f"{W}t")) for p in doc.element.body.iter(f"{W}p"))
    return list(dict.fromkeys(_NARRATIVE.findall(text)))


def safe_filename(name: str) -> str:
    """A file name Windows accepts: no \\ / : * ? " < > |."""
    return _UNSAFE_FILENAME.sub("_", name).strip(" .") or "未命名"


def unique_name(stem: str, suffix: str, taken: set[str]) -> str:
    """stem + suffix, or stem（2）+ suffix … when that name (ignoring case, as Windows does) is taken."""
    name, i = stem + suffix, 2
    while name.casefold() in taken:
        name, i = f"{stem}（{i}）{suffix}", i + 1
    taken.add(name.casefold())
    return name


def shipped_template(kind: str) -> Path:
    """The shipped template of a kind: inside the installed package (pbtool/templates/, package data)
    when it is there, else the repository's templates/ folder (a source checkout)."""
    name = TEMPLATE_FILES[kind]
    packaged = Path(str(resources.files("pbtool"))) / "templates" / name
    return packaged if packaged.is_file() else TEMPLATE_DIR / name


def template_path(kind: str, template: str | Path | None) -> Path:
    path = Path(template) if template else shipped_template(kind)
    if not path.is_file():
        if template:
            raise ReportError(f"找不到模板文件“{path}”。")
        raise ReportError(f"找不到内置模板“{path}”。请重新安装 pbtool，或运行 python templates/build_templates.py 生成模板。")
    if not zipfile.is_zipfile(path):
        raise ReportError(f"模板“{path.name}”不是 Word 文档（.docx）。旧版 .doc 或 WPS .wps 文件请先在 Word/WPS 中另存为 .docx。")
    with zipfile.ZipFile(path) as z:
        if "word/document.xml" not in z.namelist():
            raise ReportError(f"模板“{path.name}”不是 Word 文档（.docx）：缺少正文部分。")
    refusal = limits.check_template_zip(path, f"“{path.name}”")
    if refusal:
        raise ReportError(refusal)
    return path


class _Template(DocxTemplate):
    """docxtpl's template with its XML clean-up (patch_xml: a dozen regular expressions over the
    whole part) done once per template part instead of once per document: 300 notices from one
    template patch the same XML 300 times otherwise. patch_xml is a pure function of its input."""

    def __init__(self, data: bytes, cache: dict[str, str]):
        super().__init__(io.BytesIO(data))
        self._patched = cache

    def patch_xml(self, src_xml: str) -> str:
        out = self._patched.get(src_xml)
        if out is None:
            out = self._patched[src_xml] = super().patch_xml(src_xml)
        return out


class Renderer:
    """One template of one kind, checked once and rendered for many contexts."""

    def __init__(self, kind: str, template: str | Path | None = None):
        self.kind = kind
        self.path = template_path(kind, template)
        self.where = f"“{self.path.name}”"
        self.data = self.path.read_bytes()
        self.env = sandbox.make_env()
        self.images = image_names(kind)
        self.tags, self.names = self._parse()
        self.narrative: list[str] = []
        self.dropped_in_text = False
        self._patched: dict[str, str] = {}

    def _parts(self) -> list[str]:
        """Patched XML of the body, headers and footers, as docxtpl hands them to Jinja."""
        tpl = DocxTemplate(io.BytesIO(self.data))
        try:
            tpl.init_docx()
        except Exception as exc:  # noqa: BLE001 - python-docx raises several types for a damaged package
            raise ReportError(f"模板{self.where}无法打开（{exc}），请在 Word/WPS 中打开检查后另存为 .docx。") from None
        xmls = [tpl.patch_xml(tpl.get_xml())]
        for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
            for _key, part in tpl.get_headers_footers(uri):
                xmls.append(tpl.patch_xml(tpl.get_part_xml(part)))
        return [re.sub(r"<w:p([ >])", r"\n<w:p\1", x) for x in xmls]   # one paragraph per line, as docxtpl does

    def _parse(self) -> tuple[list[str], set[str]]:
        tags: list[str] = []
        names: set[str] = set()
        for xml in self._parts():
            tags += sandbox.tags_of(xml)
            names |= sandbox.check_syntax(self.env, xml, self.kind, self.where)
        return tags, names - set(self.env.globals)

    def check_names(self, context: dict[str, Any]) -> None:
        """Every variable the template names must be one the kind documents (and the context has)."""
        known = top_level_names(self.kind) & set(context)
        unknown = sorted(self.names - known)
        if unknown:
            raise sandbox.unknown_names_error(unknown, self.tags, known, self.kind)

    def _with_images(self, tpl: DocxTemplate, context: dict[str, Any]) -> dict[str, Any]:
        ctx = dict(context)
        for key in self.images:
            if isinstance(ctx.get(key), bytes):
                ctx[key] = InlineImage(tpl, io.BytesIO(ctx[key]), width=IMAGE_WIDTH)
        return ctx

    def render(self, context: dict[str, Any], out: Path) -> Path:
        if Path(out).resolve() == self.path.resolve():   # refused before any work: the template would be lost
            raise ReportError(f"输出文件“{out}”就是所用的模板，写入会覆盖模板。请换一个输出文件夹（--out）。")
        tpl = _Template(self.data, self._patched)
        self.env.budget.reset()
        try:
            tpl.render(self._with_images(tpl, context), jinja_env=self.env)
        except ReportError:
            raise
        except etree.XMLSyntaxError as exc:
            raise ReportError(f"模板{self.where}渲染后不是合法的 Word 文档（{exc}）。常见原因：{{%p %}}、{{%tr %}} "
                              "标签与其他文字写在了同一段落或同一行，请让这类标签单独占一段（一行）。") from None
        except Exception as exc:  # noqa: BLE001 - any template failure becomes a Chinese ReportError
            raise sandbox.runtime_error(exc, self.tags, self.kind) from None
        drop_columns(tpl.docx)
        fit_columns(tpl.docx)
        self.dropped_in_text = fill_dropped_outside_tables(tpl.docx)
        self.narrative = narrative_places(tpl.docx)
        try:
            with atomic_path(out, "文书") as tmp:   # temp file + rename: never a truncated .docx
                tpl.save(tmp)
                if tmp.stat().st_size > limits.MAX_RENDERED:
                    raise ReportError(f"模板{self.where}生成的文书超过 {limits.MAX_RENDERED >> 20} MB，未保存。"
                                      "请检查模板中的循环和重复内容。")
        except PermissionError:
            raise ReportError(f"文件“{out}”无法写入，可能正在 Word/WPS 中打开，请关闭后重试。") from None
        return out
