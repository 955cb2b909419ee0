"""Fill-in templates for the streets (`pbtool template`): which streets, what to pre-fill from the store,
and, on the import side, how a workbook pbtool wrote is recognized by its marker and mapped exactly.

`make_templates()` is the Python API behind `pbtool template roster|lists`; `template_for()` is the
small hook the importer calls for each file before detection."""
from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, _shipped, load_config
from .mapping import Column, SynonymIndex, normalize_header

TEMPLATE_KINDS = {"roster": ["roster"], "lists": ["community", "estate", "org", "unit"]}
MARKER_KEYS = ("pbtool_template", "pbtool_template_version", "pbtool_street", "pbtool_district",
               "pbtool_period", "pbtool_source_period")
MARKER_MAX_BYTES = 1 << 20       # docProps/custom.xml of a template is a few hundred bytes
_DISTRICT_RE = re.compile(r"^([\u4e00-\u9fa5]{1,8}?(?:区|县|市))")
_NOT_DISTRICT = ("社区", "小区", "园区", "街区", "片区", "景区", "校区")


class TemplateError(Exception):
    """A template that cannot be made or a marked workbook that must not be imported; Chinese message."""


def fillin_spec() -> dict[str, Any]:
    return _shipped("fillin.toml")


# ------------------------------------------------------------------------------------ the marker


@dataclass(frozen=True)
class Marker:
    """What a template says about itself: kind (roster | lists), version, street, district, periods."""

    kind: str
    version: int
    street: str
    district: str
    period: str
    source_period: str

    def as_properties(self) -> dict[str, Any]:
        return dict(zip(MARKER_KEYS, (self.kind, self.version, self.street, self.district, self.period,
                                      self.source_period)))

    def as_text(self) -> str:
        return "|".join(str(v) for v in self.as_properties().values())

    @classmethod
    def from_values(cls, values: dict[str, str]) -> Marker | None:
        kind = values.get("pbtool_template", "")
        if kind not in TEMPLATE_KINDS:
            return None
        try:
            version = int(values.get("pbtool_template_version", "0"))
        except ValueError:
            version = 0
        return cls(kind, version, values.get("pbtool_street", ""), values.get("pbtool_district", ""),
                   values.get("pbtool_period", ""), values.get("pbtool_source_period", ""))


def _safe_xml(data: bytes) -> Any:
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(data, parser)


