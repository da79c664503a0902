import numpy as np

from data_recipes.demo import (CHANCE, COLOURS, KINDS, OPTIONS, SHAPES, answer_is_correct, chance_level, demo_item,
                               demo_items, score)
from data_recipes.demo.language import TEMPLATES, background_name, long_caption
from data_recipes.demo.shapes import is_heldout_scene
from data_recipes.loaders.demo_loader import iter_demo
from data_recipes.recipe import Source, SourceOptions
from mllm.constants import IMAGE_PLACEHOLDER


def test_deterministic_and_splits_disjoint():
    a, b = demo_item(5, seed=3), demo_item(5, seed=3)
    assert a.spec == b.spec and a.long_caption == b.long_caption and a.question("shape") == b.question("shape")
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    train = list(demo_items(200, "train", seed=3))
    held = list(demo_items(200, "heldout", seed=3))
    assert not {i.spec.key() for i in train} & {i.spec.key() for i in held}
    assert not any(is_heldout_scene(i.spec) for i in train) and all(is_heldout_scene(i.spec) for i in held)
    assert demo_item(0, image_size=48).image.size == (48, 48)


def test_questions_state_the_truth():
    """Every question's answer is read off the spec; objects are named unambiguously."""
    seen = {kind: set() for kind in KINDS}
    for item in demo_items(150, seed=1):
        objs = item.spec.objects
        for kind in KINDS:
            q = item.question(kind)
            if q is None:
                continue
            seen[kind].add(q.answer)
            assert q.answer in OPTIONS[kind] and not q.heldout_only
            if kind == "count":
                assert q.answer == ("one", "two", "three")[len(objs) - 1]
            if kind == "position":
                assert q.answer in [o.column for o in objs] + [o.row for o in objs]
            if kind in ("colour", "shape", "size"):
                assert q.answer in [getattr(o, kind) for o in objs]
            if kind == "exists":   # yes exactly when an object matches every attribute named
                named = [w for w in q.question.lower().rstrip("?").split() if w in COLOURS or w in SHAPES]
                match = any(all(w in (o.colour, o.shape) for w in named) for o in objs)
                assert (q.answer == "yes") == match, q
    assert seen["count"] == {"one", "two", "three"} and seen["exists"] == {"yes", "no"}
    assert len(seen["colour"]) == len(COLOURS) and len(seen["shape"]) == len(SHAPES)
    assert seen["position"] == set(OPTIONS["position"]) and seen["size"] == {"small", "large"}


def test_exists_is_balanced_and_heldout_wordings_are_separate():
    items = list(demo_items(300, seed=2))
    yes = sum(i.question("exists").answer == "yes" for i in items)
    assert 0.4 < yes / len(items) < 0.6
    train_words = {q.question for i in items for k in KINDS if (q := i.question(k)) is not None}
    held = [q for i in items for k in KINDS if (q := i.question(k, heldout_only=True)) is not None]
    assert all(q.heldout_only for q in held) and not {q.question for q in held} & train_words
    assert all(any(only for _, only in ts) for ts in TEMPLATES.values())   # every kind has held-out wordings


def test_referring_expressions_never_name_the_answer():
    for item in demo_items(200, seed=4):
        for kind in ("colour", "shape"):
            q = item.question(kind)
            if q is not None and len(item.spec.objects) > 1:
                assert q.answer not in q.question.lower().split("?")[0].split()


def test_captions_describe_every_object():
    for item in demo_items(30, seed=5):
        text = item.long_caption
        for o in item.spec.objects:
            assert o.colour in text and o.shape in text and o.size in text
        assert background_name(item.spec) in text or "background" not in text
        assert long_caption(item.spec, 1) != long_caption(item.spec, 2)
        assert " a orange" not in text and " a " + "ellipse" not in text


def test_loader_rows_are_multi_question_conversations():
    source = Source("v", "demo", "instruction", options=SourceOptions(demo_num_samples=20, demo_turns=3))
    rows = list(iter_demo(source))
    assert len(rows) == 20 and len({r.key for r in rows}) == 20
    for row in rows:
        conv = row.conversations
        assert len(conv) == 2 * len(row.meta["questions"]) and 2 <= len(row.meta["questions"]) <= 3
        assert conv[0]["value"].startswith(IMAGE_PLACEHOLDER) and IMAGE_PLACEHOLDER not in conv[2]["value"]
        assert [t["value"] for t in conv[1::2]] == [q["answer"] for q in row.meta["questions"]]
        assert len({q["kind"] for q in row.meta["questions"]}) == len(row.meta["questions"])


def test_answer_check():
    assert answer_is_correct("Red.", "red", "colour")
    assert answer_is_correct("It is in the center", "centre", "position")
    assert answer_is_correct("middle", "middle", "position") and not answer_is_correct("centre", "middle", "position")
    assert answer_is_correct("3", "three", "count") and answer_is_correct("Yes", "yes", "exists")
    assert not answer_is_correct("blue", "red", "colour")
    assert not answer_is_correct("red or blue", "red", "colour")   # hedging over options scores nothing
    assert chance_level("colour") == 1 / len(COLOURS) and chance_level("shape") == 1 / len(SHAPES)
    assert set(CHANCE) == set(KINDS)


def test_above_chance():
    good, guess = score([True] * 30 + [False] * 10, 1 / 11), score([True] * 10 + [False] * 30, 0.25)
    assert good.is_above_chance() and good.p_value < 1e-6
    assert not guess.is_above_chance() and 0.3 < guess.p_value < 0.7
