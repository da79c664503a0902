"""Text-to-image generation speed: image positions per second on CPU.

Compares the cached depth head (one new input per depth step) with the official reference that
re-runs the depth head over its whole prefix at every step, checks that both give identical
greedy codes, and prints a markdown table. Models are randomly initialised (speed only).

    python benchmarks/generation_speed.py [--positions 32] [--presets tiny cpu-small] [--threads 2]
"""
from __future__ import annotations

import argparse
import time

import torch

from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM

PROMPT_LENGTH = 15


def timed_generation(model, batch: int, cfg: bool, depth_cache: bool, positions: int):
    torch.manual_seed(0)
    prompt = torch.randint(5, model.config.vocab_size, (batch, PROMPT_LENGTH))
    kwargs = dict(num_positions=positions, top_k=1, depth_cache=depth_cache)
    if cfg:
        kwargs.update(cfg_scale=5.0, uncond_input_ids=torch.randint(5, model.config.vocab_size, (1, 6)))
    start = time.perf_counter()
    codes = model.generate_image_codes(prompt, **kwargs)
    return codes, time.perf_counter() - start


def run(presets, batches, positions: int):
    rows = []
    for preset in presets:
        torch.manual_seed(0)
        model = UniTokMLLMForCausalLM(UniTokMLLMConfig.from_preset(preset)).eval()
        params = sum(p.numel() for p in model.parameters()) / 1e6
        timed_generation(model, 1, False, True, 2)  # warm-up
        for batch in batches:
            for cfg in (False, True):
                cached_codes, cached_s = timed_generation(model, batch, cfg, True, positions)
                ref_codes, ref_s = timed_generation(model, batch, cfg, False, positions)
                rows.append(dict(preset=f"{preset} ({params:.0f}M)", batch=batch, cfg=cfg,
                                 cached=batch * positions / cached_s, recompute=batch * positions / ref_s,
                                 same=bool(torch.equal(cached_codes, ref_codes))))
                print(rows[-1], flush=True)
    return rows


def markdown(rows, positions: int) -> str:
    lines = [f"Image positions/s (x batch), {positions} positions, greedy, fp32, "
             f"{torch.get_num_threads()} CPU threads",
             "",
             "| preset | batch | CFG | cached depth head | recompute reference | speed-up | identical codes |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['preset']} | {r['batch']} | {'yes' if r['cfg'] else 'no'} | {r['cached']:.1f} | "
                     f"{r['recompute']:.1f} | {r['cached'] / r['recompute']:.2f}x | {r['same']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=32)
    parser.add_argument("--presets", nargs="+", default=["tiny", "cpu-small"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with torch.no_grad():
        rows = run(args.presets, args.batches, args.positions)
    print()
    print(markdown(rows, args.positions))


if __name__ == "__main__":
    main()
