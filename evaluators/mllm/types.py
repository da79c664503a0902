"""Data passed between benchmark layouts, the runner and the scorers."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PIL import Image


@dataclass(frozen=True)
class Question:
    """One benchmark question. `reference` holds whatever the benchmark's scorer needs
    (human answers, label, subtask ...) and is never shown to the model."""
    question_id: str
    question: str
    image_path: Path | None
    reference: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Prediction:
    question_id: str
    prompt: str
    answer: str | None          # None when the question failed (e.g. unreadable image)
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.answer is None


@dataclass(frozen=True)
class MalformedEntry:
    """A question entry that could not be turned into a Question; reported, not fatal."""
    entry_id: str
    reason: str


class Answerer(Protocol):
    """Anything that answers prompts about images, one answer per (image, prompt) pair.
    An image of None means a text-only question."""

    def answer(self, images: list[Image.Image | None], prompts: list[str],
               max_new_tokens: int) -> list[str]: ...
