"""Builds the three report templates (年度总结.docx, 季度通报.docx, 整改通知书.docx) with python-docx.

Run from the repository root:  python templates/build_templates.py [OUT_DIR]

The templates are ordinary Word documents holding docxtpl placeholders ({{ 变量 }}, {%tr for %} row
loops in tables, {%p if %} paragraphs); the variables are listed by `pbtool report vars KIND`. A
department may edit the wording and layout in Word or WPS; this script only makes the shipped ones.

Layout follows 《党政机关公文格式》GB/T 9704-2012: A4; top margin 37 mm, bottom 35 mm, left 28 mm,
right 26 mm (text area 156 × 225 mm); 22 lines of 28 characters (3号 text, fixed line spacing
28.95 pt); title 2号 方正小标宋简体 centred; body 3号 仿宋_GB2312; level-1 headings “一、” 3号 黑体,
level-2 “（一）” 3号 楷体_GB2312, level-3 “1.” 3号 仿宋_GB2312 bold; page numbers 4号 “— 1 —” at the
outer bottom (odd pages right, even pages left, one character in from the edge); 成文日期 in Arabic
numerals. Tables: 仿宋_GB2312 小四, header row bold and repeated on every page.

Fonts. Every run and every style names its East Asian font (w:eastAsia), not only the Latin one, so
Word, WPS and LibreOffice pick the Chinese face. Where a font is not installed the office suite
substitutes; the template's font table names the usual substitute (w:altName) too:

    方正小标宋简体  ->  宋体 / SimSun       (title)
    仿宋_GB2312     ->  仿宋 / FangSong     (body, tables, level-3 headings)
    楷体_GB2312     ->  楷体 / KaiTi        (level-2 headings)
    黑体            ->  SimHei              (level-1 headings)
    宋体            ->  SimSun              (page numbers)
Latin letters and digits in body text use Times New Roman.

The output is reproducible: fixed document properties and zip timestamps, so a rebuild without a
change leaves the files byte-identical and a review diff shows only real edits.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import sys
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

HERE = Path(__file__).resolve().parent

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
H1_FONT = "黑体"
H2_FONT = "楷体_GB2312"
PAGE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
FALLBACKS = {TITLE_FONT: "宋体", BODY_FONT: "仿宋", H2_FONT: "楷体", H1_FONT: "SimHei", PAGE_FONT: "SimSun"}

SIZE_2 = Pt(22)      # 二号
SIZE_3 = Pt(16)      # 三号
SIZE_4 = Pt(14)      # 四号
SIZE_S4 = Pt(12)     # 小四
LINE = Pt(28.95)     # 22 lines in the 225 mm text area
TITLE_LINE = Pt(35)
CHAR = 320           # one 3号 character in twips (16 pt)
TEXT_WIDTH_PT = 156 / 25.4 * 72
CONDENSE = -10       # character spacing of body text, twentieths of a point (-0.5 pt)
CHAR_SPACE = math.floor((TEXT_WIDTH_PT / 28 - 16) * 4096)   # -848: the grid's character pitch below 16 pt
TABLE_CELL_MARGIN = 40   # twips left/right inside table cells (≈0.7 mm), so 100.0% fits a narrow column
FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)


# ------------------------------------------------------------------------------------ element order

# Children must appear in schema order (ECMA-376): Word refuses a file whose properties are out of order.
PPR_ORDER = ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
             "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
             "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
             "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection",
             "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"]
TBLPR_ORDER = ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW",
               "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook"]
TRPR_ORDER = ["cnfStyle", "divId", "gridBefore", "gridAfter", "wBefore", "wAfter", "cantSplit", "trHeight",
              "tblHeader", "tblCellSpacing", "jc", "hidden"]
RPR_ORDER = ["rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline", "shadow",
             "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing", "w", "kern",
             "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText", "vertAlign", "rtl", "cs",
             "em", "lang", "eastAsianLayout", "specVanish", "oMath"]


def put(parent, tag: str, order: list[str], **attrs: str):
    """Set (replace) the child w:tag of parent at its schema position, with attributes w:key=value."""
    old = parent.find(qn(f"w:{tag}"))
    if old is not None:
        parent.remove(old)
    el = OxmlElement(f"w:{tag}")
    for k, v in attrs.items():
        el.set(qn(f"w:{k}"), v)
    pos = order.index(tag)
    for i, child in enumerate(parent):
        name = child.tag.rsplit("}", 1)[-1]
        if name in order and order.index(name) > pos:
            parent.insert(i, el)
            return el
    parent.append(el)
    return el


# ------------------------------------------------------------------------------------ fonts


def set_fonts(rpr, east_asia: str, latin: str | None = None) -> None:
    """Name the fonts of a run or style: East Asian always, Latin the same unless given."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = put(rpr, "rFonts", RPR_ORDER)
    for attr in list(fonts.attrib):
        if attr.endswith(("Theme", "theme")):
            del fonts.attrib[attr]   # a theme font would override the named one
    latin = latin or east_asia
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:hint"), "eastAsia")


