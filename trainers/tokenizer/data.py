"""Deterministic, resumable, rank-sharded batches of (images in [-1, 1], caption token ids).

Each epoch is a permutation of the source seeded by (seed, epoch), padded to a multiple of the
world size and dealt round-robin to the ranks (DistributedSampler semantics). A rank's position
is (epoch, cursor); the random crop of a sample is seeded by (seed, epoch, index), so a resumed
run draws exactly the batches the uninterrupted run would have drawn. Unreadable images are
skipped and counted by reason.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from PIL import Image

from data_recipes.images import decode_image
from unitok.processing import pil_to_tensor_pm1, resize_center_crop

from .config import DataConfig


@dataclass
class LoaderState:
    epoch: int = 0
    cursor: int = 0                      # position inside this rank's share of the epoch
    samples_seen: int = 0
    skipped: Dict[str, int] = field(default_factory=dict)


def random_resized_crop(image: Image.Image, size: int, scale: Tuple[float, float], rng: np.random.Generator
                        ) -> Image.Image:
    """torchvision RandomResizedCrop (ratio 3/4..4/3, 10 tries, centre-crop fallback), bicubic."""
    width, height = image.size
    area = width * height
    log_ratio = (np.log(3 / 4), np.log(4 / 3))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        ratio = float(np.exp(rng.uniform(*log_ratio)))
        w, h = int(round((target * ratio) ** 0.5)), int(round((target / ratio) ** 0.5))
        if 0 < w <= width and 0 < h <= height:
            top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            return image.resize((size, size), Image.BICUBIC, box=(left, top, left + w, top + h))
    return resize_center_crop(image, size)


def epoch_order(n: int, seed: int, epoch: int, rank: int, world: int) -> List[int]:
    """This rank's indices for `epoch` (padded by wrap-around so every rank gets the same count)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    per_rank = -(-n // world)
    order += order[: per_rank * world - n]
    return order[rank::world]


class ShardedLoader:
    def __init__(self, source, cfg: DataConfig, batch_size: int, tokenize_fn, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        if len(source) == 0:
            raise ValueError("the training source is empty")
        self.source, self.cfg, self.batch_size, self.tokenize = source, cfg, batch_size, tokenize_fn
        self.seed, self.rank, self.world = seed, rank, world_size
        self.state = LoaderState()
        self._order: Optional[List[int]] = None

    def _current_order(self) -> List[int]:
        if self._order is None:
            self._order = epoch_order(len(self.source), self.seed, self.state.epoch, self.rank, self.world)
        return self._order

    def _next_index(self) -> int:
        order = self._current_order()
        if self.state.cursor >= len(order):
            self.state.epoch, self.state.cursor, self._order = self.state.epoch + 1, 0, None
            order = self._current_order()
        index = order[self.state.cursor]
        self.state.cursor += 1
        return index

    def _load(self, index: int) -> Optional[Tuple[torch.Tensor, str]]:
        ref, caption = self.source.raw(index)
        decoded = decode_image(ref)
        if decoded.image is None:
            reason = decoded.detail.split(":")[0] or "unknown"
            self.state.skipped[reason] = self.state.skipped.get(reason, 0) + 1
            return None
        size = self.cfg.image_size
        if self.cfg.random_crop:
            rng = np.random.default_rng([self.seed, self.state.epoch, index])
            image = random_resized_crop(decoded.image, size, self.cfg.crop_scale, rng)
        else:
            image = resize_center_crop(decoded.image, size)
        return pil_to_tensor_pm1(image), caption

    def next_batch(self) -> Tuple[torch.Tensor, torch.Tensor, List[str]]:
        images, captions, attempts = [], [], 0
        limit = max(100, 10 * len(self.source))
        while len(images) < self.batch_size:
            attempts += 1
            if attempts > limit:
                raise RuntimeError(f"{attempts} samples tried without filling a batch; skipped so far: "
                                   f"{self.state.skipped}")
            item = self._load(self._next_index())
            if item is not None:
                images.append(item[0])
                captions.append(item[1])
        self.state.samples_seen += len(images)
        return torch.stack(images), self.tokenize(captions), captions

    def state_dict(self) -> Dict:
        return {"epoch": self.state.epoch, "cursor": self.state.cursor, "samples_seen": self.state.samples_seen,
                "skipped": dict(self.state.skipped)}

    def load_state_dict(self, state: Dict) -> None:
        self.state = LoaderState(state["epoch"], state["cursor"], state["samples_seen"], dict(state["skipped"]))
        self._order = None

    def skipped_total(self) -> int:
        return sum(Counter(self.state.skipped).values())
