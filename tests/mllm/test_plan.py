"""`python -m mllm.plan`: the llama2-7b table, parameter counts against real modules, and the
predicted peak of a training step against the peak measured on this machine."""
import re

import pytest
import torch

from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM
from mllm.plan import TrainSetup, model_sizes, plan_training
from mllm.plan.__main__ import main as plan_main
from mllm.plan.measure import measure_training_step, synthetic_training_batch


def test_cli_prints_zero2_zero3_full_and_lora_for_llama2_7b(capsys):
    assert plan_main([]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "ZeRO-2 full" in line)
    assert header.split() == ["ZeRO-2", "full", "ZeRO-2", "lora", "ZeRO-3", "full", "ZeRO-3", "lora"]
    sizes = model_sizes(UniTokMLLMConfig.from_preset("llama2-7b"))
    assert f"{sizes.total / 1e6:.1f}M parameters" in out
    weights = [float(v) for v in re.search(r"weights \(GiB\)\s+(.*)", out).group(1).split()]
    gib = 1024 ** 3
    assert weights[0] == pytest.approx(2 * sizes.total / gib, abs=0.01)          # ZeRO-2: whole bf16 copy
    assert weights[2] == pytest.approx(2 * sizes.total / 8 / gib, abs=0.01)      # ZeRO-3: an eighth
    for label in ("optimizer states", "activations at peak", "peak per GPU", "seconds per micro-batch",
                  "LLM KV cache", "depth-head KV cache"):
        assert label in out


def test_parameter_counts_match_the_model_and_peft():
    from trainers.mllm.build import Trainable, set_trainable
    from trainers.mllm.lora import apply_lora, enable_adapters_grad

    config = UniTokMLLMConfig.from_preset("tiny")
    sizes = model_sizes(config)
    model = UniTokMLLMForCausalLM(config)
    assert sizes.total == sum(p.numel() for p in model.parameters())
    set_trainable(model, Trainable())
    assert sizes.trainable() == sum(p.numel() for p in model.parameters() if p.requires_grad)
    lora = apply_lora(model, r=4, alpha=8, dropout=0.0)
    set_trainable(lora, Trainable(llm=False))
    enable_adapters_grad(lora)
    assert sizes.trainable(lora_rank=4) == sum(p.numel() for p in lora.parameters() if p.requires_grad)


@pytest.mark.parametrize("preset,rows,seq,generated", [("tiny", 2, 512, 1), ("cpu-small", 1, 512, 1)])
def test_predicted_peak_within_15_percent_of_measured(preset, rows, seq, generated):
    torch.manual_seed(0)
    config = UniTokMLLMConfig.from_preset(preset)
    model = UniTokMLLMForCausalLM(config)
    model.model.multi_embedder.quantizer.requires_grad_(False)
    batch = synthetic_training_batch(config, rows, seq, images=1, generated=generated)
    measured = measure_training_step(model, batch)
    plan = plan_training(config, TrainSetup(gpus=1, zero=0, precision="fp32", micro_batch=rows, seq=seq,
                                            images=1, generated=generated))
    assert plan.weights == pytest.approx(measured.weights, rel=0.01)
    assert plan.optimizer == pytest.approx(measured.optimizer, rel=0.01)
    assert plan.activations.total == pytest.approx(measured.activations, rel=0.15)
    assert plan.peak == pytest.approx(measured.peak, rel=0.15)


def test_bad_setups_are_explained():
    with pytest.raises(ValueError, match="ZeRO-3"):
        TrainSetup(zero=2, offload="optimizer+params")
    with pytest.raises(ValueError, match="zero must be"):
        TrainSetup(zero=4)
    with pytest.raises(ValueError, match="do not fit"):
        plan_training(UniTokMLLMConfig.from_preset("tiny"), TrainSetup(seq=100, images=1))