def run(p: Paragraph, text: str, font: str = BODY_FONT, *, latin: str | None = LATIN_FONT, size=None,
        bold: bool | None = None, highlight: bool = False):
    r = p.add_run(text)
    set_fonts(r._r.get_or_add_rPr(), font, latin)
    if size is not None:
        r.font.size = size
    if bold is not None:
        r.font.bold = bold
    if highlight:
        put(r._r.get_or_add_rPr(), "highlight", RPR_ORDER, val="yellow")
    return r


# ------------------------------------------------------------------------------------ styles


def _para_style(doc, name: str, font: str, size, *, latin: str | None = LATIN_FONT, bold=False,
                align=WD_ALIGN_PARAGRAPH.JUSTIFY, first_line_chars: int = 2, line=LINE, base: str = "Normal",
                keep_next: bool = False):
    styles = doc.styles
    st = styles[name] if name in [s.name for s in styles] else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    if name != "Normal":
        st.base_style = styles[base]
        st.quick_style = True
    st.font.size = size
    st.font.bold = bold
    set_fonts(st.element.get_or_add_rPr(), font, latin)
    pf = st.paragraph_format
    pf.alignment = align
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.keep_with_next = keep_next or None
    ppr = st.element.get_or_add_pPr()
    if line is None:
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
        put(ppr, "snapToGrid", PPR_ORDER, val="0")   # single-spaced text (tables, images, footer) ignores the line grid
    else:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = line
    put(ppr, "ind", PPR_ORDER, firstLineChars=str(first_line_chars * 100), firstLine=str(first_line_chars * CHAR))
    if name == "Normal":
        # No extra space between Chinese and Latin text: keeps 28 characters a line.
        put(ppr, "autoSpaceDE", PPR_ORDER, val="0")
        put(ppr, "autoSpaceDN", PPR_ORDER, val="0")
        # Characters 0.5 pt closer: 28 × 15.5 pt fit the 442 pt line (LibreOffice measured: 27 at
        # -0.25 pt, 28 at -0.5 pt), in Word, WPS and LibreOffice alike; the grid below is declared for
        # Word and WPS as GB/T 9704 templates do.
        put(st.element.get_or_add_rPr(), "spacing", RPR_ORDER, val=str(CONDENSE))
        # Text is laid by its (condensed) width, not snapped to the grid cells: LibreOffice pads
        # every digit run to whole cells (“30  个”). Exact 28.95 pt spacing keeps the 22 lines.
        put(ppr, "snapToGrid", PPR_ORDER, val="0")
    return st


def setup_styles(doc) -> None:
    _doc_defaults(doc)
    _para_style(doc, "Normal", BODY_FONT, SIZE_3)
    _para_style(doc, "公文标题", TITLE_FONT, SIZE_2, latin=TITLE_FONT, align=WD_ALIGN_PARAGRAPH.CENTER,
                first_line_chars=0, line=TITLE_LINE)
    # Headings, captions above tables, images above their captions and the signature keep with what follows.
    _para_style(doc, "一级标题", H1_FONT, SIZE_3, latin=H1_FONT, keep_next=True)
    _para_style(doc, "二级标题", H2_FONT, SIZE_3, latin=H2_FONT, keep_next=True)
    _para_style(doc, "三级标题", BODY_FONT, SIZE_3, bold=True, keep_next=True)
    _para_style(doc, "主送机关", BODY_FONT, SIZE_3, first_line_chars=0)
    _para_style(doc, "落款", BODY_FONT, SIZE_3, align=WD_ALIGN_PARAGRAPH.RIGHT, first_line_chars=0, keep_next=True)
    _para_style(doc, "表题", H1_FONT, SIZE_3, latin=H1_FONT, align=WD_ALIGN_PARAGRAPH.CENTER, first_line_chars=0,
                keep_next=True)
    _para_style(doc, "表格文字", BODY_FONT, SIZE_S4, align=WD_ALIGN_PARAGRAPH.CENTER, first_line_chars=0, line=None)
    _para_style(doc, "表注", BODY_FONT, SIZE_4, first_line_chars=0, line=None)
    _para_style(doc, "图片", BODY_FONT, SIZE_3, align=WD_ALIGN_PARAGRAPH.CENTER, first_line_chars=0, line=None,
                keep_next=True)
    _para_style(doc, "图题", H1_FONT, SIZE_3, latin=H1_FONT, align=WD_ALIGN_PARAGRAPH.CENTER, first_line_chars=0)
    _para_style(doc, "页码", PAGE_FONT, SIZE_4, latin=PAGE_FONT, first_line_chars=0, line=None)
    # Every remaining style of the base document names its East Asian font too.
    for rfonts in doc.styles.element.iter(qn("w:rFonts")):
        for attr in list(rfonts.attrib):
            if attr.endswith(("Theme", "theme")):
                del rfonts.attrib[attr]
        if rfonts.get(qn("w:eastAsia")) is None:
            rfonts.set(qn("w:eastAsia"), BODY_FONT)
            rfonts.set(qn("w:ascii"), rfonts.get(qn("w:ascii")) or LATIN_FONT)
            rfonts.set(qn("w:hAnsi"), rfonts.get(qn("w:hAnsi")) or LATIN_FONT)


