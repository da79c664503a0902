"""Packed micro-batches as one row without a mask (what the trainer feeds flash-attention's varlen
kernel): transformers cuts the row where position_ids restart, so the MLLM loss equals the one with
the collator's block-diagonal 4-D mask, images and image targets included. Checked here with SDPA,
which derives the same block mask from the restarting positions."""
import numpy as np
import pytest
import torch

from data_recipes.collator import PackedCollator
from data_recipes.sequences import TokenizedSample
from mllm.constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX
from trainers.mllm.data import packed_rows_as_one


def samples(config):
    rng = np.random.default_rng(0)
    codes = lambda: rng.integers(0, config.codebook_size, (config.num_codebooks, config.image_positions))  # noqa: E731
    text = lambda n: [int(t) for t in rng.integers(5, 400, n)]  # noqa: E731
    ask = text(6)
    understanding = TokenizedSample([1, *ask[:3], IMAGE_TOKEN_INDEX, *ask[3:]],
                                    [IGNORE_INDEX] * 6 + ask[4:], [codes()], "i2t")
    prompt = text(5)
    generation = TokenizedSample([1, *prompt, 3, IMAGE_TOKEN_INDEX, 4, 2],
                                 [IGNORE_INDEX] * 6 + [3, IMAGE_TOKEN_INDEX, 4, 2], [codes()], "t2i")
    chat = text(9)
    plain = TokenizedSample([1, *chat], [IGNORE_INDEX, *chat], [], "text")
    return [understanding, plain, generation, plain, understanding]


def test_one_row_without_mask_has_the_loss_of_the_block_mask():
    from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM
    torch.manual_seed(0)
    config = UniTokMLLMConfig.from_preset("tiny", vocab_size=512, codebook_size=64, projection_width=64,
                                          projection_heads=4, image_positions=16)
    tiny_model = UniTokMLLMForCausalLM(config).eval()
    limit = 2 * config.image_positions + 20
    batch = PackedCollator(max_length=limit, image_positions=config.image_positions)(samples(config))
    assert batch["input_ids"].shape[0] >= 2 and batch["attention_mask"].ndim == 4
    inputs = {k: batch[k] for k in ("input_ids", "labels", "position_ids", "attention_mask", "image_codes")}
    with torch.no_grad():
        masked = tiny_model(**inputs)
        flat_batch = packed_rows_as_one({**inputs, "cu_seqlens": batch["cu_seqlens"]})
        assert "attention_mask" not in flat_batch and flat_batch["input_ids"].shape[0] == 1
        flat = tiny_model(**flat_batch)
    parts_a, parts_b = masked.loss_parts, flat.loss_parts
    assert (parts_a.num_text_targets, parts_a.num_image_targets) == (parts_b.num_text_targets, parts_b.num_image_targets)
    assert parts_b.num_image_targets > 0 and parts_b.num_text_targets > 0
    assert flat.loss.item() == pytest.approx(masked.loss.item(), abs=1e-5)
    assert parts_b.text_loss.item() == pytest.approx(parts_a.text_loss.item(), abs=1e-5)
    # without the restarts the samples would see each other: the loss changes
    with torch.no_grad():
        length = flat_batch["input_ids"].shape[1]
        leaky = tiny_model(**{**flat_batch, "position_ids": torch.arange(length)[None]})
    assert leaky.loss.item() != pytest.approx(masked.loss.item(), abs=1e-5)
    # the restarts of position_ids are the sample starts cu_seqlens describes
    starts = int((flat_batch["position_ids"][0] == 0).sum())
    padding = int((batch["labels"] == IGNORE_INDEX).sum())  # upper bound: padding tokens restart too
    assert len(batch["cu_seqlens"]) - 1 <= starts <= len(batch["cu_seqlens"]) - 1 + padding
