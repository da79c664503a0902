"""Checks of model outputs on the demo data: answer correctness and the colour of generated images.

Both come with their chance level and a one-sided binomial p-value, so a script can state
"answers above chance" or "colour matches the prompt above chance" with a number behind it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from data_recipes.demo.shapes import BACKGROUND, COLOURS, QUESTIONS

_SYNONYMS = {"centre": "center", "middle": "center", "grey": "gray", "colour": "color"}


def _words(text: str) -> list[str]:
    return [_SYNONYMS.get(w, w) for w in re.findall(r"[a-z]+", text.lower())]


def answer_is_correct(answer: str, expected: str, kind: str) -> bool:
    """True when the answer names the expected option and no other option of the same question
    (so "red or blue" is wrong: listing every option must not score)."""
    options = {_SYNONYMS.get(o, o) for o in QUESTIONS[kind][1]}
    named = options.intersection(_words(answer))
    return named == {_SYNONYMS.get(expected, expected)}


def chance_level(kind: str) -> float:
    return 1.0 / len(QUESTIONS[kind][1])


def dominant_colour(image: Image.Image, min_share: float = 0.02) -> Optional[str]:
    """Palette colour covering most non-background pixels, or None when almost nothing differs
    from the background (an empty canvas must not count as any colour)."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3)
    foreground = pixels[np.linalg.norm(pixels - np.array(BACKGROUND), axis=1) > 60]
    if len(foreground) < min_share * len(pixels):
        return None
    palette = np.array(list(COLOURS.values()), dtype=np.float32)
    nearest = np.linalg.norm(foreground[:, None, :] - palette[None], axis=2).argmin(axis=1)
    return list(COLOURS)[int(np.bincount(nearest, minlength=len(palette)).argmax())]


def prompt_colour(prompt: str) -> Optional[str]:
    named = [c for c in COLOURS if c in _words(prompt)]
    return named[0] if len(named) == 1 else None


def colour_matches_prompt(image: Image.Image, prompt: str) -> bool:
    expected = prompt_colour(prompt)
    if expected is None:
        raise ValueError(f"prompt {prompt!r} names no single demo colour ({', '.join(COLOURS)})")
    return dominant_colour(image) == expected


@dataclass
class AboveChance:
    correct: int
    total: int
    chance: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def p_value(self) -> float:
        """P(X >= correct) for X ~ Binomial(total, chance): small means better than guessing."""
        n, p = self.total, self.chance
        return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(self.correct, n + 1))

    def is_above_chance(self, alpha: float = 0.05) -> bool:
        return self.accuracy > self.chance and self.p_value < alpha


def score(outcomes: Sequence[bool], chance: float) -> AboveChance:
    return AboveChance(sum(bool(o) for o in outcomes), len(outcomes), chance)


def colour_chance() -> float:
    return 1.0 / len(COLOURS)
