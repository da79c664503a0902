"""Write held-out demo questions in GQA's official layout, so `eval/vqa.py --bench gqa` can score a
model trained on the demo recipe exactly as it scores a real one.

    python -m data_recipes.demo.gqa_layout --out outputs/demo_gqa [--num 100] [--image-size 64]

Files: `testdev_balanced_questions.json` (question id -> {imageId, question, answer, types}) and
`images/<imageId>.jpg`, as in the GQA release.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .language import KINDS
from .shapes import demo_items

QUESTIONS_FILE = "testdev_balanced_questions.json"


def write_gqa_layout(out: Path, num_images: int = 100, image_size: int = 64, seed: int = 0) -> Path:
    """One image per held-out item, with one question of each kind that the scene allows."""
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    questions = {}
    for item in demo_items(num_images, split="heldout", seed=seed, image_size=image_size):
        image_id = f"demo{item.index:06d}"
        item.image.save(out / "images" / f"{image_id}.jpg", quality=95)
        for kind in KINDS:
            q = item.question(kind)
            if q is not None:
                questions[f"{image_id}_{kind}"] = {"imageId": image_id, "question": q.question, "answer": q.answer,
                                                   "types": {"structural": kind}}
    path = out / QUESTIONS_FILE
    path.write_text(json.dumps(questions, indent=1), encoding="utf-8")
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--num", type=int, default=100, help="held-out images (one question per kind each)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"wrote {write_gqa_layout(args.out, args.num, args.image_size, args.seed)}")


if __name__ == "__main__":
    main()
