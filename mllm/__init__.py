"""Unified multimodal LLM on UniTok codes (understanding + text-to-image generation)."""
from .config import MiniGeminiConfig, UniTokMLLMConfig
from .hf_registration import register as _register
from .model import MiniGeminiLlamaForCausalLM, UniTokMLLMForCausalLM, UniTokMLLMOutput

_register()

__all__ = ["UniTokMLLMConfig", "MiniGeminiConfig", "UniTokMLLMForCausalLM", "MiniGeminiLlamaForCausalLM",
           "UniTokMLLMOutput"]
