"""Fréchet distance between Gaussian fits of two feature sets (the statistic behind FID):

    d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)

The cross term comes from the symmetric matrix S1^1/2 S2 S1^1/2, whose eigenvalues are real and
non-negative, instead of the non-symmetric S1 S2: no complex parts to discard, numpy alone suffices.
Report it as "FD-<network>": it is "FID" only with the TF-Inception weights, and distances from
different feature networks must never be compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class GaussianStats:
    mean: np.ndarray
    covariance: np.ndarray
    count: int

    @classmethod
    def of(cls, features) -> "GaussianStats":
        if isinstance(features, torch.Tensor):
            features = features.detach().double().cpu().numpy()
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[0] < 2:
            raise ValueError(f"need a (N>=2, D) feature array for a covariance, got shape {features.shape}")
        return cls(features.mean(axis=0), np.cov(features, rowvar=False), features.shape[0])


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"feature sizes differ: {a.mean.shape} vs {b.mean.shape}")
    root_a = _psd_sqrt(a.covariance)
    middle = root_a @ b.covariance @ root_a
    trace_cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    diff = a.mean - b.mean
    return float(diff @ diff + np.trace(a.covariance) + np.trace(b.covariance) - 2.0 * trace_cross)


def feature_frechet_distance(real, fake) -> float:
    """Distance between two (N, D) feature sets (tensors or arrays)."""
    return frechet_distance(GaussianStats.of(real), GaussianStats.of(fake))
