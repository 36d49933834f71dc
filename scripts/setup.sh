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

# PP-OCR text recognition model (issue 16), from a package, not a model hub: the
# rapidocr-onnxruntime wheel on PyPI, pinned and checked by sha256, of which only the
# recognition model is unpacked (its character dictionary is in the model's ONNX metadata).
# Into $SHENBAO_MODELS if set, else <repo>/models, where target/release/shenbao looks (lookup
# order: src/ocr/ppocr.rs, `models_dir`). Apache-2.0 (PaddleOCR's model, converted by RapidOCR).
RAPIDOCR_VERSION=1.4.4
RAPIDOCR_WHEEL=rapidocr_onnxruntime-$RAPIDOCR_VERSION-py3-none-any.whl
RAPIDOCR_WHEEL_SHA256=971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf
# "file in the wheel's models/ folder, its sha256"; the same wheel also has
# ch_PP-OCRv4_det_infer.onnx d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9 and
# ch_ppocr_mobile_v2.0_cls_infer.onnx e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c
MODELS=(
  "ch_PP-OCRv4_rec_infer.onnx 48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODELS_DIR=${SHENBAO_MODELS:-$ROOT/models}
models_ok() {
  local m f sum
  for m in "${MODELS[@]}"; do
    read -r f sum <<<"$m"
    [ -f "$MODELS_DIR/$f" ] || return 1
    [ "$(sha256sum "$MODELS_DIR/$f" | cut -d' ' -f1)" = "$sum" ] || return 1
  done
  [ -f "$MODELS_DIR/README" ]
}
if ! models_ok; then
  echo "setup: installing the PP-OCR model (PyPI rapidocr-onnxruntime==$RAPIDOCR_VERSION) into $MODELS_DIR" >&2
  if ! python3 -m pip --version >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --ignore-requires-python "rapidocr-onnxruntime==$RAPIDOCR_VERSION" -d "$tmp"
  got=$(sha256sum "$tmp/$RAPIDOCR_WHEEL" | cut -d' ' -f1)
  if [ "$got" != "$RAPIDOCR_WHEEL_SHA256" ]; then
    echo "setup: $RAPIDOCR_WHEEL has sha256 $got, expected $RAPIDOCR_WHEEL_SHA256; model not installed" >&2
    exit 1
  fi
  mkdir -p "$MODELS_DIR"
  for m in "${MODELS[@]}"; do
    read -r f sum <<<"$m"
    python3 -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)' "$tmp/$RAPIDOCR_WHEEL" "rapidocr_onnxruntime/models/$f" "$tmp/$f"
    got=$(sha256sum "$tmp/$f" | cut -d' ' -f1)
    if [ "$got" != "$sum" ]; then
      echo "setup: $f in the wheel has sha256 $got, expected $sum; model not installed" >&2
      exit 1
    fi
    mv -f "$tmp/$f" "$MODELS_DIR/$f"
  done
  cat > "$MODELS_DIR/README" <<EOF
PP-OCR model for shenbao's second recogniser (src/ocr/ppocr.rs), written by scripts/setup.sh.

ch_PP-OCRv4_rec_infer.onnx: PaddleOCR's PP-OCRv4 Chinese text-line recognition model
(SVTR-LCNet, CTC), converted to ONNX by the RapidOCR project, as shipped in the PyPI package
rapidocr-onnxruntime==$RAPIDOCR_VERSION ($RAPIDOCR_WHEEL, sha256 $RAPIDOCR_WHEEL_SHA256).
Its character dictionary (6,623 entries) is in the model's ONNX metadata (key "character").

Licence: Apache License 2.0 (PaddleOCR: Copyright (c) PaddlePaddle Authors; RapidOCR:
Copyright (c) RapidAI), https://www.apache.org/licenses/LICENSE-2.0

The files are checked by sha256 when loaded: do not edit them. To reinstall, delete this
folder and run: bash scripts/setup.sh
EOF
  rm -rf "$tmp"
  trap - EXIT
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install the Rust toolchain (rustup) first" >&2
  exit 1
fi
