"""Small building blocks shared by the encoder, the decoder and the projections.

Attribute names follow timm's ViT/ViTamin modules so official state dicts load unchanged.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

LN_EPS = 1e-6


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis of an NCHW tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class LayerNormGelu2d(LayerNorm2d):
    """LayerNorm2d followed by exact GELU (timm's LayerNormAct2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(super().forward(x))


class DropPath(nn.Module):
    """Stochastic depth on the residual branch, per sample."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class GeGluMlp(nn.Module):
    """LayerNorm -> gelu_tanh(w0 x) * w1 x -> w2 (the ViTamin MLP; note its own leading norm)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.w0 = nn.Linear(dim, hidden)
        self.w1 = nn.Linear(dim, hidden)
        self.w2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        return self.w2(F.gelu(self.w0(x), approximate="tanh") * self.w1(x))


class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused qkv projection (timm `Attention`), SDPA kernel."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class TransformerBlock(nn.Module):
    """Pre-norm ViT block with a GeGLU MLP and no positional information."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, drop_path: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = SelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = GeGluMlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class Upsample2d(nn.Module):
    """Nearest-neighbour x2 upsampling followed by a 3x3 convolution.

    At inference the two run as one sub-pixel convolution: output pixel (2i+a, 2j+b) of the 3x3
    conv over the upsampled map only sees the 2x2 input neighbourhood starting at (i-1+a, j-1+b),
    with the 3x3 taps that land on the same input pixel summed. So one 2x2 conv with 4*C_out
    filters on the padded input computes all four output phases: 16 instead of 36 multiply-adds
    per input pixel and channel pair, and no upsampled input in memory. Same function, rounding
    differs slightly (summed taps); training keeps the official form."""

    def __init__(self, dim: int, dim_out: int):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim_out, 3, 1, 1)
        self.subpixel = True   # set False to run the official form at inference too

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.subpixel and not torch.is_grad_enabled():
            return subpixel_upsample_conv(x, self._subpixel_weight(), self.conv.bias)
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))

    def _subpixel_weight(self) -> torch.Tensor:
        """The folded kernel, kept until the conv weight changes (it costs a pass over the weight)."""
        weight = self.conv.weight
        key = (weight.data_ptr(), weight._version, weight.dtype, weight.device)
        cached = getattr(self, "_folded", None)
        if cached is None or cached[0] != key:
            cached = (key, subpixel_weight(weight.detach()))
            self._folded = cached
        return cached[1]


# Per output phase, the spans (start, length) of 3x3 taps that land on input offsets 0 and 1.
_PHASE_SPANS = (((0, 1), (1, 2)), ((0, 2), (2, 1)))


def _fold(weight: torch.Tensor, dim: int, phase: int) -> torch.Tensor:
    return torch.cat([weight.narrow(dim, start, length).sum(dim, keepdim=True)
                      for start, length in _PHASE_SPANS[phase]], dim=dim)


def subpixel_weight(weight: torch.Tensor) -> torch.Tensor:
    """(C_out, C_in, 3, 3) -> (4 * C_out, C_in, 2, 2), phase-major: phase 2a+b first."""
    return torch.cat([_fold(_fold(weight, 2, a), 3, b) for a in (0, 1) for b in (0, 1)])


def subpixel_upsample_conv(x: torch.Tensor, folded: torch.Tensor, bias) -> torch.Tensor:
    """conv3x3(nearest_up2(x)) computed as one 2x2 conv on x (`folded` = subpixel_weight of the
    3x3 kernel) and a pixel interleave."""
    b, _, h, w = x.shape
    c = folded.shape[0] // 4
    y = F.conv2d(F.pad(x, (1, 1, 1, 1)), folded,
                 None if bias is None else bias.repeat(4))          # (B, 4C, H+1, W+1)
    phases = [y[:, p * c:(p + 1) * c, a:a + h, bb:bb + w] for p, (a, bb) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1)))]
    out = torch.stack(phases, dim=2).view(b, c, 2, 2, h, w)        # (B, C, a, b, H, W)
    return out.permute(0, 1, 4, 2, 5, 3).reshape(b, c, 2 * h, 2 * w)


def run_blocks(blocks: nn.ModuleList, x: torch.Tensor, checkpointing: bool) -> torch.Tensor:
    """Run a stack of blocks, with activation checkpointing when training asks for it."""
    for block in blocks:
        if checkpointing and torch.is_grad_enabled():
            x = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
        else:
            x = block(x)
    return x
