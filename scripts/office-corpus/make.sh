#!/usr/bin/env bash
# Regenerates tests/fixtures/office: declarations from `shenbao samples`, every form re-typeset
# by LibreOffice (docx), Chromium and WeasyPrint (HTML) and Typst, part of them printed and
# scanned. Usage (from anywhere): bash scripts/office-corpus/make.sh [--install]
# Environment: SEED (default 15), COUNT (48), SHENBAO (default target/release/shenbao).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seed="${SEED:-15}"
count="${COUNT:-48}"
bin="${SHENBAO:-$root/target/release/shenbao}"
out="$root/tests/fixtures/office"

if [[ "${1:-}" == "--install" ]]; then
  apt-get update
  apt-get install -y --no-install-recommends libreoffice-writer chromium poppler-utils \
    fonts-noto-cjk fonts-arphic-ukai fonts-arphic-uming fonts-wqy-microhei fonts-wqy-zenhei
  pip install --break-system-packages -r "$here/requirements.txt"
fi
for t in soffice chromium pdftoppm pdftotext pdfinfo python3; do
  command -v "$t" >/dev/null || { echo "make.sh: $t is missing (run with --install)" >&2; exit 1; }
done
[[ -x "$bin" ]] || { echo "make.sh: no $bin (cargo build --release)" >&2; exit 1; }

gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
# 48 declarations: 40 of 2024 (a third of their forms scanned) and 8 paper-era ones
(cd "$root" && "$bin" samples --out "$gen/set" --count "$count" --seed "$seed" --scanned 0.35 --legacy 0.45 >/dev/null)
python3 "$here/build.py" --gen "$gen/set" --out "$out" --seed "$seed"
python3 "$here/versions.py" > "$out/VERSIONS.txt"
cp "$here/fixture-README.md" "$out/README.md"
du -sh "$out"
