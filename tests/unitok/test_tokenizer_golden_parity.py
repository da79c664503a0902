"""Parity with the official UniTok code on the tiny golden fixture (see tests/fixtures/tokenizer_tiny/README.md)."""
import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from unitok import UniTok

ATOL = 1e-4
MARGIN = 1e-4  # codes whose top-1/top-2 cosine margin is below this may flip legitimately


@pytest.fixture(scope="module")
def fixture(golden_dir):
    root = golden_dir / "tokenizer_tiny"
    expected = load_file(str(root / "expected.safetensors"))
    model = UniTok.from_pretrained(root / "official_ckpt.pth")
    return model, expected


def assert_codes_match(codes, expected_codes, margin):
    assert codes.shape == expected_codes.shape and codes.dtype == torch.long
    decided = margin >= MARGIN
    assert decided.float().mean() > 0.99
    assert torch.equal(codes[decided], expected_codes[decided])


def test_codes_match_official(fixture):
    model, e = fixture
    assert_codes_match(model.img_to_idx(e["input_images"]), e["codes"], e["code_margin"])


def test_codes_of_384_input_match_official(fixture):
    model, e = fixture
    codes = model.img_to_idx(e["input_big"])
    assert codes.shape == (1, 8, 576)
    # No margins are stored for the big input; the official README reports 0 flips across thread counts.
    assert (codes == e["codes_big"]).float().mean() > 0.999


@pytest.mark.parametrize("name,compute", [
    ("encoder_tokens", lambda m, e: m.encoder(e["input_images"])),
    ("quant_proj_out", lambda m, e: m.encode_latents(e["input_images"])),
    ("post_quant_proj_out", lambda m, e: m.decode_latents(m.quantizer.idx_to_f(e["codes"]))),
    ("rec_from_codes", lambda m, e: m.idx_to_img(e["codes"])),
    ("rec_big_from_codes", lambda m, e: m.idx_to_img(e["codes_big"])),
    ("image_embeds", lambda m, e: m.encode_image(e["input_images"], normalize=True)),
    ("text_embeds", lambda m, e: m.encode_text(e["text_tokens"], normalize=True)),
    ("logit_scale", lambda m, e: m.logit_scale),
    ("logit_scale_exp", lambda m, e: m.logit_scale.exp()),
])
def test_float_outputs_match_official(fixture, name, compute):
    model, e = fixture
    with torch.no_grad():
        torch.testing.assert_close(compute(model, e), e[name], atol=ATOL, rtol=ATOL)


def test_quantizer_forward_loss_usage_and_side_effect(golden_dir):
    # A fresh load: vocab_usage semantics depend on how many forwards ran before.
    root = golden_dir / "tokenizer_tiny"
    e = load_file(str(root / "expected.safetensors"))
    model = UniTok.from_pretrained(root / "official_ckpt.pth")
    assert all(float(cb.vocab_usage.abs().sum()) == 0 for cb in model.quantizer.codebooks)
    with torch.no_grad():
        _, vq_loss, _, usage = model.quantizer(e["quant_proj_out"])
    torch.testing.assert_close(vq_loss, e["vq_loss"], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(usage, e["codebook_usage_pct"], atol=1e-5, rtol=1e-5)
    usage_buffers = torch.stack([cb.vocab_usage for cb in model.quantizer.codebooks])
    torch.testing.assert_close(usage_buffers, e["vocab_usage_after_one_forward"], atol=1e-6, rtol=1e-5)


def test_training_forward_matches_official(fixture):
    model, e = fixture
    with torch.no_grad():
        out = model(e["input_images"], vae_bs=4, text=e["text_tokens"])
    torch.testing.assert_close(out["vq_loss"], e["forward_vq_loss"], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out["clip_image_features"], e["forward_clip_image_features"], atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(out["clip_text_features"], e["forward_clip_text_features"], atol=ATOL, rtol=ATOL)
    torch.testing.assert_close(out["img_rec"], e["forward_img_rec_unclamped"], atol=5e-4, rtol=1e-4)
    torch.testing.assert_close(out["logit_scale"], e["logit_scale_exp"])


def test_straight_through_reconstruction_matches_official(fixture):
    model, e = fixture
    with torch.no_grad():
        torch.testing.assert_close(model.img_to_reconstructed_img(e["input_images"]), e["rec_img"], atol=ATOL, rtol=ATOL)


def test_fixture_metadata_is_consistent(golden_dir):
    from unitok import tokenize
    with safe_open(str(golden_dir / "tokenizer_tiny" / "expected.safetensors"), "pt") as f:
        meta, tokens = f.metadata(), f.get_tensor("text_tokens")
    images = json.loads(meta["images"])
    assert images == ["astronaut", "coffee", "chelsea", "rocket"]
    assert sorted(p.stem for p in (golden_dir / "tokenizer_tiny" / "inputs").glob("*.png")) == sorted(
        images + ["astronaut_384"])
    assert torch.equal(tokenize(json.loads(meta["captions"])), tokens)
