import math

import numpy as np
import pytest

from evaluators.tokenizer.frechet import GaussianStats, feature_frechet_distance, frechet_distance


def stats(mean, cov):
    return GaussianStats(np.asarray(mean, float), np.asarray(cov, float), 100)


def test_commuting_covariances_match_the_closed_form():
    # Same eigenvectors: the trace term is sum sqrt(a_i b_i), so
    # d = |mu1-mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2 = 14 + (1-2)^2 + (2-1)^2 + (3-4)^2 = 17
    rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    a = stats([1, 2, 3], rotation @ np.diag([1, 4, 9]) @ rotation.T)
    b = stats([0, 0, 0], rotation @ np.diag([4, 1, 16]) @ rotation.T)
    assert frechet_distance(a, b) == pytest.approx(17.0)


def test_non_commuting_2x2_case():
    # For 2x2 PSD M: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)); here tr(S1 S2) = 8, det = 3 * 3,
    # so d = tr S1 + tr S2 - 2 sqrt(8 + 2*3) = 8 - 2 sqrt(14)
    a = stats([0, 0], [[2, 1], [1, 2]])
    b = stats([0, 0], [[1, 0], [0, 3]])
    assert frechet_distance(a, b) == pytest.approx(8 - 2 * math.sqrt(14))
    assert frechet_distance(b, a) == pytest.approx(8 - 2 * math.sqrt(14))


def test_identical_rank_deficient_sets_are_at_distance_zero():
    features = np.random.default_rng(1).normal(size=(5, 16))  # fewer samples than dimensions
    s = GaussianStats.of(features)
    # zero eigenvalues make the square root ill-conditioned; error stays far below trace(S) ~ 16
    assert frechet_distance(s, s) == pytest.approx(0.0, abs=1e-5)


def test_stats_use_the_unbiased_covariance():
    s = GaussianStats.of(np.array([[0.0], [2.0]]))
    assert s.mean.tolist() == [1.0] and float(s.covariance) == 2.0 and s.count == 2


def test_shape_errors():
    with pytest.raises(ValueError, match="N>=2"):
        GaussianStats.of(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="feature sizes differ"):
        frechet_distance(stats([0], [[1]]), stats([0, 0], np.eye(2)))


def test_closed_form_for_diagonal_gaussians():
    a = GaussianStats(np.array([0.0, 1.0, 2.0]), np.diag([1.0, 4.0, 9.0]), 10)
    b = GaussianStats(np.array([1.0, 1.0, 0.0]), np.diag([4.0, 1.0, 1.0]), 10)
    expected = 1 + 0 + 4 + sum(x + y - 2 * np.sqrt(x * y) for x, y in [(1, 4), (4, 1), (9, 1)])
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_feature_sets_zero_for_equal_and_shift_adds_squared_mean_difference():
    import torch
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert feature_frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert feature_frechet_distance(x, x + 1.0) == pytest.approx(8.0, rel=1e-6)
