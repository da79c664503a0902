import pytest
import torch
import torch.nn.functional as F

from unitok.modules import quantizer as quantizer_module
from unitok.modules.quantizer import MultiCodebookQuantizer
from unitok.modules.residual_quantizer import ResidualQuantizer


def test_chunked_lookup_equals_one_shot_argmax(monkeypatch):
    torch.manual_seed(0)
    q = MultiCodebookQuantizer(num_codebooks=2, codebook_size=64, code_dim=4)
    feats = torch.randn(3, 50, 8)
    monkeypatch.setattr(quantizer_module, "BATCHED_LOOKUP_ROWS", 7)
    chunked = q.f_to_idx(feats)
    for i, cb in enumerate(q.codebooks):
        sims = F.normalize(feats[..., 4 * i:4 * i + 4], dim=-1) @ F.normalize(cb.codebook.weight, dim=-1).T
        assert torch.equal(chunked[:, i], sims.argmax(-1))


def test_idx_to_f_returns_the_normalized_rows_that_f_to_idx_picked():
    torch.manual_seed(0)
    q = MultiCodebookQuantizer(num_codebooks=4, codebook_size=32, code_dim=2)
    feats = torch.randn(2, 9, 8)
    latents = q.idx_to_f(q.f_to_idx(feats))
    assert latents.shape == (2, 9, 8)
    torch.testing.assert_close(latents.view(2, 9, 4, 2).norm(dim=-1), torch.ones(2, 9, 4))
    quantized, _, _, _ = q(feats)
    torch.testing.assert_close(quantized, latents)  # straight-through value equals the hard code


def test_codes_may_be_given_as_a_grid():
    q = MultiCodebookQuantizer(num_codebooks=2, codebook_size=16, code_dim=4)
    codes = torch.randint(0, 16, (1, 2, 3, 5))
    assert torch.equal(q.idx_to_f(codes), q.idx_to_f(codes.flatten(2)))


def test_vq_loss_and_usage_follow_the_definitions():
    torch.manual_seed(0)
    q = MultiCodebookQuantizer(num_codebooks=2, codebook_size=8, code_dim=3, beta=0.25)
    feats = torch.randn(1, 40, 6)
    _, vq_loss, _, usage = q(feats)
    codes = q.f_to_idx(feats)
    expected_loss, expected_usage, first_probs = 0.0, 0.0, []
    for i, cb in enumerate(q.codebooks):
        z = F.normalize(feats[0, :, 3 * i:3 * i + 3], dim=-1)
        hard = F.normalize(cb.codebook.weight, dim=-1)[codes[0, i]]
        expected_loss += 1.25 * (hard - z).pow(2).mean()
        probs = codes[0, i].bincount(minlength=8).float() / 40
        expected_usage += (probs > 0.01 / 8).float().mean() * 100
        torch.testing.assert_close(cb.vocab_usage, probs)  # first forward copies the frequencies
        first_probs.append(probs)
    torch.testing.assert_close(vq_loss, expected_loss / 2)
    torch.testing.assert_close(usage, expected_usage / 2)
    q(feats.flip(1)[:, :20])
    second = codes[0, 0].flip(0)[:20].bincount(minlength=8).float() / 20
    torch.testing.assert_close(q.codebooks[0].vocab_usage, 0.9 * first_probs[0] + 0.1 * second)


def test_gradients_reach_codebook_and_encoder_side():
    q = MultiCodebookQuantizer(num_codebooks=2, codebook_size=8, code_dim=3)
    feats = torch.randn(1, 10, 6, requires_grad=True)
    out, vq_loss, _, _ = q(feats)
    (out.sum() + vq_loss).backward()
    assert feats.grad.abs().sum() > 0 and q.codebooks[0].codebook.weight.grad.abs().sum() > 0


def test_residual_levels_reduce_the_error_and_share_the_code_shape():
    torch.manual_seed(0)
    q = ResidualQuantizer(num_codebooks=4, codebook_size=64, code_dim=2)
    with torch.no_grad():  # a codebook matched to the data so each level has something to remove
        for level in q.codebooks:
            level.codebook.weight.copy_(F.normalize(torch.randn(64, 8), dim=-1) * 0.5)
    feats = torch.randn(2, 30, 8)
    codes = q.f_to_idx(feats)
    assert codes.shape == (2, 4, 30)
    z = F.normalize(feats, dim=-1)
    errors = []
    for depth in range(1, 5):
        partial = sum(q.codebooks[i].codebook(codes[:, i]) for i in range(depth))
        errors.append(float((partial - z).pow(2).mean().detach()))
    assert errors == sorted(errors, reverse=True) and errors[-1] < errors[0]
    torch.testing.assert_close(q.idx_to_f(codes), q(feats)[0])


def test_bad_widths_and_codes_are_rejected():
    q = MultiCodebookQuantizer(num_codebooks=2, codebook_size=8, code_dim=3)
    with pytest.raises(ValueError, match="width 6"):
        q.f_to_idx(torch.randn(1, 4, 5))
    with pytest.raises(ValueError, match=r"\[0, 8\)"):
        q.idx_to_f(torch.full((1, 2, 4), 8))


def test_batched_lookup_equals_one_lookup_per_sub_codebook(monkeypatch):
    torch.manual_seed(0)
    q = MultiCodebookQuantizer(4, 256, 8)
    for cb in q.codebooks:
        torch.nn.init.normal_(cb.codebook.weight)
    features = torch.randn(3, 50, 32)
    per_codebook = torch.stack([cb.lookup(chunk).view(3, 50)
                                for chunk, cb in zip(features.reshape(-1, 32).split(8, dim=-1), q.codebooks)], dim=1)
    monkeypatch.setattr(quantizer_module, "BATCHED_LOOKUP_ROWS", 7)   # several chunks, a ragged last one
    assert torch.equal(q.f_to_idx(features), per_codebook)
