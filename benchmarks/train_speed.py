"""Training throughput of the MLLM on this machine: tokens/s and achieved FLOP/s (LLM + image
embedder + depth head, forward + backward) next to the measured fp32 matmul peak.

    python benchmarks/train_speed.py [--presets tiny cpu-small] [--steps 5] [--batch 2]

One process, AdamW, synthetic batches shaped like the demo mixture: half of the rows are T2I
(prompt + generated image), half understanding (image + answer).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM  # noqa: E402
from mllm.constants import BOI_TOKEN_ID, EOI_TOKEN_ID, EOS_TOKEN_ID, IGNORE_INDEX, IMAGE_TOKEN_INDEX  # noqa: E402
from trainers.mllm.metrics import FlopCounter, measured_cpu_peak  # noqa: E402


def synthetic_batch(config, batch: int, prompt: int, image: int, vocab: int, generator: torch.Generator):
    ids, labels = [], []
    for row in range(batch):
        text = torch.randint(5, vocab, (prompt,), generator=generator).tolist()
        if row % 2 == 0:   # T2I: prompt, boi, image (target), eoi, eos
            ids.append([1] + text + [BOI_TOKEN_ID, IMAGE_TOKEN_INDEX, EOI_TOKEN_ID, EOS_TOKEN_ID])
            labels.append([IGNORE_INDEX] * (prompt + 1) + [BOI_TOKEN_ID, IMAGE_TOKEN_INDEX, EOI_TOKEN_ID, EOS_TOKEN_ID])
        else:              # understanding: image, then supervised text
            ids.append([1, BOI_TOKEN_ID, IMAGE_TOKEN_INDEX, EOI_TOKEN_ID] + text + [EOS_TOKEN_ID])
            labels.append([IGNORE_INDEX] * 4 + text + [EOS_TOKEN_ID])
    codes = torch.randint(0, config.codebook_size, (batch, config.num_codebooks, image), generator=generator)
    return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "image_codes": codes}


def measure(preset: str, steps: int, batch: int, prompt: int, image: int) -> dict:
    torch.manual_seed(0)
    config = UniTokMLLMConfig.from_preset(preset, image_positions=image, projection_width=256, projection_heads=4)
    model = UniTokMLLMForCausalLM(config).train()
    model.embedder.quantizer.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    counter = FlopCounter(model)
    data = synthetic_batch(config, batch, prompt, image, config.vocab_size, torch.Generator().manual_seed(0))
    lengths = [int((r != IMAGE_TOKEN_INDEX).sum()) + image for r in data["input_ids"]]
    generated = sum(1 for r in range(batch) if r % 2 == 0) * image
    flops = counter.step_flops(lengths, batch * image, generated)
    times = []
    for step in range(steps + 1):   # the first step warms up and is not timed
        t = time.perf_counter()
        loss = model(**data).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step:
            times.append(time.perf_counter() - t)
    median = sorted(times)[len(times) // 2]
    params = sum(p.numel() for p in model.parameters())
    return {"preset": preset, "params_M": params / 1e6, "tokens": sum(lengths), "step_s": median,
            "tokens_per_s": sum(lengths) / median, "flops_per_s": flops / median}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["tiny", "cpu-small"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--prompt", type=int, default=32, help="text tokens per row")
    parser.add_argument("--image", type=int, default=64, help="image positions per image")
    args = parser.parse_args()
    peak = measured_cpu_peak(size=1024, seconds=1.0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); fp32 matmul peak "
          f"{peak / 1e9:.1f} GFLOP/s (best 1024^3 matmul)")
    print(f"{'preset':<10} {'params':>8} {'tokens':>7} {'step s':>8} {'tokens/s':>9} {'GFLOP/s':>8} {'of peak':>8}")
    for preset in args.presets:
        r = measure(preset, args.steps, args.batch, args.prompt, args.image)
        print(f"{r['preset']:<10} {r['params_M']:>7.1f}M {r['tokens']:>7} {r['step_s']:>8.3f} "
              f"{r['tokens_per_s']:>9.0f} {r['flops_per_s'] / 1e9:>8.2f} {100 * r['flops_per_s'] / peak:>7.1f}%")


if __name__ == "__main__":
    main()
