"""End-to-end: train/pretrain.py and train/finetune.py under the real `deepspeed` launcher with 2
CPU processes (ZeRO-2, ZeRO-3, LoRA), exact resume after SIGKILL, and loadable exports."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ports import reserved_port

from trainers.mllm.metrics import read_metrics

REPO = Path(__file__).resolve().parents[2]
DEEPSPEED = Path(sys.executable).parent / "deepspeed"
STEPS = 12
COMMON = ["--steps", str(STEPS), "--save_every", "4", "--warmup_steps", "2", "--lr", "3e-3",
          "--pretok_max_samples", "64", "--micro_batch", "2", "--global_batch", "8"]



def launch(script: str, args: list[str], log: Path, expect_ok: bool = True) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(REPO)}
    with reserved_port() as port, open(log, "w") as f:
        cmd = [str(DEEPSPEED), "--num_accelerators", "2", "--master_port", str(port), f"train/{script}", *args]
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)   # the launcher and both ranks
            proc.wait()
            raise AssertionError(f"{' '.join(cmd)} timed out; log tail:\n" + "\n".join(log.read_text().splitlines()[-20:]))
    if expect_ok and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}); log tail:\n" +
                             "\n".join(log.read_text().splitlines()[-40:]))
    return proc.returncode


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from unitok import UniTok, UniTokConfig
    root = tmp_path_factory.mktemp("train")
    torch.manual_seed(0)
    UniTok(UniTokConfig.from_preset("tiny", img_size=64)).save_pretrained(str(root / "unitok"))
    return root


def data_args(root: Path) -> list[str]:
    return ["--unitok", str(root / "unitok"), "--pretok_dir", str(root / "pretok"), *COMMON]


@pytest.fixture(scope="module")
def pretrain_zero2(workdir):
    out = workdir / "pretrain_z2"
    launch("pretrain.py", [*data_args(workdir), "--zero", "2", "--out", str(out)], workdir / "pretrain_z2.log")
    return out


def mean(values):
    return sum(values) / len(values)


def assert_learns(out: Path, steps: int = STEPS):
    records = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in records] == list(range(1, steps + 1))
    losses = [r["loss"] for r in records]
    assert mean(losses[-3:]) < mean(losses[:3]) - 0.3, losses
    assert records[-1]["text_loss"] < records[0]["text_loss"], [r["text_loss"] for r in records]
    for r in records:
        assert r["tokens_per_s"] > 0 and 0 < r["mfu"] and r["lr"] > 0
    return records


def assert_export_loads(export: Path):
    import mllm  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained(str(export)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(export))
    assert type(model).__name__ == "UniTokMLLMForCausalLM"
    assert (export / "unitok" / "config.json").exists()
    ids = torch.tensor([tokenizer("a red circle").input_ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    assert torch.isfinite(logits).all() and logits.shape[-1] == model.config.vocab_size
    return model


def test_pretrain_zero2_then_finetune(pretrain_zero2, workdir):
    records = assert_learns(pretrain_zero2)
    assert records[0]["lr"] < records[2]["lr"]  # warmup
    assert_export_loads(pretrain_zero2 / "export")
    assert sorted(p.name for p in (pretrain_zero2 / "checkpoints").glob("step-*")) == ["step-12", "step-8"]

    out = workdir / "finetune_z2"
    launch("finetune.py", [*data_args(workdir), "--zero", "2", "--init_from", str(pretrain_zero2 / "export"),
                           "--text_tokenizer", str(pretrain_zero2 / "export"), "--out", str(out),
                           "--unitok", str(pretrain_zero2 / "export" / "unitok")], workdir / "finetune_z2.log")
    first = read_metrics(out / "metrics.jsonl")[0]["loss"]
    pre_first = read_metrics(pretrain_zero2 / "metrics.jsonl")[0]["loss"]
    assert first < pre_first - 0.5   # it continued from the pre-trained weights
    assert_export_loads(out / "export")


def test_pretrain_zero3_with_packing(workdir):
    out = workdir / "pretrain_z3"
    launch("pretrain.py", [*data_args(workdir), "--zero", "3", "--packing", "true", "--out", str(out)],
           workdir / "pretrain_z3.log")
    assert_learns(out)
    assert "ZeRO-3" in (workdir / "pretrain_z3.log").read_text()
    assert_export_loads(out / "export")


def test_finetune_lora_zero3(pretrain_zero2, workdir):
    from safetensors.torch import load_file
    out = workdir / "finetune_lora"
    launch("finetune.py", [*data_args(workdir), "--zero", "3", "--lora", "true", "--init_from",
                           str(pretrain_zero2 / "export"), "--text_tokenizer", str(pretrain_zero2 / "export"),
                           "--unitok", str(pretrain_zero2 / "export" / "unitok"), "--out", str(out)],
           workdir / "finetune_lora.log")
    records = read_metrics(out / "metrics.jsonl")
    # means of 3 steps: one step's loss depends on how many image targets its batch drew
    assert mean([r["loss"] for r in records[-3:]]) < mean([r["loss"] for r in records[:3]])
    assert (out / "export" / "adapter" / "adapter_config.json").exists()
    model = assert_export_loads(out / "export")
    assert not any("lora" in k for k in model.state_dict())
    base = load_file(str(pretrain_zero2 / "export" / "model.safetensors"))
    merged = load_file(str(out / "export" / "model.safetensors"))
    assert base.keys() == merged.keys()
    key = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(base[key], merged[key])        # LoRA delta merged into the LLM
    assert torch.equal(base["model.embed_tokens.weight"], merged["model.embed_tokens.weight"])  # frozen
    code_key = next(k for k in base if ".quantizer." in k)
    assert torch.equal(base[code_key], merged[code_key])  # codebooks never train


def test_exact_resume_after_sigkill(pretrain_zero2, workdir):
    out = workdir / "resumed"
    args = [*data_args(workdir), "--zero", "2", "--out", str(out)]
    code = launch("pretrain.py", [*args, "--crash_after_step", "6"], workdir / "crash.log", expect_ok=False)
    assert code != 0
    crashed = read_metrics(out / "metrics.jsonl")
    assert crashed[-1]["step"] == 6 and not (out / "checkpoints" / "step-8").exists()
    launch("pretrain.py", args, workdir / "resume.log")
    assert "[resume] from checkpoint step 4" in (workdir / "resume.log").read_text()
    resumed = read_metrics(out / "metrics.jsonl")     # steps 5, 6 re-run: the later record wins
    reference = read_metrics(pretrain_zero2 / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [r["step"] for r in reference]
    for a, b in zip(resumed, reference):
        assert abs(a["loss"] - b["loss"]) < 1e-6, (a["step"], a["loss"], b["loss"])
        assert abs(a["lr"] - b["lr"]) < 1e-12
