"""Evaluation images from a folder: flat (no labels) or one sub-folder per class (labels for
zero-shot). Unreadable files are skipped and counted."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import torch

from data_recipes.images import decode_image
from unitok.processing import pil_to_tensor_pm1, resize_center_crop

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass
class EvalImages:
    paths: List[Path]
    labels: List[int]                   # -1 when the folder is flat
    classes: List[str]                  # sub-folder names, in label order
    skipped: Dict[str, int] = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        return bool(self.classes)


def scan_folder(root: str | Path, max_images: Optional[int] = None) -> EvalImages:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"evaluation data folder not found: {root}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if classes:
        items = [(p, i) for i, c in enumerate(classes) for p in sorted((root / c).rglob("*"))
                 if p.suffix.lower() in IMAGE_SUFFIXES]
    else:
        items = [(p, -1) for p in sorted(root.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if max_images is not None:
        items = items[:max_images]
    if not items:
        raise ValueError(f"{root} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return EvalImages([p for p, _ in items], [label for _, label in items], classes)


def load_batches(data: EvalImages, image_size: int, batch_size: int):
    """Yields (images in [-1, 1] (B, 3, S, S), labels (B,)): short side resized to S (bicubic),
    centre crop; unreadable files are counted in `data.skipped`."""
    images, labels = [], []
    for path, label in zip(data.paths, data.labels):
        decoded = decode_image(str(path))
        if decoded.image is None:
            reason = decoded.detail.split(":")[0] or "unknown"
            data.skipped[reason] = data.skipped.get(reason, 0) + 1
            continue
        images.append(pil_to_tensor_pm1(resize_center_crop(decoded.image, image_size)))
        labels.append(label)
        if len(images) == batch_size:
            yield torch.stack(images), torch.tensor(labels)
            images, labels = [], []
    if images:
        yield torch.stack(images), torch.tensor(labels)
