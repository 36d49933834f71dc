#!/usr/bin/env bash
# Benchmark: generate COUNT declarations (default 2000) and 2×COUNT, review each set with the
# release binary (2 jobs), and in the same run time `pdftotext` extracting the same PDFs with
# two parallel jobs. Prints declarations/s, peak RSS and the ratio to pdftotext. Each set is
# reviewed twice: cold (a fresh output folder) and warm (the same folder again, as the nightly
# job does: electronic seal images read before come from OUT/.cache).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-2000}
bash scripts/setup.sh
cargo build --release --locked --quiet
BIN=target/release/shenbao
OUT=bench-out
mkdir -p "$OUT"

measure() { # dir [warm] → prints "seconds rss_kb"
  local dir=$1
  [ "${2:-}" = warm ] || rm -rf "$dir/out"
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$BIN" run "$dir/in" --out "$dir/out" --jobs 2 --quiet --timings 2> "$dir/timings.txt"
  cat "$dir/time.txt"
}

printf '%-8s %10s %12s %12s %14s %12s %10s\n' count pdfs review_s decl_per_s pdftotext_s ratio peak_MB
for n in "$COUNT" $((COUNT * 2)); do
  dir="$OUT/n$n"
  if [ ! -f "$dir/in/truth.json" ]; then
    rm -rf "$dir"
    "$BIN" samples --out "$dir/in" --count "$n" --seed 1 2>/dev/null
  fi
  pdfs=$(find "$dir/in" -name '*.pdf' | wc -l)
  # warm the page cache for both tools alike
  cat $(find "$dir/in" -type f) > /dev/null
  read -r secs rss < <(measure "$dir")
  t0=$(date +%s.%N)
  find "$dir/in" -name '*.pdf' -print0 | xargs -0 -n 64 -P 2 sh -c 'for f; do pdftotext -q "$f" /dev/null || true; done' _
  t1=$(date +%s.%N)
  ptt=$(echo "$t1 - $t0" | bc -l)
  decls=$(wc -l < "$dir/out/records.jsonl")
  printf '%-8s %10s %12.2f %12.1f %14.2f %12.2f %10.1f\n' "$decls" "$pdfs" "$secs" "$(echo "$decls / $secs" | bc -l)" \
    "$ptt" "$(echo "$secs / $ptt" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  sed 's/^shenbao: timings: /    stages: /' "$dir/timings.txt"
  read -r wsecs wrss < <(measure "$dir" warm)
  printf '%-8s %10s %12.2f %12.1f %14s %12.2f %10.1f   (warm: seal readings from the cache)\n' "$decls" "$pdfs" "$wsecs" \
    "$(echo "$decls / $wsecs" | bc -l)" "" "$(echo "$wsecs / $ptt" | bc -l)" "$(echo "$wrss / 1024" | bc -l)"
  sed 's/^shenbao: timings: /    stages: /' "$dir/timings.txt"
done
echo "ratio = full review time / pdftotext extraction time (lower is better; < 1 means the review is faster)"
echo "stages: CPU seconds of the seal stages against the whole run's CPU (every form carries an electronic seal)"
