"""bf16 end to end on the CPU: a short `--bf16 true` packed pre-training run under the deepspeed
launcher (the precision path GPUs use), its bf16 export, and a bf16 evaluation of that export."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image
from ports import reserved_port
from safetensors import safe_open

from trainers.mllm.metrics import read_metrics

REPO = Path(__file__).resolve().parents[2]
DEEPSPEED = Path(sys.executable).parent / "deepspeed"


def run(cmd, cwd, timeout=900):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_bf16_training_export_and_evaluation(tmp_path, golden_dir):
    from unitok import UniTok, UniTokConfig

    torch.manual_seed(0)
    UniTok(UniTokConfig.from_preset("tiny", img_size=64)).save_pretrained(tmp_path / "unitok")
    out = tmp_path / "run"
    with reserved_port() as port:
        run([str(DEEPSPEED), "--num_accelerators", "1", "--master_port", str(port), "train/pretrain.py",
             "--unitok", str(tmp_path / "unitok"), "--pretok_dir", str(tmp_path / "pretok"), "--out", str(out),
             "--steps", "4", "--save_every", "4", "--warmup_steps", "1", "--pretok_max_samples", "32",
             "--micro_batch", "2", "--global_batch", "2", "--bf16", "true", "--packing", "true"], cwd=REPO)
    records = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert all(math.isfinite(r["loss"]) and r["loss"] > 0 for r in records)
    assert json.loads((out / "train_config.json").read_text())["bf16"] is True
    export = out / "export"
    with safe_open(str(export / "model.safetensors"), "pt") as weights:
        assert {str(weights.get_slice(k).get_dtype()) for k in weights.keys()} == {"BF16"}

    data = tmp_path / "gqa"
    (data / "images").mkdir(parents=True)
    for name in ("astronaut", "chelsea"):
        Image.open(golden_dir / "tokenizer_tiny" / "inputs" / f"{name}.png").convert("RGB").save(
            data / "images" / f"{name}.jpg")
    (data / "testdev_balanced_questions.json").write_text(json.dumps({
        f"q{i}": {"imageId": name, "question": "What colour is the shape?", "answer": "red"}
        for i, name in enumerate(["astronaut", "chelsea", "astronaut"])}))
    run([sys.executable, str(REPO / "eval" / "vqa.py"), "--bench", "gqa", "--model", str(export), "--data", str(data),
         "--output", str(tmp_path / "eval"), "--dtype", "bfloat16", "--device", "cpu", "--batch-size", "3",
         "--max-new-tokens", "4"], cwd=tmp_path)
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["settings"]["dtype"] == "bfloat16" and summary["settings"]["unitok_dtype"] == "bfloat16"
    assert summary["counts"]["answered"] == 3 and summary["counts"]["failed"] == 0
