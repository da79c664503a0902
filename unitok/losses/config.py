"""Weights and schedule of the UniTok tokenizer objective (official defaults)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass
class UniTokLossConfig:
    """L = l1*L1 + l2*L2 + lpips*LPIPS + vq*Lvq + entropy*Lent + clip*Lclip + w_g*Lgan, where
    w_g = ramp * gan * adaptive ratio (or ramp * gan when `gan_adaptive` is off)."""

    l1: float = 0.2
    l2: float = 1.0
    lpips: float = 1.0
    vq: float = 1.0
    entropy: float = 0.0
    clip: float = 1.0
    gan: float = 0.4
    gan_adaptive: bool = True
    adaptive_min: float = 0.015
    adaptive_max: float = 1e4
    disc_start_epoch: float = 0.375
    disc_warmup_epoch: float = 0.03
    bcr: float = 4.0
    bcr_cutout: float = 0.2
    disc_aug_prob: float = 1.0
    lpips_min_resolution: int = 48
    lpips_weights: Optional[str] = None
    lpips_samples: int = 0               # LPIPS on the first N images of each batch; 0 = all (official)
    dino_weights: Optional[str] = None
    clip_local_loss: bool = True
    clip_gather_with_grad: bool = True

    def __post_init__(self):
        for name in ("l1", "l2", "lpips", "vq", "entropy", "clip", "gan", "bcr", "disc_warmup_epoch", "lpips_samples"):
            if getattr(self, name) < 0:
                raise ValueError(f"loss weight {name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.adaptive_min <= self.adaptive_max:
            raise ValueError(f"need 0 < adaptive_min <= adaptive_max, got {self.adaptive_min}, {self.adaptive_max}")

    def disc_iters(self, iters_per_epoch: int) -> Tuple[int, int]:
        """(start iteration, warm-up iterations) of the GAN term for a run of `iters_per_epoch`."""
        if iters_per_epoch <= 0:
            raise ValueError(f"iters_per_epoch must be positive, got {iters_per_epoch}")
        return round(self.disc_start_epoch * iters_per_epoch), max(1, round(self.disc_warmup_epoch * iters_per_epoch))
