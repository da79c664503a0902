import math

import pytest
import torch
from torch import nn

from unitok.losses.gan import adaptive_gan_weight, bcr_loss, disc_schedules, frozen, generator_loss, hinge_d_loss


def test_hinge_loss_on_known_logits():
    real = torch.tensor([2.0, 0.5, -1.0])  # relu(1 - x) = 0, 0.5, 2
    fake = torch.tensor([-2.0, 0.0, 0.5])  # relu(1 + x) = 0, 1, 1.5
    assert hinge_d_loss(real, fake).item() == pytest.approx(2.5 / 3 + 2.5 / 3)


def test_bcr_on_known_logits():
    # real: squared errors 1, 4 -> 2.5; fake: 0, 4 -> 2.0
    loss = bcr_loss(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0]),
                    torch.tensor([1.0, 1.0]), torch.tensor([1.0, 3.0]))
    assert loss.item() == pytest.approx(4.5)


def test_generator_loss_is_negative_mean_logit():
    assert generator_loss(torch.tensor([[1.0, -3.0], [2.0, 4.0]])).item() == pytest.approx(-1.0)


def _last_layer_setup(target: float, g_scale: float):
    """y = W x with W = [[0.5, -1]], x = [2, 1] -> y = 0; nll = (y - t)^2, g = -g_scale * y."""
    w = torch.tensor([[0.5, -1.0]], requires_grad=True)
    x = torch.tensor([2.0, 1.0])
    y = (w @ x).squeeze()
    return w, (y - target) ** 2, -g_scale * y


def test_adaptive_weight_matches_hand_computation():
    w, nll, g = _last_layer_setup(target=1.0, g_scale=3.0)
    # d nll/dW = 2 (y - t) x = -2 [2, 1] -> norm 2 sqrt(5); d g/dW = -3 x -> norm 3 sqrt(5)
    expected = 2 * math.sqrt(5) / (3 * math.sqrt(5) + 1e-6)
    weight = adaptive_gan_weight(nll, g, w)
    assert weight.item() == pytest.approx(expected, rel=1e-6)
    assert not weight.requires_grad


@pytest.mark.parametrize("target,g_scale,expected", [(1e-4, 3.0, 0.015), (1e3, 1e-5, 1e4)])
def test_adaptive_weight_is_clamped(target, g_scale, expected):
    w, nll, g = _last_layer_setup(target, g_scale)
    assert adaptive_gan_weight(nll, g, w).item() == pytest.approx(expected)


def test_adaptive_weight_needs_a_trainable_last_layer():
    w = torch.ones(2)
    with pytest.raises(ValueError, match="require grad"):
        adaptive_gan_weight(w.sum(), w.sum(), w)


@pytest.mark.parametrize("it,expected", [(9, (0.0, 0.0)), (10, (0.0, 1.0)), (12, (0.5, 0.75)),
                                         (14, (1.0, 0.5)), (18, (1.0, 0.0)), (100, (1.0, 0.0))])
def test_disc_schedules_ramp_and_blur_fade(it, expected):
    assert disc_schedules(it, start_iter=10, warmup_iters=4) == pytest.approx(expected)


def test_frozen_context_restores_flags_and_blocks_parameter_grads():
    d = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    d[0].bias.requires_grad_(False)
    d.train()
    x = torch.ones(1, 2, requires_grad=True)
    with frozen(d):
        assert not d.training
        d(x).sum().backward()
    assert d[0].weight.grad is None and x.grad is not None
    assert d.training and d[0].weight.requires_grad and not d[0].bias.requires_grad
