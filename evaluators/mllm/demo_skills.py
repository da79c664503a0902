"""Skills of a demo-trained MLLM on held-out scenes: VQA accuracy per question kind (and on the
held-out-only wordings), text-to-image faithfulness by programmatic checks, each against chance
with a binomial p-value. Used by `scripts/demo_eval.py` (large sets) and by the trainer's
evaluation during training (small sets), so both report the same figures.

`pipe` is anything with `encode_images`, `converse` (or `chat_batch`) and `generate_images`:
a `mllm.UnifiedPipeline`, built from a folder or around the model being trained.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from data_recipes.demo.checks import score
from data_recipes.demo.image_checks import attribute_checks
from data_recipes.demo.language import CHANCE, KINDS, long_caption
from data_recipes.demo.scenes import COLOURS, SHAPES, SceneSpec, render, sample_scene
from data_recipes.demo.shapes import demo_item, is_heldout_scene

# Chance of each generated-image check when the image is unrelated to the prompt: a uniformly
# random colour term, shape, grid cell, size and object count.
T2I_CHANCE = {"colour": 1 / len(COLOURS), "shape": 1 / len(SHAPES), "position": 1 / 9, "size": 1 / 2, "count": 1 / 3}
T2I_PROMPT_TEMPLATE = 0   # "<objects> on a <background> background", a training wording


@dataclass
class VQAItem:
    kind: str
    image: object          # PIL image
    question: str
    answer: str
    heldout_only: bool


def vqa_items(per_kind: int, image_size: int, seed: int = 0, heldout_only: bool = False,
              start: int = 0) -> list[VQAItem]:
    """`per_kind` held-out questions of every kind (one image per question, images reused across kinds)."""
    items, index = [], start
    counts = {k: 0 for k in KINDS}
    cache: dict[int, object] = {}
    while min(counts.values()) < per_kind:
        item = demo_item(index, "heldout", seed, image_size)
        for kind in KINDS:
            if counts[kind] >= per_kind:
                continue
            q = item.question(kind, heldout_only)
            if q is not None:
                image = cache.setdefault(index, item.image)
                items.append(VQAItem(kind, image, q.question, q.answer, heldout_only))
                counts[kind] += 1
        index += 1
    return items


def answer_vqa(pipe, items: Sequence[VQAItem], batch_size: int = 32) -> list[str]:
    answers = []
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        answers += pipe.chat_batch([i.image for i in chunk], [_with_instruction(i.question) for i in chunk],
                                   max_new_tokens=6)
    return answers


def _with_instruction(question: str) -> str:
    from mllm.constants import SHORT_ANSWER_INSTRUCTION
    return f"{question}\n{SHORT_ANSWER_INSTRUCTION}"


def score_vqa(items: Sequence[VQAItem], answers: Sequence[str]) -> dict:
    """{kind: AboveChance.as_dict() + examples}; kinds absent from `items` are left out."""
    from data_recipes.demo.checks import answer_is_correct
    out = {}
    for kind in KINDS:
        rows = [(i, a) for i, a in zip(items, answers) if i.kind == kind]
        if not rows:
            continue
        result = score([answer_is_correct(a, i.answer, kind) for i, a in rows], CHANCE[kind]).as_dict()
        result["examples"] = [[i.question, i.answer, a] for i, a in rows[:3]]
        out[kind] = result
    return out


def t2i_specs(count: int, seed: int = 0, objects: int = 1) -> list[SceneSpec]:
    """Held-out scenes (their spec hash in the held-out bucket) with exactly `objects` objects."""
    import numpy as np
    rng = np.random.default_rng([seed, 7, objects])
    specs = []
    while len(specs) < count:
        spec = sample_scene(rng, objects, objects)
        if is_heldout_scene(spec):
            specs.append(spec)
    return specs


def t2i_prompt(spec: SceneSpec) -> str:
    return long_caption(spec, T2I_PROMPT_TEMPLATE)


def score_images(images, specs: Sequence[SceneSpec]) -> dict:
    """Per attribute: AboveChance of the checks of `images` against the scenes their prompts describe."""
    outcomes: dict[str, list[bool]] = {}
    for image, spec in zip(images, specs):
        for name, ok in attribute_checks(image, spec).items():
            outcomes.setdefault(name, []).append(ok)
    return {name: score(values, T2I_CHANCE[name]).as_dict() for name, values in outcomes.items()}


def t2i_eval(pipe, specs: Sequence[SceneSpec], cfg_scale: float, seed: int = 0,
             batch_size: int = 16) -> tuple[dict, list]:
    """(scores, images) of images generated from the specs' prompts."""
    images, _ = pipe.generate_images([t2i_prompt(s) for s in specs], cfg_scale=cfg_scale, seed=seed,
                                     batch_size=batch_size)
    return score_images(images, specs), images


def validate_checks(specs: Sequence[SceneSpec], image_size: int) -> dict:
    """The image checks on ground-truth renders of the prompts: how often the checker itself is right."""
    return score_images([render(s, image_size) for s in specs], specs)


def summary_line(vqa: dict, t2i: Optional[dict] = None) -> str:
    parts = [f"{k} {v['accuracy']:.2f}" for k, v in vqa.items()]
    if t2i:
        parts += [f"t2i_{k} {v['accuracy']:.2f}" for k, v in t2i.items()]
    return ", ".join(parts)
