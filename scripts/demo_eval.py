"""Measure a demo-trained MLLM on held-out demo scenes (never seen in training):

- understanding: greedy answers to `--per-kind` held-out questions of each kind (colour, shape,
  position, size, count, yes/no existence) in training wordings, and as many in the wordings
  training never used (held-out-only paraphrases);
- generation: `--images` images per CFG scale generated from held-out single-object prompts
  (dominant colour, shape, size, grid cell of the largest object) and as many 1-3-object prompts
  (object count), checked programmatically; the checks are first validated on ground-truth
  renders of the same prompts (their accuracy there is reported).

Every figure has its chance level and a one-sided binomial p-value.

    python scripts/demo_eval.py [--model outputs/finetune_demo/export] [--per-kind 300] [--images 100]
                                [--cfg 1 3 5] [--json outputs/demo_eval.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.mllm.demo_skills import (answer_vqa, score_vqa, t2i_eval, t2i_specs, validate_checks,  # noqa: E402
                                         vqa_items)


def _line(name: str, r: dict) -> str:
    return (f"  {name:<22} {r['accuracy']:6.1%}  chance {r['chance']:5.1%}  p={r['p_value']:.2g}  "
            f"(n={r['n']})")


def evaluate(pipe, per_kind: int, images: int, cfg_scales, seed: int = 0) -> dict:
    size = pipe.unitok.config.img_size
    report = {"image_size": size}
    t0 = time.time()
    for name, only in (("vqa", False), ("vqa_heldout_paraphrases", True)):
        items = vqa_items(per_kind, size, seed, heldout_only=only)
        report[name] = score_vqa(items, answer_vqa(pipe, items))
    report["vqa_seconds"] = time.time() - t0
    single = t2i_specs(images, seed, objects=1)
    multi = [s for k in (1, 2, 3) for s in t2i_specs(-(-images // 3), seed, objects=k)][:images]
    report["checker_on_ground_truth"] = {**validate_checks(single, size),
                                         "count": validate_checks(multi, size)["count"]}
    report["t2i"] = {}
    for cfg in cfg_scales:
        t0 = time.time()
        scores, _ = t2i_eval(pipe, single, cfg, seed)
        scores["count"] = t2i_eval(pipe, multi, cfg, seed + 1)[0]["count"]
        report["t2i"][f"cfg{cfg:g}"] = {**scores, "seconds": time.time() - t0}
    return report


def print_report(report: dict) -> None:
    for name in ("vqa", "vqa_heldout_paraphrases"):
        print(f"{name}:")
        for kind, r in report[name].items():
            print(_line(kind, r) + f"  e.g. {r['examples'][0]}")
    print("image checks on ground-truth renders:")
    for attr, r in report["checker_on_ground_truth"].items():
        print(_line(attr, r))
    for cfg, scores in report["t2i"].items():
        print(f"t2i {cfg}:")
        for attr, r in scores.items():
            if attr != "seconds":
                print(_line(attr, r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("outputs/finetune_demo/export"))
    parser.add_argument("--unitok", type=Path, default=None, help="default: MODEL/unitok")
    parser.add_argument("--per-kind", type=int, default=300, help="held-out questions per kind (and wording set)")
    parser.add_argument("--images", type=int, default=100, help="generated images per attribute and CFG scale")
    parser.add_argument("--cfg", type=float, nargs="*", default=[1.0, 3.0, 5.0], help="CFG scales for generation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if not (args.model / "config.json").exists():
        raise SystemExit(f"{args.model} is not an exported model; run train/pretrain.py and train/finetune.py first")
    import torch
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    from mllm import UnifiedPipeline
    pipe = UnifiedPipeline.from_pretrained(str(args.model), str(args.unitok or args.model / "unitok"),
                                           device="cpu", dtype="float32")
    report = {"model": str(args.model), **evaluate(pipe, args.per_kind, args.images, args.cfg, args.seed)}
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
