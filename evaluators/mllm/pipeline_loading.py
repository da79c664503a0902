"""Loading `mllm.UnifiedPipeline` for the evaluation entry scripts."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def load_unified_pipeline(model: str, unitok: str | None = None, tokenizer: str | None = None) -> Any:
    """Without `unitok`, the tokenizer copy that our training export keeps in `<model>/unitok` is used."""
    # imported late: the model stack is heavy and not needed for scoring
    from mllm.pipeline import UnifiedPipeline

    if unitok is None:
        bundled = Path(model) / "unitok"
        if not bundled.is_dir():
            raise ValueError(f"--unitok is required: {model} has no bundled unitok/ folder")
        unitok = str(bundled)
    return UnifiedPipeline.from_pretrained(model, unitok_path=unitok, tokenizer_path=tokenizer)
