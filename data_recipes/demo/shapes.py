"""The `demo` data set: one coloured shape on a light-grey background, generated from a seed.

Every attribute of an item is known from the generator, so captions, question-answer pairs and
the checks in `demo.checks` need no annotation. Train and held-out items come from disjoint
random streams ([seed, split, index] seeds) so that held-out images are never seen in training.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from mllm.constants import IMAGE_PLACEHOLDER, SHORT_ANSWER_INSTRUCTION

BACKGROUND = (200, 200, 200)
# Saturated and far apart in RGB so that the dominant colour of a generated image is unambiguous.
COLOURS = {"red": (220, 30, 30), "green": (30, 180, 40), "blue": (30, 60, 220), "yellow": (235, 215, 20)}
SHAPES = ("circle", "square", "triangle")
POSITIONS = ("left", "center", "right")
SIZES = ("small", "large")
SPLITS = {"train": 0, "heldout": 1}
QUESTIONS = {
    "colour": ("What colour is the shape?", COLOURS),
    "shape": ("What shape is in the image?", SHAPES),
    "position": ("Where is the shape in the image?", POSITIONS),
}


@dataclass
class DemoItem:
    index: int
    split: str
    shape: str
    colour: str
    position: str
    size: str
    image: Image.Image = field(repr=False)

    @property
    def caption(self) -> str:
        """Short "original" caption."""
        return f"a {self.colour} {self.shape}"

    @property
    def long_caption(self) -> str:
        """Re-caption-style long caption (chosen with probability 0.8 for T2I)."""
        where = "in the center" if self.position == "center" else f"on the {self.position}"
        return f"a {self.size} {self.colour} {self.shape} {where} of a grey background"

    def answer(self, kind: str) -> str:
        return {"colour": self.colour, "shape": self.shape, "position": self.position}[kind]

    def conversation(self, kind: str) -> list[dict]:
        """LLaVA-style single-turn VQA conversation with the image in the first user turn."""
        question = QUESTIONS[kind][0]
        return [{"from": "human", "value": f"{IMAGE_PLACEHOLDER}\n{question}\n{SHORT_ANSWER_INSTRUCTION}"},
                {"from": "gpt", "value": self.answer(kind)}]


def demo_item(index: int, split: str = "train", seed: int = 0, image_size: int = 32) -> DemoItem:
    if split not in SPLITS:
        raise ValueError(f"demo split {split!r} unknown; use one of {sorted(SPLITS)}")
    if image_size < 16:
        raise ValueError(f"demo image_size {image_size} is too small to draw distinguishable shapes (>= 16)")
    rng = np.random.default_rng([seed, SPLITS[split], index])
    shape = SHAPES[rng.integers(len(SHAPES))]
    colour = list(COLOURS)[rng.integers(len(COLOURS))]
    position = POSITIONS[rng.integers(len(POSITIONS))]
    size = SIZES[rng.integers(len(SIZES))]
    image = _draw(shape, COLOURS[colour], position, size, image_size, rng)
    return DemoItem(index, split, shape, colour, position, size, image)


def _draw(shape: str, rgb: tuple, position: str, size: str, s: int, rng: np.random.Generator) -> Image.Image:
    radius = s * (0.13 if size == "small" else 0.2)
    cx = s * {"left": 0.22, "center": 0.5, "right": 0.78}[position]
    # Small vertical and horizontal jitter: images differ while position stays unambiguous.
    cx += rng.uniform(-0.04, 0.04) * s
    cy = s * 0.5 + rng.uniform(-0.15, 0.15) * s
    image = Image.new("RGB", (s, s), BACKGROUND)
    draw = ImageDraw.Draw(image)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    if shape == "circle":
        draw.ellipse(box, fill=rgb)
    elif shape == "square":
        draw.rectangle(box, fill=rgb)
    else:
        draw.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)], fill=rgb)
    return image


def demo_items(num_samples: int, split: str = "train", seed: int = 0, image_size: int = 32):
    for index in range(num_samples):
        yield demo_item(index, split, seed, image_size)
