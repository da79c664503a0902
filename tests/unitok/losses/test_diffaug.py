import math

import pytest
import torch

from unitok.losses.diffaug import DiffAug, DiffAugConfig, blur_sigma, color, cutout, gaussian_blur, translate


def test_no_augmentation_when_prob_zero_and_no_blur():
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(DiffAug(DiffAugConfig(prob=0.0))(x), x)


def test_translation_is_a_zero_filled_shift_within_range():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 16, 16) + 1  # strictly positive, so the zero fill is recognisable
    out = translate(x, 0.125)
    limit = round(16 * 0.125)
    for b in range(4):
        matches = []
        for dy in range(-limit, limit + 1):
            for dx in range(-limit, limit + 1):
                ref = torch.zeros_like(x[b])
                # out[i, j] = x[i + dy, j + dx] where that source exists
                src = x[b, :, max(dy, 0):16 + min(dy, 0), max(dx, 0):16 + min(dx, 0)]
                ref[:, max(-dy, 0):16 + min(-dy, 0), max(-dx, 0):16 + min(-dx, 0)] = src
                if torch.equal(out[b], ref):
                    matches.append((dy, dx))
        assert len(matches) == 1, f"sample {b}: {matches}"


def test_cutout_zeros_one_clipped_square():
    torch.manual_seed(1)
    out = cutout(torch.ones(16, 1, 20, 20), 0.2)  # side round(4)
    for b in range(16):
        zero_rows = torch.nonzero((out[b, 0] == 0).any(dim=1)).flatten()
        zero_cols = torch.nonzero((out[b, 0] == 0).any(dim=0)).flatten()
        h, w = len(zero_rows), len(zero_cols)
        assert 2 <= h <= 4 and 2 <= w <= 4
        assert (out[b, 0] == 0).sum().item() == h * w  # a filled rectangle
        assert zero_rows.diff().eq(1).all() and zero_cols.diff().eq(1).all()


def test_color_keeps_gray_images_gray_and_is_differentiable():
    torch.manual_seed(2)
    gray = torch.rand(3, 1, 8, 8).expand(3, 3, 8, 8).clone().requires_grad_()
    out = color(gray)
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 1], out[:, 2])
    out.sum().backward()
    assert gray.grad is not None


def test_blur_sigma_schedule_and_kernel_spread():
    assert blur_sigma(256, 1.0) == pytest.approx(math.sqrt(128))
    sigma = blur_sigma(64, 0.5)
    impulse = torch.zeros(1, 1, 64, 64)
    impulse[0, 0, 32, 32] = 1.0
    out = gaussian_blur(impulse, sigma)
    assert out.sum().item() == pytest.approx(1.0, rel=1e-5)
    row = out[0, 0].sum(dim=1)
    t = torch.arange(64, dtype=torch.float32) - 32
    # Kernel exp(-ln2 (t/sigma)^2) on the taps |t| <= floor(3 sigma): spread computed independently,
    # which is within 1% of the untruncated Gaussian variance sigma^2 / (2 ln 2).
    taps = range(-math.floor(3 * sigma), math.floor(3 * sigma) + 1)
    weights = [math.exp(-math.log(2) * (k / sigma) ** 2) for k in taps]
    expected = sum(wk * k * k for wk, k in zip(weights, taps)) / sum(weights)
    assert (row * t.square()).sum().item() == pytest.approx(expected, rel=1e-4)
    assert expected == pytest.approx(sigma ** 2 / (2 * math.log(2)), rel=1e-2)


def test_blur_leaves_constant_images_and_tiny_sigma_unchanged():
    x = torch.full((1, 3, 32, 32), 0.3)
    assert torch.allclose(DiffAug(DiffAugConfig(prob=0.0))(x, blur_schedule=1.0), x, atol=1e-6)
    y = torch.randn(1, 3, 32, 32)
    assert torch.equal(gaussian_blur(y, 0.3), y)  # radius floor(0.9) = 0


def test_config_validation():
    with pytest.raises(ValueError, match="prob"):
        DiffAugConfig(prob=1.5)
