"""GQA test-dev balanced (the split the paper reports)."""
from __future__ import annotations

from pathlib import Path

from evaluators.mllm.benchmarks.base import (Benchmark, LoadedBenchmark, answers_of, read_json,
                                             require_dir, require_file)
from evaluators.mllm.scoring.gqa import GQAItem, score_gqa
from evaluators.mllm.types import MalformedEntry, Question

QUESTIONS_FILE = "testdev_balanced_questions.json"


class GQA(Benchmark):
    name = "gqa"
    layout = (f"gqa: {QUESTIONS_FILE} (dict question id -> {{imageId, question, answer, types}}) "
              "and images/<imageId>.jpg")

    def load(self, data_dir: Path) -> LoadedBenchmark:
        questions_file = require_file(data_dir / QUESTIONS_FILE, self.name)
        images = require_dir(data_dir / "images", self.name)
        entries = read_json(questions_file, self.name)
        if not isinstance(entries, dict):
            raise ValueError(f"gqa: {questions_file} should map question ids to entries")
        loaded = LoadedBenchmark([], data_files=[questions_file])
        for qid, entry in entries.items():
            try:
                loaded.questions.append(Question(
                    question_id=str(qid), question=entry["question"],
                    image_path=images / f"{entry['imageId']}.jpg",
                    reference={"answer": entry["answer"],
                               "structural_type": (entry.get("types") or {}).get("structural")}))
            except (KeyError, TypeError) as error:
                loaded.malformed.append(MalformedEntry(str(qid), f"missing field {error}"))
        return loaded

    def score(self, questions, predictions):
        return score_gqa(GQAItem(answer, q.reference["answer"], q.reference["structural_type"])
                         for q, answer in answers_of(questions, predictions))
