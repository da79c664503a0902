"""Adapter from `mllm.UnifiedPipeline` (batched chat) to the Answerer protocol, plus the
description of prompt, preprocessing, decoding and runtime recorded in every summary."""
from __future__ import annotations

from typing import Any

from PIL import Image

from mllm.conversation import vqa_prompt
from evaluators.mllm.pipeline_loading import load_unified_pipeline, runtime_description

# Rendered by the same function the pipeline uses, so the record cannot drift from the behaviour.
PROMPT_TEMPLATE = vqa_prompt("{prompt}")
DECODING = {"strategy": "greedy", "temperature": 0.0}


class PipelineAnswerer:
    def __init__(self, pipeline: Any):
        self.pipeline = pipeline

    def answer(self, images: list[Image.Image | None], prompts: list[str],
               max_new_tokens: int) -> list[str]:
        """All pairs in one batched generate call (greedy: the same answers as one at a time)."""
        return self.pipeline.chat_batch(images, prompts, max_new_tokens=max_new_tokens)

    def recorded_settings(self, model: str, unitok: str | None, tokenizer: str | None) -> dict[str, Any]:
        runtime = runtime_description(self.pipeline)
        return {"model": model, "unitok": unitok, "tokenizer": tokenizer, "prompt_template": PROMPT_TEMPLATE,
                "preprocessing": self.pipeline.preprocessing_description, "decoding": DECODING, **runtime}


def load_pipeline_answerer(model: str, unitok: str | None = None, tokenizer: str | None = None,
                           **runtime: str) -> PipelineAnswerer:
    """runtime: device / dtype / attn_implementation, see load_unified_pipeline."""
    return PipelineAnswerer(load_unified_pipeline(model, unitok, tokenizer, **runtime))
