"""Adapter from `mllm.UnifiedPipeline` (chat one image at a time) to the Answerer protocol, plus
the description of prompt, preprocessing and decoding recorded in every summary."""
from __future__ import annotations

import inspect
from typing import Any

from PIL import Image

from mllm.conversation import vqa_prompt
from mllm.evaluation.pipeline_loading import load_unified_pipeline

# Rendered by the same function the pipeline uses, so the record cannot drift from the behaviour.
PROMPT_TEMPLATE = vqa_prompt("{prompt}")
PREPROCESSING = ("pad to square with RGB (122,116,104), resize to 256x256 (bilinear), "
                 "scale to [-1,1], UniTok img_to_idx -> 8x256 codes")
DECODING = {"strategy": "greedy", "temperature": 0.0}


class PipelineAnswerer:
    def __init__(self, pipeline: Any):
        self.pipeline = pipeline
        # Pass max_new_tokens only if this pipeline version accepts it.
        parameters = inspect.signature(pipeline.chat).parameters
        self._takes_max_tokens = "max_new_tokens" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())

    def answer(self, images: list[Image.Image | None], prompts: list[str],
               max_new_tokens: int) -> list[str]:
        kwargs = {"max_new_tokens": max_new_tokens} if self._takes_max_tokens else {}
        return [self.pipeline.chat(image, prompt, **kwargs) for image, prompt in zip(images, prompts)]


def recorded_settings(model: str, unitok: str | None, tokenizer: str | None) -> dict[str, Any]:
    return {"model": model, "unitok": unitok, "tokenizer": tokenizer,
            "prompt_template": PROMPT_TEMPLATE, "preprocessing": PREPROCESSING, "decoding": DECODING}


def load_pipeline_answerer(model: str, unitok: str | None = None, tokenizer: str | None = None) -> PipelineAnswerer:
    return PipelineAnswerer(load_unified_pipeline(model, unitok, tokenizer))
