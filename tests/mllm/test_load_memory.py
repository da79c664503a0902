"""Loading a small preset in bf16 (benchmarks/load_memory.py, a fresh process): resident memory
grows by at most 1.3x the bf16 weight bytes, and from an fp32 checkpoint no fp32 copy is made
(the anonymous memory stays at the bf16 size; the mapped fp32 file is file-backed)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM

REPO = Path(__file__).resolve().parents[2]


def test_bf16_loading_stays_near_the_bf16_weight_bytes(tmp_path, golden_dir):
    from unitok import UniTok, UniTokConfig

    torch.manual_seed(0)
    model = UniTokMLLMForCausalLM(UniTokMLLMConfig.from_preset("cpu-small"))
    for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        folder = tmp_path / f"mllm_{name}"
        model.to(dtype).save_pretrained(folder)
        for file in ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copy(golden_dir / "mllm_tiny" / file, folder / file)
    UniTok(UniTokConfig.from_preset("tiny")).cast(torch.bfloat16).save_pretrained(tmp_path / "unitok")
    del model

    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    results = {}
    for name in ("bf16", "fp32"):
        out = tmp_path / f"{name}.json"
        proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "load_memory.py"), "--model",
                               str(tmp_path / f"mllm_{name}"), "--unitok", str(tmp_path / "unitok"), "--dtype",
                               "bfloat16", "--json", str(out)], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results[name] = json.loads(out.read_text())
    bf16 = results["bf16"]["mllm"]
    assert bf16["dtype"] == "torch.bfloat16"
    assert bf16["ratio"] <= 1.3 and bf16["ratio_after_use"] <= 1.3, bf16
    assert results["fp32"]["mllm"]["anonymous_ratio"] <= 1.3, results["fp32"]["mllm"]