def _doc_defaults(doc) -> None:
    styles = doc.styles.element
    rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr, BODY_FONT, LATIN_FONT)
    put(rpr, "sz", RPR_ORDER, val="32")      # the character grid's pitch is measured from the default size
    put(rpr, "szCs", RPR_ORDER, val="32")
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    settings = doc.settings.element
    tfl = settings.find(qn("w:themeFontLang"))
    if tfl is not None:
        tfl.set(qn("w:eastAsia"), "zh-CN")


def font_table(doc) -> None:
    """Declare the Chinese fonts with their usual substitutes (w:altName) and the GB2312 charset."""
    part = next((rel.target_part for rel in doc.part.rels.values() if rel.reltype.endswith("/fontTable")), None)
    if part is None:
        return
    fonts = parse_xml(part.blob)
    for name, alt in FALLBACKS.items():
        f = OxmlElement("w:font")
        f.set(qn("w:name"), name)
        for tag, val in (("w:altName", alt), ("w:charset", "86"),   # 86 = GB2312
                         ("w:family", "modern" if name in (BODY_FONT, H2_FONT, H1_FONT) else "roman"),
                         ("w:pitch", "variable")):
            el = OxmlElement(tag)
            el.set(qn("w:val"), val)
            f.append(el)
        fonts.append(f)
    part._blob = etree.tostring(fonts, xml_declaration=True, encoding="UTF-8", standalone=True)


# ------------------------------------------------------------------------------------ page


def setup_page(doc) -> None:
    sec = doc.sections[0]
    sec.start_type = WD_SECTION.NEW_PAGE
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = Mm(37), Mm(35)
    sec.left_margin, sec.right_margin = Mm(28), Mm(26)
    sec.header_distance = Mm(15)
    sec.footer_distance = Mm(23)   # page number ~7 mm below the text area
    sect = sec._sectPr
    grid = sect.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect.append(grid)
    # 22 lines × 28 characters: Word and WPS lay 3号 text on this grid (char pitch = 16 pt +
    # charSpace/4096 pt = 15.79 pt, 28 of them in the 156 mm text area).
    grid.set(qn("w:type"), "linesAndChars")
    grid.set(qn("w:linePitch"), str(round(28.95 * 20)))
    grid.set(qn("w:charSpace"), str(CHAR_SPACE))
    doc.settings.odd_and_even_pages_header_footer = True
    _page_number(sec.footer.paragraphs[0], odd=True)
    _page_number(sec.even_page_footer.paragraphs[0], odd=False)


def _field_run(p: Paragraph, *, fld: str | None = None, instr: str | None = None, text: str | None = None):
    r = run(p, "", PAGE_FONT, latin=PAGE_FONT, size=SIZE_4)
    if fld:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), fld)
        r._r.append(el)
    if instr:
        el = OxmlElement("w:instrText")
        el.set(qn("xml:space"), "preserve")
        el.text = instr
        r._r.append(el)
    if text:
        r.text = text


def _page_number(p: Paragraph, *, odd: bool) -> None:
    """'— 1 —' in 4号, one character in from the outer edge: right on odd pages, left on even."""
    p.style = "页码"
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    side = "right" if odd else "left"
    put(p._p.get_or_add_pPr(), "ind", PPR_ORDER, **{f"{side}Chars": "100", side: "280"})
    run(p, "— ", PAGE_FONT, latin=PAGE_FONT, size=SIZE_4)
    _field_run(p, fld="begin")
    _field_run(p, instr=" PAGE ")
    _field_run(p, fld="separate")
    _field_run(p, text="1")
    _field_run(p, fld="end")
    run(p, " —", PAGE_FONT, latin=PAGE_FONT, size=SIZE_4)


# ------------------------------------------------------------------------------------ document writer


