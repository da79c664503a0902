"""One image to generate, and where it goes."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GenerationJob:
    prompt: str
    image_path: str                 # relative to the output folder
    # Small text files the benchmark's scorer expects next to the images (relative path -> content).
    sidecar_files: dict[str, str] = field(default_factory=dict)


class PromptFileError(ValueError):
    """The prompt file is not in the benchmark's published format."""
