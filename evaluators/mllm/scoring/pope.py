"""POPE: yes/no object-hallucination probing, scored per split (random, popular, adversarial).

"yes" is the positive class. A free-form answer becomes yes/no by the LLaVA rule: keep its first
sentence, drop commas, and call it "no" if any word is "no", "No" or "not", else "yes".
A failed generation is counted as the answer opposite to the truth (always wrong).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def answer_to_yes_no(answer: str) -> str:
    first_sentence = answer.split(".")[0] if "." in answer else answer
    words = first_sentence.replace(",", "").split()
    return "no" if any(w in ("no", "No", "not") for w in words) else "yes"


@dataclass(frozen=True)
class POPEItem:
    answer: str | None
    label: str  # "yes" or "no"
    split: str


def _metrics(predicted: list[str], labels: list[str]) -> dict:
    tp = sum(p == "yes" and t == "yes" for p, t in zip(predicted, labels))
    fp = sum(p == "yes" and t == "no" for p, t in zip(predicted, labels))
    tn = sum(p == "no" and t == "no" for p, t in zip(predicted, labels))
    fn = sum(p == "no" and t == "yes" for p, t in zip(predicted, labels))
    total = len(labels)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": 100.0 * (tp + tn) / total if total else 0.0,
            "precision": 100.0 * precision, "recall": 100.0 * recall, "f1": 100.0 * f1,
            "yes_ratio": 100.0 * (tp + fp) / total if total else 0.0,
            "tp": tp, "fp": fp, "tn": tn, "fn": fn, "count": total}


def score_pope(items: Iterable[POPEItem]) -> dict:
    by_split: dict[str, tuple[list[str], list[str]]] = {}
    for item in items:
        label = item.label.strip().lower()
        if label not in ("yes", "no"):
            raise ValueError(f"POPE label must be yes or no, got {item.label!r}")
        if item.answer is None:
            predicted = "no" if label == "yes" else "yes"
        else:
            predicted = answer_to_yes_no(item.answer)
        predictions, labels = by_split.setdefault(item.split, ([], []))
        predictions.append(predicted)
        labels.append(label)
    splits = {name: _metrics(p, t) for name, (p, t) in sorted(by_split.items())}
    f1s = [m["f1"] for m in splits.values()]
    accs = [m["accuracy"] for m in splits.values()]
    return {"splits": splits,
            "mean_f1": sum(f1s) / len(f1s) if f1s else 0.0,
            "mean_accuracy": sum(accs) / len(accs) if accs else 0.0}
