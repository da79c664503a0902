"""The GAN half of a training step: DINOv2 discriminator, DiffAug, hinge + bcr, adaptive weight.

Off until `disc_start` steps, then ramped in over `disc_warmup` steps (official 0.375 / 0.03 of
the run). Without `dino_weights` the DINO trunk is random; the run says so at start.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn

from unitok.losses.diffaug import DiffAug, cutout
from unitok.losses.discriminator import DinoDiscriminator
from unitok.losses.gan import adaptive_gan_weight, bcr_loss, disc_schedules, frozen, generator_loss, hinge_d_loss

from .config import LossConfig


class Adversarial:
    def __init__(self, cfg: LossConfig, total_steps: int, device: torch.device):
        self.cfg = cfg
        self.disc = DinoDiscriminator(dino_weights=cfg.dino_weights).to(device)
        self.status = f"on (DINO trunk: {cfg.dino_weights or 'RANDOM, no --dino-weights given'})"
        self.start = int(round(cfg.disc_start_frac * total_steps))
        self.warmup = max(1, int(round(cfg.disc_warmup_frac * total_steps)))
        self.aug = DiffAug()
        self.wrapped: nn.Module = self.disc      # replaced by a DDP wrapper when distributed

    def schedule(self, step: int):
        return disc_schedules(step, self.start, self.warmup)

    def generator_term(self, rec: torch.Tensor, nll: torch.Tensor, last_layer: torch.Tensor, step: int,
                       metrics: Dict[str, torch.Tensor]) -> Optional[torch.Tensor]:
        ramp, blur = self.schedule(step)
        if ramp <= 0:
            return None
        with frozen(self.disc):
            g_loss = generator_loss(self.disc(self.aug(rec, blur)))
        weight = ramp * self.cfg.gan_weight * adaptive_gan_weight(nll, g_loss, last_layer)
        metrics["gan_g"], metrics["gan_weight"] = g_loss.detach(), weight.detach()
        return weight * g_loss

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor, step: int,
                           metrics: Dict[str, torch.Tensor]) -> Optional[torch.Tensor]:
        ramp, blur = self.schedule(step)
        if ramp <= 0:
            return None
        x = self.aug(torch.cat([real, fake.detach()]), blur)
        logits = self.wrapped(torch.cat([x, cutout(x, 0.2)]))   # normal and strongly augmented views
        n = real.shape[0]
        lr, lf, sr, sf = logits[:n], logits[n:2 * n], logits[2 * n:3 * n], logits[3 * n:]
        d_loss = hinge_d_loss(lr, lf)
        bcr = bcr_loss(sr, lr, sf, lf)
        metrics["disc"], metrics["bcr"] = d_loss.detach(), bcr.detach()
        return d_loss + self.cfg.bcr * bcr
