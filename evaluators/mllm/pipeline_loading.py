"""Loading `mllm.UnifiedPipeline` for the evaluation entry scripts."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def load_unified_pipeline(model: str, unitok: str | None = None, tokenizer: str | None = None,
                          device: str = "auto", dtype: str = "auto", attn_implementation: str = "sdpa") -> Any:
    """Without `unitok`, the tokenizer copy that our training export keeps in `<model>/unitok` is used.
    device / dtype / attn_implementation: see unitok.devices ("auto" = cuda:LOCAL_RANK in bf16
    when CUDA is present, else the CPU in fp32)."""
    # imported late: the model stack is heavy and not needed for scoring
    from mllm.pipeline import UnifiedPipeline

    if unitok is None:
        bundled = Path(model) / "unitok"
        if not bundled.is_dir():
            raise ValueError(f"--unitok is required: {model} has no bundled unitok/ folder")
        unitok = str(bundled)
    return UnifiedPipeline.from_pretrained(model, unitok_path=unitok, tokenizer_path=tokenizer, device=device,
                                           dtype=dtype, attn_implementation=attn_implementation)


def runtime_description(pipeline: Any) -> dict[str, str]:
    """Where and how the pipeline runs, for the summaries (empty for stand-ins without a model)."""
    model = getattr(pipeline, "model", None)
    if model is None:
        return {}
    return {"device": str(pipeline.device), "dtype": str(model.dtype).replace("torch.", ""),
            "attn_implementation": str(model.config._attn_implementation),
            "unitok_dtype": str(pipeline.unitok.dtype).replace("torch.", "")}
