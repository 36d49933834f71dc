#!/usr/bin/env bash
# Scan benchmark: generate COUNT scanned declarations (default 24), review them (2 jobs) and,
# in the same run, time the `tesseract` CLI recognising the same page images whole
# (chi_sim+eng, two parallel jobs). Prints seconds per page for both and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-24}
bash scripts/setup.sh
cargo build --release --locked --quiet
BIN=target/release/shenbao
dir=bench-out/scans-n$COUNT
rm -rf "$dir"
"$BIN" samples --out "$dir/in" --count "$COUNT" --seed 1 --scanned 1.0 2>/dev/null
# page images for the CLI: bare images as they are, image PDFs' pages extracted losslessly
mkdir -p "$dir/pages"
for f in "$dir"/in/scans/*; do
  case "$f" in
    *.pdf) pdfimages -j "$f" "$dir/pages/$(basename "${f%.pdf}")" ;;
    *) cp "$f" "$dir/pages/" ;;
  esac
done
pages=$(python3 -c "import json;print(json.load(open('$dir/in/truth.json'))['summary']['scan_pages'])")
/usr/bin/time -f "%e %M" -o "$dir/time.txt" "$BIN" run "$dir/in" --out "$dir/out" --jobs 2 --quiet
read -r secs rss < "$dir/time.txt"
t0=$(date +%s.%N)
find "$dir/pages" -type f -print0 | OMP_THREAD_LIMIT=1 xargs -0 -n 1 -P 2 sh -c 'tesseract "$0" - -l chi_sim+eng >/dev/null 2>&1 || true'
t1=$(date +%s.%N)
cli=$(echo "$t1 - $t0" | bc -l)
printf 'pages %s\nshenbao full review: %.2f s/page (peak %.0f MB)\ntesseract CLI, whole pages: %.2f s/page\nratio %.2f (goal <= 0.5)\n' \
  "$pages" "$(echo "$secs / $pages" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$(echo "$cli / $pages" | bc -l)" "$(echo "$secs / $cli" | bc -l)"
