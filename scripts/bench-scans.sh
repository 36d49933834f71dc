#!/usr/bin/env bash
# Scan benchmark: generate COUNT scanned declarations (default 24), review them (2 jobs) and,
# in the same run, time the `tesseract` CLI recognising the same page images whole
# (chi_sim+eng, two parallel jobs), the two in turns ROUNDS times (default 2). Prints seconds
# per page for both and their ratio.
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
# the two are timed in turns, ROUNDS times (default 2), so that a change in the machine's
# speed during the run weighs on both alike
secs=0; cli=0; rss=0
for round in $(seq "${ROUNDS:-2}"); do
  rm -rf "$dir/out"
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$BIN" run "$dir/in" --out "$dir/out" --jobs 2 --quiet
  read -r s m < "$dir/time.txt"
  t0=$(date +%s.%N)
  find "$dir/pages" -type f -print0 | OMP_THREAD_LIMIT=1 xargs -0 -n 1 -P 2 sh -c 'tesseract "$0" - -l chi_sim+eng >/dev/null 2>&1 || true'
  t1=$(date +%s.%N)
  c=$(echo "$t1 - $t0" | bc -l)
  printf 'round %s: shenbao %.1f s, CLI %.1f s, ratio %.2f\n' "$round" "$s" "$c" "$(echo "$s / $c" | bc -l)"
  secs=$(echo "$secs + $s" | bc -l); cli=$(echo "$cli + $c" | bc -l)
  rss=$(( m > rss ? m : rss ))
done
pages_all=$(echo "$pages * ${ROUNDS:-2}" | bc -l)
printf 'pages %s\nshenbao full review: %.2f s/page (peak %.0f MB)\ntesseract CLI, whole pages: %.2f s/page\nratio %.2f (goal <= 0.5)\n' \
  "$pages" "$(echo "$secs / $pages_all" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$(echo "$cli / $pages_all" | bc -l)" "$(echo "$secs / $cli" | bc -l)"
