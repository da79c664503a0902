"""CLIP contrastive loss for the UniTok image/text heads (open_clip `ClipLoss` semantics).

Each rank scores its LOCAL features against the features of ALL ranks (local_loss) gathered with
autograd (gather_with_grad), so a 16k global batch gives 16k negatives without materialising the
full 16k x 16k logit matrix on any rank. With equal local batches, the mean of the per-rank losses
equals the single-process loss on the concatenated batch, and DDP's gradient averaging recovers its
gradient exactly.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


def _distributed() -> Tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate `x` from every rank along dim 0; gradients flow back to each rank's slice."""
    from torch.distributed.nn.functional import all_gather  # autograd-aware collective
    return torch.cat(all_gather(x.contiguous()), dim=0)


class ClipLoss(nn.Module):
    """Symmetric InfoNCE: mean of image->text and text->image cross-entropies.

    `logit_scale` is the multiplicative temperature (already exponentiated, as the UniTok model
    outputs it).
    """

    def __init__(self, local_loss: bool = True, gather_with_grad: bool = True):
        super().__init__()
        if not gather_with_grad and not local_loss:
            # Without gradients through the gather, the non-local rows would carry no gradient at all.
            raise ValueError("gather_with_grad=False requires local_loss=True")
        self.local_loss = local_loss
        self.gather_with_grad = gather_with_grad

    def _gather(self, x: torch.Tensor, rank: int, world: int) -> torch.Tensor:
        if self.gather_with_grad:
            return gather_with_grad(x)
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x.contiguous())
        parts[rank] = x  # keep the autograd path for this rank's own rows
        return torch.cat(parts, dim=0)

    def logits(self, image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits_per_image, logits_per_text, labels) for this rank."""
        if image.shape != text.shape or image.ndim != 2:
            raise ValueError(f"image/text features must both be (N, D); got {tuple(image.shape)} and {tuple(text.shape)}")
        rank, world = _distributed()
        n = image.shape[0]
        labels = torch.arange(n, device=image.device)
        if world == 1:
            per_image = logit_scale * image @ text.T
            return per_image, per_image.T, labels
        all_image, all_text = self._gather(image, rank, world), self._gather(text, rank, world)
        if self.local_loss:
            # Local rows against the global columns: row i's positive sits at column rank*n + i.
            return logit_scale * image @ all_text.T, logit_scale * text @ all_image.T, labels + rank * n
        per_image = logit_scale * all_image @ all_text.T
        return per_image, per_image.T, torch.arange(world * n, device=image.device)

    def forward(self, image_features: torch.Tensor, text_features: torch.Tensor,
                logit_scale: torch.Tensor, output_dict: bool = False):
        per_image, per_text, labels = self.logits(image_features, text_features, logit_scale)
        loss = (F.cross_entropy(per_image, labels) + F.cross_entropy(per_text, labels)) / 2
        return {"contrastive_loss": loss} if output_dict else loss
