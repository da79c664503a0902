"""Adapter from `mllm.UnifiedPipeline` (chat one image at a time) to the Answerer protocol, plus
the description of prompt, preprocessing and decoding recorded in every summary."""
from __future__ import annotations

from typing import Any

from PIL import Image

from mllm.conversation import vqa_prompt
from evaluators.mllm.pipeline_loading import load_unified_pipeline

# Rendered by the same function the pipeline uses, so the record cannot drift from the behaviour.
PROMPT_TEMPLATE = vqa_prompt("{prompt}")
DECODING = {"strategy": "greedy", "temperature": 0.0}


class PipelineAnswerer:
    def __init__(self, pipeline: Any):
        self.pipeline = pipeline

    def answer(self, images: list[Image.Image | None], prompts: list[str],
               max_new_tokens: int) -> list[str]:
        return [self.pipeline.chat(image, prompt, max_new_tokens=max_new_tokens)
                for image, prompt in zip(images, prompts)]

    def recorded_settings(self, model: str, unitok: str | None, tokenizer: str | None) -> dict[str, Any]:
        return {"model": model, "unitok": unitok, "tokenizer": tokenizer, "prompt_template": PROMPT_TEMPLATE,
                "preprocessing": self.pipeline.preprocessing_description, "decoding": DECODING}


def load_pipeline_answerer(model: str, unitok: str | None = None, tokenizer: str | None = None) -> PipelineAnswerer:
    return PipelineAnswerer(load_unified_pipeline(model, unitok, tokenizer))
