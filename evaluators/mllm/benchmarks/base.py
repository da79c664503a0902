"""What every benchmark layout provides to the runner."""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mllm.constants import SHORT_ANSWER_INSTRUCTION
from evaluators.mllm.types import MalformedEntry, Prediction, Question


class LayoutError(FileNotFoundError):
    """The data folder does not hold the benchmark's official files."""


@dataclass
class LoadedBenchmark:
    questions: list[Question]
    malformed: list[MalformedEntry] = field(default_factory=list)
    data_files: list[Path] = field(default_factory=list)  # hashed into the run summary


class Benchmark(ABC):
    name: str = ""
    # Appended on a new line after the question, as in the LLaVA evaluation files.
    instruction: str | None = SHORT_ANSWER_INSTRUCTION
    layout: str = ""  # one line for --help: which files under --data are read

    @abstractmethod
    def load(self, data_dir: Path) -> LoadedBenchmark: ...

    @abstractmethod
    def score(self, questions: list[Question], predictions: dict[str, Prediction]) -> dict[str, Any]: ...

    def write_submission(self, output_dir: Path, questions: list[Question],
                         predictions: dict[str, Prediction]) -> list[Path]:
        """Files an external grader or server needs; most benchmarks need none."""
        return []

    def prompt_for(self, question: Question) -> str:
        return question.question if not self.instruction else f"{question.question}\n{self.instruction}"


def require_file(path: Path, benchmark: str) -> Path:
    if not path.is_file():
        raise LayoutError(f"{benchmark}: expected file {path} (see `eval/vqa.py --help` for the layout)")
    return path


def require_dir(path: Path, benchmark: str) -> Path:
    if not path.is_dir():
        raise LayoutError(f"{benchmark}: expected folder {path} (see `eval/vqa.py --help` for the layout)")
    return path


def read_json(path: Path, benchmark: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LayoutError(f"{benchmark}: {path} is not valid JSON ({error})") from error


def answers_of(questions: list[Question], predictions: dict[str, Prediction]):
    """(question, answer-or-None) for every question; missing predictions count as failed."""
    for question in questions:
        prediction = predictions.get(question.question_id)
        yield question, (prediction.answer if prediction is not None else None)
