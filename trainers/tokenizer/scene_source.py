"""The default tokenizer data: procedural scenes (`data_recipes.demo.scenes`) plus crops of the
bundled training photos (`data_recipes.photos`), so that the demo tokenizer sees varied
backgrounds, many colours and shapes, and real image statistics rather than one toy layout.

Index i < scenes: scene i of the tokenizer's training stream (`data_recipes.tokenizer_data`),
rendered on demand (deterministic, so resume and re-runs see the same pixels). Otherwise: a
square crop of one of the training photos, 12-100 % of its short side, placed by [seed, 200, j].
Held-out scenes come from the held-out stream; held-out photos are a disjoint set.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
from PIL import Image

from data_recipes import photos
from data_recipes.tokenizer_data import PHOTO_STREAM, scene_caption, tokenizer_scene


class ScenesPhotosSource:
    def __init__(self, cfg):
        self.cfg = cfg
        self.num_scenes = cfg.demo_num_samples
        self.num_photos = round(cfg.demo_num_samples * cfg.photo_fraction / (1 - cfg.photo_fraction))
        self.photo_names = list(photos.TRAIN_PHOTOS) if self.num_photos else []
        self.photos: Dict[str, Image.Image] = {n: photos.load_photo(n) for n in self.photo_names}

    def __len__(self) -> int:
        return self.num_scenes + self.num_photos

    def raw(self, i: int) -> Tuple[Image.Image, str]:
        cfg = self.cfg
        if i < self.num_scenes:
            spec, image = tokenizer_scene(i, "train", cfg.demo_seed, cfg.image_size, cfg.free_colour_prob)
            return image, scene_caption(spec)
        j = i - self.num_scenes
        name = self.photo_names[j % len(self.photo_names)]
        photo = self.photos[name]
        box = photos.random_crop_box(*photo.size, np.random.default_rng([cfg.demo_seed, PHOTO_STREAM, j]), 0.12, 1.0)
        # Downscale to twice the training size here; the loader's random resized crop does the rest.
        return photo.resize((2 * cfg.image_size,) * 2, Image.BICUBIC, box=box), photos.caption(name)
