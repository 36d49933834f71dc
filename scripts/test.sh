#!/usr/bin/env bash
# Runs every test (unit and integration, on real files and the real binary).
# Release profile: the tests review thousands of generated documents, and the build is shared
# with scripts/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --release --locked "$@"
