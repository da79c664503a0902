"""Adversarial terms of the UniTok objective: hinge loss, balanced consistency regularisation,
generator loss, the VQGAN-style adaptive generator weight and the discriminator schedules."""
from __future__ import annotations

import contextlib
from typing import Iterator, Tuple

import torch
import torch.nn.functional as F
from torch import nn


def hinge_d_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))."""
    return F.relu(1 - logits_real.float()).mean() + F.relu(1 + logits_fake.float()).mean()


def bcr_loss(strong_real: torch.Tensor, logits_real: torch.Tensor,
             strong_fake: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """Balanced consistency regularisation (unweighted): D should score a strongly augmented image
    like the normally augmented one, for real and fake alike. Both sides carry gradient, as in the
    official trainer."""
    return F.mse_loss(strong_real.float(), logits_real.float()) + F.mse_loss(strong_fake.float(), logits_fake.float())


def generator_loss(logits_fake: torch.Tensor) -> torch.Tensor:
    return -logits_fake.float().mean()


def adaptive_gan_weight(nll_loss: torch.Tensor, g_loss: torch.Tensor, last_layer: torch.Tensor,
                        min_weight: float = 0.015, max_weight: float = 1e4, eps: float = 1e-6) -> torch.Tensor:
    """||d nll / d last|| / (||d g / d last|| + eps), clamped; a constant (no gradient flows through it).

    Balances the adversarial gradient against the reconstruction gradient at the decoder's output
    layer, so the GAN term can neither vanish nor swamp reconstruction as the discriminator evolves.
    """
    if not last_layer.requires_grad:
        raise ValueError("last_layer must require grad to measure the adaptive GAN weight")
    nll_grad, = torch.autograd.grad(nll_loss, last_layer, retain_graph=True)
    g_grad, = torch.autograd.grad(g_loss, last_layer, retain_graph=True)
    return (nll_grad.detach().norm() / (g_grad.detach().norm() + eps)).clamp(min_weight, max_weight)


def disc_schedules(iteration: int, start_iter: int, warmup_iters: int) -> Tuple[float, float]:
    """(GAN ramp, blur schedule) at `iteration`.

    The ramp is 0 before `start_iter`, then rises linearly to 1 over `warmup_iters`; the blur
    schedule falls linearly from 1 to 0 over twice that window once the discriminator is on.
    """
    if warmup_iters <= 0:
        raise ValueError(f"warmup_iters must be positive, got {warmup_iters}")
    elapsed = iteration - start_iter
    if elapsed < 0:
        return 0.0, 0.0
    ramp = min(1.0, elapsed / warmup_iters)
    blur = 1.0 - min(1.0, elapsed / (2 * warmup_iters))
    return ramp, blur


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no parameter gradients for the duration (the generator step must not
    accumulate gradients into the discriminator); previous flags are restored afterwards."""
    was_training = module.training
    flags = [(p, p.requires_grad) for p in module.parameters()]
    module.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        module.train(was_training)
