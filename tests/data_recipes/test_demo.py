import numpy as np
from PIL import Image

from data_recipes.demo import (COLOURS, QUESTIONS, answer_is_correct, chance_level, colour_chance,
                               colour_matches_prompt, demo_item, demo_items, dominant_colour, score)
from data_recipes.demo.shapes import BACKGROUND


def test_deterministic_and_splits_differ():
    a, b = demo_item(5, seed=3), demo_item(5, seed=3)
    assert (a.shape, a.colour, a.position, a.size) == (b.shape, b.colour, b.position, b.size)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    train = [np.asarray(i.image).tobytes() for i in demo_items(50, "train", seed=3)]
    held = [np.asarray(i.image).tobytes() for i in demo_items(50, "heldout", seed=3)]
    assert not set(train) & set(held)
    assert demo_item(0, image_size=48).image.size == (48, 48)


def test_attributes_are_varied_and_visible():
    items = list(demo_items(200, seed=1, image_size=32))
    assert {i.colour for i in items} == set(COLOURS) and len({i.shape for i in items}) == 3
    assert all(dominant_colour(i.image) == i.colour for i in items)
    for item in items[:40]:   # the shape's centre of mass is on the side the caption says
        fg = np.linalg.norm(np.asarray(item.image, dtype=float) - BACKGROUND, axis=2) > 60
        x = np.nonzero(fg)[1].mean() / 32
        assert {"left": x < 0.4, "center": 0.35 < x < 0.65, "right": x > 0.6}[item.position]


def test_captions_and_questions_state_the_truth():
    item = demo_item(7)
    assert item.colour in item.caption and item.shape in item.long_caption and item.position in item.long_caption
    conv = item.conversation("shape")
    assert conv[0]["value"].startswith("<image>\n") and conv[1]["value"] == item.shape


def test_answer_check():
    assert answer_is_correct("Red.", "red", "colour")
    assert answer_is_correct("It is in the middle", "center", "position")
    assert not answer_is_correct("blue", "red", "colour")
    assert not answer_is_correct("red or blue", "red", "colour")   # hedging over options scores nothing
    assert chance_level("colour") == 1 / len(COLOURS) and chance_level("shape") == 1 / 3


def test_colour_check_and_above_chance():
    item = demo_item(2)
    right = f"a {item.colour} {item.shape}"
    wrong = right.replace(item.colour, next(c for c in COLOURS if c != item.colour))
    assert colour_matches_prompt(item.image, right) and not colour_matches_prompt(item.image, wrong)
    assert dominant_colour(Image.new("RGB", (32, 32), BACKGROUND)) is None
    good, guess = score([True] * 30 + [False] * 10, colour_chance()), score([True] * 10 + [False] * 30, 0.25)
    assert good.is_above_chance() and good.p_value < 1e-6
    assert not guess.is_above_chance() and 0.3 < guess.p_value < 0.7
    assert set(QUESTIONS) == {"colour", "shape", "position"}
