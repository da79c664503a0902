import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data_recipes.collator import PackedCollator, PaddedCollator
from data_recipes.packing import block_causal_mask, plan_packs
from data_recipes.sequences import TokenizedSample, build_i2t, build_t2i, build_text
from mllm.constants import IGNORE_INDEX

TEXTS = ["the red circle is on the left", "a tiny blue square", "hello there, general kenobi, you are a bold one",
         "four", "a yellow triangle on a grey background, seen from above"]


def _model(attn: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=32000, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, attn_implementation=attn)
    torch.manual_seed(0)
    return LlamaForCausalLM(cfg).eval()


def _sample_losses(logits, labels, sequence_ids):
    """Summed next-token CE per sample; a target belongs to the sample of the token it predicts."""
    targets, seg = labels[:, 1:], sequence_ids[:, 1:]
    ce = F.cross_entropy(logits[:, :-1].transpose(1, 2), targets, ignore_index=IGNORE_INDEX, reduction="none")
    return {(r, int(s)): float(ce[r][seg[r] == s].sum()) for r in range(ce.shape[0]) for s in seg[r].unique() if s >= 0}


@pytest.mark.parametrize("attn, mask_dtype", [("sdpa", torch.float32), ("eager", torch.float32), ("sdpa", None)])
def test_packed_losses_equal_unpacked(tokenizer, attn, mask_dtype):
    samples = [build_text(tokenizer, t) for t in TEXTS]
    model = _model(attn)
    batch = PackedCollator(max_length=40, mask_dtype=mask_dtype)(samples)
    assert batch["input_ids"].shape[0] == 2   # several samples share a row
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       position_ids=batch["position_ids"]).logits
    losses = _sample_losses(packed, batch["labels"], batch["sequence_ids"])
    assert len(losses) == len(samples)
    flat = sorted(losses.items())
    for (row_and_seg, packed_loss), sample in zip(flat, samples):
        ids = torch.tensor([sample.input_ids])
        with torch.no_grad():
            alone = model(input_ids=ids).logits
        single = _sample_losses(alone, torch.tensor([sample.labels]), torch.zeros_like(ids))[(0, 0)]
        assert packed_loss == pytest.approx(single, rel=1e-5, abs=1e-5)
    # Without the block mask the later samples of a row see their neighbours: losses change.
    with torch.no_grad():
        leaky = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
    assert _sample_losses(leaky, batch["labels"], batch["sequence_ids"])[(0, 1)] != pytest.approx(losses[(0, 1)])


def test_first_label_of_each_packed_sample_is_ignored(tokenizer):
    samples = [build_text(tokenizer, t) for t in TEXTS[:3]]
    batch = PackedCollator(max_length=100)(samples)
    seq, labels, pos = batch["sequence_ids"][0], batch["labels"][0], batch["position_ids"][0]
    starts = (pos == 0) & (seq >= 0)
    assert int(starts.sum()) == 3 and (labels[starts] == IGNORE_INDEX).all()
    assert batch["cu_seqlens"].tolist() == [0] + list(np.cumsum([len(s.input_ids) for s in samples]))


def test_block_mask_shape_and_padding():
    seq = torch.tensor([[0, 0, 1, 1, 1, -1]])
    allowed = block_causal_mask(seq, dtype=None)[0, 0]
    assert allowed.shape == (6, 6)
    assert allowed[1, 0] and not allowed[2, 1] and allowed[4, 2] and not allowed[2, 3]
    assert allowed[5].tolist() == [False] * 5 + [True]
    additive = block_causal_mask(seq)[0, 0]
    assert (additive[allowed] == 0).all() and (additive[~allowed] == torch.finfo(torch.float32).min).all()


def test_packing_counts_expanded_image_positions(tokenizer):
    codes = np.zeros((8, 16), dtype=np.int64)
    t2i, i2t = build_t2i(tokenizer, "a red circle", codes), build_i2t(tokenizer, "a red circle", codes)
    assert t2i.expanded_length() == len(t2i.input_ids) + 15
    limit = t2i.expanded_length() + i2t.expanded_length()
    assert plan_packs([t2i, i2t], limit) == [[0, 1]] and plan_packs([t2i, i2t], limit - 1) == [[0], [1]]
    assert plan_packs([t2i], t2i.expanded_length(256)) == [[0]]
    with pytest.raises(ValueError, match="more than max_length"):
        plan_packs([t2i], len(t2i.input_ids), image_positions=256)
    batch = PackedCollator(max_length=limit)([t2i, i2t])
    assert batch["image_codes"].shape == (2, 8, 16) and batch["max_seqlen"] == t2i.expanded_length()
    assert batch["cu_seqlens"].tolist() == [0, t2i.expanded_length(), limit]


def test_padded_collator(tokenizer):
    codes = np.ones((8, 4), dtype=np.int64)
    samples = [build_i2t(tokenizer, "a red circle on the left", codes), build_text(tokenizer, "hi")]
    batch = PaddedCollator()(samples)
    n0, n1 = len(samples[0].input_ids), len(samples[1].input_ids)
    assert batch["input_ids"].shape == (2, n0) and batch["attention_mask"].sum(1).tolist() == [n0, n1]
    assert (batch["labels"][1, n1:] == IGNORE_INDEX).all() and (batch["input_ids"][1, n1:] == 0).all()
    assert batch["image_codes"].shape == (1, 8, 4) and batch["data_types"] == ["i2t", "text"]
    with pytest.raises(ValueError, match="image placeholders"):
        TokenizedSample([1, -200], [-100, -100], [], "i2t")
