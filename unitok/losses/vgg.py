"""VGG16 convolutional trunk cut into the five LPIPS slices (torchvision `vgg16().features` indices)."""
from __future__ import annotations

from typing import List, Tuple

import torch
from torch import nn

# torchvision VGG16 configuration "D": conv widths, "M" = 2x2 max-pool. The running index of each
# layer in `features` is kept so that state-dict keys read `net.slice1.0.weight`, `net.slice3.10.bias`...
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
# Slices end right after relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3.
SLICE_ENDS = (4, 9, 16, 23, 30)
# Index (in `features`) of every conv, in order; used by weight converters.
CONV_INDICES: Tuple[int, ...] = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
SLICE_CHANNELS = (64, 128, 256, 512, 512)


def _features() -> List[nn.Module]:
    layers: List[nn.Module] = []
    in_ch = 3
    for v in _VGG16_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, v, kernel_size=3, padding=1), nn.ReLU()]
            in_ch = v
    return layers


def slice_of(feature_index: int) -> int:
    """1-based slice number that holds `features[feature_index]`."""
    for k, end in enumerate(SLICE_ENDS):
        if feature_index < end:
            return k + 1
    raise ValueError(f"feature index {feature_index} is past the last LPIPS slice (ends at {SLICE_ENDS[-1]})")


class VGG16Slices(nn.Module):
    """Returns the activations relu1_2 ... relu5_3 of a VGG16 trunk."""

    def __init__(self):
        super().__init__()
        layers = _features()
        start = 0
        for k, end in enumerate(SLICE_ENDS):
            block = nn.Sequential()
            for idx in range(start, end):
                block.add_module(str(idx), layers[idx])
            setattr(self, f"slice{k + 1}", block)
            start = end

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        outs = []
        for k in range(len(SLICE_ENDS)):
            x = getattr(self, f"slice{k + 1}")(x)
            outs.append(x)
        return outs
