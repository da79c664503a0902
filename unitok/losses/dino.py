"""DINOv2 ViT-S/14 trunk, written to load `dinov2_vits14_pretrain.pth` strictly.

Only what the UniTok discriminator needs: patch embedding, CLS token, bicubically resized position
embeddings, 12 pre-norm blocks with layer scale, and the outputs of chosen blocks (before the final
norm). `mask_token` and `norm` exist only so the official checkpoint loads without leftovers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from unitok.modules.layers import SelfAttention


@dataclass(frozen=True)
class DinoConfig:
    dim: int = 384
    depth: int = 12
    num_heads: int = 6
    patch_size: int = 14
    mlp_ratio: float = 4.0
    pretrain_img_size: int = 518  # 37 x 37 patches -> pos_embed (1, 1 + 1369, dim)
    layer_scale_init: float = 1.0
    # DINOv2 resizes its position grid by (n + offset) / grid instead of n / grid (a legacy trick).
    interpolate_offset: float = 0.1


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class LayerScale(nn.Module):
    def __init__(self, dim: int, init: float):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Block(nn.Module):
    def __init__(self, cfg: DinoConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.attn = SelfAttention(cfg.dim, cfg.num_heads)
        self.ls1 = LayerScale(cfg.dim, cfg.layer_scale_init)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.mlp = Mlp(cfg.dim, int(cfg.dim * cfg.mlp_ratio))
        self.ls2 = LayerScale(cfg.dim, cfg.layer_scale_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, cfg: DinoConfig):
        super().__init__()
        self.proj = nn.Conv2d(3, cfg.dim, kernel_size=cfg.patch_size, stride=cfg.patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoViT(nn.Module):
    def __init__(self, cfg: DinoConfig = DinoConfig()):
        super().__init__()
        self.cfg = cfg
        grid = cfg.pretrain_img_size // cfg.patch_size
        self.patch_embed = PatchEmbed(cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, cfg.dim))
        self.mask_token = nn.Parameter(torch.zeros(1, cfg.dim))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)

    @property
    def patch_size(self) -> int:
        return self.cfg.patch_size

    def position_embedding(self, h_patches: int, w_patches: int) -> torch.Tensor:
        cls_pos, patch_pos = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        grid = int(math.isqrt(patch_pos.shape[1]))
        if (h_patches, w_patches) == (grid, grid):
            return self.pos_embed
        off = self.cfg.interpolate_offset
        patch_pos = F.interpolate(
            patch_pos.float().reshape(1, grid, grid, -1).permute(0, 3, 1, 2),
            scale_factor=((h_patches + off) / grid, (w_patches + off) / grid), mode="bicubic", antialias=False)
        if patch_pos.shape[-2:] != (h_patches, w_patches):
            raise ValueError(f"position grid resized to {tuple(patch_pos.shape[-2:])}, wanted {(h_patches, w_patches)}")
        return torch.cat([cls_pos, patch_pos.flatten(2).transpose(1, 2).to(cls_pos.dtype)], dim=1)

    def intermediate_layers(self, x: torch.Tensor, block_ids: Sequence[int]
                            ) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """(patch tokens (B, N, C), class token (B, C)) after each listed block, un-normalised."""
        if x.shape[-2] % self.patch_size or x.shape[-1] % self.patch_size:
            raise ValueError(f"image size {tuple(x.shape[-2:])} is not a multiple of the patch size {self.patch_size}")
        if max(block_ids) >= len(self.blocks) or min(block_ids) < 0:
            raise ValueError(f"block ids {tuple(block_ids)} out of range for depth {len(self.blocks)}")
        hp, wp = x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size
        tokens = self.patch_embed(x)
        tokens = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        tokens = tokens + self.position_embedding(hp, wp)
        wanted, outs = set(block_ids), {}
        for i, block in enumerate(self.blocks[: max(block_ids) + 1]):
            tokens = block(tokens)
            if i in wanted:
                outs[i] = (tokens[:, 1:], tokens[:, 0])
        return [outs[i] for i in block_ids]
