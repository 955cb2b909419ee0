"""`pbtool demo`: the whole quarterly job on the shipped synthetic samples, into a fresh folder."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from .errors import PbtoolError
from .outputs.atomic import write_text

DEMO_ORG_NAME = "中共青湖区委组织部"   # fictional, like the samples


def _samples_dir() -> Path:
    """The shipped samples: inside the installed package (pbtool/samples/, package data) when there,
    else the repository's samples/ folder (a source checkout)."""
    packaged = Path(__file__).resolve().parent / "samples"
    return packaged if (packaged / "expected.json").is_file() else Path(__file__).resolve().parents[1] / "samples"


SAMPLES = _samples_dir()


class DemoError(PbtoolError):
    pass


@dataclass
class DemoResult:
    out: Path
    db: Path
    files: list[Path] = field(default_factory=list)


def sample_periods(samples: Path = SAMPLES) -> dict[str, list[Path]]:
    """Period -> its sample files in import order (lists first), from samples/expected.json."""
    manifest = samples / "expected.json"
    if not manifest.is_file():
        raise DemoError(f"找不到示例数据（{samples}）。请重新安装 pbtool（在源代码目录中运行 pip install .）后再运行 pbtool demo。")
    spec = json.loads(manifest.read_text(encoding="utf-8"))
    return {period: [samples / f for f in p["files"]] for period, p in sorted(spec["periods"].items())}


def run_demo(out: Path, console: Console, samples: Path = SAMPLES) -> DemoResult:
    from .coverage import compute_coverage
    from .importer import import_files
    from .outputs.jsonout import json_chunks
    from .outputs.ledger_xlsx import write_ledger
    from .outputs.problems_xlsx import write_problem_workbook
    from .outputs.safe import for_terminal
    from .outputs.terminal import print_coverage, print_import

    periods = sample_periods(samples)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "demo.db"
    for stale in (db, *(db.with_name(db.name + s) for s in ("-journal", "-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    result = DemoResult(out, db)
    last = max(periods)
    for period, files in periods.items():
        console.rule(f"导入 {period} 示例数据（{len(files)} 个文件）")
        imported = import_files(files, period, str(db))
        print_import(for_terminal(imported), console, limit=30 if period == last else 5)
        if imported.problems:
            path = write_problem_workbook(imported, files, out / f"{period}问题清单.xlsx")
            result.files.append(path)
    console.rule(f"{last} 空白点排查")
    coverage = compute_coverage(str(db), last)
    print_coverage(coverage, console)
    result.files.append(write_ledger(coverage, out / f"{last}整改台账.xlsx"))
    json_path = out / f"{last}覆盖情况.json"
    write_text(json_path, b"".join(json_chunks(coverage.as_dict(), indent=True)).decode("utf-8"))
    result.files.append(json_path)
    result.files.extend(_reports(db, last, out, console))
    district = json.loads((samples / "expected.json").read_text(encoding="utf-8")).get("district")
    result.files.extend(_templates(db, last, out, console, district))
    console.rule("演示完成")
    console.print(f"数据库：{db}")
    for f in result.files:
        console.print(f"  已生成：{f}")
    return result


def _reports(db: Path, period: str, out: Path, console: Console) -> list[Path]:
    """The three document kinds, once the report stage is available."""
    try:
        from .report import ReportSettings, render_annual, render_notices, render_quarterly
    except ImportError:
        return []
    files: list[Path] = []
    year = int(period[:4])
    # The samples' district is fictional, and so is the signature the demo passes explicitly.
    settings = ReportSettings(org_name=DEMO_ORG_NAME, contact="王某某", phone="0571-00000000")
    for label, call in (("年度总结", lambda: render_annual(str(db), year, out, settings=settings)),
                        ("季度通报", lambda: render_quarterly(str(db), period, out, settings=settings)),
                        ("整改通知书", lambda: render_notices(str(db), period, out, settings=settings))):
        console.rule(f"生成{label}")
        r = call()
        files.extend(r.files)
        for w in r.warnings:
            console.print(f"  [yellow]提示[/]：{w}")
        if r.missing:
            console.print(f"  数据库中没有的数字已留空为【待填写】：{'；'.join(r.missing)}")
        if r.narrative:
            console.print(f"  需要撰写的段落 {len(r.narrative)} 处（文书中以黄色标出）：{'；'.join(r.narrative)}")
    return files


def _templates(db: Path, period: str, out: Path, console: Console, district: str | None) -> list[Path]:
    """Next quarter's fill-in workbooks for every street, pre-filled from the last imported period."""
    from .fillin import make_templates, next_period

    target = next_period(period)
    console.rule(f"生成 {target} 填报模板（发给各街道）")
    files: list[Path] = []
    for what in ("lists", "roster"):
        r = make_templates(what, target, out / "填报模板", str(db), district=district)
        files.extend(r.files)
        for note in r.notes:
            console.print(f"  提示：{note}", markup=False)
    return files


def clean_out(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
