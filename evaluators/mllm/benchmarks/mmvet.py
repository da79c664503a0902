"""MM-Vet: open-ended answers graded offline by its GPT-4 grader, so the run only writes the
answers file the grader reads ({question_id: answer})."""
from __future__ import annotations

import json
from pathlib import Path

from evaluators.mllm.benchmarks.base import (Benchmark, LoadedBenchmark, answers_of, read_json,
                                             require_dir, require_file)
from evaluators.mllm.types import MalformedEntry, Question

QUESTIONS_FILE = "mm-vet.json"
SUBMISSION_FILE = "answers_mmvet.json"


class MMVet(Benchmark):
    name = "mmvet"
    instruction = None  # open-ended: the LLaVA evaluation adds no short-answer instruction
    layout = f"mmvet: {QUESTIONS_FILE} (dict id -> {{imagename, question, answer, capability}}) and images/"

    def load(self, data_dir: Path) -> LoadedBenchmark:
        questions_file = require_file(data_dir / QUESTIONS_FILE, self.name)
        images = require_dir(data_dir / "images", self.name)
        loaded = LoadedBenchmark([], data_files=[questions_file])
        for qid, entry in read_json(questions_file, self.name).items():
            try:
                loaded.questions.append(Question(
                    question_id=str(qid), question=entry["question"],
                    image_path=images / entry["imagename"],
                    reference={"capability": entry.get("capability", [])}))
            except (KeyError, TypeError) as error:
                loaded.malformed.append(MalformedEntry(str(qid), f"missing field {error}"))
        return loaded

    def score(self, questions, predictions):
        answered = sum(answer is not None for _, answer in answers_of(questions, predictions))
        return {"graded": False, "answered": answered, "count": len(questions),
                "note": f"grade {SUBMISSION_FILE} with the MM-Vet GPT-4 grader"}

    def write_submission(self, output_dir, questions, predictions):
        path = output_dir / SUBMISSION_FILE
        answers = {q.question_id: answer or "" for q, answer in answers_of(questions, predictions)}
        path.write_text(json.dumps(answers, indent=1, ensure_ascii=False), encoding="utf-8")
        return [path]
