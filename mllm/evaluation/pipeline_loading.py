"""Loading `mllm.UnifiedPipeline` for the evaluation entry scripts."""
from __future__ import annotations

import inspect
from typing import Any


def load_unified_pipeline(model: str, unitok: str | None = None, tokenizer: str | None = None) -> Any:
    # imported late: the model stack is heavy and not needed for scoring
    from mllm.pipeline import UnifiedPipeline

    parameters = inspect.signature(UnifiedPipeline.from_pretrained).parameters
    kwargs = {}
    for name, flag, value in (("unitok_path", "--unitok", unitok), ("tokenizer_path", "--tokenizer", tokenizer)):
        if value is not None:
            kwargs[name] = value
        elif name in parameters and parameters[name].default is inspect.Parameter.empty:
            raise ValueError(f"{flag} is required: the pipeline needs the UniTok tokenizer checkpoint")
    return UnifiedPipeline.from_pretrained(model, **kwargs)
