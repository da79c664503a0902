"""Streams of generated tokenizer data: the scenes a tokenizer trains on and the held-out scenes
it is scored on, drawn from disjoint seed streams of `data_recipes.demo.scenes`.

Scene i of a split is `sample_scene(default_rng([seed, stream, i]))`: the training stream is
100, the held-out stream 101 (other streams than the MLLM demo data's, so the tokenizer's
held-out scenes are new to it whatever the MLLM data holds).
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
from PIL import Image

STREAMS = {"train": 100, "heldout": 101}
PHOTO_STREAM = 200


def scene_caption(spec) -> str:
    things = " and ".join(f"a {o.colour} {o.shape}" for o in spec.objects)
    return f"{things} on a {spec.background.kind} background"


def tokenizer_scene(index: int, split: str = "train", seed: int = 0, size: int = 64,
                    free_colour_prob: float = 0.0) -> Tuple[object, Image.Image]:
    """(SceneSpec, rendered image) of scene `index` of a split."""
    from data_recipes.demo.scenes import render, sample_scene
    if split not in STREAMS:
        raise ValueError(f"tokenizer scene split {split!r} unknown; use one of {sorted(STREAMS)}")
    spec = sample_scene(np.random.default_rng([seed, STREAMS[split], index]), free_colour_prob=free_colour_prob)
    return spec, render(spec, size)


def heldout_scene_images(count: int, size: int = 64, seed: int = 0) -> List[Image.Image]:
    return [tokenizer_scene(i, "heldout", seed, size)[1] for i in range(count)]
