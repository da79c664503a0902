"""Evaluate the unified MLLM on an understanding benchmark in its official published layout.

Example (2 processes, answers resumable, rank 0 merges and scores):
    torchrun --nproc_per_node 2 eval/vqa.py --bench gqa --model ckpt/ --data data/gqa --output out/gqa

--device auto puts each process on cuda:LOCAL_RANK when CUDA is present (else the CPU); --dtype auto
is bfloat16 there and float32 on the CPU. --batch-size N answers N questions per generate call
(greedy answers are the same as with 1).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from evaluators.mllm.benchmarks import BENCHMARKS, get_benchmark  # noqa: E402
from evaluators.mllm.pipeline_answerer import load_pipeline_answerer  # noqa: E402
from evaluators.mllm.runner import RunSettings, run_benchmark  # noqa: E402
from unitok.devices import add_device_arguments  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    layouts = "\n".join(f"  {BENCHMARKS[name]().layout}" for name in BENCHMARKS)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Files read from --data, per benchmark:\n" + layouts +
               "\n\nOutputs: predictions.jsonl (one answer per line), summary.json (scores and every "
               "setting), plus answers_vqav2_submission.json (VQAv2 without annotations) or "
               "answers_mmvet.json (MM-Vet, for its GPT grader).")
    parser.add_argument("--bench", required=True, choices=sorted(BENCHMARKS))
    parser.add_argument("--model", required=True, help="MLLM checkpoint folder")
    parser.add_argument("--unitok", default=None, help="UniTok tokenizer checkpoint, if not inside --model")
    parser.add_argument("--tokenizer", default=None, help="text tokenizer folder, if not inside --model")
    parser.add_argument("--data", required=True, type=Path, help="benchmark folder (layout below)")
    parser.add_argument("--output", required=True, type=Path, help="folder for predictions and summary")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--batch-size", type=int, default=1, help="questions per batched generate call")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--merge-timeout", type=float, default=24 * 3600.0,
                        help="seconds rank 0 waits for the other ranks' answers before scoring what it has")
    add_device_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    benchmark = get_benchmark(args.bench)
    loaded = benchmark.load(args.data)  # fail on a wrong layout before spending minutes loading the model
    if args.batch_size < 1:
        raise SystemExit("--batch-size must be at least 1")
    answerer = load_pipeline_answerer(args.model, args.unitok, args.tokenizer, device=args.device, dtype=args.dtype,
                                      attn_implementation=args.attn_implementation)
    runtime = answerer.recorded_settings(args.model, args.unitok, args.tokenizer)
    logging.getLogger("eval.vqa").info("rank %s: model on %s (%s, %s)", os.environ.get("RANK", "0"),
                                       runtime.get("device"), runtime.get("dtype"), runtime.get("attn_implementation"))
    settings = RunSettings(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                           limit=args.limit, merge_timeout_s=args.merge_timeout,
                           recorded=answerer.recorded_settings(args.model, args.unitok, args.tokenizer))
    summary = run_benchmark(benchmark, args.data, args.output, answerer, settings, loaded=loaded)
    if summary is not None:
        print(f"{args.bench}: {summary['scores']}")
        print(f"summary written to {args.output / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
