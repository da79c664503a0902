"""POPE on COCO: the three official question files, scored separately."""
from __future__ import annotations

import json
from pathlib import Path

from evaluators.mllm.benchmarks.base import (Benchmark, LayoutError, LoadedBenchmark, answers_of,
                                             require_file)
from evaluators.mllm.scoring.pope import POPEItem, score_pope
from evaluators.mllm.types import MalformedEntry, Question

SPLITS = ("random", "popular", "adversarial")


def _image_folder(data_dir: Path) -> Path:
    for name in ("val2014", "images"):
        if (data_dir / name).is_dir():
            return data_dir / name
    return data_dir


class POPE(Benchmark):
    name = "pope"
    layout = ("pope: coco_pope_{random,popular,adversarial}.json (JSON lines: question_id, image, "
              "text, label); images in val2014/, images/ or the folder itself")

    def load(self, data_dir: Path) -> LoadedBenchmark:
        files = [require_file(data_dir / f"coco_pope_{split}.json", self.name) for split in SPLITS]
        images = _image_folder(data_dir)
        loaded = LoadedBenchmark([], data_files=files)
        for split, path in zip(SPLITS, files):
            for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                entry_id = f"{split}/line{line_number}"
                try:
                    entry = json.loads(line)
                    entry_id = f"{split}/{entry['question_id']}"  # ids restart in every split
                    label = entry["label"].strip().lower()
                    if label not in ("yes", "no"):
                        raise ValueError(f"label {entry['label']!r} is not yes/no")
                    loaded.questions.append(Question(
                        question_id=entry_id, question=entry["text"], image_path=images / entry["image"],
                        reference={"label": label, "split": split}))
                except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as error:
                    loaded.malformed.append(MalformedEntry(entry_id, f"{path.name}: {error!r}"))
        if not loaded.questions and not loaded.malformed:
            raise LayoutError(f"pope: the question files in {data_dir} are empty")
        return loaded

    def score(self, questions, predictions):
        return score_pope(POPEItem(answer, q.reference["label"], q.reference["split"])
                          for q, answer in answers_of(questions, predictions))
