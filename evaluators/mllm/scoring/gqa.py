"""GQA accuracy: exact match between the prediction and the single ground-truth answer.

GQA answers are short lower-case words, so the prediction only gets the light clean-up that the
LLaVA conversion applies before the official GQA script: lower-case, strip, drop a trailing period.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def normalize_gqa_answer(answer: str) -> str:
    return answer.strip().lower().rstrip(".").strip()


@dataclass(frozen=True)
class GQAItem:
    answer: str | None
    ground_truth: str
    structural_type: str | None = None  # GQA's types.structural: verify, query, choose, ...


def score_gqa(items: Iterable[GQAItem]) -> dict:
    per_type: dict[str, list[bool]] = {}
    hits = []
    for item in items:
        hit = item.answer is not None and normalize_gqa_answer(item.answer) == normalize_gqa_answer(item.ground_truth)
        hits.append(hit)
        if item.structural_type:
            per_type.setdefault(item.structural_type, []).append(hit)
    result = {"accuracy": 100.0 * sum(hits) / len(hits) if hits else 0.0, "count": len(hits)}
    if per_type:
        result["per_structural_type"] = {t: 100.0 * sum(v) / len(v) for t, v in sorted(per_type.items())}
    return result
