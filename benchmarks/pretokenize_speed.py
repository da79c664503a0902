"""Pre-tokenization throughput against the bare encoder, on the demo data, side by side.

    python benchmarks/pretokenize_speed.py [--samples 512] [--batch-size 32] [--workers 1] [--reps 5]

bare encode: `img_to_idx` over the same images, already decoded and preprocessed (not timed), in
batches of --batch-size: the most pre-tokenization could reach. pretokenize: the full run
(`data_recipes.pretokenize`: demo images generated, decoded and resized in --workers processes,
encoded, shards written). Both in images/s, interleaved repetitions, median and minimum, ratio,
thread count and load average; the table also goes to a JSON file. The model is the demo
tokenizer's architecture (random weights: speed does not depend on them) at the demo image size.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from data_recipes.pretokenize import PretokenizeConfig, pretokenize
from data_recipes.recipe import parse_recipe
from trainers.tokenizer.config import DEMO_MODEL
from unitok import UniTok, UniTokConfig
from unitok.processing import UniTokImageProcessor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--image-size", type=int, default=64, help="the demo recipe's image size")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=Path("pretokenize_speed.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = UniTok(UniTokConfig.from_preset("tiny", img_size=args.image_size, **DEMO_MODEL)).eval()
    processor = UniTokImageProcessor.from_config(model.config)
    work = Path(tempfile.mkdtemp(prefix="pretok_speed_"))
    recipe_path = work / "demo.yaml"
    recipe_path.write_text(f"name: demo_speed\ndefaults: {{demo_num_samples: {args.samples}, "
                           f"demo_image_size: {args.image_size}}}\n"
                           "sources:\n  - {name: shapes, loader: demo, sample_type: t2i}\n")
    recipe = parse_recipe(recipe_path.read_text(), str(recipe_path))

    from data_recipes.loaders import iter_source
    images = torch.cat([processor(raw.image) for raw in iter_source(recipe.sources[0], work)])

    def bare():
        with torch.no_grad():
            for start in range(0, len(images), args.batch_size):
                model.img_to_idx(images[start:start + args.batch_size])

    def full(run=[0]):
        run[0] += 1
        out = work / f"out{run[0]}"
        pretokenize(recipe, model, processor, PretokenizeConfig(out=out, batch_size=args.batch_size,
                                                                workers=args.workers, shard_size=1000))
        shutil.rmtree(out)

    times = {"bare encode": [], "pretokenize": []}
    bare(), full()   # warm-up
    for _ in range(args.reps):
        for name, fn in (("bare encode", bare), ("pretokenize", full)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    shutil.rmtree(work)
    rows = {name: dict(median_s=statistics.median(t), min_s=min(t), images_per_s=len(images) / statistics.median(t))
            for name, t in times.items()}
    ratio = rows["pretokenize"]["images_per_s"] / rows["bare encode"]["images_per_s"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    header = (f"demo data, {len(images)} images {args.image_size}x{args.image_size}, batch {args.batch_size}, "
              f"{args.workers} decoding worker(s), {torch.get_num_threads()} torch thread(s), {args.reps} interleaved "
              f"reps, load average at the end {load}")
    lines = [header, "", "| path | images/s (median) | median s | min s |", "|---|---|---|---|"]
    lines += [f"| {name} | {r['images_per_s']:.1f} | {r['median_s']:.2f} | {r['min_s']:.2f} |" for name, r in rows.items()]
    lines.append(f"\npretokenize / bare encode: {ratio:.2f}x")
    print("\n".join(lines))
    args.json.write_text(json.dumps(dict(header=header, rows=rows, ratio=ratio), indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
