"""ViTamin-style hybrid encoder: conv stem, two MBConv stages, strided conv, ViT trunk.

Total stride 16. No positional embedding: `pos_embed` is a frozen zero tensor kept only so that
official checkpoints load strictly. Key names follow timm's VisionTransformer + HybridEmbed.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import UniTokConfig
from .layers import LN_EPS, DropPath, LayerNorm2d, LayerNormGelu2d, TransformerBlock, run_blocks


class Stem(nn.Module):
    """conv 3x3/s2 -> LayerNorm2d + GELU -> conv 3x3."""

    def __init__(self, in_chs: int, out_chs: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chs, out_chs, 3, stride=2, padding=1)
        self.norm1 = LayerNormGelu2d(out_chs, eps=LN_EPS)
        self.conv2 = nn.Conv2d(out_chs, out_chs, 3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.norm1(self.conv1(x)))


class Downsample2d(nn.Module):
    """Average pool 3x3/s2 (padding excluded from the mean), then 1x1 conv if widths differ."""

    def __init__(self, in_chs: int, out_chs: int):
        super().__init__()
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.expand = nn.Conv2d(in_chs, out_chs, 1) if in_chs != out_chs else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand(self.pool(x))


class MbConvBlock(nn.Module):
    """Pre-norm inverted bottleneck: LN2d -> 1x1 expand -> GELU -> depthwise 3x3 -> GELU -> 1x1."""

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, expand_ratio: float = 4.0, drop_path: float = 0.0):
        super().__init__()
        mid = int(out_chs * expand_ratio)
        if stride == 2:
            self.shortcut = Downsample2d(in_chs, out_chs)
        elif in_chs != out_chs:
            self.shortcut = nn.Conv2d(in_chs, out_chs, 1)
        else:
            self.shortcut = nn.Identity()
        self.pre_norm = LayerNorm2d(in_chs, eps=LN_EPS)
        self.conv1_1x1 = nn.Conv2d(in_chs, mid, 1)
        self.conv2_kxk = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=mid)
        self.conv3_1x1 = nn.Conv2d(mid, out_chs, 1)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(x)
        x = F.gelu(self.conv1_1x1(self.pre_norm(x)))
        x = self.conv3_1x1(F.gelu(self.conv2_kxk(x)))
        return self.drop_path(x) + shortcut


class StridedConv(nn.Module):
    """LN2d then conv 3x3/s2 into the trunk width."""

    def __init__(self, in_chs: int, out_chs: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chs, out_chs, 3, stride=2, padding=1)
        self.norm = LayerNorm2d(in_chs, eps=LN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.norm(x))


class ConvBackbone(nn.Module):
    """Stem (/2) + stage 0 (/2) + stage 1 (/2) + pool (/2): pixels -> (B, width, H/16, W/16)."""

    def __init__(self, config: UniTokConfig):
        super().__init__()
        self.stem = Stem(3, config.stem_width)
        stages, in_chs = [], config.stem_width
        for width, depth in zip(config.stage_widths, config.stage_depths):
            blocks = [MbConvBlock(in_chs if d == 0 else width, width, stride=2 if d == 0 else 1,
                                  expand_ratio=config.mbconv_expand_ratio) for d in range(depth)]
            stages.append(nn.Sequential(*blocks))
            in_chs = width
        self.stages = nn.Sequential(*stages)
        self.pool = StridedConv(in_chs, config.width)

    def forward(self, x: torch.Tensor, checkpointing: bool = False) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = run_blocks(stage, x, checkpointing)
        return self.pool(x)


class HybridEmbed(nn.Module):
    def __init__(self, config: UniTokConfig):
        super().__init__()
        self.backbone = ConvBackbone(config)

    def forward(self, x: torch.Tensor, checkpointing: bool = False) -> torch.Tensor:
        return self.backbone(x, checkpointing).flatten(2).transpose(1, 2)


class ViTaminEncoder(nn.Module):
    """Images (B, 3, H, W) -> tokens (B, num_query + H/16 * W/16, width), raster order."""

    def __init__(self, config: UniTokConfig):
        super().__init__()
        self.num_query = config.num_query
        self.grad_checkpointing = config.grad_ckpt
        if config.num_query > 0:
            self.reg_token = nn.Parameter(torch.zeros(1, config.num_query, config.width))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1, config.width), requires_grad=False)
        self.patch_embed = HybridEmbed(config)
        rates = [config.drop_path * i / max(1, config.depth - 1) for i in range(config.depth)]
        self.blocks = nn.Sequential(*[TransformerBlock(config.width, config.num_heads, config.mlp_ratio, rates[i])
                                      for i in range(config.depth)])
        self.norm = nn.LayerNorm(config.width, eps=LN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x, self.grad_checkpointing)
        if self.num_query > 0:
            x = torch.cat((self.reg_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.pos_embed
        return self.norm(run_blocks(self.blocks, x, self.grad_checkpointing))
