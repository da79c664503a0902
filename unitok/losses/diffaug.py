"""Differentiable augmentation for discriminator inputs (StyleGAN-T / UniTok DiffAug).

Every op is applied with probability `prob` (the draw is shared by the whole batch, the magnitudes
are per sample), and is differentiable w.r.t. the image so the generator loss can flow through it.
A warm-up Gaussian blur hides high frequencies from a freshly started discriminator: its sigma is
`blur_schedule * sqrt(H / 2)` and the trainer fades `blur_schedule` from 1 to 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class DiffAugConfig:
    prob: float = 1.0
    translation: float = 0.125  # max shift as a fraction of the side
    cutout: float = 0.2  # side of the zeroed square as a fraction of the image side

    def __post_init__(self):
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {self.prob}")
        if not 0.0 <= self.cutout < 1.0 or not 0.0 <= self.translation < 1.0:
            raise ValueError(f"cutout/translation fractions must be in [0, 1), got {self.cutout}/{self.translation}")


def blur_sigma(height: int, blur_schedule: float) -> float:
    return math.sqrt(height / 2) * blur_schedule


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable blur with reflect padding. The official kernel is 2^-(t/sigma)^2, i.e. a Gaussian of
    standard deviation sigma / sqrt(2 ln 2); it is truncated at floor(3 sigma) taps each side."""
    radius = math.floor(3 * sigma)
    if radius < 1:
        return x
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp2(-(t / sigma).square())
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.pad(x, [radius] * 4, mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)


def translate(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """Shift each sample by up to +-ratio of its size; uncovered pixels become 0."""
    b, _, h, w = x.shape
    dh, dw = round(h * ratio), round(w * ratio)
    sh = torch.randint(-dh, dh + 1, (b, 1, 1), device=x.device)
    sw = torch.randint(-dw, dw + 1, (b, 1, 1), device=x.device)
    # Index into a 1-pixel zero border: source coordinates outside the image land on the border.
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + sh + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + sw + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2)


def color(x: torch.Tensor) -> torch.Tensor:
    """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5], per sample."""
    b = x.shape[0]
    r = torch.rand(3, b, 1, 1, 1, dtype=x.dtype, device=x.device)
    x = x + (r[0] - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (2 * r[1]) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (r[2] + 0.5) + mean


def cutout(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero one square of side ratio * size per sample; its centre may sit anywhere, so the square
    can be partly outside the image."""
    b, _, h, w = x.shape
    ch, cw = round(h * ratio), round(w * ratio)
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch) &
              (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw))
    return x * (~inside).unsqueeze(1).to(x.dtype)


class DiffAug:
    """Callable augmenter: `DiffAug(cfg)(images, blur_schedule)`."""

    def __init__(self, cfg: DiffAugConfig = DiffAugConfig()):
        self.cfg = cfg

    def __call__(self, x: torch.Tensor, blur_schedule: float = 0.0) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"DiffAug expects (B, C, H, W), got {tuple(x.shape)}")
        x = x.float()
        if blur_schedule > 0:
            x = gaussian_blur(x, blur_sigma(x.shape[-2], blur_schedule))
        if self.cfg.prob <= 0:
            return x
        do_translate, do_color, do_cutout = (torch.rand(3) < self.cfg.prob).tolist()
        if do_translate and self.cfg.translation > 0:
            x = translate(x, self.cfg.translation)
        if do_color:
            x = color(x)
        if do_cutout and self.cfg.cutout > 0:
            x = cutout(x, self.cfg.cutout)
        return x
