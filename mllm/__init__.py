"""Unified multimodal LLM on UniTok codes (understanding + text-to-image generation)."""
from .config import MiniGeminiConfig, UniTokMLLMConfig
from .hf_registration import register as _register
from .model import MiniGeminiLlamaForCausalLM, UniTokMLLMForCausalLM, UniTokMLLMOutput

_register()

__all__ = ["UniTokMLLMConfig", "MiniGeminiConfig", "UniTokMLLMForCausalLM", "MiniGeminiLlamaForCausalLM",
           "UniTokMLLMOutput", "UnifiedPipeline"]


def __getattr__(name: str):
    # The pipeline pulls in the tokenizer's image processing; load it only when asked for.
    if name == "UnifiedPipeline":
        from .pipeline import UnifiedPipeline

        return UnifiedPipeline
    raise AttributeError(f"module 'mllm' has no attribute {name!r}")
