"""Frechet distance between two Gaussians fitted to feature sets (the statistic behind FID):

    d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr( (S1^1/2 S2 S1^1/2)^1/2 )

The trace term is computed from the symmetric matrix S1^1/2 S2 S1^1/2, whose eigenvalues are
real and non-negative, instead of the non-symmetric product S1 S2: no complex parts to discard,
and numpy alone suffices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianStats:
    mean: np.ndarray
    covariance: np.ndarray
    count: int

    @classmethod
    def of(cls, features: np.ndarray) -> "GaussianStats":
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[0] < 2:
            raise ValueError(f"need a (N>=2, D) feature array, got shape {features.shape}")
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
