"""The `demo` data set: procedural scenes (`demo.scenes`) with questions and captions (`demo.language`).

Every attribute of an item is known from its scene spec, so captions, question-answer pairs and
the checks in `demo.checks` need no annotation. Train and held-out items are disjoint twice over:
they come from separate random streams ([seed, split, index] seeds) and a scene belongs to the
held-out split exactly when the hash of its spec falls in the held-out bucket, so no spec can be
in both.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from data_recipes.demo.language import (CAPTION_TEMPLATES, KINDS, Question, ask, caption, long_caption)
from data_recipes.demo.scenes import SceneSpec, render, sample_scene
from mllm.constants import IMAGE_PLACEHOLDER, SHORT_ANSWER_INSTRUCTION

SPLITS = {"train": 0, "heldout": 1}
HELDOUT_BUCKETS = 8          # 1 in 8 scene hashes is held-out


def is_heldout_scene(spec: SceneSpec) -> bool:
    return int(spec.key()[:8], 16) % HELDOUT_BUCKETS == 0


def _user_turn(question: str, with_image: bool) -> dict:
    text = f"{question}\n{SHORT_ANSWER_INSTRUCTION}"
    return {"from": "human", "value": f"{IMAGE_PLACEHOLDER}\n{text}" if with_image else text}


@dataclass
class DemoItem:
    index: int
    split: str
    seed: int
    spec: SceneSpec
    image_size: int = 64

    @cached_property
    def image(self) -> Image.Image:
        """Rendered on first use: text-only rows never pay for it."""
        return render(self.spec, self.image_size)

    def _rng(self, *salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, SPLITS[self.split], self.index, *salt])

    @property
    def caption(self) -> str:
        """Short "original" caption (colours and shapes)."""
        return caption(self.spec)

    @property
    def long_caption(self) -> str:
        """Re-caption-style full caption, in the item's paraphrase (chosen with probability 0.8 for T2I)."""
        return long_caption(self.spec, int(self._rng(1).integers(len(CAPTION_TEMPLATES))))

    def question(self, kind: str, heldout_only: bool = False, salt: int = 0) -> Optional[Question]:
        """A deterministic question of `kind`; `heldout_only` uses the wordings training never sees."""
        return ask(self.spec, kind, self._rng(2, KINDS.index(kind), int(heldout_only), salt), heldout_only)

    def conversation(self, kind: str, heldout_only: bool = False) -> list[dict]:
        """LLaVA-style single-turn VQA conversation with the image in the user turn."""
        q = self.question(kind, heldout_only)
        if q is None:
            raise ValueError(f"item {self.split}/{self.index} has no unambiguous {kind} question")
        return [_user_turn(q.question, True), {"from": "gpt", "value": q.answer}]

    def training_conversation(self, turns: int, kinds: Sequence[str] = KINDS) -> tuple[list[dict], list[Question]]:
        """Several questions of distinct kinds about the image (the image in the first turn only):
        one image encodes once and serves every answer, which makes each step carry more targets."""
        rng = self._rng(3)
        chosen = [kinds[i] for i in rng.permutation(len(kinds))]
        conversation, questions = [], []
        for kind in chosen:
            if len(questions) == turns:
                break
            q = self.question(kind, salt=len(questions) + 1)
            if q is None:
                continue
            conversation += [_user_turn(q.question, not questions), {"from": "gpt", "value": q.answer}]
            questions.append(q)
        return conversation, questions


def demo_item(index: int, split: str = "train", seed: int = 0, image_size: int = 64) -> DemoItem:
    if split not in SPLITS:
        raise ValueError(f"demo split {split!r} unknown; use one of {sorted(SPLITS)}")
    rng = np.random.default_rng([seed, SPLITS[split], index])
    while True:   # on average 8/7 draws for train, 8 for held-out
        spec = sample_scene(rng)
        if is_heldout_scene(spec) == (split == "heldout"):
            break
    if image_size < 16:
        raise ValueError(f"demo image_size {image_size} is too small to draw distinguishable shapes (>= 16)")
    return DemoItem(index, split, seed, spec, image_size)


def demo_items(num_samples: int, split: str = "train", seed: int = 0, image_size: int = 64):
    for index in range(num_samples):
        yield demo_item(index, split, seed, image_size)
