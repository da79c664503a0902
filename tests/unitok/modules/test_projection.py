import pytest
import torch

from unitok.modules.projection import AttnProjection


@pytest.mark.parametrize("in_dim,out_dim,heads", [(64, 32, 2), (16, 64, 4)])
def test_incremental_causal_projection_equals_full_recomputation(in_dim, out_dim, heads):
    torch.manual_seed(0)
    proj = AttnProjection(in_dim, out_dim, heads, causal=True).eval()
    x = torch.randn(2, 7, in_dim)
    full = proj(x)
    cache, steps = [], []
    for t in range(7):
        steps.append(proj(x[:, t:t + 1], past_kv=cache))
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)
    cache = []
    first = proj(x[:, :4], past_kv=cache)  # a chunk, then the rest
    rest = proj(x[:, 4:], past_kv=cache)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), full, atol=1e-5, rtol=1e-5)


def test_causal_projection_ignores_the_future():
    torch.manual_seed(0)
    proj = AttnProjection(16, 64, 4, causal=True).eval()
    x = torch.randn(1, 5, 16)
    y = x.clone()
    y[:, 3:] = torch.randn(1, 2, 16)
    torch.testing.assert_close(proj(x)[:, :3], proj(y)[:, :3])
    full = AttnProjection(16, 64, 4, causal=False).eval()
    full.load_state_dict(proj.state_dict())
    assert not torch.allclose(full(x)[:, :3], full(y)[:, :3])


def test_compressing_projection_averages_heads():
    torch.manual_seed(0)
    proj = AttnProjection(64, 32, 2)
    q, k, v = proj.attn.qkv_heads(proj.norm1(torch.randn(1, 3, 64)))
    assert q.shape == (1, 2, 3, 32)
    merged = proj.attn.merge_heads(q)
    torch.testing.assert_close(merged, proj.attn.proj(q.mean(dim=1)))
