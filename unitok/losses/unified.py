"""UnifiedLoss: the UniTok generator objective and the discriminator objective, given model outputs.

The tokenizer trainer calls `generator_step` (backprop into UniTok) and then `discriminator_step`
(backprop into the discriminator heads) once the GAN has started.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional

import torch
from torch import nn

from .config import UniTokLossConfig
from .contrastive import ClipLoss
from .diffaug import DiffAug, DiffAugConfig
from .gan import adaptive_gan_weight, bcr_loss, frozen, generator_loss, hinge_d_loss
from .lpips import LPIPS
from .pixel import l1_loss, l2_loss


@dataclass
class LossOutput:
    total: torch.Tensor
    terms: Dict[str, torch.Tensor] = field(default_factory=dict)  # detached, for logging


class UnifiedLoss(nn.Module):
    def __init__(self, cfg: UniTokLossConfig = UniTokLossConfig(), lpips: Optional[LPIPS] = None):
        super().__init__()
        self.cfg = cfg
        if lpips is None and cfg.lpips > 0:
            if cfg.lpips_weights is None:
                raise ValueError("lpips weight > 0 needs real LPIPS weights: set cfg.lpips_weights (see "
                                 "`python -m unitok.losses.lpips convert`) or pass an LPIPS module")
            lpips = LPIPS(cfg.lpips_weights)
        self.lpips = lpips
        self.clip_loss = ClipLoss(cfg.clip_local_loss, cfg.clip_gather_with_grad)
        self.aug = DiffAug(DiffAugConfig(prob=cfg.disc_aug_prob, cutout=0.2))
        self.strong_aug = DiffAug(DiffAugConfig(prob=1.0, cutout=cfg.bcr_cutout))

    def reconstruction_terms(self, img_rec: torch.Tensor, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        terms = {"l1": l1_loss(img_rec, images), "l2": l2_loss(img_rec, images)}
        if self.cfg.lpips > 0 and images.shape[-2] >= self.cfg.lpips_min_resolution:
            # lpips_samples > 0: the batch mean over its first rows only (batches are shuffled, so an
            # unbiased estimate), for CPU runs where LPIPS-VGG16 costs ~9x the tokenizer's own step.
            k = self.cfg.lpips_samples or images.shape[0]
            terms["lpips"] = self.lpips(images[:k], img_rec[:k])
        return terms

    def generator_step(self, outputs: Mapping[str, torch.Tensor], images: torch.Tensor, *,
                       discriminator: Optional[nn.Module] = None, last_layer: Optional[torch.Tensor] = None,
                       gan_ramp: float = 0.0, blur_schedule: float = 0.0) -> LossOutput:
        """`outputs`: the UniTok forward dict (img_rec, vq_loss, entropy_loss, clip_image_features,
        clip_text_features, logit_scale). `images`: the input batch in [-1, 1]; reconstructions cover
        its first img_rec.shape[0] rows. `gan_ramp` > 0 switches the adversarial term on."""
        cfg = self.cfg
        img_rec = outputs["img_rec"]
        terms = self.reconstruction_terms(img_rec, images[: img_rec.shape[0]])
        nll = cfg.l1 * terms["l1"] + cfg.l2 * terms["l2"] + cfg.lpips * terms.get("lpips", 0.0)
        terms["vq"], terms["entropy"] = outputs["vq_loss"], outputs["entropy_loss"]
        total = nll + cfg.vq * terms["vq"] + cfg.entropy * terms["entropy"]
        if cfg.clip > 0:
            if outputs.get("clip_text_features") is None:
                raise ValueError("the CLIP loss is on (clip > 0) but the model got no text")
            terms["clip"] = self.clip_loss(outputs["clip_image_features"], outputs["clip_text_features"],
                                           outputs["logit_scale"])
            total = total + cfg.clip * terms["clip"]
        terms["nll"] = nll
        if gan_ramp > 0 and cfg.gan > 0:
            if discriminator is None:
                raise ValueError("gan_ramp > 0 but no discriminator was given")
            with frozen(discriminator):
                g = generator_loss(discriminator(self.aug(img_rec, blur_schedule)))
            weight = torch.as_tensor(gan_ramp * cfg.gan, device=g.device)
            if cfg.gan_adaptive:
                if last_layer is None:
                    raise ValueError("adaptive GAN weight needs `last_layer` (decoder.up_conv4.conv2.weight)")
                weight = weight * adaptive_gan_weight(nll, g, last_layer, cfg.adaptive_min, cfg.adaptive_max)
            total = total + weight * g
            terms["gan"], terms["gan_weight"] = g, weight
        terms["total"] = total
        return LossOutput(total, {k: torch.as_tensor(v).detach() for k, v in terms.items()})

    def discriminator_step(self, discriminator: nn.Module, images: torch.Tensor, img_rec: torch.Tensor,
                           blur_schedule: float = 0.0) -> LossOutput:
        """Hinge loss on (augmented) real vs reconstructed images, plus `bcr` x consistency. All views
        go through the discriminator in one batch (it normalises per sample, so batching changes no
        value, and a DDP-wrapped discriminator sees one forward per backward)."""
        real, fake = images[: img_rec.shape[0]], img_rec.detach()
        views = [self.aug(real, blur_schedule), self.aug(fake, blur_schedule)]
        if self.cfg.bcr > 0:
            views += [self.strong_aug(real), self.strong_aug(fake)]
        logits = discriminator(torch.cat(views)).float().chunk(len(views))
        logits_real, logits_fake = logits[0], logits[1]
        terms = {"hinge": hinge_d_loss(logits_real, logits_fake)}
        total = terms["hinge"]
        if self.cfg.bcr > 0:
            terms["bcr"] = bcr_loss(logits[2], logits_real, logits[3], logits_fake)
            total = total + self.cfg.bcr * terms["bcr"]
        terms["acc_real"] = (logits_real.detach() > 0).float().mean() * 100
        terms["acc_fake"] = (logits_fake.detach() < 0).float().mean() * 100
        terms["total"] = total
        return LossOutput(total, {k: v.detach() for k, v in terms.items()})
