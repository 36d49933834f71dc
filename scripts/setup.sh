#!/usr/bin/env bash
# Installs the system packages shenbao needs, when they are missing. Idempotent and fast when
# everything is already there. Debian 12 (bookworm) or later; run as root or with sudo.
set -euo pipefail

PKGS=(
  pkg-config clang libclang-dev          # build tools for the -sys crates
  tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng libtesseract-dev libleptonica-dev
  poppler-data                            # Adobe CMaps and CID->Unicode tables (UniGB-UCS2-H, Adobe-GB1-UCS2 ...)
  poppler-utils                           # pdftotext/pdfinfo: the benchmark's reference extractor
  fonts-noto-cjk fonts-wqy-zenhei          # CJK fonts for rendering reports and scanned samples
  time bc                                 # /usr/bin/time and bc for the benchmark
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install the Rust toolchain (rustup) first" >&2
  exit 1
fi
