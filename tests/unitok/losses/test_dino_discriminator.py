import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from unitok.losses.dino import Block, DinoConfig, DinoViT
from unitok.losses.discriminator import DinoDiscriminator, DiscriminatorConfig

DIM, DEPTH, HEADS, PATCH = 384, 12, 6, 14


def _dinov2_vits14_layout() -> dict:
    """Key -> shape of `dinov2_vits14_pretrain.pth`, written from the published checkpoint layout."""
    shapes = {"cls_token": (1, 1, DIM), "pos_embed": (1, 1 + 37 * 37, DIM), "mask_token": (1, DIM),
              "patch_embed.proj.weight": (DIM, 3, PATCH, PATCH), "patch_embed.proj.bias": (DIM,),
              "norm.weight": (DIM,), "norm.bias": (DIM,)}
    for i in range(DEPTH):
        p = f"blocks.{i}."
        shapes.update({
            p + "norm1.weight": (DIM,), p + "norm1.bias": (DIM,),
            p + "attn.qkv.weight": (3 * DIM, DIM), p + "attn.qkv.bias": (3 * DIM,),
            p + "attn.proj.weight": (DIM, DIM), p + "attn.proj.bias": (DIM,),
            p + "ls1.gamma": (DIM,), p + "norm2.weight": (DIM,), p + "norm2.bias": (DIM,),
            p + "mlp.fc1.weight": (4 * DIM, DIM), p + "mlp.fc1.bias": (4 * DIM,),
            p + "mlp.fc2.weight": (DIM, 4 * DIM), p + "mlp.fc2.bias": (DIM,), p + "ls2.gamma": (DIM,),
        })
    return shapes


@pytest.fixture(scope="module")
def disc():
    torch.manual_seed(0)
    return DinoDiscriminator()


def test_logit_shape_is_five_heads_times_patches(disc):
    x = torch.rand(2, 3, 28, 28) * 2 - 1  # 2 x 2 patches
    assert disc(x).shape == (2, 5 * 4)
    assert disc(torch.rand(1, 3, 31, 31) * 2 - 1).shape == (1, 5 * 4)  # reduced to 28 x 28


def test_256_images_are_brought_to_252(disc):
    for _ in range(4):  # both the crop and the area-resize branch
        assert disc.resize_to_patches(torch.zeros(1, 3, 256, 256)).shape[-2:] == (252, 252)


def test_frozen_dino_is_neither_parameter_nor_state(disc):
    keys = list(disc.state_dict())
    assert keys and all(k.startswith("heads.") for k in keys)
    names = [n for n, _ in disc.named_parameters()]
    assert all(n.startswith("heads.") for n in names)
    assert not any(p.requires_grad for p in disc.dino.parameters())
    disc.train()
    assert not disc.dino.training


def test_gradients_reach_heads_and_image_but_not_dino(disc):
    disc.zero_grad()
    x = (torch.rand(1, 3, 28, 28) * 2 - 1).requires_grad_()
    disc(x).sum().backward()
    assert all(p.grad is not None for p in disc.heads.parameters())
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in disc.dino.parameters())


def test_head_structure_and_init(disc):
    head = disc.heads[0]
    first, residual, out = head[0], head[1].fn, head[2]
    assert first[0].kernel_size == (1,) and residual[0].kernel_size == (9,)
    assert residual[0].padding_mode == "circular"
    assert isinstance(first[1], nn.GroupNorm) and first[1].num_groups == 32 and first[1].eps == 1e-6
    assert isinstance(first[2], nn.LeakyReLU) and first[2].negative_slope == 0.2
    assert out.out_channels == 1
    fan = DIM * 9
    expected_std = 0.5 * math.sqrt(2.0 / (fan + fan))  # xavier normal, gain 0.5
    assert residual[0].weight.std().item() == pytest.approx(expected_std, rel=0.03)


def test_residual_branch_is_scaled_by_inverse_sqrt2(disc):
    res = disc.heads[0][1]
    x = torch.randn(1, DIM, 6)
    assert torch.allclose(res(x), (res.fn(x) + x) / math.sqrt(2), atol=1e-6)


def test_loads_dinov2_layout_strictly(tmp_path):
    torch.manual_seed(1)
    state = {k: torch.randn(shape) for k, shape in _dinov2_vits14_layout().items()}
    path = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save(state, path)
    d = DinoDiscriminator(dino_weights=path)
    assert torch.equal(d.dino.blocks[7].mlp.fc2.weight, state["blocks.7.mlp.fc2.weight"])
    assert torch.equal(d.dino.pos_embed, state["pos_embed"])
    del state["mask_token"]
    torch.save(state, path)
    with pytest.raises(RuntimeError, match="mask_token"):
        DinoDiscriminator(dino_weights=path)


def test_block_matches_hand_written_pre_norm_attention():
    torch.manual_seed(2)
    cfg = DinoConfig(dim=12, num_heads=3)
    block = Block(cfg)
    nn.init.normal_(block.ls1.gamma), nn.init.normal_(block.ls2.gamma)
    x = torch.randn(2, 5, 12)
    h = F.layer_norm(x, (12,), block.norm1.weight, block.norm1.bias, 1e-6)
    q, k, v = (h @ block.attn.qkv.weight.T + block.attn.qkv.bias).split(12, dim=-1)
    heads = lambda t: t.view(2, 5, 3, 4).transpose(1, 2)  # noqa: E731
    att = torch.softmax(heads(q) @ heads(k).transpose(-1, -2) / 2.0, dim=-1) @ heads(v)
    att = att.transpose(1, 2).reshape(2, 5, 12) @ block.attn.proj.weight.T + block.attn.proj.bias
    x1 = x + block.ls1.gamma * att
    h2 = F.layer_norm(x1, (12,), block.norm2.weight, block.norm2.bias, 1e-6)
    mlp = F.gelu(h2 @ block.mlp.fc1.weight.T + block.mlp.fc1.bias) @ block.mlp.fc2.weight.T + block.mlp.fc2.bias
    torch.testing.assert_close(block(x), x1 + block.ls2.gamma * mlp, rtol=1e-5, atol=1e-5)


def test_position_embedding_resizes_and_keeps_native_grid():
    vit = DinoViT(DinoConfig(dim=32, num_heads=2, depth=1))
    assert torch.equal(vit.position_embedding(37, 37), vit.pos_embed)
    resized = vit.position_embedding(18, 18)
    assert resized.shape == (1, 1 + 18 * 18, 32)
    assert torch.equal(resized[:, 0], vit.pos_embed[:, 0])
    with torch.no_grad():
        vit.pos_embed[:, 1:] = 0.7  # bicubic resizing of a constant grid stays constant
    assert torch.allclose(vit.position_embedding(18, 18)[:, 1:], torch.full((1, 324, 32), 0.7), atol=1e-5)


def test_intermediate_layers_validate_inputs():
    vit = DinoViT(DinoConfig(dim=32, num_heads=2, depth=2))
    with pytest.raises(ValueError, match="multiple"):
        vit.intermediate_layers(torch.zeros(1, 3, 15, 14), (0,))
    with pytest.raises(ValueError, match="out of range"):
        vit.intermediate_layers(torch.zeros(1, 3, 14, 14), (2,))
    with pytest.raises(ValueError, match="divisible"):
        DinoDiscriminator(DiscriminatorConfig(dino=DinoConfig(dim=40, num_heads=2)))
