"""Measure a demo-trained MLLM on held-out demo items (never seen in training):

- understanding: greedy answers to the colour / shape / position questions, accuracy vs chance;
- generation: images generated from held-out captions, share whose dominant colour matches the
  colour named in the prompt, vs chance.

    python scripts/demo_eval.py [--model outputs/finetune_demo/export] [--num 30] [--cfg 3.0]

Figures only: the binomial p-value says how unlikely the count is under guessing; no thresholds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import mllm  # noqa: E402,F401
from data_recipes.demo import QUESTIONS, answer_is_correct, chance_level, colour_chance, demo_items, score  # noqa: E402
from data_recipes.demo.checks import colour_matches_prompt, dominant_colour  # noqa: E402
from data_recipes.sequences import tokenizer_image_token, vicuna_prompt  # noqa: E402
from mllm.conversation import t2i_prompt_ids  # noqa: E402
from mllm.token_layout import TokenLayout  # noqa: E402


def load(model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from unitok import UniTok
    from unitok.processing import UniTokImageProcessor, tensor_to_pil

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    unitok = UniTok.from_pretrained(str(model_dir / "unitok")).eval()
    return model, tokenizer, unitok, UniTokImageProcessor.from_config(unitok.config), tensor_to_pil


@torch.no_grad()
def understanding(model, tokenizer, unitok, processor, items) -> dict:
    results, layout = {}, TokenLayout.of(model.config)
    for kind in QUESTIONS:
        outcomes, examples = [], []
        for item in items:
            codes = unitok.img_to_idx(processor([item.image]))
            prompt = vicuna_prompt(item.conversation(kind)[:1], add_generation_prompt=True, layout=layout)
            ids = torch.tensor([tokenizer_image_token(prompt, tokenizer, layout)])
            out = model.generate(ids, image_codes=codes, max_new_tokens=8, do_sample=False,
                                 eos_token_id=layout.eos, pad_token_id=layout.pad)
            answer = tokenizer.decode(out[0], skip_special_tokens=True).strip()
            outcomes.append(answer_is_correct(answer, item.answer(kind), kind))
            examples.append((item.answer(kind), answer))
        s = score(outcomes, chance_level(kind))
        results[kind] = {"accuracy": s.accuracy, "chance": s.chance, "p_value": s.p_value, "n": s.total,
                         "examples": examples[:3]}
    return results


@torch.no_grad()
def generation(model, tokenizer, unitok, tensor_to_pil, items, cfg_scale: float, seed: int) -> dict:
    generator, layout = torch.Generator().manual_seed(seed), TokenLayout.of(model.config)
    uncond = torch.tensor([t2i_prompt_ids(tokenizer, None, layout)])
    outcomes, found = [], []
    for item in items:
        ids = torch.tensor([t2i_prompt_ids(tokenizer, item.long_caption, layout)])
        codes = model.generate_image_codes(ids, cfg_scale=cfg_scale, uncond_input_ids=uncond if cfg_scale != 1 else None,
                                           temperature=1.0, top_k=0, top_p=1.0, generator=generator)
        image = tensor_to_pil(unitok.idx_to_img(codes))[0]
        outcomes.append(colour_matches_prompt(image, item.long_caption))
        found.append((item.colour, dominant_colour(image)))
    s = score(outcomes, colour_chance())
    return {"accuracy": s.accuracy, "chance": s.chance, "p_value": s.p_value, "n": s.total, "examples": found[:5]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("outputs/finetune_demo/export"))
    parser.add_argument("--num", type=int, default=30, help="held-out items per question kind / prompts")
    parser.add_argument("--cfg", type=float, default=3.0, help="classifier-free guidance scale for generation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if not (args.model / "config.json").exists():
        raise SystemExit(f"{args.model} is not an exported model; run train/pretrain.py and train/finetune.py first")
    model, tokenizer, unitok, processor, tensor_to_pil = load(args.model)
    size = unitok.config.img_size
    items = list(demo_items(args.num, split="heldout", seed=0, image_size=size))
    report = {"model": str(args.model), "understanding": understanding(model, tokenizer, unitok, processor, items),
              "generation": generation(model, tokenizer, unitok, tensor_to_pil, items, args.cfg, args.seed)}
    print(f"held-out demo items: {args.num}")
    for kind, r in report["understanding"].items():
        print(f"  VQA {kind:<9} accuracy {r['accuracy']:.2f}  chance {r['chance']:.2f}  p={r['p_value']:.2g}  "
              f"e.g. {r['examples'][0]}")
    g = report["generation"]
    print(f"  T2I colour    match    {g['accuracy']:.2f}  chance {g['chance']:.2f}  p={g['p_value']:.2g}  "
          f"(expected, found) e.g. {g['examples'][:3]}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
