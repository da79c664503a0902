"""Attention projection used to factorize latents before and after quantization.

`AttnProjection(1024, 64)` compresses encoder tokens into the 64-d code space and averages the
per-head outputs; `AttnProjection(64, 1024)` expands codes back, concatenating heads. The MLLM
re-uses the expanding form with causal attention to embed image codes.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import GeGluMlp


class ProjectionAttention(nn.Module):
    """BEiT-style attention (no key bias) between widths `in_dim` and `out_dim`."""

    def __init__(self, in_dim: int, out_dim: int, num_heads: int, causal: bool = False):
        super().__init__()
        width = max(in_dim, out_dim)
        if width % num_heads:
            raise ValueError(f"projection width {width} is not divisible by {num_heads} heads")
        self.in_dim, self.out_dim, self.num_heads, self.causal = in_dim, out_dim, num_heads, causal
        self.qkv = nn.Linear(in_dim, width * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(width))
        self.v_bias = nn.Parameter(torch.zeros(width))
        self.register_buffer("zero_k_bias", torch.zeros(width))
        self.proj = nn.Linear(out_dim, out_dim)

    def qkv_heads(self, x: torch.Tensor):
        """(B, N, in_dim) -> q, k, v of shape (B, heads, N, head_dim)."""
        b, n, _ = x.shape
        # the buffer follows the parameters (DeepSpeed casts parameters only)
        bias = torch.cat((self.q_bias, self.zero_k_bias.to(self.q_bias.dtype), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias)
        return qkv.reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, heads, N, head_dim) -> (B, N, out_dim): average heads when compressing, else concat."""
        if self.in_dim > self.out_dim:
            x = x.mean(dim=1)
            if x.shape[-1] != self.out_dim:
                x = F.adaptive_avg_pool1d(x, self.out_dim)
        else:
            x = x.transpose(1, 2).flatten(2)
        return self.proj(x)

    def forward(self, x: torch.Tensor, past_kv: Optional[list] = None) -> torch.Tensor:
        """With `past_kv` (a list, filled in place) the keys/values of earlier calls are reused, so
        a causal projection can embed a growing sequence one position at a time."""
        q, k, v = self.qkv_heads(x)
        is_causal = self.causal
        if past_kv is not None:
            if past_kv:
                k = torch.cat((past_kv[0], k), dim=2)
                v = torch.cat((past_kv[1], v), dim=2)
                past_kv.clear()
            past_kv.extend((k, v))
            if q.shape[2] != k.shape[2]:
                if q.shape[2] != 1 and self.causal:
                    mask = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device)
                    mask = mask.tril(k.shape[2] - q.shape[2])
                    return self.merge_heads(F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
                is_causal = False
        return self.merge_heads(F.scaled_dot_product_attention(q, k, v, is_causal=is_causal))


class AttnProjection(nn.Module):
    """y = proj(norm3 x) + attn(norm1 x);  y = y + mlp(norm2 y)."""

    def __init__(self, in_dim: int, out_dim: int, num_heads: int, causal: bool = False, mlp_ratio: float = 2.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(in_dim)
        self.attn = ProjectionAttention(in_dim, out_dim, num_heads, causal=causal)
        self.proj = nn.Linear(in_dim, out_dim)
        self.norm3 = nn.LayerNorm(in_dim)
        self.norm2 = nn.LayerNorm(out_dim)
        self.mlp = GeGluMlp(out_dim, int(out_dim * mlp_ratio))

    def forward(self, x: torch.Tensor, past_kv: Optional[list] = None) -> torch.Tensor:
        x = self.proj(self.norm3(x)) + self.attn(self.norm1(x), past_kv=past_kv)
        return x + self.mlp(self.norm2(x))
