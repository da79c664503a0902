"""LoRA on the LLM's linear layers (peft). The depth head, projection and projector stay fully
trainable; the depth head's own Llama layers get no adapters (the pattern anchors on model.layers)."""
from __future__ import annotations

import torch

from mllm.model import UniTokMLLMForCausalLM

LLM_LINEARS = UniTokMLLMForCausalLM.llm_linear_pattern


def lora_config(r: int, alpha: int, dropout: float):
    from peft import LoraConfig
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LLM_LINEARS, bias="none")


def apply_lora(model: torch.nn.Module, r: int, alpha: int, dropout: float):
    from peft import get_peft_model
    return get_peft_model(model, lora_config(r, alpha, dropout))


def enable_adapters_grad(model: torch.nn.Module) -> None:
    for name, param in model.named_parameters():
        if "lora_" in name:
            param.requires_grad_(True)


def merge_state_dict(base_model: torch.nn.Module, peft_state: dict, r: int, alpha: int, dropout: float):
    """A full (gathered, CPU) state dict of the PeftModel -> (merged plain state dict, the PeftModel
    on CPU holding it, for saving the adapter). `base_model` is a fresh CPU model of the same config."""
    peft_model = apply_lora(base_model, r, alpha, dropout)
    missing, unexpected = peft_model.load_state_dict(peft_state, strict=False)
    if unexpected or [m for m in missing if "lora_" in m]:
        raise RuntimeError(f"LoRA state does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    merged = peft_model.merge_and_unload()
    return merged.state_dict(), peft_model