def read_marker(path: Path) -> Marker | None:
    """The marker of a pbtool template, read cheaply from the zip (docProps/custom.xml, else the
    pbtool_template defined name in xl/workbook.xml; meta.xml of an .ods); None for any other file."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".ods"):
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "meta.xml" in names and zf.getinfo("meta.xml").file_size <= MARKER_MAX_BYTES:
                # saved by LibreOffice as .ods: the custom properties are meta:user-defined elements
                root = _safe_xml(zf.read("meta.xml"))
                values = {el.get("{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}name"): (el.text or "").strip()
                          for el in root.iter("{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}user-defined")}
                return Marker.from_values(values)
            if "docProps/custom.xml" in names and zf.getinfo("docProps/custom.xml").file_size <= MARKER_MAX_BYTES:
                root = _safe_xml(zf.read("docProps/custom.xml"))
                values = {}
                for prop in root:
                    name = prop.get("name")
                    if name in MARKER_KEYS and len(prop):
                        values[name] = (prop[0].text or "").strip()
                marker = Marker.from_values(values)
                if marker:
                    return marker
            if "xl/workbook.xml" in names and zf.getinfo("xl/workbook.xml").file_size <= 8 * MARKER_MAX_BYTES:
                root = _safe_xml(zf.read("xl/workbook.xml"))
                for el in root.iter("{*}definedName"):
                    if el.get("name") == "pbtool_template":
                        parts = (el.text or "").strip().strip('"').replace('""', '"').split("|")
                        return Marker.from_values(dict(zip(MARKER_KEYS, parts)))
    except Exception:  # noqa: BLE001 -- not a zip, a broken part, hostile XML: no marker; the reader reports the file itself
        return None
    return None


@dataclass
class RecognizedTemplate:
    """A file that is one of pbtool's templates: its marker, and the sheets it should hold."""

    marker: Marker
    spec: dict[str, Any]

    def refusal(self, file: Any, period: str, street: str | None) -> str | None:
        """Why this template must not be imported as `period` (and --street), or None."""
        m = self.marker
        what = "党员花名册" if m.kind == "roster" else "资源清单"
        name = getattr(file, "name", "")
        if m.version > int(self.spec["version"]):
            return (f"“{name}”是更新版本的 pbtool 生成的模板（版本 {m.version}，本程序支持 {self.spec['version']}），"
                    "请升级 pbtool 后再导入。")
        if m.period != period:
            return (f"“{name}”是{m.street}{m.period}期的{what}填报模板，不能作为 {period} 导入。"
                    f"请改用 --period {m.period}，或使用 {period} 的模板。")
        if street and street != m.street:
            return (f"“{name}”是{m.street}的{what}填报模板，与 --street {street} 不一致。"
                    f"请去掉 --street，或导入{street}自己的模板。")
        from .detect import street_in_text
        for sheet in getattr(file, "sheets", []):
            if self.sheet_kind(sheet.name) and sheet.head:
                title = " ".join(str(v) for v in sheet.head[0] if v not in ("", None))
                found = street_in_text(title)
                if found and found != m.street:
                    return (f"“{name}”工作表“{sheet.name}”的标题写的是{found}，而模板标记是{m.street}。"
                            f"请使用{found}自己的模板，或把标题改回{m.street}。")
        return None

    def sheet_kind(self, sheet_name: str) -> str | None:
        for kind in TEMPLATE_KINDS[self.marker.kind]:
            if self.spec[kind]["sheet"] == sheet_name.strip():
                return kind
        return None

    def layout(self, sheet: Any, index: SynonymIndex) -> Any:
        """The sheet's layout read from the template itself: kind from the sheet name, the header row
        found by pbtool's own titles, every column mapped by its exact title (no synonyms, no
        guessing). None for a sheet the template does not have (the importer then detects it)."""
        from .detect import Layout, street_in_text
        kind = self.sheet_kind(sheet.name)
        if kind is None:
            return None
        fields = index.config.fields(kind)
        by_title = {normalize_header(fields[c["field"]]["title"]): c["field"]
                    for c in self.spec[kind]["columns"] if c["field"] in fields}
        header_row = None
        for r, row in enumerate(sheet.head[:10]):
            texts = {normalize_header(v) for v in row if v not in ("", None)}
            if len(texts & set(by_title)) * 2 >= min(len(by_title), 4):
                header_row = r
                break
        if header_row is None:
            return None
        columns = []
        taken: set[str] = set()
        for c, v in enumerate(sheet.head[header_row]):
            text = "" if v is None else str(v).strip()
            if not normalize_header(text):
                continue
            fld = by_title.get(normalize_header(text))
            if fld and fld not in taken:
                taken.add(fld)
                columns.append(Column(c, text, fld))
            else:
                columns.append(Column(c, text, None, ignored=index.is_ignored(text)))
        titles = [" ".join(str(v).strip() for v in sheet.head[i] if v not in ("", None)) for i in range(header_row)]
        titles = [t for t in titles if t]
        if not any(street_in_text(t) for t in titles):
            # the title row was cleared: the street still comes from the template, not from a guess
            titles.append(f"{self.marker.district}{self.marker.street}（模板标记）")
        return Layout(kind, header_row, header_row + 1, columns, titles)


def template_for(file: Any) -> RecognizedTemplate | None:
    """The importer's hook: the file's template marker, or None for any other file."""
    marker = read_marker(file.path)
    return RecognizedTemplate(marker, fillin_spec()) if marker else None


# ------------------------------------------------------------------------------------ planning


@dataclass
class SheetPlan:
    kind: str
    sheet: str
    title: str
    columns: list[dict[str, Any]]                       # spec columns with their schema title and required flag
    rows: list[dict[str, Any]] = field(default_factory=list)          # field -> stored value
    notes: list[list[tuple[str | None, str]]] = field(default_factory=list)  # per row: (field, problem message)


@dataclass
class StreetPlan:
    marker: Marker
    sheets: list[SheetPlan]
    communities: list[str]
    estates: dict[str, list[str]]
    branches: list[str]
    orgs: list[str]
    education: list[str]
    extra_rows: int


@dataclass
class TemplateResult:
    what: str                        # roster | lists
    period: str
    source_period: str
    district: str
    files: list[Path] = field(default_factory=list)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)   # street -> kind -> pre-filled rows
    notes: list[str] = field(default_factory=list)

    def counts(self, street: str) -> str:
        """'花名册 103 行' / '社区 4 行，小区 11 行，…' for one street's file."""
        spec = fillin_spec()
        return "，".join(f"{spec[k]['sheet']} {n} 行" for k, n in self.rows.get(street, {}).items())

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "period": self.period, "source_period": self.source_period,
                "district": self.district, "files": [str(f) for f in self.files], "rows": self.rows,
                "notes": self.notes}


