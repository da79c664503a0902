"""Checks of model outputs on the demo data: answer correctness and above-chance statistics.

Every figure comes with its chance level and a one-sided binomial p-value, so a script can state
"answers above chance" with a number behind it. The programmatic checks of generated images
(colour, shape, position, size, count) are in `demo.image_checks`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from data_recipes.demo.language import CHANCE, OPTIONS

# Spellings a model (or a person) may use for an option; "middle" stays distinct from "centre"
# because vertical position questions offer top / middle / bottom.
_SYNONYMS = {"center": "centre", "gray": "grey", "color": "colour", "1": "one", "2": "two", "3": "three",
             "big": "large"}


def _words(text: str) -> list[str]:
    return [_SYNONYMS.get(w, w) for w in re.findall(r"[a-z0-9]+", text.lower())]


def answer_is_correct(answer: str, expected: str, kind: str) -> bool:
    """True when the answer names the expected option and no other option of the kind
    (so "red or blue" is wrong: listing every option must not score)."""
    named = set(OPTIONS[kind]).intersection(_words(answer))
    return named == {_SYNONYMS.get(expected, expected)}


def chance_level(kind: str) -> float:
    return CHANCE[kind]


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
        return min(1.0, sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(self.correct, n + 1)))

    def is_above_chance(self, alpha: float = 0.05) -> bool:
        return self.accuracy > self.chance and self.p_value < alpha

    def as_dict(self) -> dict:
        return {"accuracy": self.accuracy, "chance": self.chance, "p_value": self.p_value, "n": self.total,
                "correct": self.correct}


def score(outcomes: Sequence[bool], chance: float) -> AboveChance:
    return AboveChance(sum(bool(o) for o in outcomes), len(outcomes), chance)
