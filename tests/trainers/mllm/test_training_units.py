"""Fast in-process checks of the training library pieces."""
from __future__ import annotations

import json

import pytest
import torch

from trainers.mllm.checkpoint import MARKER, latest_complete
from trainers.mllm.config import TrainConfig, parse_config
from trainers.mllm.engine import deepspeed_config, warmup_cosine


def test_presets_and_overrides():
    cfg = parse_config([])
    assert cfg.model_preset == "demo" and cfg.recipe == "demo" and cfg.zero == "2"
    ft = parse_config(["--preset", "finetune_demo", "--zero", "3", "--lora", "true", "--steps", "7"])
    assert ft.init_from == "outputs/pretrain_demo/export" and ft.zero == "3" and ft.lora and ft.steps == 7
    assert parse_config(["--zero", "3-offload"]).deepspeed_json().name == "zero3_offload.json"
    with pytest.raises(ValueError, match="zero must be one of"):
        parse_config(["--zero", "4"])
    with pytest.raises(ValueError, match="not a multiple"):
        TrainConfig(micro_batch=3, global_batch=8).grad_accumulation(2)


@pytest.mark.parametrize("name", ["zero2", "zero3", "zero3_offload"])
def test_deepspeed_configs_complete(name):
    from trainers.mllm.config import CONFIG_DIR
    cfg = deepspeed_config(str(CONFIG_DIR / f"{name}.json"), 2, 3, 2, 1.0, bf16=False)
    assert cfg["train_batch_size"] == 12 and cfg["gradient_accumulation_steps"] == 3
    assert cfg["bf16"] == {"enabled": False} and "optimizer" not in cfg
    assert cfg["zero_optimization"]["stage"] == int(name[4])


def test_warmup_cosine():
    values = [warmup_cosine(s, 10, 100, 0.1) for s in range(101)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert values[10] == pytest.approx(1.0) and values[100] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(values[10:], values[11:]))


def test_demo_text_tokenizer_has_llama_layout(tmp_path):
    import sentencepiece as spm
    from trainers.mllm.text_tokenizer import load_or_build_tokenizer
    tok = load_or_build_tokenizer(tmp_path / "tok")
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["<unk>", "<s>", "</s>", "<0x00>", "<0x01>"]
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "tok" / "tokenizer.model"))
    for text in ["a red circle", "What colour is the shape?", "<unconditional>"]:
        assert tok(text).input_ids == [1] + sp.encode(text)
    again = load_or_build_tokenizer(tmp_path / "tok")   # reloads the saved HF folder
    assert again("a small blue square").input_ids == tok("a small blue square").input_ids


def test_latest_complete_ignores_torn_checkpoints(tmp_path):
    root = tmp_path / "checkpoints"
    for step, complete in [(4, True), (8, True), (12, False)]:
        (root / f"step-{step}").mkdir(parents=True)
        if complete:
            (root / f"step-{step}" / MARKER).write_text(json.dumps({"step": step}))
    step, path = latest_complete(tmp_path)
    assert step == 8 and path.name == "step-8"


def test_flop_counter_counts_depth_head():
    from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM
    from trainers.mllm.metrics import FlopCounter
    config = UniTokMLLMConfig.from_preset("tiny", vocab_size=512, codebook_size=64, projection_width=64,
                                          projection_heads=4, image_positions=16)
    counter = FlopCounter(UniTokMLLMForCausalLM(config))
    text_only = counter.step_flops([40], 0, 0)
    with_generation = counter.step_flops([40], 16, 16)
    head = 3 * 2 * counter.head_weights * config.num_codebooks * 16
    assert with_generation - text_only > head      # depth head (+ embedder) counted
    assert text_only == pytest.approx(3 * (2 * counter.llm_weights * 40 + 4 * 2 * 128 * 40 * 40 / 2))


def test_masked_image_slot_changes_nothing():
    from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM
    from trainers.mllm.trainer import add_masked_image
    torch.manual_seed(0)
    config = UniTokMLLMConfig.from_preset("tiny", vocab_size=512, codebook_size=64, projection_width=64,
                                          projection_heads=4, image_positions=16)
    model = UniTokMLLMForCausalLM(config).eval()
    batch = {"input_ids": torch.tensor([[1, 20, 30, 40], [1, 50, 60, 0]]),
             "labels": torch.tensor([[-100, 20, 30, 40], [-100, 50, 60, -100]]),
             "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]), "image_codes": None}
    padded = add_masked_image(batch, config.num_codebooks, 16)
    assert padded["image_codes"].shape == (1, config.num_codebooks, 16)
    with torch.no_grad():
        a, b = model(**batch), model(**padded)
    assert torch.allclose(a.loss, b.loss, atol=1e-6)
    assert torch.allclose(a.logits[1, :3], b.logits[1, :3], atol=1e-5)