def _dedupe(values: Any) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _district_from_files(file_names: set[str]) -> str:
    found = set()
    for name in file_names:
        m = _DISTRICT_RE.match(Path(name).stem)
        if m and not m.group(1).endswith(_NOT_DISTRICT):
            found.add(m.group(1))
    return found.pop() if len(found) == 1 else ""


def _row_notes(kind: str, rows: list[dict[str, Any]], problems: dict[tuple, list[dict[str, Any]]],
               index: SynonymIndex) -> list[list[tuple[str | None, str]]]:
    out = []
    for r in rows:
        notes = []
        for p in problems.get((kind, r["file"], r["sheet"], r["row"]), []):
            fld = index.field_for(kind, p["column"]) if p["column"] else None
            notes.append((fld, p["message"]))
        out.append(notes)
    return out


def plan_templates(store: Any, what: str, period: str, street: str | None = None, district: str | None = None,
                   config: Config | None = None) -> tuple[list[StreetPlan], TemplateResult]:
    """What each street's template holds: the street's rows of the latest stored period up to `period`,
    its lists for the drop-downs, and the previous period's problems of each row."""
    from .importer import check_period

    period = check_period(period)
    config = config or load_config()
    spec = fillin_spec()
    # The latest period up to `period` that holds this template's rows (a period whose lists came back
    # before its rosters still pre-fills the roster from the period before).
    stored = [p for p in store.periods() if p <= period
              and any(store.count(kind, p) for kind in TEMPLATE_KINDS[what])]
    if not stored:
        raise TemplateError(f"数据库中没有 {period} 或更早期别的数据，无法预填模板。请先用 pbtool import 导入上一期的"
                            "资源清单和花名册。")
    source = stored[-1]
    result = TemplateResult(what, period, source, "")
    # Only the columns a template shows (and the row's provenance, for its problems): a district's
    # members are read once, not once per street.
    wanted = {"roster": [c["field"] for c in spec["roster"]["columns"]], "community": ["name"],
              "estate": ["community", "name"], "org": ["name"], "unit": []}
    for kind in TEMPLATE_KINDS[what]:
        wanted[kind] = [c["field"] for c in spec[kind]["columns"]] + ["extra"]
    if what == "lists":
        wanted["roster"] = []
    # The drop-downs of a roster come from the newest lists: lists returned for `period` already count.
    lists_from = source
    if what == "roster":
        lists_from = max([p for p in store.periods() if p <= period and store.count("community", p)], default=source)
        if lists_from != source:
            result.notes.append(f"社区、小区、两新组织的下拉列表取自 {lists_from} 已导入的资源清单。")
    data = {kind: store.rows(kind, source if kind in TEMPLATE_KINDS[what] else lists_from,
                             list(dict.fromkeys(["street", "file", "sheet", "row", *cols])))
            for kind, cols in wanted.items()}
    streets = sorted({r["street"] for rows in data.values() for r in rows if r["street"]})
    if street:
        if street not in streets:
            raise TemplateError(f"{source} 的数据中没有“{street}”。现有街道：{'、'.join(streets) or '（无）'}。")
        streets = [street]
    if district is None:
        district = _district_from_files({r["file"] for rows in data.values() for r in rows})
        if district:
            result.notes.append(f"区名“{district}”取自已导入的文件名；如不对，请用 --district 指定。")
    result.district = district
    for kind, rows in data.items():
        if (what == "roster" and kind != "roster") or (what == "lists" and kind == "roster"):
            continue
        blank = sum(1 for r in rows if not r["street"])
        if blank and not street:
            result.notes.append(f"{source} 有 {blank} 行{config.kind(kind)['title']}没有街道，未写入任何模板。")
    problems: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for p in store.problems(source):
        if p["code"] != "UNKNOWN_COLUMN":
            problems[(p["kind"], p["file"], p["sheet"], p["row"])].append(p)
    index = SynonymIndex(config)
    plans = []
    for s in streets:
        own = {kind: sorted((r for r in rows if r["street"] == s), key=lambda r: (r["file"], r["sheet"], r["row"] or 0))
               for kind, rows in data.items()}
        communities = _dedupe(r["name"] for r in own["community"])
        estates: dict[str, list[str]] = {}
        for r in own["estate"]:
            if r["community"] and r["name"] and r["name"] not in estates.setdefault(r["community"], []):
                estates[r["community"]].append(r["name"])
        orphans = _dedupe(r["name"] for r in own["estate"] if not r["community"] or r["community"] not in communities)
        if orphans and what == "roster":
            result.notes.append(f"{s}：小区{'、'.join(orphans[:5])}{'等' if len(orphans) > 5 else ''}在清单中没有所属社区"
                                "（或其社区不在社区清单中），不在居住小区的下拉列表中；请在资源清单中补填所属社区。")
        members = own["roster"]
        education = list(spec["education"]) + sorted({r["education"] for r in members if r.get("education")}
                                                     - set(spec["education"]))
        sheets = []
        for kind in TEMPLATE_KINDS[what]:
            kspec = spec[kind]
            fields = config.fields(kind)
            rows = own[kind]
            cols = []
            for col in kspec["columns"]:
                if col.get("always", True) or any(r.get(col["field"]) not in (None, "") for r in rows):
                    col = {**col, "title": fields[col["field"]]["title"],
                           "required": bool(fields[col["field"]].get("required"))}
                    if col["check"] == "choice" and not col.get("prefill"):
                        # values the street already uses stay valid choices (a short inline list only)
                        more = sorted({str(r[col["field"]]) for r in rows if r.get(col["field"]) not in (None, "")}
                                      - set(col["choices"]))
                        if len(",".join([*col["choices"], *more])) <= 250:
                            col["choices"] = [*col["choices"], *more]
                    cols.append(col)
            shown = {c["field"] for c in cols}
            lost = sorted({f for r in rows for f in fields if f not in shown and f != "street"
                           and r.get(f) not in (None, "")})
            if lost:
                result.notes.append(f"{s}：{kspec['title']}的{'、'.join(fields[f]['title'] for f in lost)}"
                                    "不在模板中，未预填。")
            extra = sorted({k for r in rows if r.get("extra") for k in _json_keys(r["extra"])})
            if extra:
                result.notes.append(f"{s}：上期{kspec['title']}中的“{'”“'.join(extra)}”列不对应 pbtool 的字段，"
                                    "未写入模板（原数据仍在数据库中）。")
            sheets.append(SheetPlan(kind, kspec["sheet"], kspec["title"], cols,
                                    [{c["field"]: r.get(c["field"]) for c in cols} for r in rows],
                                    _row_notes(kind, rows, problems, index)))
            result.rows.setdefault(s, {})[kind] = len(rows)
        marker = Marker(what, int(spec["version"]), s, district, period, source)
        plans.append(StreetPlan(marker, sheets, communities, estates,
                                sorted(_dedupe(r.get("branch") for r in members)),
                                _dedupe(r["name"] for r in own["org"]), education, int(spec["extra_rows"])))
    return plans, result


