"""`python -m mllm.plan`: per-GPU memory and time of training, memory of evaluation and generation.

    python -m mllm.plan                                   # llama2-7b, 8 GPUs, ZeRO-2/3, full and LoRA
    python -m mllm.plan --preset llama2-7b --gpus 8 --zero 3 --micro-batch 4 --seq 2048 --lora \\
        --gradient-checkpointing
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

from ..config import UniTokMLLMConfig
from .estimate import OFFLOADS, PRECISIONS, InferenceSetup, TrainSetup, plan_inference, plan_training
from .sizes import model_sizes

GIB = 1024 ** 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mllm.plan", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="llama2-7b", choices=UniTokMLLMConfig.presets())
    p.add_argument("--gpus", type=int, default=8)
    p.add_argument("--zero", type=int, nargs="+", default=[2, 3], choices=[0, 1, 2, 3], help="one column each")
    p.add_argument("--finetune", nargs="+", default=["full", "lora"], choices=["full", "lora"],
                   help="full training of the LLM, LoRA on it, or both (one column each)")
    p.add_argument("--lora", action="store_true", help="same as --finetune lora")
    p.add_argument("--lora-rank", type=int, default=8)
    p.add_argument("--offload", default="none", choices=OFFLOADS)
    p.add_argument("--precision", default="bf16", choices=sorted(PRECISIONS))
    p.add_argument("--micro-batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=2048, help="positions per row after image expansion")
    p.add_argument("--images", type=int, default=1, help="images embedded per row")
    p.add_argument("--generated", type=int, default=1, help="of those, generation targets")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--mfu", type=float, default=0.4, help="model FLOPs utilisation assumed for the time")
    p.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 TFLOP/s per GPU (H100/H200: 989)")
    p.add_argument("--eval-batch", type=int, default=16)
    p.add_argument("--eval-prompt", type=int, default=320, help="prompt positions per row, image included")
    p.add_argument("--eval-new-tokens", type=int, default=128)
    p.add_argument("--gen-batch", type=int, default=8)
    return p


def _gib(value: float) -> str:
    return f"{value / GIB:.2f}"


def _row(label: str, values: Sequence[str], width: int = 14) -> str:
    return f"{label:<34}" + "".join(f"{v:>{width}}" for v in values)


def training_table(config, args) -> List[str]:
    sizes = model_sizes(config)
    variants = ["lora"] if args.lora else args.finetune
    columns, plans = [], []
    for zero in args.zero:
        for variant in variants:
            setup = TrainSetup(gpus=args.gpus, zero=zero, offload=args.offload, micro_batch=args.micro_batch,
                               seq=args.seq, images=args.images, generated=args.generated,
                               lora_rank=args.lora_rank if variant == "lora" else 0,
                               gradient_checkpointing=args.gradient_checkpointing, precision=args.precision,
                               mfu=args.mfu, peak_tflops=args.peak_tflops)
            plans.append(plan_training(config, setup, sizes))
            columns.append(f"ZeRO-{zero} {variant}")
    acts = [p.activations for p in plans]
    lines = [f"training, per GPU: {args.gpus} GPU(s), micro-batch {args.micro_batch} x {args.seq} positions "
             f"({args.images} image(s) per row, {args.generated} generated), {args.precision}, "
             f"gradient checkpointing {'on' if args.gradient_checkpointing else 'off'}, offload {args.offload}",
             _row("", columns),
             _row("parameters (M)", [f"{p.parameters / 1e6:.1f}" for p in plans]),
             _row("trainable parameters (M)", [f"{p.trainable / 1e6:.1f}" for p in plans]),
             _row("weights (GiB)", [_gib(p.weights) for p in plans]),
             _row("gradients (GiB)", [_gib(p.gradients) for p in plans]),
             _row("optimizer states (GiB)", [_gib(p.optimizer) for p in plans]),
             _row("ZeRO buffers (GiB)", [_gib(p.zero_buffers) for p in plans]),
             _row("activations: LLM layers (GiB)", [_gib(a.llm) for a in acts]),
             _row("activations: text logits (GiB)", [_gib(a.text_head) for a in acts]),
             _row("activations: image embedder (GiB)", [_gib(a.embedder) for a in acts]),
             _row("activations: depth head (GiB)", [_gib(a.depth_head) for a in acts]),
             _row("activations at peak (GiB)", [_gib(a.peak) for a in acts]),
             _row("peak per GPU (GiB)", [_gib(p.peak) for p in plans]),
             _row("offloaded to CPU, per GPU (GiB)", [_gib(p.cpu_offload) for p in plans]),
             _row("TFLOPs per micro-batch step", [f"{p.flops_per_step / 1e12:.1f}" for p in plans]),
             _row(f"seconds per micro-batch @{args.mfu:.0%} MFU", [f"{p.step_seconds:.2f}" for p in plans]),
             _row("tokens/s per GPU", [f"{args.micro_batch * args.seq / p.step_seconds:.0f}" for p in plans])]
    return lines


def inference_table(config, args) -> List[str]:
    sizes = model_sizes(config)
    evaluation = plan_inference(config, InferenceSetup(batch=args.eval_batch, prompt=args.eval_prompt,
                                                       new_tokens=args.eval_new_tokens), sizes)
    generation = plan_inference(config, InferenceSetup(batch=args.gen_batch, prompt=64), sizes)
    return [f"inference in bf16, one GPU",
            _row("", ["evaluation", "generation"]),
            _row("batch", [str(args.eval_batch), f"{args.gen_batch} (x2 CFG)"]),
            _row("weights (GiB)", [_gib(evaluation.weights), _gib(generation.weights)]),
            _row("LLM KV cache (GiB)", [_gib(evaluation.understanding_kv), _gib(generation.generation_kv)]),
            _row("depth-head KV cache (GiB)", ["-", _gib(generation.depth_kv)]),
            _row("total (GiB)", [_gib(evaluation.understanding), _gib(generation.generation)])]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    config = UniTokMLLMConfig.from_preset(args.preset)
    sizes = model_sizes(config)
    print(f"{args.preset}: {sizes.total / 1e6:.1f}M parameters (LLM {sizes.llm / 1e6:.1f}M, image embedder "
          f"{(sizes.projection + sizes.projector) / 1e6:.1f}M, depth head {sizes.depth_head / 1e6:.1f}M, "
          f"frozen codebooks {sizes.codebooks / 1e6:.2f}M)\n")
    print("\n".join(training_table(config, args)))
    print()
    print("\n".join(inference_table(config, args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
