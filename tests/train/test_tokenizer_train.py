"""End-to-end runs of train/tokenizer.py: learning, export, exact resume after SIGKILL, 2 ranks."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ports import reserved_port

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "train" / "tokenizer.py"
# The demo preset, shortened: 32 px images, a small pool of the one-shape demo images (the simplest
# data, on which 24 steps must show learning; the default scenes + photos pool is checked in
# tests/trainers/tokenizer/test_default_data.py).
SMALL = ["--data", "demo", "--image-size", "32", "--demo-samples", "64", "--batch-size", "4", "--log-every", "1",
         "--num-threads", "1", "--grid-every", "1000"]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", DS_ACCELERATOR="cpu")
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


def _run(args, timeout=600):
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _metrics(folder: Path):
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]
    for row in rows:
        row.pop("elapsed_s")
    return rows


def test_demo_run_learns_and_exports(tmp_path):
    from unitok import UniTok
    from trainers.tokenizer.config import DataConfig
    from trainers.tokenizer.preview import heldout_images, reconstruct
    from evaluators.tokenizer.metrics import psnr

    out = tmp_path / "run"
    _run(["--output-dir", str(out), "--steps", "24", "--ckpt-every", "12", "--grid-every", "12", *SMALL[:-2]])
    summary = json.loads((out / "summary.json").read_text())
    before, after = summary["heldout_before"], summary["heldout_after"]
    # Held-out images (a disjoint generator split) reconstruct clearly better after training.
    assert after["heldout_psnr"] > before["heldout_psnr"] + 3.0, summary
    assert after["heldout_l2"] < 0.5 * before["heldout_l2"], summary
    rows = _metrics(out)
    assert [r["step"] for r in rows] == list(range(1, 25))
    first, last = (sum(r["l2"] for r in rows[i]) / 4 for i in (slice(0, 4), slice(-4, None)))
    assert last < 0.5 * first, (first, last)
    assert (out / "grids" / "step00000012.png").is_file() and (out / "grids" / "step00000024.png").is_file()
    # The export is the trained model: it reproduces the summary's held-out PSNR.
    model = UniTok.from_pretrained(out / "export")
    images = heldout_images(DataConfig(source="demo", image_size=32, demo_num_samples=64), None)
    value = float(psnr(reconstruct(model, images), images).mean())
    assert abs(value - after["heldout_psnr"]) < 1e-3


def test_resume_after_sigkill_is_exact(tmp_path):
    args = [*SMALL, "--steps", "8", "--ckpt-every", "3", "--keep-ckpts", "5", "--gan"]
    ref = tmp_path / "ref"
    _run(["--output-dir", str(ref), *args])

    run = tmp_path / "killed"
    # The trainer SIGKILLs itself right after step 4: the newest checkpoint is step 3 and step 4 is
    # already in metrics.jsonl, so the resume must drop that row and redo the step.
    killed = subprocess.run([sys.executable, str(SCRIPT), "--output-dir", str(run), *args, "--crash-after-step", "4"],
                            cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert [p.name for p in sorted((run / "checkpoints").glob("ckpt-*.pt"))] == ["ckpt-step00000003.pt"]
    assert [r["step"] for r in _metrics(run)] == [1, 2, 3, 4] and not (run / "summary.json").exists()
    resumed = _run(["--output-dir", str(run), *args])
    assert "resumed from" in resumed.stdout

    a, b = _metrics(ref), _metrics(run)
    assert [r["step"] for r in b] == list(range(1, 9))
    assert any("gan" in r for r in a[3:]), "the GAN part never switched on"
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for key in ra:
            assert rb[key] == pytest.approx(ra[key], abs=1e-6, rel=1e-6), (ra["step"], key)
    final_a = torch.load(ref / "checkpoints" / "ckpt-step00000008.pt", weights_only=True)
    final_b = torch.load(run / "checkpoints" / "ckpt-step00000008.pt", weights_only=True)
    for key, value in final_a["model"].items():
        torch.testing.assert_close(final_b["model"][key], value, rtol=0, atol=1e-6)
    assert final_a["data"] == final_b["data"]
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (ref, run))
    assert sb["resumed_from"].endswith("ckpt-step00000003.pt") and sb["heldout_before"] == sa["heldout_before"]
    assert sb["heldout_after"]["heldout_psnr"] == pytest.approx(sa["heldout_after"]["heldout_psnr"], abs=1e-4)


def test_two_ranks_match_one_rank_with_the_global_batch(tmp_path):
    """torchrun, 2 gloo ranks x 2 images == 1 rank x 4 images: same shards, averaged gradients and
    a contrastive loss over the gathered batch, so the per-step losses agree."""
    common = ["--image-size", "32", "--demo-samples", "64", "--log-every", "1", "--steps", "3",
              "--ckpt-every", "3", "--grid-every", "1000", "--no-export", "--num-threads", "1"]
    one = tmp_path / "one"
    _run(["--output-dir", str(one), "--batch-size", "4", *common])
    two = tmp_path / "two"
    with reserved_port() as port:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
               str(SCRIPT), "--output-dir", str(two), "--batch-size", "2", *common]
        proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((two / "summary.json").read_text())
    assert summary["world_size"] == 2
    state = torch.load(two / "checkpoints" / "ckpt-step00000003.pt", weights_only=True)
    assert len(state["data"]) == 2 and all(d["samples_seen"] == 6 for d in state["data"])
    for r1, r2 in zip(_metrics(one), _metrics(two)):
        for key in ("loss", "l1", "l2", "vq", "clip"):
            assert r2[key] == pytest.approx(r1[key], rel=1e-4, abs=1e-5), (r1["step"], key)
