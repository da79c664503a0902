"""Behaviour of a freshly built tiny UniTok: shapes, gradients, input validation."""
import pytest
import torch

from unitok import UniTok, UniTokConfig


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return UniTok(UniTokConfig.from_preset("tiny")).eval()


def test_code_layout_and_roundtrip_shapes(model):
    images = torch.rand(2, 3, 64, 96) * 2 - 1
    codes = model.img_to_idx(images)
    assert codes.shape == (2, 8, 4 * 6) and codes.dtype == torch.long
    assert int(codes.min()) >= 0 and int(codes.max()) < 4096
    rec = model.idx_to_img(codes.view(2, 8, 4, 6))  # a non-square grid given as (B, 8, H, W)
    assert rec.shape == (2, 3, 64, 96) and rec.min() >= -1 and rec.max() <= 1


def test_codes_follow_the_sub_codebook_chunks(model):
    images = torch.rand(1, 3, 32, 32) * 2 - 1
    latents = model.encode_latents(images)
    codes = model.img_to_idx(images)
    for i, cb in enumerate(model.quantizer.codebooks):
        chunk = torch.nn.functional.normalize(latents[0, :, 8 * i: 8 * i + 8], dim=-1)
        sims = chunk @ torch.nn.functional.normalize(cb.codebook.weight, dim=-1).T
        assert torch.equal(sims.argmax(-1), codes[0, i])


def test_fresh_model_is_finite_and_trains(model):
    model = UniTok(UniTokConfig.from_preset("tiny")).train()
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    text = torch.zeros(2, 77, dtype=torch.long)
    text[:, 0], text[:, 1], text[:, 2] = 49406, 320, 49407
    out = model(images, text=text)
    assert torch.isfinite(out["img_rec"]).all() and out["img_rec"].shape == images.shape
    loss = (out["img_rec"] - images).abs().mean() + out["vq_loss"] - (out["clip_image_features"] * out["clip_text_features"]).sum()
    loss.backward()
    for name in ["encoder.blocks.0.attn.qkv.weight", "quant_proj.attn.qkv.weight", "quantizer.codebooks.3.codebook.weight",
                 "decoder.up_conv4.conv2.weight", "text_encoder.token_embedding.weight", "projection.weight"]:
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert model.encoder.pos_embed.grad is None


def test_gradient_checkpointing_gives_same_gradients():
    torch.manual_seed(1)
    a = UniTok(UniTokConfig.from_preset("tiny")).train()
    b = UniTok(UniTokConfig.from_preset("tiny")).train()
    b.load_state_dict(a.state_dict())
    b.gradient_checkpointing_enable()
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    for m in (a, b):
        m(images)["img_rec"].square().mean().backward()
    torch.testing.assert_close(a.encoder.blocks[0].attn.qkv.weight.grad, b.encoder.blocks[0].attn.qkv.weight.grad)


@pytest.mark.parametrize("bad,match", [
    (torch.zeros(1, 1, 32, 32), r"shape \(B, 3, H, W\)"),
    (torch.zeros(1, 4, 32, 32), r"shape \(B, 3, H, W\)"),
    (torch.zeros(3, 32, 32), r"shape \(B, 3, H, W\)"),
    (torch.zeros(1, 3, 40, 32), "multiples of 16"),
    (torch.full((1, 3, 32, 32), 255.0), r"\[-1, 1\]"),
    (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), "float"),
])
def test_bad_images_raise_value_error(model, bad, match):
    with pytest.raises(ValueError, match=match):
        model.img_to_idx(bad)


@pytest.mark.parametrize("bad,match", [
    (torch.full((1, 8, 4), 4096), r"\[0, 4096\)"),
    (torch.full((1, 8, 4), -1), r"\[0, 4096\)"),
    (torch.zeros(1, 4, 4, dtype=torch.long), r"\(B, 8, L\)"),
    (torch.zeros(1, 8, dtype=torch.long), r"\(B, 8, L\)"),
    (torch.zeros(1, 8, 6, dtype=torch.long), "not square"),
    (torch.zeros(1, 8, 4, dtype=torch.float32), "integer"),
])
def test_bad_codes_raise_value_error(model, bad, match):
    with pytest.raises(ValueError, match=match):
        model.idx_to_img(bad)


def test_bad_text_raises_value_error(model):
    with pytest.raises(ValueError, match="at most 77"):
        model.encode_text(torch.zeros(1, 78, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 49408\)"):
        model.encode_text(torch.full((1, 77), 50000))


def test_config_rejects_unknown_preset_and_bad_fields():
    with pytest.raises(ValueError, match="unknown UniTok preset"):
        UniTokConfig.from_preset("huge")
    with pytest.raises(ValueError, match="quant_proj"):
        UniTokConfig(quant_proj="mlp")
    assert UniTokConfig().vocab_size == 32768 and UniTokConfig().vocab_width == 64


def test_linear_projection_variant_runs():
    model = UniTok(UniTokConfig.from_preset("tiny", quant_proj="linear")).eval()
    codes = model.img_to_idx(torch.zeros(1, 3, 32, 32))
    assert model.idx_to_img(codes).shape == (1, 3, 32, 32)


def test_residual_quantizer_variant_runs_end_to_end():
    torch.manual_seed(0)
    model = UniTok(UniTokConfig.from_preset("tiny", quantizer_type="residual", codebook_size=256)).eval()
    images = torch.rand(1, 3, 32, 32) * 2 - 1
    codes = model.img_to_idx(images)
    assert codes.shape == (1, 8, 4)
    # By definition each level picks the entry nearest to what the levels before it left over.
    with torch.no_grad():
        residual = torch.nn.functional.normalize(model.encode_latents(images)[0], dim=-1)
        for level, chosen in zip(model.quantizer.codebooks, codes[0]):
            table = level.codebook.weight
            assert torch.equal(torch.cdist(residual, table).argmin(-1), chosen)
            residual = residual - table[chosen]
        torch.testing.assert_close(model.quantizer.idx_to_f(codes)[0], model.quantizer(model.encode_latents(images))[0][0])
    assert model.idx_to_img(codes).shape == (1, 3, 32, 32)
