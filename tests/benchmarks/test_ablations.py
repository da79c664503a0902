"""Smoke test of benchmarks/ablations/fmnist.py on a 320-image slice of Fashion-MNIST
(tests/fixtures/fashion_mnist_slice): every variant trains a step and lands in the table.

Not a test of the numbers (one step at batch 4 says nothing about the ablations).
"""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "ablations" / "fmnist.py"
DATA = REPO / "tests" / "fixtures" / "fashion_mnist_slice"


def _load():
    spec = importlib.util.spec_from_file_location("ablations_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_variant_in_table_and_text_outside_markers_kept(tmp_path):
    ablations = _load()
    out = tmp_path / "ablations.md"
    out.write_text(f"# title\n\n{ablations.BEGIN}\nold table\n{ablations.END}\n\nHAND-WRITTEN ANALYSIS\n")
    cache = tmp_path / "results.json"
    argv = ["--steps", "1", "--batch-size", "4", "--eval-images", "8", "--eval-batch", "4", "--log-every", "0",
            "--threads", "1", "--data-dir", str(DATA), "--out", str(out), "--results-json", str(cache)]
    results = ablations.main(argv)
    assert set(results) == set(ablations.VARIANTS)
    text = out.read_text()
    assert "old table" not in text and "HAND-WRITTEN ANALYSIS" in text and text.startswith("# title")
    for name in ablations.VARIANTS:
        assert f"`{name}`" in text
    assert "--steps 1 --batch-size 4" in text
    for runs in results.values():
        assert list(runs) == [0]
        assert 0.0 <= runs[0]["metrics"]["zero_shot_top1"] <= 1.0 and runs[0]["train"]["train_s"] > 0
    # A second run with the same settings reuses the cached variants instead of training again.
    cached = json.loads(cache.read_text())
    again = ablations.main(argv[:-2] + ["--results-json", str(cache), "--variants", "rq-8x512"])
    assert again["rq-8x512"][0]["train"] == cached["rq-8x512@seed0"]["train"]


def test_several_seeds_give_mean_and_sd(tmp_path):
    ablations = _load()
    out = tmp_path / "ablations.md"
    results = ablations.main(["--steps", "1", "--batch-size", "4", "--eval-images", "4", "--log-every", "0",
                              "--threads", "1", "--data-dir", str(DATA), "--out", str(out), "--variants", "mcq-2x2048",
                              "--seeds", "0", "1"])
    assert list(results["mcq-2x2048"]) == [0, 1]
    row = next(line for line in out.read_text().splitlines() if "`mcq-2x2048`" in line)
    assert "±" in row
