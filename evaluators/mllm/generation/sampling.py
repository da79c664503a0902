"""Sampling settings and the image generator the runner drives."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image


@dataclass(frozen=True)
class SamplingSettings:
    # Defaults of the official evaluation scripts (cfg 7.0, no top-k / top-p filtering).
    cfg_scale: float = 7.0
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0
    num_positions: int | None = None  # image tokens per image; None = the model's own (256 -> 256x256)


class ImageGenerator(Protocol):
    def generate(self, prompts: list[str], settings: SamplingSettings, seed: int) -> list[Image.Image]: ...


class PipelineGenerator:
    """Adapter from mllm.UnifiedPipeline.generate_images, which also returns the codes."""

    def __init__(self, pipeline: Any):
        self.pipeline = pipeline

    def generate(self, prompts, settings, seed):
        extra = {} if settings.num_positions is None else {"num_positions": settings.num_positions}
        images, _codes = self.pipeline.generate_images(
            prompts, cfg_scale=settings.cfg_scale, temperature=settings.temperature,
            top_k=settings.top_k, top_p=settings.top_p, seed=seed, **extra)
        return list(images)
