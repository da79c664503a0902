import os

# Before torch is imported anywhere: one OpenMP thread per process (2 ranks on 2 cores), CPU
# accelerator for DeepSpeed, never reach for a hub.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO.parent / "shared" / "golden"


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    if not GOLDEN.is_dir():
        raise FileNotFoundError(f"golden fixtures not found at {GOLDEN}: the tests expect shared/ beside the checkout")
    return GOLDEN
