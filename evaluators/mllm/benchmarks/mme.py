"""MME (MME_Benchmark_release_version): 14 subtask folders, two yes/no questions per image.

The release ships two layouts and both are read:
  <subtask>/images/<name>.jpg + <subtask>/questions_answers_YN/<name>.txt  (artwork, celebrity, ...)
  <subtask>/<name>.jpg|png + <subtask>/<name>.txt                          (existence, count, ...)
Every .txt line is "question<TAB>Yes|No".
"""
from __future__ import annotations

from pathlib import Path

from evaluators.mllm.benchmarks.base import Benchmark, LayoutError, LoadedBenchmark, answers_of
from evaluators.mllm.scoring.mme import COGNITION_SUBTASKS, PERCEPTION_SUBTASKS, MMEItem, score_mme
from evaluators.mllm.types import MalformedEntry, Question

_IMAGE_SUFFIXES = (".jpg", ".png", ".jpeg", ".JPG", ".PNG", ".JPEG")


def _question_files(subtask_dir: Path) -> list[tuple[Path, Path]]:
    """(txt file, folder its image lives in) for either official layout."""
    qa_dir = subtask_dir / "questions_answers_YN"
    if qa_dir.is_dir():
        return [(txt, subtask_dir / "images") for txt in sorted(qa_dir.glob("*.txt"))]
    return [(txt, subtask_dir) for txt in sorted(subtask_dir.glob("*.txt"))]


def _image_for(folder: Path, stem: str) -> Path:
    for suffix in _IMAGE_SUFFIXES:
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return folder / f"{stem}.jpg"  # reported as an unreadable image when answered


class MME(Benchmark):
    name = "mme"
    layout = ("mme: the 14 subtask folders of MME_Benchmark_release_version (" +
              ", ".join(PERCEPTION_SUBTASKS + COGNITION_SUBTASKS) +
              "), each with images/ + questions_answers_YN/<name>.txt or <name>.jpg|png + <name>.txt")

    def load(self, data_dir: Path) -> LoadedBenchmark:
        loaded = LoadedBenchmark([])
        for subtask in PERCEPTION_SUBTASKS + COGNITION_SUBTASKS:
            subtask_dir = data_dir / subtask
            if not subtask_dir.is_dir():
                raise LayoutError(f"mme: expected subtask folder {subtask_dir}")
            files = _question_files(subtask_dir)
            if not files:
                raise LayoutError(f"mme: no question .txt files in {subtask_dir}")
            for txt, image_folder in files:
                loaded.data_files.append(txt)
                self._read_pairs(loaded, subtask, txt, image_folder)
        return loaded

    @staticmethod
    def _read_pairs(loaded: LoadedBenchmark, subtask: str, txt: Path, image_folder: Path) -> None:
        image = _image_for(image_folder, txt.stem)
        lines = [line for line in txt.read_text(encoding="utf-8").splitlines() if line.strip()]
        for index, line in enumerate(lines):
            question_id = f"{subtask}/{txt.stem}/{index}"
            question, tab, answer = line.rpartition("\t")
            if not tab or answer.strip().lower() not in ("yes", "no"):
                loaded.malformed.append(MalformedEntry(question_id, f"{txt}: line is not 'question<TAB>Yes|No'"))
                continue
            loaded.questions.append(Question(
                question_id=question_id, question=question.strip(), image_path=image,
                reference={"answer": answer.strip(), "subtask": subtask, "image": txt.stem}))

    def score(self, questions, predictions):
        return score_mme(MMEItem(answer, q.reference["answer"], q.reference["subtask"], q.reference["image"])
                         for q, answer in answers_of(questions, predictions))
