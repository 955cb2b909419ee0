"""README.md's tables of problem codes, rules and template variables are generated from the data
files (scripts/readme_tables.py): they must match what the files say."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_tables_match_the_data_files():
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_tables.py"), "--check"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| CONTROL_CHARS | 警告 |" in readme and "| ORG_JOINT | 两新组织应联合组建 |" in readme
    assert "| `org_coverage` |" in readme


def test_check_fails_when_a_table_drifts(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import readme_tables
    finally:
        sys.path.pop(0)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    drifted = text.replace("| CONTROL_CHARS | 警告 |", "| CONTROL_CHARS | 错误 |")
    assert drifted != text and readme_tables.render(drifted) == text
