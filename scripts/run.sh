#!/usr/bin/env bash
# Builds shenbao (installing missing system packages first) and reviews samples/ into output/.
# Extra arguments go to `shenbao run`, e.g. `bash scripts/run.sh ~/uploads --out /tmp/review`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --quiet
if [ $# -eq 0 ]; then set -- samples --out output; fi
exec target/release/shenbao run "$@"
