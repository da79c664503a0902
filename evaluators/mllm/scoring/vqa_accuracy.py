"""VQA soft accuracy, used by VQAv2 and TextVQA.

Each question has 10 human answers. Against any 9 of them an answer scores
min(#humans among those 9 who gave it / 3, 1); the question's score is the mean over the 10 ways
of leaving one human out. So an answer given by 3 or more humans scores 1, by 2 humans 0.6,
by 1 human 0.3. Answers are compared after `normalize_vqa_answer`.

The official script always normalises the prediction but the human answers only when they
disagree; the released annotations are already in normalised form, so normalising them always
(as the TextVQA/EvalAI evaluator does) gives the same scores and one code path.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evaluators.mllm.scoring.vqa_normalize import normalize_vqa_answer


def soft_accuracy(answer: str | None, human_answers: Sequence[str]) -> float:
    if not human_answers:
        raise ValueError("soft accuracy needs at least one human answer")
    if answer is None:
        return 0.0
    predicted = normalize_vqa_answer(answer)
    humans = [normalize_vqa_answer(h) for h in human_answers]
    total = 0.0
    for left_out in range(len(humans)):
        matches = sum(1 for i, h in enumerate(humans) if i != left_out and h == predicted)
        total += min(matches / 3.0, 1.0)
    return total / len(humans)


@dataclass(frozen=True)
class VQAItem:
    answer: str | None
    human_answers: Sequence[str]
    answer_type: str | None = None  # VQAv2's "yes/no", "number", "other"


def score_vqa(items: Iterable[VQAItem]) -> dict:
    """Overall accuracy in percent plus one accuracy per answer type when types are known."""
    per_type: dict[str, list[float]] = {}
    scores = []
    for item in items:
        value = soft_accuracy(item.answer, item.human_answers)
        scores.append(value)
        if item.answer_type:
            per_type.setdefault(item.answer_type, []).append(value)
    result = {"accuracy": 100.0 * sum(scores) / len(scores) if scores else 0.0, "count": len(scores)}
    if per_type:
        result["per_answer_type"] = {t: 100.0 * sum(v) / len(v) for t, v in sorted(per_type.items())}
    return result
