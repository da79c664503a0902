"""Make AutoConfig / AutoModelForCausalLM resolve our model types (also the official "mini_gemini")."""
from __future__ import annotations

from transformers import AutoConfig, AutoModelForCausalLM

from .config import MiniGeminiConfig, UniTokMLLMConfig
from .model import MiniGeminiLlamaForCausalLM, UniTokMLLMForCausalLM


def register() -> None:
    """Idempotent: safe to call on every import."""
    AutoConfig.register(UniTokMLLMConfig.model_type, UniTokMLLMConfig, exist_ok=True)
    AutoConfig.register(MiniGeminiConfig.model_type, MiniGeminiConfig, exist_ok=True)
    AutoModelForCausalLM.register(UniTokMLLMConfig, UniTokMLLMForCausalLM, exist_ok=True)
    AutoModelForCausalLM.register(MiniGeminiConfig, MiniGeminiLlamaForCausalLM, exist_ok=True)
