"""ViT decoder + convolutional upsamplers (x16): tokens -> pixels."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import UniTokConfig
from .layers import LN_EPS, DropPath, LayerNorm2d, LayerNormGelu2d, TransformerBlock, Upsample2d, run_blocks


class InvMbConvBlock(nn.Module):
    """Inverted MBConv that upsamples: LN2d -> 1x1 -> GELU -> [x2 + conv3x3] -> dw3x3 -> GELU -> 1x1."""

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, expand_ratio: float = 4.0, drop_path: float = 0.0):
        super().__init__()
        mid = int(out_chs * expand_ratio)
        if stride == 2:
            self.shortcut = Upsample2d(in_chs, out_chs)
        elif in_chs != out_chs:
            self.shortcut = nn.Conv2d(in_chs, out_chs, 1)
        else:
            self.shortcut = nn.Identity()
        self.pre_norm = LayerNorm2d(in_chs, eps=LN_EPS)
        self.conv1_1x1 = nn.Conv2d(in_chs, mid, 1)
        self.up = Upsample2d(mid, mid) if stride == 2 else nn.Identity()
        self.conv2_kxk = nn.Conv2d(mid, mid, 3, padding=1, groups=mid)
        self.conv3_1x1 = nn.Conv2d(mid, out_chs, 1)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(x)
        x = self.up(F.gelu(self.conv1_1x1(self.pre_norm(x))))
        x = self.conv3_1x1(F.gelu(self.conv2_kxk(x)))
        return self.drop_path(x) + shortcut


class InvStem(nn.Module):
    """Last x2 upsampling, LN2d + GELU, conv 3x3 to RGB (`conv2` is the GAN's 'last layer')."""

    def __init__(self, in_chs: int, out_chs: int = 3):
        super().__init__()
        self.conv1 = Upsample2d(in_chs, in_chs)
        self.norm1 = LayerNormGelu2d(in_chs, eps=LN_EPS)
        self.conv2 = nn.Conv2d(in_chs, out_chs, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.norm1(self.conv1(x)))


class ViTaminDecoder(nn.Module):
    """(B, num_query + h*w, width) -> (B, 3, 16h, 16w). The token grid must be square."""

    def __init__(self, config: UniTokConfig):
        super().__init__()
        self.num_query = config.num_query
        self.grad_checkpointing = config.grad_ckpt
        rates = [config.drop_path * i / max(1, config.decoder_depth - 1) for i in range(config.decoder_depth)]
        self.blocks = nn.Sequential(*[TransformerBlock(config.width, config.num_heads, config.mlp_ratio, rates[i])
                                      for i in range(config.decoder_depth)])
        self.norm = nn.LayerNorm(config.width, eps=LN_EPS)
        w0, w1, w2 = config.decoder_widths
        d1, d2 = config.decoder_up_depths
        self.up_conv1 = Upsample2d(w0, w1)
        self.up_conv2 = nn.Sequential(*[InvMbConvBlock(w1, w1, stride=2 if d == 0 else 1) for d in range(d1)])
        self.up_conv3 = nn.Sequential(*[InvMbConvBlock(w1 if d == 0 else w2, w2, stride=2 if d == 0 else 1)
                                        for d in range(d2)])
        self.up_conv4 = InvStem(w2, 3)

    def forward(self, x: torch.Tensor, grid: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """`grid` = (h, w) of the token grid; without it the grid must be square."""
        b, length, c = x.shape
        positions = length - self.num_query
        if grid is None:
            side = int(round(positions ** 0.5))
            if side * side != positions:
                raise ValueError(f"cannot infer the token grid of {positions} positions: it is not square; "
                                 "pass codes shaped (B, num_codebooks, H, W) for a non-square grid")
            grid = (side, side)
        if grid[0] * grid[1] != positions:
            raise ValueError(f"token grid {grid} does not hold {positions} positions")
        x = run_blocks(self.blocks, x, self.grad_checkpointing)
        x = self.norm(x[:, self.num_query:])
        x = x.transpose(1, 2).reshape(b, c, grid[0], grid[1])
        x = self.up_conv1(x)
        x = run_blocks(self.up_conv2, x, self.grad_checkpointing)
        x = run_blocks(self.up_conv3, x, self.grad_checkpointing)
        return self.up_conv4(x)
