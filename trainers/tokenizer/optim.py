"""Optimisers and learning-rate schedule of the official UniTok trainer.

AdamW (eps 1e-6) with weight decay on matrices only: parameters with ndim < 2 or whose name
contains norm / bias / logit_scale keys get none. The schedule is per step: linear warm-up from 0,
then cosine down to `lr_end_ratio * lr`.
"""
from __future__ import annotations

import math
from typing import Dict, List, Tuple

import torch
from torch import nn

from .config import OptimConfig

NO_DECAY_KEYS = ("norm_scale", "norm", "bn", "ln", "bias", "logit_scale")


def no_weight_decay(name: str, param: torch.Tensor) -> bool:
    return param.ndim < 2 or any(key in name for key in NO_DECAY_KEYS)


def param_groups(model: nn.Module, weight_decay: float) -> List[Dict]:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if no_weight_decay(name, param) else decay).append(param)
    if not decay and not no_decay:
        raise ValueError(f"{type(model).__name__} has no trainable parameters")
    return [{"params": decay, "weight_decay": weight_decay, "name": "decay"},
            {"params": no_decay, "weight_decay": 0.0, "name": "no_decay"}]


def build_optimizers(model: nn.Module, disc: nn.Module | None, cfg: OptimConfig
                     ) -> Tuple[torch.optim.AdamW, torch.optim.AdamW | None]:
    opt = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    disc_opt = None
    if disc is not None:
        disc_opt = torch.optim.AdamW(param_groups(disc, cfg.disc_weight_decay), lr=cfg.disc_lr,
                                     betas=cfg.disc_betas, eps=cfg.eps)
    return opt, disc_opt


def lr_factor(step: int, total: int, warmup: int, end_ratio: float) -> float:
    """Multiplier of the base lr at 0-based `step` of `total`."""
    if total <= 0:
        raise ValueError(f"total steps must be positive, got {total}")
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup - 1))
    return end_ratio + (1 - end_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_scheduler(opt: torch.optim.Optimizer, total: int, warmup_frac: float, end_ratio: float
                    ) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = int(round(warmup_frac * total))
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, total, warmup, end_ratio))


@torch.no_grad()
def clamp_logit_scale(model: nn.Module, max_value: float) -> None:
    """Official: logit_scale (the log temperature) kept in [0, ln 100] after every step."""
    model.logit_scale.clamp_(0.0, max_value)
