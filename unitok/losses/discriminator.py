"""DINOv2-feature discriminator (UniTok `DinoDiscV2`, group-norm heads, no spectral norm).

The DINO trunk is frozen and kept outside the module tree (inside a plain list), so it is neither
optimised, nor moved by `.to()` bookkeeping of optimizers, nor written into the discriminator's
state dict: only the five small heads are trained and checkpointed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .dino import DinoConfig, DinoViT

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class DiscriminatorConfig:
    block_ids: Tuple[int, ...] = (0, 2, 5, 8, 11)
    kernel_size: int = 9
    norm_groups: int = 32
    norm_eps: float = 1e-6
    init_gain: float = 0.5
    # Chance of reaching a multiple of 14 by random crop instead of area resize; the official code
    # draws this in train AND eval mode (the generator loss runs the discriminator in eval).
    crop_prob: float = 0.5
    dino: DinoConfig = DinoConfig()


def _conv_norm_act(ch: int, kernel_size: int, cfg: DiscriminatorConfig) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(ch, ch, kernel_size, padding=kernel_size // 2, padding_mode="circular"),
        nn.GroupNorm(cfg.norm_groups, ch, eps=cfg.norm_eps),
        nn.LeakyReLU(0.2),
    )


class ScaledResidual(nn.Module):
    """(f(x) + x) / sqrt(2): keeps the activation variance of the skip path."""

    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.fn(x) + x) / math.sqrt(2)


def make_head(ch: int, cfg: DiscriminatorConfig) -> nn.Sequential:
    return nn.Sequential(_conv_norm_act(ch, 1, cfg), ScaledResidual(_conv_norm_act(ch, cfg.kernel_size, cfg)),
                         nn.Conv1d(ch, 1, kernel_size=1))


class DinoDiscriminator(nn.Module):
    """Images in [-1, 1] -> logits (B, len(block_ids) * N_patches)."""

    def __init__(self, cfg: DiscriminatorConfig = DiscriminatorConfig(), dino_weights: Optional[str | Path] = None):
        super().__init__()
        if cfg.dino.dim % cfg.norm_groups:
            raise ValueError(f"DINO width {cfg.dino.dim} is not divisible by {cfg.norm_groups} norm groups")
        self.cfg = cfg
        dino = DinoViT(cfg.dino)
        if dino_weights is not None:
            load_dino_weights(dino, dino_weights)
        dino.requires_grad_(False).eval()
        self._dino = [dino]  # a list hides it from parameters(), state_dict() and the optimizer
        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        # [-1, 1] -> [0, 1] -> ImageNet normalisation, folded into one affine map.
        self.register_buffer("x_scale", (0.5 / std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("x_shift", ((0.5 - mean) / std).view(1, 3, 1, 1), persistent=False)
        self.heads = nn.ModuleList(make_head(cfg.dino.dim, cfg) for _ in cfg.block_ids)
        self.reset_parameters()

    @property
    def dino(self) -> DinoViT:
        return self._dino[0]

    def reset_parameters(self) -> None:
        for m in self.heads.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.xavier_normal_(m.weight, gain=self.cfg.init_gain)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.GroupNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _apply(self, fn, *args, **kwargs):
        # Keep the hidden trunk on the same device/dtype as the heads.
        self._dino[0] = self._dino[0]._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def resize_to_patches(self, x: torch.Tensor) -> torch.Tensor:
        """Bring H, W down to multiples of the patch size (256 -> 252) by a random crop (with
        probability `crop_prob`) or an area resize; images smaller than one patch are upsampled."""
        p = self.dino.patch_size
        h, w = x.shape[-2:]
        nh, nw = max(p, h // p * p), max(p, w // p * p)
        if (nh, nw) == (h, w):
            return x
        if h < nh or w < nw:
            return F.interpolate(x, size=(nh, nw), mode="bicubic")
        if torch.rand(()).item() < self.cfg.crop_prob:
            top, left = (int(torch.randint(0, span + 1, ())) for span in (h - nh, w - nw))
            return x[..., top:top + nh, left:left + nw]
        return F.interpolate(x, size=(nh, nw), mode="area")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"discriminator expects (B, 3, H, W) images, got {tuple(x.shape)}")
        x = self.resize_to_patches(x.float() * self.x_scale + self.x_shift)
        logits = []
        for head, (patches, cls) in zip(self.heads, self.dino.intermediate_layers(x, self.cfg.block_ids)):
            # DINO's global token is broadcast onto every patch token: local + global evidence.
            feats = (patches + cls.unsqueeze(1)).transpose(1, 2)
            logits.append(head(feats).flatten(1))
        return torch.cat(logits, dim=1)


def load_dino_weights(dino: DinoViT, path_or_state: str | Path | Mapping[str, torch.Tensor]) -> None:
    """Strictly load a `dinov2_vits14_pretrain.pth`-layout state dict (file path or mapping)."""
    if isinstance(path_or_state, Mapping):
        state = dict(path_or_state)
    else:
        path = Path(path_or_state)
        if not path.is_file():
            raise FileNotFoundError(f"DINOv2 weights not found: {path}")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    dino.load_state_dict(state, strict=True)
