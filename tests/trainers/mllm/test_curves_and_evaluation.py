"""Learning-curve plot of any run folder, the prompt grid, and the held-out evaluator's record
on a real (tiny, untrained) model and UniTok."""
from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image

from data_recipes.demo.language import KINDS
from data_recipes.recipe import load_recipe
from trainers.mllm.config import TrainConfig
from trainers.mllm.curves import main as curves_main
from trainers.mllm.evaluation import DemoEvaluator, prompt_grid


def _write_metrics(run, with_eval: bool):
    with open(run / "metrics.jsonl", "w") as f:
        for step in range(1, 21):
            record = {"step": step, "loss": 5 / step, "text_loss": 4 / step, "image_loss": 6 / step}
            if with_eval and step % 10 == 0:
                record.update({f"eval/vqa_{k}": step / 25 for k in KINDS})
                record.update({"eval/t2i_colour": step / 40, "eval/vqa_heldout_wording": 0.5})
            f.write(json.dumps(record) + "\n")


def test_plot_command_on_run_folders(tmp_path):
    for name, with_eval in (("plain", False), ("evaluated", True)):
        run = tmp_path / name
        run.mkdir()
        _write_metrics(run, with_eval)
        curves_main(["plot", str(run)])
        image = Image.open(run / "curves.png")
        # one panel for the losses, two more (VQA, T2I) when held-out scores were logged
        assert image.size[0] > image.size[1] * (3.5 if with_eval else 1.0)
        assert np.asarray(image.convert("L")).std() > 10   # something is drawn
    curves_main(["plot", str(tmp_path / "plain"), "--out", str(tmp_path / "x.png")])
    assert (tmp_path / "x.png").is_file()


def test_prompt_grid(tmp_path):
    images = [Image.new("RGB", (64, 64), c) for c in ("red", "blue", "green", "white", "black")]
    path = prompt_grid(images, ["a prompt"] * 5, tmp_path / "g.png", tile=96, columns=4, title="t")
    grid = Image.open(path)
    assert grid.size[0] == 4 * 96 and grid.size[1] > 2 * 96
    assert grid.getpixel((96 + 5, 16 + 5)) == (0, 0, 255)   # second tile, below the title


def test_evaluator_scores_a_real_model(tmp_path):
    """An untrained model scores something in [0, 1] for every kind, T2I checks included, and the
    model is back in training mode afterwards."""
    from mllm.builder import build_mllm_from_preset
    from trainers.mllm.text_tokenizer import build_demo_tokenizer
    from unitok import UniTok, UniTokConfig

    torch.manual_seed(0)
    UniTok(UniTokConfig.from_preset("tiny", img_size=64)).save_pretrained(str(tmp_path / "unitok"))
    tokenizer = build_demo_tokenizer(tmp_path / "tok")
    cfg = TrainConfig(unitok=str(tmp_path / "unitok"), eval_every=5, eval_per_kind=2, eval_t2i_images=2, steps=12)
    evaluator = DemoEvaluator(cfg, load_recipe("demo"), tokenizer)
    assert evaluator.enabled and evaluator.t2i and [evaluator.due(s) for s in (4, 5, 12)] == [False, True, True]
    model = build_mllm_from_preset("tiny", evaluator.unitok, vocab_size=len(tokenizer), image_positions=16).train()
    record = evaluator(model)
    assert model.training
    assert {f"eval/vqa_{k}" for k in KINDS} | {"eval/vqa_heldout_wording", "eval/t2i_colour", "eval/t2i_count"} \
        <= set(record)
    assert all(0.0 <= v <= 1.0 for v in record.values())
    assert evaluator.write_grid(tmp_path / "samples.png").is_file()
    off = DemoEvaluator(TrainConfig(eval_every=0), load_recipe("demo"), tokenizer)
    assert not off.enabled and not off.due(50)
