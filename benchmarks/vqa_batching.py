"""Batched VQA evaluation: questions/s per batch size and dtype, side by side in one process (runs
interleaved, the pipeline loaded once per dtype), and whether every answer equals batch size 1's.

    python benchmarks/vqa_batching.py --model outputs/finetune_demo/export --data outputs/demo_gqa \\
        --batch-sizes 1 8 32 --dtypes float32 bfloat16 --output runs/vqa_batching

Prints a table and writes <output>/vqa_batching.json (with the machine load).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.mllm.benchmarks import BENCHMARKS, get_benchmark  # noqa: E402
from evaluators.mllm.pipeline_answerer import load_pipeline_answerer  # noqa: E402
from evaluators.mllm.ranks import RankInfo  # noqa: E402
from evaluators.mllm.runner import RunSettings, run_benchmark  # noqa: E402


def _answers(folder: Path) -> dict:
    rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
    return {row["question_id"]: row["answer"] for row in rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default="gqa", choices=sorted(BENCHMARKS))
    p.add_argument("--model", required=True)
    p.add_argument("--unitok", default=None)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--output", required=True, type=Path)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--dtypes", nargs="+", default=["float32"])
    p.add_argument("--device", default="auto")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--repeats", type=int, default=1, help="rounds over all batch sizes (order rotated each round)")
    args = p.parse_args(argv)

    benchmark = get_benchmark(args.bench)
    loaded = benchmark.load(args.data)
    answerers = {dtype: load_pipeline_answerer(args.model, args.unitok, device=args.device, dtype=dtype)
                 for dtype in args.dtypes}
    runs = {(d, b): [] for d in args.dtypes for b in args.batch_sizes}
    answers, accuracy = {}, {}
    for round_index in range(args.repeats):
        shift = round_index % len(args.batch_sizes)
        order = args.batch_sizes[shift:] + args.batch_sizes[:shift]
        for batch in order:
            for dtype in args.dtypes:   # dtypes interleaved inside each batch size
                out = args.output / f"{dtype}_b{batch}_r{round_index}"
                shutil.rmtree(out, ignore_errors=True)
                settings = RunSettings(max_new_tokens=args.max_new_tokens, batch_size=batch, limit=args.limit)
                summary = run_benchmark(benchmark, args.data, out, answerers[dtype], settings, RankInfo(), loaded)
                runs[(dtype, batch)].append(summary["rank0_throughput"]["questions_per_s"])
                answers[(dtype, batch)] = _answers(out)
                accuracy[(dtype, batch)] = summary["scores"].get("accuracy")

    load = os.getloadavg()
    reference = {d: answers[(d, args.batch_sizes[0])] for d in args.dtypes}
    base_dtype = args.dtypes[0]
    rows = []
    for (dtype, batch), rates in runs.items():
        mine = answers[(dtype, batch)]
        rows.append({"dtype": dtype, "batch_size": batch, "questions_per_s": statistics.median(rates),
                     "runs_questions_per_s": rates, "accuracy": accuracy[(dtype, batch)],
                     f"same_answers_as_batch_{args.batch_sizes[0]}": sum(mine[q] == reference[dtype][q] for q in mine),
                     f"same_answers_as_{base_dtype}": sum(mine[q] == answers[(base_dtype, batch)][q] for q in mine),
                     "questions": len(mine)})
    first = args.batch_sizes[0]
    print(f"\n{args.bench} on {args.data}: {rows[0]['questions']} questions, max_new_tokens {args.max_new_tokens}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'dtype':>9} {'batch':>6} {'q/s':>8} {'speed-up':>9} {'accuracy':>9} {'= batch ' + str(first):>10} "
          f"{'= ' + base_dtype:>10}")
    for row in rows:
        speedup = row["questions_per_s"] / statistics.median(runs[(row["dtype"], first)])
        print(f"{row['dtype']:>9} {row['batch_size']:>6} {row['questions_per_s']:>8.2f} {speedup:>8.2f}x "
              f"{row['accuracy']:>9.2f} {row[f'same_answers_as_batch_{first}']:>6}/{row['questions']:<3} "
              f"{row[f'same_answers_as_{base_dtype}']:>6}/{row['questions']:<3}")
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "vqa_batching.json").write_text(json.dumps({"rows": rows, "load_average": load,
                                                               "args": {k: str(v) for k, v in vars(args).items()}},
                                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
