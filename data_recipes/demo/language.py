"""Words for demo scenes: questions with their answers, and captions, each in several paraphrases.

Every question kind has training templates and a few held-out-only templates (`heldout_only`)
that training never uses, so held-out accuracy on them measures robustness to wording. Objects
in multi-object scenes are referred to by an attribute that is unique in the scene (shape,
colour, colour + shape or grid cell), never by the attribute asked about.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from data_recipes.demo.scenes import COLOURS, SHAPES, SIZES, SceneObject, SceneSpec, nearest_colour

KINDS = ("colour", "shape", "position", "size", "count", "exists")
COUNT_WORDS = ("one", "two", "three")
# Answer options of each kind: an answer is right when it names the expected option and no other.
OPTIONS = {"colour": tuple(COLOURS), "shape": SHAPES, "position": ("left", "centre", "right", "top", "middle", "bottom"),
           "size": SIZES, "count": COUNT_WORDS, "exists": ("yes", "no")}
# Guessing uniformly among the options one question offers (a position question offers 3).
CHANCE = {"colour": 1 / len(COLOURS), "shape": 1 / len(SHAPES), "position": 1 / 3, "size": 1 / 2,
          "count": 1 / 3, "exists": 1 / 2}

# (template, held-out only). {ref}: the object referred to; {desc}: what an existence question names.
TEMPLATES: dict[str, list[tuple[str, bool]]] = {
    "colour": [("What colour is the {ref}?", False), ("What is the colour of the {ref}?", False),
               ("Which colour does the {ref} have?", False), ("Name the colour of the {ref}.", False),
               ("Tell me which colour the {ref} has.", True), ("The {ref} is what colour?", True)],
    "shape": [("What shape is the {ref}?", False), ("What is the shape of the {ref}?", False),
              ("Which shape does the {ref} have?", False), ("Name the shape of the {ref}.", False),
              ("Tell me which shape the {ref} has.", True), ("The {ref} is what shape?", True)],
    "position_x": [("Is the {ref} on the left, in the centre or on the right?", False),
                   ("Where is the {ref} horizontally: left, centre or right?", False),
                   ("On which side is the {ref}: left, centre or right?", False),
                   ("Left, centre or right: where is the {ref}?", True)],
    "position_y": [("Is the {ref} at the top, in the middle or at the bottom?", False),
                   ("Where is the {ref} vertically: top, middle or bottom?", False),
                   ("At which height is the {ref}: top, middle or bottom?", False),
                   ("Top, middle or bottom: where is the {ref}?", True)],
    "size": [("Is the {ref} small or large?", False), ("What size is the {ref}?", False),
             ("How big is the {ref}: small or large?", False), ("Small or large: what size is the {ref}?", True)],
    "count": [("How many shapes are in the image?", False), ("How many objects are there?", False),
              ("Count the shapes in the image.", False), ("What is the number of objects in the image?", False),
              ("How many shapes can you see?", True), ("Count the objects.", True)],
    "exists": [("Is there a {desc} in the image?", False), ("Does the image contain a {desc}?", False),
               ("Is a {desc} present?", False), ("Can you see a {desc}?", True), ("Is there any {desc}?", True)],
}

CAPTION_TEMPLATES = ("{objects} on a {background} background", "{objects}", "a picture of {objects}",
                     "an image with {objects} on a {background} background", "a {background} background with {objects}")


@dataclass(frozen=True)
class Question:
    kind: str
    question: str
    answer: str
    template: int            # index into TEMPLATES[kind or position_x/y]
    heldout_only: bool
    axis: Optional[str] = None   # position questions: "x" (left/centre/right) or "y" (top/middle/bottom)


def cell_name(obj: SceneObject) -> str:
    """'top left', 'centre', 'bottom centre', ..."""
    if obj.row == "middle" and obj.column == "centre":
        return "centre"
    return f"{obj.row} {obj.column}"


def where(obj: SceneObject) -> str:
    name = cell_name(obj)
    return "in the centre" if name == "centre" else f"at the {name}"


def background_name(spec: SceneSpec) -> str:
    bg = spec.background
    if bg.kind == "coloured":
        return nearest_colour(bg.rgb)
    return {"texture": "textured"}.get(bg.kind, bg.kind)


def object_phrase(obj: SceneObject) -> str:
    return f"a {obj.size} {obj.colour} {obj.shape} {where(obj)}"


def short_phrase(obj: SceneObject) -> str:
    return f"{_article(obj.colour)} {obj.colour} {obj.shape}"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _a(text: str) -> str:
    """Fix "a" before a vowel in generated text ("a orange" -> "an orange")."""
    words = text.split(" ")
    return " ".join("an" if w == "a" and i + 1 < len(words) and words[i + 1][:1] in "aeiou" else w
                    for i, w in enumerate(words))


def caption(spec: SceneSpec) -> str:
    """Short ("original") caption: colours and shapes only."""
    return _join([short_phrase(o) for o in spec.objects])


def long_caption(spec: SceneSpec, template: int = 0) -> str:
    """Full caption (size, colour, shape, place of every object, background) in one of the paraphrases."""
    text = CAPTION_TEMPLATES[template].format(objects=_join([object_phrase(o) for o in spec.objects]),
                                              background=background_name(spec))
    return _a(text)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# ---------------------------------------------------------------- questions

def _references(spec: SceneSpec, obj: SceneObject, asked: str) -> list[str]:
    """Unambiguous ways to name `obj` that do not give away the asked attribute."""
    if len(spec.objects) == 1:
        return ["shape", "object"]
    others = [o for o in spec.objects if o is not obj]
    refs = []
    if asked != "shape" and all(o.shape != obj.shape for o in others):
        refs.append(obj.shape)
    if asked != "colour" and all(o.colour != obj.colour for o in others):
        refs += [f"{obj.colour} shape", f"{obj.colour} object"]
    if asked not in ("shape", "colour") and all((o.colour, o.shape) != (obj.colour, obj.shape) for o in others):
        refs.append(f"{obj.colour} {obj.shape}")
    if asked != "position":
        refs.append(f"object at the {cell_name(obj)}" if cell_name(obj) != "centre" else "object in the centre")
    return refs


def _pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


def _template(rng: np.random.Generator, key: str, heldout_only: bool) -> tuple[int, str]:
    choices = [(i, t) for i, (t, only) in enumerate(TEMPLATES[key]) if only == heldout_only]
    return _pick(rng, choices)


def _exists_question(spec: SceneSpec, rng: np.random.Generator) -> tuple[str, str]:
    """A description and "yes"/"no", yes with probability 1/2. Negatives are often near misses
    (a shape of the scene in another colour) so that the answer needs both attributes."""
    form = _pick(rng, ["colour shape", "shape", "colour"])
    present = {"colour shape": {(o.colour, o.shape) for o in spec.objects}, "shape": {o.shape for o in spec.objects},
               "colour": {o.colour for o in spec.objects}}[form]
    if rng.uniform() < 0.5:
        value = _pick(rng, sorted(present))
        answer = "yes"
    else:
        if form == "colour shape":
            shape = _pick(rng, [o.shape for o in spec.objects]) if rng.uniform() < 0.5 else _pick(rng, list(SHAPES))
            candidates = [(c, shape) for c in COLOURS if (c, shape) not in present]
        elif form == "shape":
            candidates = [s for s in SHAPES if s not in present]
        else:
            candidates = [c for c in COLOURS if c not in present]
        value = _pick(rng, candidates)
        answer = "no"
    if form == "colour shape":
        desc = f"{value[0]} {value[1]}"
    else:
        desc = value if form == "shape" else f"{value} shape"
    return desc, answer


def ask(spec: SceneSpec, kind: str, rng: np.random.Generator, heldout_only: bool = False) -> Optional[Question]:
    """One question of `kind` about the scene, or None when no object can be named unambiguously."""
    if kind not in KINDS:
        raise ValueError(f"question kind {kind!r} unknown; use one of {KINDS}")
    if kind == "count":
        index, template = _template(rng, "count", heldout_only)
        return Question(kind, template, COUNT_WORDS[len(spec.objects) - 1], index, heldout_only)
    if kind == "exists":
        index, template = _template(rng, "exists", heldout_only)
        desc, answer = _exists_question(spec, rng)
        return Question(kind, _a(template.format(desc=desc)), answer, index, heldout_only)
    obj = _pick(rng, list(spec.objects))
    refs = _references(spec, obj, kind)
    if not refs:
        return None
    ref = _pick(rng, refs)
    axis = None
    if kind == "position":
        axis = _pick(rng, ["x", "y"])
        key, answer = f"position_{axis}", obj.column if axis == "x" else obj.row
    else:
        key, answer = kind, {"colour": obj.colour, "shape": obj.shape, "size": obj.size}[kind]
    index, template = _template(rng, key, heldout_only)
    return Question(kind, template.format(ref=ref), answer, index, heldout_only, axis)


def corpus_lines() -> list[str]:
    """Every word the demo texts use, in sentence form, for training the demo text tokenizer."""
    lines = [t.replace("{ref}", "shape").replace("{desc}", "red circle") for ts in TEMPLATES.values() for t, _ in ts]
    lines += [t.format(objects="a small red circle at the top left", background="light") for t in CAPTION_TEMPLATES]
    for colour in COLOURS:
        for shape in SHAPES:
            lines.append(f"a large {colour} {shape} in the centre and a small {colour} {shape} at the bottom right")
    lines += [" ".join(words) for words in OPTIONS.values()] * 40   # answers: one token each
    lines += ["an orange object at the middle left on a dark background", "a textured gradient background"]
    return lines
