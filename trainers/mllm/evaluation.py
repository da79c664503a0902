"""Held-out evaluation during training on the demo recipe: every `eval_every` steps the model
answers a small fixed set of held-out questions of each kind (and of the held-out-only wordings)
and, when the recipe trains text-to-image, generates a few images from held-out prompts that the
programmatic checks score. The figures join that step's record in metrics.jsonl.

Every rank runs the same evaluation on the same inputs, so ZeRO-3 (where each forward gathers
parameters from all ranks) works unchanged; rank 0 writes.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Optional

import torch
from PIL import Image, ImageDraw, ImageFont

from data_recipes.recipe import Recipe
from evaluators.mllm.demo_skills import (answer_vqa, score_vqa, t2i_eval, t2i_prompt, t2i_specs,
                                         vqa_items)

from .config import TrainConfig


class DemoEvaluator:
    def __init__(self, cfg: TrainConfig, recipe: Recipe, tokenizer):
        self.enabled = cfg.eval_every > 0 and any(s.loader == "demo" for s in recipe.sources)
        self.t2i = any(s.sample_type == "t2i" for s in recipe.sources)
        self.cfg, self.tokenizer = cfg, tokenizer
        self.last_images: list[Image.Image] = []
        if not self.enabled:
            return
        from unitok import UniTok
        self.unitok = UniTok.from_pretrained(cfg.unitok).eval()
        size = self.unitok.config.img_size
        # Fixed sets (same seed every time), distinct from the items scripts/demo_eval.py starts with.
        self.items = vqa_items(cfg.eval_per_kind, size, seed=cfg.seed + 1000)
        self.reworded = vqa_items(max(1, cfg.eval_per_kind // 2), size, seed=cfg.seed + 1000, heldout_only=True)
        self.specs = t2i_specs(cfg.eval_t2i_images, seed=cfg.seed + 1000) if self.t2i else []

    def due(self, step: int) -> bool:
        return self.enabled and (step % self.cfg.eval_every == 0 or step == self.cfg.steps)

    @torch.no_grad()
    def __call__(self, model) -> dict:
        from mllm import UnifiedPipeline

        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        was_training = base.training
        pipe = UnifiedPipeline(base, self.unitok, self.tokenizer)   # puts the model in eval mode
        try:
            record = {f"eval/vqa_{k}": v["accuracy"] for k, v in score_vqa(self.items, answer_vqa(pipe, self.items)).items()}
            reworded = score_vqa(self.reworded, answer_vqa(pipe, self.reworded))
            record["eval/vqa_heldout_wording"] = (sum(v["correct"] for v in reworded.values()) /
                                                  max(1, sum(v["n"] for v in reworded.values())))
            if self.specs:
                scores, self.last_images = t2i_eval(pipe, self.specs, self.cfg.eval_cfg, seed=self.cfg.seed)
                record.update({f"eval/t2i_{k}": v["accuracy"] for k, v in scores.items()})
        finally:
            base.train(was_training)
        return record

    def write_grid(self, path: Path) -> Optional[Path]:
        """The last evaluation's generated images with their prompts, as a PNG."""
        if not self.last_images:
            return None
        return prompt_grid(self.last_images, [t2i_prompt(s) for s in self.specs], path,
                           title=f"CFG {self.cfg.eval_cfg:g}, step {self.cfg.steps}")


def prompt_grid(images: list[Image.Image], prompts: list[str], path: Path, tile: int = 128, columns: int = 4,
                title: str = "") -> Path:
    """Images upscaled to `tile` pixels, each with its prompt underneath."""
    font = ImageFont.load_default()
    text_h, head = 48, 16 if title else 0
    rows = -(-len(images) // columns)
    grid = Image.new("RGB", (columns * tile, head + rows * (tile + text_h)), "white")
    draw = ImageDraw.Draw(grid)
    if title:
        draw.text((4, 2), title, fill="black", font=font)
    for i, (image, prompt) in enumerate(zip(images, prompts)):
        x, y = (i % columns) * tile, head + (i // columns) * (tile + text_h)
        grid.paste(image.convert("RGB").resize((tile, tile), Image.NEAREST), (x, y))
        draw.multiline_text((x + 2, y + tile + 1), "\n".join(textwrap.wrap(prompt, 24)[:4]), fill="black",
                            font=font, spacing=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    return path