def _json_keys(text: str) -> list[str]:
    import json
    try:
        return list(json.loads(text))
    except (ValueError, TypeError):
        return []


def next_period(period: str) -> str:
    """'2026Q3' -> '2026Q4', '2026Q4' -> '2027Q1'."""
    year, q = int(period[:4]), int(period[-1])
    return f"{year + q // 4}Q{q % 4 + 1}"


def template_file_name(marker: Marker) -> str:
    from .outputs.template_xlsx import period_cn
    what = "党员花名册" if marker.kind == "roster" else "区域化党建资源清单"
    street = re.sub(r'[\\/:*?"<>|\s]', "_", marker.street)   # a name Windows accepts as a file name
    return f"{street}{what}填报模板（{period_cn(marker.period)}）.xlsx"


def make_templates(what: str, period: str, out: str | Path, db: str | None = None, *, street: str | None = None,
                   district: str | None = None, config: Config | None = None) -> TemplateResult:
    """Write one fill-in workbook per street (or for `street` only) into `out`; returns what was written."""
    from . import store as st
    from .outputs.template_xlsx import write_template

    if what not in TEMPLATE_KINDS:
        raise TemplateError(f"模板类型“{what}”不存在，可用：roster（党员花名册）、lists（资源清单）。")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise TemplateError(f"“{out}”是一个文件，--out 应为文件夹。")
    store = st.Store.open(db, create=False)
    try:
        plans, result = plan_templates(store, what, period, street, district, config)
    finally:
        store.close()
    from xlsxwriter.exceptions import FileCreateError

    for plan in plans:
        target = out / template_file_name(plan.marker)
        try:
            out.mkdir(parents=True, exist_ok=True)
            result.files.append(write_template(plan, target))
        except (OSError, FileCreateError) as exc:
            raise TemplateError(f"无法写入“{target}”（{exc}）。请确认文件没有在 Excel/WPS 中打开、文件夹可以写入。") from exc
    return result


__all__ = [
    "Marker",
    "RecognizedTemplate",
    "TemplateError",
    "TemplateResult",
    "make_templates",
    "plan_templates",
    "read_marker",
    "template_for",
]
