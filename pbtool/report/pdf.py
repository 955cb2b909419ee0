"""--pdf: conversion of rendered .docx files with LibreOffice, when it is installed."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BATCH = 40                 # files per soffice run: keeps the command line short on Windows
TIMEOUT_PER_FILE = 60      # seconds
NO_OFFICE = ("未找到 LibreOffice（soffice），未生成 PDF，Word 文档已正常生成。需要 PDF 时可在 Word/WPS 中“另存为 PDF”，"
             "或安装 LibreOffice（统信UOS/麒麟/Debian/Ubuntu：apt-get install libreoffice-writer）后加 --pdf 重新生成。")


def office() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(files: list[Path], out_dir: Path) -> tuple[list[Path], list[str]]:
    """Convert files into out_dir; returns (PDFs made, Chinese warnings). Never raises for a missing
    or failing LibreOffice: the .docx files are the product, the PDFs a convenience."""
    exe = office()
    if exe is None:
        return [], [NO_OFFICE]
    made: list[Path] = []
    warnings: list[str] = []
    # A private profile: a LibreOffice the clerk has open would otherwise swallow the request.
    # PDFs are converted into a temporary folder beside the target and renamed into place when complete.
    with tempfile.TemporaryDirectory(prefix="pbtool-lo-") as profile, \
            tempfile.TemporaryDirectory(prefix=".pbtool-pdf-", dir=out_dir) as staging:
        for i in range(0, len(files), BATCH):
            batch = files[i:i + BATCH]
            cmd = [exe, f"-env:UserInstallation={Path(profile).resolve().as_uri()}", "--headless", "--norestore",
                   "--convert-to", "pdf", "--outdir", staging, *map(str, batch)]
            try:
                subprocess.run(cmd, capture_output=True, timeout=60 + TIMEOUT_PER_FILE * len(batch), check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                warnings.append(f"LibreOffice 转换 PDF 失败（{exc}），Word 文档已正常生成。")
                continue
            for f in batch:
                pdf = out_dir / (f.stem + ".pdf")
                if (Path(staging) / pdf.name).is_file():
                    os.chmod(Path(staging) / pdf.name, 0o600)
                    os.replace(Path(staging) / pdf.name, pdf)
                    made.append(pdf)
                else:
                    warnings.append(f"“{f.name}”未能转换为 PDF，请用 Word/WPS 打开后另存为 PDF。")
    return made, warnings
