"""The demo skill evaluation: image checks validated on ground-truth renders, and the scoring
wired right (an oracle scores 100 %, a model that always answers the same scores near chance)."""
from types import SimpleNamespace

import numpy as np

from data_recipes.demo.image_checks import detect
from data_recipes.demo.language import CHANCE, KINDS
from data_recipes.demo.scenes import render
from evaluators.mllm.demo_skills import (T2I_CHANCE, answer_vqa, score_vqa, t2i_prompt, t2i_specs, validate_checks,
                                         vqa_items)

SIZE = 64


def test_image_checks_read_ground_truth_renders():
    """The programmatic checks must be right on the renders themselves (>= 98 %), so that a low
    text-to-image score means the model, not the checker."""
    single = validate_checks(t2i_specs(100, seed=11, objects=1), SIZE)
    multi = [s for k in (1, 2, 3) for s in t2i_specs(20, seed=11, objects=k)]
    assert validate_checks(multi, SIZE)["count"]["accuracy"] >= 0.98
    for attr in ("colour", "shape", "position", "size"):
        assert single[attr]["accuracy"] >= 0.98, (attr, single[attr])
        assert single[attr]["chance"] == T2I_CHANCE[attr] and single[attr]["p_value"] < 1e-10


def test_detect_sees_nothing_on_a_plain_background():
    spec = t2i_specs(1, seed=3, objects=1)[0]
    empty = render(type(spec)((), spec.background), SIZE)
    assert detect(empty) == []


class Oracle:
    """Answers every held-out question right and 'generates' the exact render of each prompt."""

    def __init__(self, items, specs):
        self.unitok = SimpleNamespace(config=SimpleNamespace(img_size=SIZE))
        self.truth = {(i.image.tobytes(), i.question): i.answer for i in items}
        self.scenes = {t2i_prompt(s): s for s in specs}

    def chat_batch(self, images, questions, max_new_tokens=6):
        return [self.truth[img.tobytes(), q.split("\n")[0]] + "." for img, q in zip(images, questions)]

    def generate_images(self, prompts, cfg_scale, seed, batch_size):
        return [render(self.scenes[p], SIZE) for p in prompts], None


def test_scores_of_an_oracle_and_of_a_constant_answer():
    items = vqa_items(12, SIZE, seed=5) + vqa_items(4, SIZE, seed=5, heldout_only=True)
    assert all(sum(i.kind == k for i in items) == 16 for k in KINDS)
    assert all(i.heldout_only for i in items[-4 * len(KINDS):])
    perfect = score_vqa(items, answer_vqa(Oracle(items, []), items, batch_size=5))
    assert all(perfect[k]["accuracy"] == 1.0 and perfect[k]["chance"] == CHANCE[k] for k in KINDS)
    always_yes = score_vqa(items, ["yes"] * len(items))
    assert always_yes["exists"]["accuracy"] < 0.8 and always_yes["colour"]["accuracy"] == 0.0
    assert always_yes["colour"]["p_value"] > 0.999


def test_demo_eval_report_on_an_oracle():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
    from demo_eval import evaluate

    specs = [s for k in (1, 2, 3) for s in t2i_specs(3, seed=0, objects=k)]
    items = vqa_items(3, SIZE, 0) + vqa_items(3, SIZE, 0, heldout_only=True)
    report = evaluate(Oracle(items, specs), per_kind=3, images=3, cfg_scales=[1.0, 3.0])
    assert set(report["vqa"]) == set(KINDS) == set(report["vqa_heldout_paraphrases"])
    assert all(r["accuracy"] == 1.0 for r in report["vqa"].values())
    assert set(report["t2i"]) == {"cfg1", "cfg3"}
    assert {k for k in report["t2i"]["cfg3"] if k != "seconds"} == set(T2I_CHANCE)
    assert all(report["t2i"]["cfg1"][k]["accuracy"] == 1.0 for k in T2I_CHANCE)
    assert np.isclose(report["checker_on_ground_truth"]["colour"]["accuracy"], 1.0)
