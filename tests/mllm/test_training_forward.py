"""Training forward: several images per sample, target selection, packing, gradients."""
import torch
import torch.nn.functional as F

from mllm.constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX, Z_LOSS_WEIGHT

L = 5


def _codes(n, seed=0):
    return torch.randint(0, 64, (n, 8, L), generator=torch.Generator().manual_seed(seed))


def test_understanding_and_target_images_in_one_sample(tiny_model):
    # [bos, text, <image A: input>, text, boi, <image B: target>, eoi, eos]
    ids = torch.tensor([[1, 20, IMAGE_TOKEN_INDEX, 21, 22, 3, IMAGE_TOKEN_INDEX, 4, 2]])
    labels = torch.tensor([[IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 3,
                            IMAGE_TOKEN_INDEX, 4, 2]])
    codes = _codes(2)
    with torch.no_grad():
        out = tiny_model(input_ids=ids, labels=labels, image_codes=codes)
    parts = out.loss_parts
    assert out.logits.shape[1] == ids.shape[1] - 2 + 2 * L
    assert parts.num_image_targets == 8 * L and parts.num_text_targets == 3
    assert out.image_logits.shape == (1, 8, L, 64)
    # Recompute the pieces independently from the forward's own outputs.
    hidden = out.last_hidden_state[0]
    start = 1 + 1 + L + 2 + 1  # bos, text, image A, two texts, boi
    context = hidden[start - 1:start + L - 1]
    head_logits = tiny_model.ar_head.teacher_forced_logits(context, codes[1].t())
    flat = head_logits.reshape(-1, 64)
    ce = F.cross_entropy(flat, codes[1].t().reshape(-1))
    z = Z_LOSS_WEIGHT * flat.max(-1).values.pow(2).mean()
    torch.testing.assert_close(parts.image_ce, ce, atol=1e-5, rtol=0)
    torch.testing.assert_close(parts.image_z_loss, z, atol=1e-7, rtol=0)
    expected_total = (ce + z) * (8 * L / (8 * L + 3)) + parts.text_loss * (3 / (8 * L + 3))
    torch.testing.assert_close(parts.loss, expected_total, atol=1e-5, rtol=0)
    spliced = out.spliced_labels[0]
    assert (spliced[start:start + L] == IGNORE_INDEX).all() and spliced[start + L] == 4


def test_right_padded_batch_matches_unpadded_rows(tiny_model):
    a = torch.tensor([[1, 20, 3, IMAGE_TOKEN_INDEX, 4, 2]])
    b = torch.tensor([[1, 30, 31, 32, IMAGE_TOKEN_INDEX, 5, 6, 2]])
    ids = torch.cat([F.pad(a, (0, 2), value=0), b])
    mask = torch.tensor([[1] * 6 + [0, 0], [1] * 8])
    codes = _codes(2, seed=1)
    with torch.no_grad():
        batch = tiny_model(input_ids=ids, attention_mask=mask, image_codes=codes).last_hidden_state
        alone_a = tiny_model(input_ids=a, image_codes=codes[:1]).last_hidden_state
        alone_b = tiny_model(input_ids=b, image_codes=codes[1:]).last_hidden_state
    torch.testing.assert_close(batch[0, :alone_a.shape[1]], alone_a[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(batch[1], alone_b[0], atol=1e-5, rtol=0)


def _block_causal_mask(lengths):
    total = sum(lengths)
    mask = torch.zeros(total, total, dtype=torch.bool)
    start = 0
    for n in lengths:
        mask[start:start + n, start:start + n] = torch.ones(n, n, dtype=torch.bool).tril()
        start += n
    return mask[None, None]


def test_packed_samples_match_separate_forwards(tiny_model):
    a = torch.tensor([[1, 20, 3, IMAGE_TOKEN_INDEX, 4, 2]])
    b = torch.tensor([[1, 30, IMAGE_TOKEN_INDEX, 31, 32, 2]])
    labels = torch.cat([a, b], dim=1).clone()
    labels[0, 3] = IGNORE_INDEX  # image of sample a: input only; image of sample b: target
    codes = _codes(2, seed=2)
    packed_ids = torch.cat([a, b], dim=1)
    positions = torch.cat([torch.arange(6), torch.arange(6)])[None]
    with torch.no_grad():
        alone_a = tiny_model(input_ids=a, image_codes=codes[:1]).last_hidden_state[0]
        alone_b = tiny_model(input_ids=b, image_codes=codes[1:]).last_hidden_state[0]
        expected = torch.cat([alone_a, alone_b])
        with_mask = tiny_model(input_ids=packed_ids, position_ids=positions, image_codes=codes, labels=labels,
                               attention_mask=_block_causal_mask([6, 6]))
        positions_only = tiny_model(input_ids=packed_ids, position_ids=positions, image_codes=codes,
                                    use_cache=False).last_hidden_state
    torch.testing.assert_close(with_mask.last_hidden_state[0], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(positions_only[0], expected, atol=1e-5, rtol=0)
    assert with_mask.loss_parts.num_image_targets == 8 * L
    assert with_mask.image_logits.shape == (1, 8, L, 64)


def test_batch_without_image_targets_still_reaches_every_depth_head_parameter(tiny_model):
    model = tiny_model.train()
    try:
        ids = torch.tensor([[1, IMAGE_TOKEN_INDEX, 11, 12, 13, 2]])
        labels = ids.masked_fill(ids == IMAGE_TOKEN_INDEX, IGNORE_INDEX)
        model.zero_grad()
        out = model(input_ids=ids, labels=labels, image_codes=_codes(1))
        assert out.loss_parts.num_image_targets == 0 and out.image_logits is None
        out.loss.backward()
        head = dict(model.ar_head.named_parameters())
        assert all(p.grad is not None for p in head.values())
        assert all(float(p.grad.abs().sum()) == 0.0 for p in head.values())
        assert model.lm_head.weight.grad.abs().sum() > 0
        assert model.embedder.attn_projection.proj.weight.grad.abs().sum() > 0
        assert all(not p.requires_grad for p in model.embedder.quantizer.parameters())
    finally:
        model.zero_grad()
        model.eval()


def test_text_only_batch_still_reaches_the_embedder_and_depth_head(tiny_model):
    model = tiny_model.train()
    try:
        ids = torch.tensor([[1, 11, 12, 13, 2]])
        model.zero_grad()
        out = model(input_ids=ids, labels=ids.clone())
        reference = tiny_model(input_ids=ids, use_cache=False).logits
        torch.testing.assert_close(out.logits, reference)
        out.loss.backward()
        parts = list(model.embedder.attn_projection.parameters()) + list(model.embedder.mm_projector.parameters()) \
            + list(model.ar_head.parameters())
        assert all(p.grad is not None and float(p.grad.abs().sum()) == 0.0 for p in parts)
        assert model.lm_head.weight.grad.abs().sum() > 0
    finally:
        model.zero_grad()
        model.eval()


def test_target_images_train_the_depth_head_and_embedder(tiny_model):
    model = tiny_model
    ids = torch.tensor([[1, 40, 3, IMAGE_TOKEN_INDEX, 4, 2]])
    model.zero_grad()
    out = model(input_ids=ids, labels=ids.clone(), image_codes=_codes(1, seed=3))
    out.loss.backward()
    try:
        assert model.ar_head.linear_head.weight.grad.abs().sum() > 0
        assert model.ar_head.codebooks[6].weight.grad.abs().sum() > 0
        assert model.model.layers[0].self_attn.q_proj.weight.grad.abs().sum() > 0
    finally:
        model.zero_grad()
