"""Training losses of the unified MLLM, combined exactly as the official forward does.

total = image_loss * Ni / (Ni + Nt) + text_loss * Nt / (Ni + Nt), where Nt counts supervised text
tokens (after the shift) and Ni counts sub-code targets (num_codebooks per image position);
image_loss = CE over sub-codes + Z_LOSS_WEIGHT * mean(max_logit ** 2) (max logit, not logsumexp).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .constants import IGNORE_INDEX, Z_LOSS_WEIGHT


@dataclass
class LossParts:
    loss: torch.Tensor
    text_loss: torch.Tensor
    image_ce: torch.Tensor
    image_z_loss: torch.Tensor
    num_text_targets: int
    num_image_targets: int

    @property
    def image_loss(self) -> torch.Tensor:
        return self.image_ce + self.image_z_loss


def text_loss(logits: torch.Tensor, labels: torch.Tensor):
    """Shifted next-token CE over positions whose label is not IGNORE_INDEX -> (loss, count)."""
    shift_logits = logits[:, :-1].reshape(-1, logits.shape[-1]).float()
    shift_labels = labels[:, 1:].reshape(-1).to(shift_logits.device)
    count = int((shift_labels != IGNORE_INDEX).sum())
    if count == 0:
        # Official code would return NaN here; a zero keeps image-only batches trainable.
        return shift_logits.sum() * 0.0, 0
    return F.cross_entropy(shift_logits, shift_labels, ignore_index=IGNORE_INDEX), count


def image_loss(logits: torch.Tensor, targets: torch.Tensor):
    """Depth-head logits (N, V) and sub-code targets (N,) -> (CE, z-loss)."""
    logits = logits.float()
    ce = F.cross_entropy(logits, targets.to(logits.device))
    z = Z_LOSS_WEIGHT * logits.max(dim=-1).values.pow(2).mean()
    return ce, z


def combine(text: torch.Tensor, num_text: int, image_ce: torch.Tensor, image_z: torch.Tensor,
            num_image: int) -> LossParts:
    total = num_text + num_image
    if total == 0:
        loss = text + image_ce + image_z  # both are zeros that keep the graph connected
    else:
        loss = (image_ce + image_z) * (num_image / total) + text * (num_text / total)
    return LossParts(loss, text, image_ce, image_z, num_text, num_image)
