#!/usr/bin/env python3
"""Prints the versions of every producer, renderer and font that made tests/fixtures/office."""
import importlib.metadata as md
import subprocess


def cmd(args):
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except Exception as e:  # noqa: BLE001
        return f"unavailable ({e})"


def deb(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() or "not installed"


print("# tests/fixtures/office was made by scripts/office-corpus with:")
print(f"libreoffice (soffice):  {cmd(['soffice', '--version'])}")
print(f"chromium:               {cmd(['chromium', '--version'])}")
print(f"pdftoppm (poppler):     {cmd(['pdftoppm', '-v'])}")
print(f"python:                 {cmd(['python3', '--version'])}")
for p in ["python-docx", "typst", "weasyprint", "pydyf", "pillow", "numpy", "img2pdf", "pyHanko", "cryptography"]:
    try:
        v = md.version(p)
    except md.PackageNotFoundError:
        v = "not installed"
    print(f"pypi {p:18} {v}")
print("# Debian packages")
for p in ["libreoffice-writer", "chromium", "poppler-utils", "libpango-1.0-0", "fonts-noto-cjk", "fonts-arphic-uming",
          "fonts-arphic-ukai", "fonts-wqy-microhei", "fonts-wqy-zenhei"]:
    print(f"deb {p:22} {deb(p)}")
print("# fonts used (fontconfig)")
for fam in ["Noto Serif CJK SC", "Noto Sans CJK SC", "AR PL UMing CN", "AR PL UKai CN", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei"]:
    print(f"font {fam:20} {cmd(['fc-match', '-f', '%{file}', fam])}")
