"""VQAv2: the official questions file, plus the annotations file when the split has one.

Test-dev has no public annotations: then no score is computed and the answers are written in the
format the evaluation server accepts ([{"question_id", "answer"}]).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from evaluators.mllm.benchmarks.base import (Benchmark, LayoutError, LoadedBenchmark, answers_of,
                                             read_json)
from evaluators.mllm.scoring.vqa_accuracy import VQAItem, score_vqa
from evaluators.mllm.types import MalformedEntry, Question

_QUESTIONS = re.compile(r"v2_OpenEnded_mscoco_(?P<split>[\w-]+)_questions\.json")
# test-dev questions are a subset of the test2015 images
_IMAGE_SPLIT = {"test-dev2015": "test2015"}


def _find_image(data_dir: Path, image_split: str, image_id: int) -> Path:
    name = f"COCO_{image_split}_{image_id:012d}.jpg"
    for folder in (data_dir / image_split, data_dir / "images", data_dir):
        if (folder / name).is_file():
            return folder / name
    return data_dir / image_split / name  # reported as an unreadable image later


class VQAv2(Benchmark):
    name = "vqav2"
    layout = ("vqav2: v2_OpenEnded_mscoco_<split>_questions.json, optional "
              "v2_mscoco_<split>_annotations.json (scored when present), images "
              "COCO_<image split>_<12-digit id>.jpg in <image split>/, images/ or the folder itself")

    def load(self, data_dir: Path) -> LoadedBenchmark:
        candidates = sorted(p for p in data_dir.glob("v2_OpenEnded_mscoco_*_questions.json"))
        if len(candidates) != 1:
            found = ", ".join(p.name for p in candidates) or "none"
            raise LayoutError(f"vqav2: expected exactly one v2_OpenEnded_mscoco_<split>_questions.json "
                              f"in {data_dir}, found {found}")
        questions_file = candidates[0]
        split = _QUESTIONS.fullmatch(questions_file.name)["split"]
        annotations_file = data_dir / f"v2_mscoco_{split}_annotations.json"
        annotations = {}
        data_files = [questions_file]
        if annotations_file.is_file():
            data_files.append(annotations_file)
            for ann in read_json(annotations_file, self.name).get("annotations", []):
                if "question_id" in ann:
                    annotations[ann["question_id"]] = ann
        image_split = _IMAGE_SPLIT.get(split, split)
        loaded = LoadedBenchmark([], data_files=data_files)
        for position, entry in enumerate(read_json(questions_file, self.name).get("questions", [])):
            qid = entry.get("question_id", f"#{position}") if isinstance(entry, dict) else f"#{position}"
            try:
                reference = {}
                if annotations:
                    ann = annotations[entry["question_id"]]
                    reference = {"answers": [a["answer"] for a in ann["answers"]],
                                 "answer_type": ann.get("answer_type")}
                loaded.questions.append(Question(
                    question_id=str(entry["question_id"]), question=entry["question"],
                    image_path=_find_image(data_dir, image_split, int(entry["image_id"])),
                    reference=reference))
            except (KeyError, TypeError, ValueError) as error:
                loaded.malformed.append(MalformedEntry(str(qid), f"bad or missing field {error}"))
        return loaded

    def score(self, questions, predictions):
        if not any(q.reference for q in questions):
            return {"accuracy": None, "note": "no annotations: submit answers_vqav2_submission.json"}
        return score_vqa(VQAItem(answer, q.reference["answers"], q.reference.get("answer_type"))
                         for q, answer in answers_of(questions, predictions))

    def write_submission(self, output_dir, questions, predictions):
        path = output_dir / "answers_vqav2_submission.json"
        rows = [{"question_id": int(q.question_id), "answer": answer or ""}
                for q, answer in answers_of(questions, predictions)]
        path.write_text(json.dumps(rows), encoding="utf-8")
        return [path]