class Writer:
    """Adds official-document paragraphs and template tables to a python-docx Document."""

    def __init__(self) -> None:
        self.doc = Document()
        setup_styles(self.doc)
        setup_page(self.doc)
        font_table(self.doc)
        body = self.doc.element.body
        for p in list(body.iterchildren(qn("w:p"))):   # the base document's empty first paragraph
            body.remove(p)

    def _p(self, style: str) -> Paragraph:
        return self.doc.add_paragraph(style=style)

    def title(self, *lines: str) -> None:
        for line in lines:
            run(self._p("公文标题"), line, TITLE_FONT, latin=TITLE_FONT)
        self.blank()

    def blank(self) -> None:
        run(self._p("Normal"), "")

    def addressee(self, text: str) -> None:
        run(self._p("主送机关"), text)

    def h1(self, text: str) -> None:
        run(self._p("一级标题"), text, H1_FONT, latin=H1_FONT)

    def h2(self, text: str) -> None:
        run(self._p("二级标题"), text, H2_FONT, latin=H2_FONT)

    def para(self, *parts: str | tuple[str, str]) -> Paragraph:
        """A body paragraph; a part ('bold', text) is a level-3 heading run at its start."""
        p = self._p("Normal")
        for part in parts:
            if isinstance(part, tuple):
                run(p, part[1], bold=True)
            else:
                run(p, part)
        return p

    def todo(self, text: str) -> None:
        """A paragraph the clerk writes: 【待填写：…】, highlighted so it is not missed."""
        run(self._p("Normal"), f"【待填写：{text}】", highlight=True)

    def tag(self, text: str) -> None:
        """A paragraph holding only a {%p … %} tag; docxtpl removes the paragraph when rendering."""
        run(self._p("Normal"), text)

    def caption(self, text: str) -> None:
        run(self._p("表题"), text, H1_FONT, latin=H1_FONT)

    def figure_caption(self, text: str) -> None:
        run(self._p("图题"), text, H1_FONT, latin=H1_FONT)

    def note(self, text: str) -> None:
        run(self._p("表注"), text, size=SIZE_4)

    def image(self, placeholder: str) -> None:
        run(self._p("图片"), placeholder)

    def signature(self) -> None:
        """发文机关署名 and 成文日期; the last body paragraph moves with them, so the signature never
        stands alone on a page."""
        paragraphs = self.doc.paragraphs
        if paragraphs:
            paragraphs[-1].paragraph_format.keep_with_next = True
        self.blank()
        self.doc.paragraphs[-1].paragraph_format.keep_with_next = True
        for text in ("{{ org_name }}", "{{ doc_date }}"):
            p = self._p("落款")
            put(p._p.get_or_add_pPr(), "ind", PPR_ORDER, rightChars="200", right=str(2 * CHAR), firstLineChars="0",
                firstLine="0")
            run(p, text)
        p.paragraph_format.keep_with_next = False   # the signature block ends here, whatever follows

    def doc_number(self) -> None:
        """发文字号 (optional: only when pbtool.toml [report] sets its prefix), centred above the title."""
        self.tag("{%p if doc_number %}")
        p = self._p("主送机关")
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run(p, "{{ doc_number }}")
        self.tag("{%p endif %}")

    def attachment_note(self, text: str) -> None:
        """附件说明: one line below the body, two characters in (GB/T 9704 7.3.4)."""
        self.blank()
        run(self._p("Normal"), text)

    def attachment_heading(self) -> None:
        """'附件' in 3号黑体 at the top left of a new page."""
        p = self._p("主送机关")
        p.paragraph_format.page_break_before = True
        run(p, "附件", H1_FONT, latin=H1_FONT)

    def imprint(self) -> None:
        """版记 (optional, GB/T 9704 7.4): 抄送 and 印发机关/印发日期 in 4号仿宋 between separator lines,
        first and last thick, the middle one thin; shown when pbtool.toml sets 抄送 or 印发机关."""
        self.tag("{%p if has_imprint %}")
        self.blank()
        self.tag("{%p if cc %}")
        run(self._imprint_p(top=8), "抄送：{{ cc }}。", size=SIZE_4)
        self.tag("{%p endif %}")
        self.tag("{%p if cc %}")
        run(self._imprint_p(top=4, bottom=8, tab=True), "{{ printer }}\t{{ print_date }}印发", size=SIZE_4)
        self.tag("{%p else %}")
        run(self._imprint_p(top=8, bottom=8, tab=True), "{{ printer }}\t{{ print_date }}印发", size=SIZE_4)
        self.tag("{%p endif %}")
        self.tag("{%p endif %}")

    def _imprint_p(self, *, top: int | None = None, bottom: int | None = None, tab: bool = False) -> Paragraph:
        p = self._p("表注")
        ppr = p._p.get_or_add_pPr()
        bdr = put(ppr, "pBdr", PPR_ORDER)
        for side, size in (("top", top), ("bottom", bottom)):
            if size:
                el = OxmlElement(f"w:{side}")
                for k, v in (("val", "single"), ("sz", str(size)), ("space", "1"), ("color", "000000")):
                    el.set(qn(f"w:{k}"), v)
                bdr.append(el)
        put(ppr, "ind", PPR_ORDER, left=str(CHAR * 14 // 16), right=str(CHAR * 14 // 16), firstLine="0")
        if tab:
            p.paragraph_format.tab_stops.add_tab_stop(Mm(146), WD_TAB_ALIGNMENT.RIGHT)   # 156 mm less 1 char each side
        return p

    def table(self, columns: list[tuple[str, str, float, str]], loop: str, total: list[str] | None = None,
              keep: bool = True, row_height_mm: float | None = None) -> Table:
        """A table with a bold, repeated header row, one template row repeated by {%tr for loop %},
        and an optional total row. columns: (header, cell text, width mm, 'c'|'l')."""
        widths = [Mm(w) for _h, _c, w, _a in columns]
        rows = 4 + (1 if total else 0)
        t = self.doc.add_table(rows=rows, cols=len(columns))
        t.style = self.doc.styles["Table Grid"]
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        _table_layout(t, widths)
        aligns = [a for *_x, a in columns]
        _fill_row(t.rows[0], [h for h, *_x in columns], widths, ["c"] * len(columns), bold=True)
        _repeat_header(t.rows[0])
        _fill_row(t.rows[1], [f"{{%tr for {loop} %}}"] + [""] * (len(columns) - 1), widths, aligns)
        _fill_row(t.rows[2], [c for _h, c, *_x in columns], widths, aligns)
        _fill_row(t.rows[3], ["{%tr endfor %}"] + [""] * (len(columns) - 1), widths, aligns)
        if total:
            _fill_row(t.rows[4], total, widths, ["c"] * len(columns), bold=True)
        for i, r in enumerate(t.rows):
            _cant_split(r)
            if keep or i == 0:
                # a short table stays on one page; any table keeps its header with its first row
                for cell in r.cells:
                    for para in cell.paragraphs:
                        para.paragraph_format.keep_with_next = True
        if row_height_mm:
            put(t.rows[2]._tr.get_or_add_trPr(), "trHeight", TRPR_ORDER, val=str(Mm(row_height_mm).twips),
                hRule="atLeast")
        return t

    def save(self, path: Path, title: str) -> None:
        cp = self.doc.core_properties
        cp.title, cp.author, cp.last_modified_by = title, "pbtool", "pbtool"
        cp.subject, cp.comments = "", "由 templates/build_templates.py 生成；可在 Word/WPS 中修改文字和版式。"
        cp.created = cp.modified = FIXED_TIME
        cp.revision = 1
        _slim(self.doc)
        buf = io.BytesIO()
        self.doc.save(buf)
        _reproducible_zip(buf.getvalue(), path)


def _table_layout(t: Table, widths) -> None:
    tblpr = t._tbl.tblPr
    put(tblpr, "tblW", TBLPR_ORDER, w=str(sum(w.twips for w in widths)), type="dxa")
    put(tblpr, "tblLayout", TBLPR_ORDER, type="fixed")
    mar = put(tblpr, "tblCellMar", TBLPR_ORDER)
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(TABLE_CELL_MARGIN))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    for col, w in zip(t.columns, widths):
        col.width = w
    grid = t._tbl.tblGrid
    for gc, w in zip(grid.findall(qn("w:gridCol")), widths):
        gc.set(qn("w:w"), str(w.twips))


def _fill_row(row, texts: list[str], widths, aligns: list[str], bold: bool = False) -> None:
    for cell, text, w, a in zip(row.cells, texts, widths, aligns):
        cell.width = w
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        p = cell.paragraphs[0]
        p.style = "表格文字"
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER if a == "c" else WD_ALIGN_PARAGRAPH.LEFT
        run(p, text, size=SIZE_S4, bold=True if bold else None)


def _repeat_header(row) -> None:
    put(row._tr.get_or_add_trPr(), "tblHeader", TRPR_ORDER, val="true")


def _cant_split(row) -> None:
    put(row._tr.get_or_add_trPr(), "cantSplit", TRPR_ORDER)


def _slim(doc) -> None:
    """Leave out what the base document carries but a template does not need: the preview image of
    python-docx's sample page, the Word 2010 copy of the styles (stylesWithEffects) and the 98 table
    styles other than 网格型 (Table Grid). Smaller templates render and save faster."""
    rels = doc.part.package.rels
    for rid, rel in list(rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            del rels[rid]
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            del doc.part.rels[rid]
    styles = doc.styles.element
    for style in list(styles.iterchildren(qn("w:style"))):
        if style.get(qn("w:type")) == "table" and style.get(qn("w:styleId")) not in ("TableNormal", "TableGrid"):
            styles.remove(style)


def _reproducible_zip(data: bytes, path: Path) -> None:
    """Rewrite the package with fixed timestamps, so an unchanged rebuild is byte-identical."""
    src = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(zi, src.read(info.filename))


# ------------------------------------------------------------------------------------ the three templates

PLACE_COLUMNS = [
    ("序号", "{{ f.no }}", 10, "c"),
    ("对象", "{{ f.target }}", 35, "l"),
    ("所在社区", "{{ f.community }}", 22, "l"),
    ("问题", "{{ f.titles }}", 40, "l"),
    ("正式党员", "{{ f.full_members }}", 15, "c"),
    ("状态", "{{ f.status_text }}", 34, "c"),
]
IF_COMPARED = "{% if has_comparison %}"
END = "{% endif %}"


def rate_text(var: str, sep: str = "，") -> str:
    """A rate placeholder followed, when there is a previous period, by its change: {{ org_coverage }}，{{ org_coverage_change }}."""
    return f"{{{{ {var} }}}}" + IF_COMPARED + f"{sep}{{{{ {var}_change }}}}" + END


def build_annual(path: Path) -> None:
    w = Writer()
    w.doc_number()
    w.title("{{ year }}年度城市基层党建工作总结")
    w.para("现将{{ year }}年度城市基层党建工作情况总结如下。数据截至{{ period_text }}末，来源于各街道报送的党员花名册和"
           "区域化党建资源清单。{{ compare_note }}")
    w.h1("一、基本情况")
    w.para("截至{{ period_text }}末，{{ scope_name }}共有街道{{ streets_count }}个、社区{{ communities_count }}个、小区{{ estates_count }}个；"
           "党员{{ members_total }}名，其中正式党员{{ members_full }}名、预备党员{{ members_probationary }}名"
           "{% if members_unknown %}、类别不详{{ members_unknown }}名{% endif %}"
           "{% if members_duplicates %}（重复填报{{ members_duplicates }}人次，已按1人计）{% endif %}。")
    w.para("{{ scope_name }}基层党组织{{ party_orgs_total }}个，其中党委{{ party_committees }}个、党总支{{ party_general_branches }}个、"
           "党支部{{ party_branches }}个、联合党支部{{ party_joint_branches }}个"
           "{% if party_orgs_other %}、其他{{ party_orgs_other }}个{% endif %}。已建立党组织的社区{{ community_orgs }}个、"
           "小区{{ estate_orgs }}个。" + IF_COMPARED + "{{ since_text }}新建两新组织党组织{{ new_orgs_count }}个。" + END)
    w.para("{{ scope_name }}两新组织{{ twonew_total }}个，其中非公企业{{ nonpublic_total }}个、社会组织{{ social_total }}个。"
           "两新组织党组织覆盖率" + rate_text("org_coverage") + "；工作覆盖率" + rate_text("work_coverage") +
           "。其中，非公企业党组织覆盖率{{ nonpublic_org_coverage }}" + IF_COMPARED +
           "（{{ nonpublic_org_coverage_change }}）" + END +
           "，社会组织党组织覆盖率{{ social_org_coverage }}" + IF_COMPARED +
           "（{{ social_org_coverage_change }}）" + END +
           "。小区党组织覆盖率" + rate_text("estate_coverage") + "。")
    w.para("{% if has_dual_report %}在职党员到社区报到{{ dual_report_count }}名；{% endif %}"
           "驻区单位签订共建协议{{ agreements_count }}家，实施共建项目{{ projects_count }}个。")
    w.caption("表1　各街道党组织情况")
    w.table([("街道", "{{ r.street }}", 26, "l"), ("党组织合计", "{{ r.party_orgs }}", 19, "c"),
             ("党委", "{{ r.committees }}", 14, "c"), ("党总支", "{{ r.general_branches }}", 15, "c"),
             ("党支部", "{{ r.branches }}", 15, "c"), ("联合党支部", "{{ r.joint_branches }}", 19, "c"),
             ("已建党组织的社区", "{{ r.community_orgs }}", 24, "c"), ("已建党组织的小区", "{{ r.estate_orgs }}", 24, "c")],
            "r in org_rows",
            total=["合计", "{{ org_total.party_orgs }}", "{{ org_total.committees }}",
                   "{{ org_total.general_branches }}", "{{ org_total.branches }}",
                   "{{ org_total.joint_branches }}", "{{ org_total.community_orgs }}",
                   "{{ org_total.estate_orgs }}"])
    w.blank()
    w.caption("表2　各街道党员情况")
    w.table([("街道", "{{ r.street }}", 36, "l"), ("党员", "{{ r.members }}", 24, "c"),
             ("正式党员", "{{ r.full }}", 24, "c"), ("预备党员", "{{ r.probationary }}", 24, "c"),
             ("类别不详", "{{ r.unknown_category }}", 24, "c"), ("双报到", "{{ r.dual_report }}", 24, "c")],
            "r in street_rows",
            total=["合计", "{{ street_total.members }}", "{{ street_total.full }}", "{{ street_total.probationary }}",
                   "{{ street_total.unknown_category }}", "{{ street_total.dual_report }}"])
    w.tag("{%p if members_note %}")
    w.note("注：{{ members_note }}。")
    w.tag("{%p endif %}")
    w.blank()
    w.caption("表3　各街道覆盖率{% if has_comparison %}及变化{% endif %}")
    w.table([("街道", "{{ r.street }}", 22, "l"), ("两新组织", "{{ r.twonew_total }}", 14, "c"),
             ("党组织覆盖率", "{{ r.org_coverage }}", 19, "c"), ("增减", "{{ r.org_coverage_pp }}", 16, "c"),
             ("工作覆盖率", "{{ r.work_coverage }}", 17, "c"), ("增减", "{{ r.work_coverage_pp }}", 16, "c"),
             ("小区", "{{ r.estates_total }}", 11, "c"), ("小区党组织覆盖率", "{{ r.estate_coverage }}", 25, "c"),
             ("增减", "{{ r.estate_coverage_pp }}", 16, "c")],
            "r in coverage_rows",
            total=["{{ scope_name }}", "{{ coverage_total.twonew_total }}", "{{ coverage_total.org_coverage }}",
                   "{{ coverage_total.org_coverage_pp }}", "{{ coverage_total.work_coverage }}",
                   "{{ coverage_total.work_coverage_pp }}", "{{ coverage_total.estates_total }}",
                   "{{ coverage_total.estate_coverage }}", "{{ coverage_total.estate_coverage_pp }}"])
    w.note("注：{% if has_comparison %}“增减”为{{ compare_text }}变化的百分点；{% endif %}“—”表示没有可计算的对象。")
    w.image("{{ chart_coverage }}")
    w.figure_caption("图1　{{ chart_coverage_title }}")
    w.image("{{ chart_members }}")
    w.figure_caption("图2　{{ chart_members_title }}")

    w.h1("二、主要做法和成效")
    w.h2("（一）健全组织体系，推进党的组织和工作有效覆盖。")
    w.tag("{%p if practice_org_text %}")
    w.para("{{ practice_org_text }}")
    w.tag("{%p endif %}")
    w.todo("街道社区党组织设置调整、小区（网格）党组织组建、两新组织“两个覆盖”攻坚的具体做法")
    w.h2("（二）深化区域化党建，凝聚共建共治合力。")
    w.tag("{%p if practice_regional_text %}")
    w.para("{{ practice_regional_text }}")
    w.tag("{%p endif %}")
    w.todo("共建项目的实施和在职党员到社区服务的具体做法")
    w.h2("（三）加强队伍建设，提升基层党组织的组织力。")
    w.todo("社区党组织书记、党建工作指导员队伍建设和党员教育管理情况")

    w.h1("三、存在的问题")
    w.tag("{%p if places_total %}")
    w.para("对照城市基层党建有关要求，截至{{ period_text }}末，{{ scope_name }}{{ findings_streets_text }}，共{{ places_total }}处"
           "（问题{{ findings_total }}个），主要是：")
    w.tag("{%p for r in problems_by_rule %}")
    w.para(("bold", "{{ r.no }}.{{ r.title }}"), "{{ r.count }}处，涉及{{ r.streets_text }}。")
    w.tag("{%p endfor %}")
    w.para("分街道看：")
    w.tag("{%p for s in problems_by_street %}")
    w.para("{{ s.street }}{{ s.count }}处：{{ s.text }}。")
    w.tag("{%p endfor %}")
    w.tag("{%p else %}")
    w.para("截至{{ period_text }}末，按现行排查规则未发现空白点。")
    w.tag("{%p endif %}")
    w.tag("{%p if data_quality_text %}")
    w.para("此外，{{ data_quality_text }}")
    w.tag("{%p endif %}")
    w.todo("其他方面存在的问题和不足")

    w.h1("四、下一步工作打算")
    w.h2("（一）集中整治空白点。")
    w.tag("{%p if next_steps_text %}")
    w.para("{{ next_steps_text }}")
    w.tag("{%p endif %}")
    w.h2("（二）提升两新组织党建质量。")
    w.todo("推进两新组织党的组织和工作覆盖、选派党建工作指导员的计划")
    w.h2("（三）深化区域化党建。")
    w.todo("共建项目、“双报到”常态化等方面的打算")
    w.signature()
    w.imprint()
    w.save(path, "年度城市基层党建工作总结")


def build_quarterly(path: Path) -> None:
    """A district's bulletin ranks its streets; the city's (is_city) ranks districts and counts each
    district's blind spots by street: unit_name (街道 | 区) and scope_name (全区 | 全市) say which."""
    w = Writer()
    w.doc_number()
    w.title("关于{{ period_text }}城市基层党建", "空白点排查整改情况的通报")
    w.addressee("{{ addressee }}：")
    w.para("根据各{{ unit_name }}报送的{{ period_text }}党员花名册和区域化党建资源清单，{{ org_name }}对{{ scope_name }}"
           "城市基层党建空白点进行了排查。现将有关情况通报如下。")
    w.h1("一、总体情况")
    w.para("本期{{ scope_name }}{{ findings_streets_text }}，共有空白点{{ places_total }}处（问题{{ findings_total }}个），"
           "其中新增{{ new_total }}处、持续未整改{{ persisting_total }}处"
           "{% if changed_total %}、问题类型变化{{ changed_total }}处{% endif %}" + IF_COMPARED +
           "；上期（{{ previous_period_text }}）以来已整改销号{{ closed_total }}处" + END + "。")
    w.para("{{ scope_name }}两新组织{{ twonew_total }}个，党组织覆盖率" + rate_text("org_coverage") + "；工作覆盖率"
           + rate_text("work_coverage") + "。小区党组织覆盖率" + rate_text("estate_coverage") + "。")
    w.h1("二、各{{ unit_name }}覆盖率排名")
    w.para("各{{ unit_name }}按两新组织党组织覆盖率从高到低排列，相同时依次比较工作覆盖率和小区党组织覆盖率，见表1。"
           "{{ ranking_text }}")
    w.caption("表1　各{{ unit_name }}覆盖率排名")
    w.table([("排名", "{{ r.rank }}", 10, "c"), ("{{ unit_name }}", "{{ r.name }}", 20, "l"),
             ("两新组织", "{{ r.twonew_total }}", 12, "c"), ("党组织覆盖率", "{{ r.org_coverage }}", 17, "c"),
             ("增减", "{{ r.org_coverage_pp }}", 15, "c"), ("工作覆盖率", "{{ r.work_coverage }}", 17, "c"),
             ("增减", "{{ r.work_coverage_pp }}", 15, "c"), ("小区党组织覆盖率", "{{ r.estate_coverage }}", 20, "c"),
             ("增减", "{{ r.estate_coverage_pp }}", 15, "c"), ("空白点（处）", "{{ r.places }}", 15, "c")],
            "r in ranking")
    w.note("注：{% if has_comparison %}“增减”为较上季度（{{ previous_period_text }}）变化的百分点；{% endif %}"
           "“—”表示没有可计算的对象。")
    w.h1("三、各{{ unit_name }}空白点情况")
    w.tag("{%p for s in streets %}")
    w.h2("（{{ s.no_cn }}）{{ s.name }}")
    w.para("{{ s.summary_text }}")
    w.tag("{%p if s.street_rows %}")
    w.table([("序号", "{{ t.no }}", 10, "c"), ("街道", "{{ t.street }}", 36, "l"),
             ("空白点（处）", "{{ t.places_count }}", 22, "c"), ("问题（个）", "{{ t.problems_count }}", 20, "c"),
             ("新增（处）", "{{ t.new_count }}", 20, "c"), ("持续（处）", "{{ t.persisting_count }}", 20, "c"),
             ("已整改（处）", "{{ t.closed_count }}", 22, "c")],
            "t in s.street_rows")
    w.tag("{%p endif %}")
    w.tag("{%p if s.places %}")
    w.table(PLACE_COLUMNS, "f in s.places")
    w.tag("{%p endif %}")
    w.tag("{%p if s.closed %}")
    w.para("已整改销号：{% for c in s.closed %}{{ c.target }}（{{ c.titles }}）{% if not loop.last %}、{% endif %}{% endfor %}。")
    w.tag("{%p endif %}")
    w.tag("{%p endfor %}")
    w.h1("四、工作要求")
    w.para("{% if is_city %}各区（县、市）委组织部要对照本通报，督促各街道党工委对照整改通知书{% else %}"
           "各街道党工委要对照本通报和整改通知书{% endif %}，逐项制定整改措施，明确责任人和整改时限，按期完成整改并报送整改情况。"
           "对持续未整改的空白点，要查明原因、集中攻坚。")
    w.todo("其他工作要求")
    w.signature()
    w.imprint()
    w.save(path, "季度通报")


def build_notice(path: Path) -> None:
    w = Writer()
    w.doc_number()
    w.title("城市基层党建空白点整改通知书")
    w.addressee("{{ addressee }}：")
    w.para("根据{{ period_text }}{{ scope_name }}城市基层党建空白点排查结果，你街道存在空白点{{ places_count }}处"
           "（问题{{ findings_count }}个：{{ rules_text }}），其中{{ status_text }}，具体见下表。现通知你街道抓紧整改。")
    w.para("目前你街道两新组织党组织覆盖率{{ org_coverage }}、工作覆盖率{{ work_coverage }}，"
           "小区党组织覆盖率{{ estate_coverage }}。")
    w.caption("{{ street }}城市基层党建空白点清单")
    w.table([("序号", "{{ f.no }}", 10, "c"), ("对象", "{{ f.target }}", 24, "l"),
             ("所在社区", "{{ f.community }}", 19, "l"), ("问题", "{{ f.titles }}", 21, "l"),
             ("正式党员", "{{ f.full_members }}", 10, "c"), ("状态", "{{ f.status_text }}", 30, "c"),
             ("整改建议", "{{ f.action }}", 42, "l")],
            "f in places", keep=False)
    w.h1("一、整改要求")
    w.para("请于{{ deadline }}前完成整改，填写《整改情况反馈表》（见附件），书面报送{{ org_name }}。"
           "确因客观原因不能按期完成的，请说明原因和计划完成时间。")
    w.h1("二、联系方式")
    w.para("联系人：{{ contact }}　　联系电话：{{ phone }}")
    w.attachment_note("附件：{{ street }}空白点整改情况反馈表")
    w.signature()
    w.attachment_heading()
    w.blank()
    w.title("{{ street }}空白点整改情况反馈表")
    w.table([("序号", "{{ f.no }}", 10, "c"), ("对象", "{{ f.target }}", 30, "l"), ("问题", "{{ f.titles }}", 30, "l"),
             ("整改措施", "", 42, "l"), ("责任人", "", 18, "c"), ("完成时间", "", 26, "c")],
            "f in places", keep=False, row_height_mm=18)
    w.blank()
    w.addressee("填报单位（盖章）：　　　　　填报日期：　　年　月　日")
    w.imprint()
    w.save(path, "整改通知书")


BUILDERS = {"年度总结.docx": build_annual, "季度通报.docx": build_quarterly, "整改通知书.docx": build_notice}


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else HERE
    out.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        build(out / name)
        print(f"已生成 {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
