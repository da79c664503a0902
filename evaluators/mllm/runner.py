"""The evaluation loop: load a benchmark, answer the questions this rank owns that are not
answered yet, append every answer at once, and on rank 0 merge, score and write the summary."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from evaluators.mllm.benchmarks import Benchmark, LoadedBenchmark
from evaluators.mllm.predictions_store import (PredictionWriter, rank_file, read_all_predictions,
                                               write_merged)
from evaluators.mllm.provenance import code_version, data_file_hashes
from evaluators.mllm.ranks import RankInfo, wait_until
from evaluators.mllm.types import Answerer, Prediction, Question

logger = logging.getLogger(__name__)


@dataclass
class RunSettings:
    max_new_tokens: int = 128       # as in the official VQA evaluation
    batch_size: int = 1
    limit: int | None = None        # first N questions of the benchmark (before splitting by rank)
    merge_timeout_s: float = 24 * 3600.0
    # Free-form description recorded verbatim in the summary (model paths, template, ...).
    recorded: dict[str, Any] = field(default_factory=dict)


def _load_image(question: Question) -> tuple[Image.Image | None, str | None]:
    if question.image_path is None:
        return None, None
    try:
        with Image.open(question.image_path) as image:
            return image.convert("RGB"), None
    except (OSError, ValueError) as error:  # missing, truncated or not an image
        return None, f"unreadable image {question.image_path}: {error}"


def _answer_shard(benchmark: Benchmark, todo: list[Question], answerer: Answerer,
                  settings: RunSettings, ranks: RankInfo, output_dir: Path) -> None:
    with PredictionWriter(rank_file(output_dir, ranks.rank)) as writer, \
            tqdm(total=len(todo), desc=f"{benchmark.name} rank {ranks.rank}", unit="q",
                 position=ranks.rank) as progress:
        for start in range(0, len(todo), settings.batch_size):
            batch = todo[start:start + settings.batch_size]
            ready: list[tuple[Question, Image.Image | None, str]] = []
            for question in batch:
                prompt = benchmark.prompt_for(question)
                image, error = _load_image(question)
                if error is not None:
                    writer.write(Prediction(question.question_id, prompt, None, error))
                else:
                    ready.append((question, image, prompt))
            if ready:
                answers = answerer.answer([r[1] for r in ready], [r[2] for r in ready], settings.max_new_tokens)
                if len(answers) != len(ready):
                    raise RuntimeError(f"answerer returned {len(answers)} answers for {len(ready)} prompts")
                for (question, _, prompt), answer in zip(ready, answers):
                    writer.write(Prediction(question.question_id, prompt, answer.strip()))
            progress.update(len(batch))


def run_benchmark(benchmark: Benchmark, data_dir: Path, output_dir: Path, answerer: Answerer,
                  settings: RunSettings, ranks: RankInfo | None = None,
                  loaded: LoadedBenchmark | None = None) -> dict[str, Any] | None:
    """Returns the summary on rank 0 (also written to <output_dir>/summary.json), None elsewhere.
    `loaded` avoids reading the benchmark twice when the caller has already checked its layout."""
    ranks = ranks or RankInfo.from_env()
    output_dir.mkdir(parents=True, exist_ok=True)
    loaded = loaded or benchmark.load(data_dir)
    for bad in loaded.malformed:
        logger.warning("%s: skipping malformed entry %s: %s", benchmark.name, bad.entry_id, bad.reason)
    questions = loaded.questions[:settings.limit] if settings.limit is not None else loaded.questions

    done = read_all_predictions(output_dir)
    todo = [q for q in ranks.shard(questions) if q.question_id not in done]
    if len(todo) < len(ranks.shard(questions)):
        logger.info("rank %d: resuming, %d questions already answered", ranks.rank,
                    len(ranks.shard(questions)) - len(todo))
    started = time.time()
    _answer_shard(benchmark, todo, answerer, settings, ranks, output_dir)
    answer_seconds = time.time() - started
    if not ranks.is_main:
        return None

    wanted = {q.question_id for q in questions}
    complete = wait_until(lambda: wanted <= read_all_predictions(output_dir).keys(),
                          settings.merge_timeout_s, poll_s=0.0 if ranks.world_size == 1 else 5.0)
    predictions = read_all_predictions(output_dir)
    merged = write_merged(output_dir, [predictions[q.question_id] for q in questions
                                       if q.question_id in predictions])
    scores = benchmark.score(questions, predictions)
    submissions = benchmark.write_submission(output_dir, questions, predictions)
    failed = [p for qid, p in predictions.items() if qid in wanted and p.failed]
    summary = {
        "benchmark": benchmark.name,
        "scores": scores,
        "counts": {"questions": len(questions), "answered": len(wanted & predictions.keys()) - len(failed),
                   "failed": len(failed), "missing": len(wanted - predictions.keys()),
                   "malformed_entries": len(loaded.malformed)},
        "complete": complete,
        "failed_questions": [{"question_id": p.question_id, "error": p.error} for p in failed],
        "malformed_entries": [asdict(bad) for bad in loaded.malformed],
        "settings": {**settings.recorded, "instruction": benchmark.instruction,
                     "max_new_tokens": settings.max_new_tokens, "batch_size": settings.batch_size,
                     "limit": settings.limit, "world_size": ranks.world_size},
        "data": {"dir": str(data_dir), "files_sha256": data_file_hashes(loaded.data_files, data_dir)},
        "code_version": code_version(),
        "outputs": {"predictions": str(merged), "submissions": [str(p) for p in submissions]},
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rank0_seconds": time.time() - started,
        # answering only (no waiting for other ranks); 0 questions when everything was resumed
        "rank0_throughput": {"questions": len(todo), "seconds": answer_seconds,
                             "questions_per_s": len(todo) / answer_seconds if todo else None},
    }
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return summary
