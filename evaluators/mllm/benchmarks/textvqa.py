"""TextVQA v0.5.1 validation set."""
from __future__ import annotations

from pathlib import Path

from evaluators.mllm.benchmarks.base import (Benchmark, LoadedBenchmark, answers_of, read_json,
                                             require_dir, require_file)
from evaluators.mllm.scoring.vqa_accuracy import VQAItem, score_vqa
from evaluators.mllm.types import MalformedEntry, Question

QUESTIONS_FILE = "TextVQA_0.5.1_val.json"


class TextVQA(Benchmark):
    name = "textvqa"
    layout = (f"textvqa: {QUESTIONS_FILE} ({{data: [{{question_id, question, image_id, answers}}]}}) "
              "and train_images/<image_id>.jpg")

    def load(self, data_dir: Path) -> LoadedBenchmark:
        questions_file = require_file(data_dir / QUESTIONS_FILE, self.name)
        images = require_dir(data_dir / "train_images", self.name)
        loaded = LoadedBenchmark([], data_files=[questions_file])
        for position, entry in enumerate(read_json(questions_file, self.name).get("data", [])):
            qid = entry.get("question_id", f"#{position}") if isinstance(entry, dict) else f"#{position}"
            try:
                answers = list(entry["answers"])
                if not answers:
                    raise ValueError("no human answers")
                loaded.questions.append(Question(
                    question_id=str(entry["question_id"]), question=entry["question"],
                    image_path=images / f"{entry['image_id']}.jpg", reference={"answers": answers}))
            except (KeyError, TypeError, ValueError) as error:
                loaded.malformed.append(MalformedEntry(str(qid), f"bad or missing field {error}"))
        return loaded

    def score(self, questions, predictions):
        return score_vqa(VQAItem(answer, q.reference["answers"])
                         for q, answer in answers_of(questions, predictions))
