"""Predictions as JSON lines, appended as they are produced so that a killed run loses at most
the line being written. A rerun reads every predictions file in the output folder and skips the
question ids found there."""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from evaluators.mllm.types import Prediction

MERGED_FILE = "predictions.jsonl"


def rank_file(output_dir: Path, rank: int) -> Path:
    return output_dir / f"predictions.rank{rank}.jsonl"


def prediction_files(output_dir: Path) -> list[Path]:
    """The merged file first, so its records win over leftovers of rank files."""
    merged = output_dir / MERGED_FILE
    ranks = sorted(output_dir.glob("predictions.rank*.jsonl"))
    return ([merged] if merged.is_file() else []) + ranks


def _to_json(prediction: Prediction) -> str:
    return json.dumps({"question_id": prediction.question_id, "prompt": prediction.prompt,
                       "answer": prediction.answer, "error": prediction.error}, ensure_ascii=False)


def read_prediction_file(path: Path) -> dict[str, Prediction]:
    """Records of one file. A last line without its newline is a write cut short by a kill and
    is ignored; a broken line anywhere else means the file was damaged otherwise and is an error."""
    records: dict[str, Prediction] = {}
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    complete, partial = lines[:-1], lines[-1]
    for number, line in enumerate(complete, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            prediction = Prediction(str(row["question_id"]), row.get("prompt", ""), row["answer"], row.get("error"))
        except (json.JSONDecodeError, KeyError) as error:
            raise ValueError(f"{path}:{number} is not a prediction record ({error})") from error
        records.setdefault(prediction.question_id, prediction)
    if partial.strip():
        try:  # a complete record that only lacks the final newline is still good
            row = json.loads(partial)
            records.setdefault(str(row["question_id"]), Prediction(
                str(row["question_id"]), row.get("prompt", ""), row["answer"], row.get("error")))
        except (json.JSONDecodeError, KeyError):
            pass
    return records


def read_all_predictions(output_dir: Path) -> dict[str, Prediction]:
    records: dict[str, Prediction] = {}
    for path in prediction_files(output_dir):
        for qid, prediction in read_prediction_file(path).items():
            records.setdefault(qid, prediction)
    return records


def _drop_partial_last_line(path: Path) -> None:
    """Cut a half-written last line so the next append starts on a fresh line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


class PredictionWriter:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            _drop_partial_last_line(path)
        self._handle = path.open("a", encoding="utf-8")

    def write(self, prediction: Prediction) -> None:
        self._handle.write(_to_json(prediction) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "PredictionWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_merged(output_dir: Path, ordered: Iterable[Prediction]) -> Path:
    """Write the merged file atomically, then drop the rank files it replaces."""
    merged = output_dir / MERGED_FILE
    temporary = merged.with_suffix(".jsonl.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for prediction in ordered:
            handle.write(_to_json(prediction) + "\n")
    os.replace(temporary, merged)
    for path in output_dir.glob("predictions.rank*.jsonl"):
        path.unlink()
    return merged
