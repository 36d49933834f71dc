#!/usr/bin/env bash
# Recogniser benchmark (issue 16): the table cells and text lines of the office-made scanned
# and paper-era fixtures (tests/fixtures/office, form_kind scan/photo) read by Tesseract (as
# the project reads a region) and by PP-OCR (src/ocr/ppocr.rs) in one run. Prints, per
# recogniser, regions read, characters right and values exact against truth.json, and
# milliseconds per line and per region; every matched region's readings go to
# bench-out/ocr-regions.tsv. Single-threaded (OMP_THREAD_LIMIT=1, one worker). First, what
# the PP-OCR model costs: load time and memory, plan time and memory per input width.
# Usage: bash scripts/bench-ocr.sh [FIXTURES_DIR] [--only NAME_PART]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --quiet --features ppocr --example bench_ocr --example ppocr_plans
mkdir -p bench-out
export SHENBAO_MODELS=${SHENBAO_MODELS:-$PWD/models}
export OMP_THREAD_LIMIT=1
target/release/examples/ppocr_plans
echo
/usr/bin/time -f "bench: %e s wall, peak RSS %M KB" \
  target/release/examples/bench_ocr "$@" --tsv bench-out/ocr-regions.tsv
