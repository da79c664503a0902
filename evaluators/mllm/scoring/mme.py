"""MME: two yes/no questions per image in 14 subtasks.

Per subtask: accuracy = % of questions right, accuracy+ = % of images with BOTH questions right,
score = accuracy + accuracy+ (so at most 200). Perception = sum over the 10 perception subtasks
(at most 2000), cognition = sum over the 4 cognition subtasks (at most 800).
Free-form answers are read as in the MME tool: exactly "yes"/"no" after lower-casing, else the
first four characters are searched for "yes" then "no", else the answer is "other" (wrong).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PERCEPTION_SUBTASKS = ("existence", "count", "position", "color", "posters", "celebrity",
                       "scene", "landmark", "artwork", "OCR")
COGNITION_SUBTASKS = ("commonsense_reasoning", "numerical_calculation", "text_translation",
                      "code_reasoning")


def parse_yes_no(answer: str) -> str:
    text = answer.strip().lower()
    if text in ("yes", "no"):
        return text
    prefix = text[:4]
    if "yes" in prefix:
        return "yes"
    if "no" in prefix:
        return "no"
    return "other"


@dataclass(frozen=True)
class MMEItem:
    answer: str | None
    ground_truth: str  # "Yes" / "No" in the official files
    subtask: str
    image: str         # questions on the same image form a pair for accuracy+


def score_mme(items: Iterable[MMEItem]) -> dict:
    # subtask -> image -> list of per-question correctness
    grouped: dict[str, dict[str, list[bool]]] = {}
    for item in items:
        right = item.answer is not None and parse_yes_no(item.answer) == item.ground_truth.strip().lower()
        grouped.setdefault(item.subtask, {}).setdefault(item.image, []).append(right)
    subtasks = {}
    for name, images in sorted(grouped.items()):
        answers = [r for per_image in images.values() for r in per_image]
        accuracy = 100.0 * sum(answers) / len(answers)
        accuracy_plus = 100.0 * sum(all(v) for v in images.values()) / len(images)
        subtasks[name] = {"accuracy": accuracy, "accuracy_plus": accuracy_plus,
                          "score": accuracy + accuracy_plus, "questions": len(answers),
                          "images": len(images)}
    unknown = sorted(set(subtasks) - set(PERCEPTION_SUBTASKS) - set(COGNITION_SUBTASKS))
    return {"perception": sum(subtasks[s]["score"] for s in PERCEPTION_SUBTASKS if s in subtasks),
            "cognition": sum(subtasks[s]["score"] for s in COGNITION_SUBTASKS if s in subtasks),
            "missing_subtasks": [s for s in PERCEPTION_SUBTASKS + COGNITION_SUBTASKS if s not in subtasks],
            "unknown_subtasks": unknown,
            "subtasks": subtasks}
