"""The generalization report: three sets, real metrics, checks validated on the originals, a grid."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from evaluators.tokenizer.generalization import GeneralizationConfig, evaluate_generalization, format_table

REPO = Path(__file__).resolve().parents[3]


class _Blur:
    """A stand-in tokenizer whose 'reconstruction' is a 3x3 box blur: shapes and colours survive."""

    def __init__(self, size=64):
        self.config = type("C", (), {"img_size": size})()
        self.device, self.dtype = torch.device("cpu"), torch.float32

    def eval(self):
        return self

    def img_to_idx(self, x):
        return x

    def idx_to_img(self, x):
        return torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


@pytest.fixture(scope="module")
def tiny_model():
    from unitok import UniTok
    from trainers.tokenizer.config import TrainConfig
    torch.manual_seed(0)
    return UniTok(TrainConfig.from_preset("demo").model_config())


def _cfg(tmp_path, lpips_vgg_weights, n=6):
    return GeneralizationConfig(model="-", output=str(tmp_path), in_distribution=n, second_renderer=n, photo_crops=2,
                                lpips_weights=str(lpips_vgg_weights))


def test_report_of_an_untrained_tokenizer(tmp_path, tiny_model, lpips_vgg_weights):
    summary = evaluate_generalization(_cfg(tmp_path, lpips_vgg_weights), model=tiny_model)
    m = summary["metrics"]
    assert set(m) == {"in_distribution", "second_renderer", "photos"}
    assert m["photos"]["images"] == 8 and m["photos"]["names"] == ["chelsea", "china", "flower", "grace_hopper"]
    for r in m.values():
        assert 0 < r["psnr"] < 20 and r["ssim"] < 0.6 and r["lpips"] > 0.3   # random weights reconstruct nothing
    checks = m["second_renderer"]["checks"]
    # The checks are right on the originals, and an untrained tokenizer keeps no colour.
    assert m["second_renderer"]["checks_on_originals"]["colour_kept_pct"] == 100.0
    assert m["second_renderer"]["checks_on_originals"]["shape_kept_pct"] == 100.0
    assert checks["colour_kept_pct"] < 50
    saved = json.loads((tmp_path / "generalization.json").read_text())
    assert saved["metrics"] == json.loads(json.dumps(m))
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (2 * 8 * 66, 2 * 6 * 66)   # 8 columns (the photo crops), 6 rows, 2x
    assert "second_renderer" in format_table(summary)


def test_report_of_a_faithful_reconstruction(tmp_path, lpips_vgg_weights):
    summary = evaluate_generalization(_cfg(tmp_path, lpips_vgg_weights, n=10), model=_Blur())
    m = summary["metrics"]
    assert m["second_renderer"]["checks"]["colour_kept_pct"] == 100.0
    assert m["second_renderer"]["checks"]["shape_kept_pct"] == 100.0
    for r in m.values():
        assert r["psnr"] > 22 and r["ssim"] > 0.6 and r["lpips"] < 0.3


def test_cli(tmp_path, tiny_model, lpips_vgg_weights):
    tiny_model.save_pretrained(tmp_path / "model")
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(REPO / "eval" / "tokenizer.py"), "--generalization", "--model",
                           str(tmp_path / "model"), "--output", str(tmp_path / "out"), "--scenes", "3",
                           "--photo-crops", "1", "--lpips-weights", str(lpips_vgg_weights), "--device", "cpu"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| photos | 4 |" in proc.stdout
    report = json.loads((tmp_path / "out" / "generalization.json").read_text())
    assert report["metrics"]["second_renderer"]["images"] == 3 and np.isfinite(report["metrics"]["photos"]["psnr"])
