"""Text-to-image code generation speed: image positions per second, side by side in one run.

Paths, all greedy with the official per-position embedding (`embedding="official"`):
- official: the release's loop (HF layers, the depth head recomputing its prefix every step),
  frozen in benchmarks/reference_generation.py;
- previous: our loop before issue 12 (HF layers, depth-head KV cache), frozen there as well;
- new: mllm.generation today (lean steps on static KV buffers);
- compiled: the same with `compile=True` (with --compile; compilation happens in the warm-up).
Repetitions are interleaved (official, previous, new, ... again) so load changes on a shared
machine hit every path alike; the table gives the median and minimum seconds over --reps and
whether every path produced the same codes as the official loop. Models are random-init.

    python benchmarks/generation_speed.py [--positions 64] [--presets tiny cpu-small] [--batches 1 8]
        [--cfg both] [--reps 5] [--threads 1] [--compile] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_generation import reference_generate_image_codes  # noqa: E402

from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM  # noqa: E402

PROMPT_LENGTH = 15


def paths(model, compile_too: bool):
    out = {"official": lambda p, **kw: reference_generate_image_codes(model, p, depth_cache=False, **kw),
           "previous": lambda p, **kw: reference_generate_image_codes(model, p, **kw),
           "new": lambda p, **kw: model.generate_image_codes(p, **kw)}
    if compile_too:
        out["compiled"] = lambda p, **kw: model.generate_image_codes(p, compile=True, **kw)
    return out


def measure(model, batch: int, cfg: bool, positions: int, reps: int, compile_too: bool) -> dict:
    gen = torch.Generator().manual_seed(batch)
    prompt = torch.randint(5, model.config.vocab_size, (batch, PROMPT_LENGTH), generator=gen)
    kwargs = dict(num_positions=positions, top_k=1, embedding="official")
    if cfg:
        kwargs.update(cfg_scale=5.0, uncond_input_ids=torch.randint(5, model.config.vocab_size, (1, 6), generator=gen))
    runs = paths(model, compile_too)
    codes = {name: fn(prompt, **dict(kwargs, num_positions=2)) for name, fn in runs.items()}   # warm-up, compile
    times = {name: [] for name in runs}
    for _ in range(reps):
        for name, fn in runs.items():
            start = time.perf_counter()
            codes[name] = fn(prompt, **kwargs)
            times[name].append(time.perf_counter() - start)
    row = dict(batch=batch, cfg=cfg, positions=positions)
    for name, seconds in times.items():
        row[name] = dict(median_s=statistics.median(seconds), min_s=min(seconds),
                         positions_per_s=batch * positions / statistics.median(seconds),
                         same_codes=bool(torch.equal(codes[name], codes["official"])))
    return row


def markdown(rows: list, header: str) -> str:
    names = [n for n in ("official", "previous", "new", "compiled") if n in rows[0]]
    lines = [header, "", "| preset | batch | CFG | " + " | ".join(f"{n} pos/s (min s)" for n in names)
             + " | " + " | ".join(f"{n}/official" for n in names[1:]) + " | identical codes |",
             "|---" * (3 + 2 * len(names)) + "|"]
    for r in rows:
        base = r["official"]["median_s"]
        cells = [f"{r[n]['positions_per_s']:.1f} ({r[n]['min_s']:.2f})" for n in names]
        ratios = [f"{base / r[n]['median_s']:.2f}x" for n in names[1:]]
        same = all(r[n]["same_codes"] for n in names)
        lines.append(f"| {r['preset']} | {r['batch']} | {'yes' if r['cfg'] else 'no'} | " + " | ".join(cells)
                     + " | " + " | ".join(ratios) + f" | {same} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=64)
    parser.add_argument("--presets", nargs="+", default=["tiny", "cpu-small"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--cfg", choices=["no", "yes", "both"], default="both")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one core per path)")
    parser.add_argument("--compile", action="store_true", help="also time compile=True (compiled in the warm-up)")
    parser.add_argument("--json", type=Path, default=Path("generation_speed.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfgs = {"no": [False], "yes": [True], "both": [False, True]}[args.cfg]
    rows = []
    with torch.no_grad():
        for preset in args.presets:
            torch.manual_seed(0)
            model = UniTokMLLMForCausalLM(UniTokMLLMConfig.from_preset(preset)).eval()
            params = sum(p.numel() for p in model.parameters()) / 1e6
            for batch in args.batches:
                for cfg in cfgs:
                    row = measure(model, batch, cfg, args.positions, args.reps, args.compile)
                    row["preset"] = f"{preset} ({params:.0f}M)"
                    row["load_average"] = os.getloadavg()
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    header = (f"Image positions/s (batch x positions / median s), {args.positions} positions, greedy, official "
              f"embedding, fp32, {torch.get_num_threads()} thread(s), {args.reps} interleaved reps, "
              f"load average at the end {load}, torch {torch.__version__}")
    table = markdown(rows, header)
    print("\n" + table)
    args.json.write_text(json.dumps(dict(header=header, rows=rows, table=table), indent=1))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
