"""Pixel reconstruction losses on images in [-1, 1] (UniTok weights: 0.2 * L1 + 1.0 * L2)."""
from __future__ import annotations

import torch


def _check_same_shape(rec: torch.Tensor, target: torch.Tensor) -> None:
    if rec.shape != target.shape:
        raise ValueError(f"reconstruction shape {tuple(rec.shape)} != target shape {tuple(target.shape)}")


def l1_loss(rec: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over every pixel and channel."""
    _check_same_shape(rec, target)
    return (rec.float() - target.float()).abs().mean()


def l2_loss(rec: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every pixel and channel."""
    _check_same_shape(rec, target)
    return (rec.float() - target.float()).square().mean()
